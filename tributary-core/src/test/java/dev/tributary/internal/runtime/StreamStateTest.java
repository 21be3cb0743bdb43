package dev.tributary.internal.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.StreamId;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The consumer list of a stream: one consumer is itself the list (no array), and a list read before
 * a change is a snapshot that the change leaves alone.
 */
class StreamStateTest {
  private static final StreamId ID = StreamId.of("ns", "k");

  private static StreamState stream() {
    return new StreamState(ID, () -> ID);
  }

  private static StreamConsumer consumer() {
    return new StreamConsumer(UUID.randomUUID(), ID, null, null, null, null);
  }

  private static List<StreamConsumer> list(StreamState.Consumers cs) {
    List<StreamConsumer> out = new ArrayList<>();
    for (int i = 0; i < cs.size(); i++) {
      out.add(cs.get(i));
    }
    return out;
  }

  @Test
  void oneToTwoToOneToNone_keepsOrderAndHoldsASingleConsumerItself() {
    StreamState s = stream();
    assertThat(s.isEmpty()).isTrue();
    assertThat(list(s.consumers())).isEmpty();

    StreamConsumer a = consumer();
    StreamConsumer b = consumer();
    s.add(a);
    assertThat(a.stream).isSameAs(s);
    assertThat(s.consumers()).as("one consumer is the list of itself").isSameAs(a);
    assertThat(s.isEmpty()).isFalse();

    s.add(b);
    assertThat(list(s.consumers())).containsExactly(a, b);

    s.remove(a);
    assertThat(s.consumers()).as("back to one: the consumer itself again").isSameAs(b);

    s.remove(b);
    assertThat(s.isEmpty()).isTrue();
    assertThat(list(s.consumers())).isEmpty();
  }

  @Test
  void removingFromThree_keepsTheOthersInOrder() {
    StreamState s = stream();
    StreamConsumer a = consumer();
    StreamConsumer b = consumer();
    StreamConsumer c = consumer();
    s.add(a);
    s.add(b);
    s.add(c);
    s.remove(b);
    assertThat(list(s.consumers())).containsExactly(a, c);
    s.remove(consumer());
    assertThat(list(s.consumers())).as("removing a stranger changes nothing").containsExactly(a, c);
    s.remove(c);
    assertThat(s.consumers()).isSameAs(a);
    s.remove(b);
    assertThat(s.consumers()).as("removing one already gone changes nothing").isSameAs(a);
  }

  @Test
  void aListReadBeforeAChange_isUnaffectedByIt() {
    StreamState s = stream();
    StreamConsumer a = consumer();
    StreamConsumer b = consumer();
    StreamConsumer c = consumer();
    s.add(a);
    StreamState.Consumers one = s.consumers();
    s.add(b);
    s.add(c);
    StreamState.Consumers three = s.consumers();

    // What a caller iterating `three` sees while a delivery removes the consumer it is at.
    List<StreamConsumer> visited = new ArrayList<>();
    for (int i = 0, n = three.size(); i < n; i++) {
      StreamConsumer at = three.get(i);
      visited.add(at);
      s.remove(at);
    }
    assertThat(visited).containsExactly(a, b, c);
    assertThat(s.isEmpty()).isTrue();
    assertThat(list(one)).containsExactly(a);
    assertThat(list(three)).containsExactly(a, b, c);
  }

  @Test
  void aSingleConsumerAsList_hasOnlyIndexZero() {
    StreamConsumer a = consumer();
    assertThat(a.size()).isEqualTo(1);
    assertThat(a.get(0)).isSameAs(a);
    assertThatThrownBy(() -> a.get(1)).isInstanceOf(IndexOutOfBoundsException.class);
  }
}
