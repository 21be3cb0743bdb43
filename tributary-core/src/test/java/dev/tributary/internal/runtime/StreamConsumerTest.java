package dev.tributary.internal.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.EventSequenceToken;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.QueueCacheCursor;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** A subscription's delivery state, without an agent: preparing, advancing, releasing. */
class StreamConsumerTest {
  private static final StreamId STREAM = StreamId.of("ns", "k");

  /** A cursor over a fixed list of batches that counts releases. */
  private static final class ListCursor implements QueueCacheCursor {
    final List<BatchContainer> batches;
    int next;
    int released;
    BatchContainer current;

    ListCursor(List<BatchContainer> batches) {
      this.batches = batches;
    }

    @Override
    public boolean moveNext() {
      if (next >= batches.size()) {
        return false;
      }
      current = batches.get(next++);
      return true;
    }

    @Override
    public BatchContainer current() {
      return current;
    }

    @Override
    public void markDelivered() {
      released = next;
    }

    @Override
    public void refresh(StreamSequenceToken token) {}

    @Override
    public void close() {}
  }

  private static List<BatchContainer> batches(int n, int eventsEach) {
    List<BatchContainer> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      List<Object> events = new ArrayList<>();
      for (int e = 0; e < eventsEach; e++) {
        events.add(i % 1000 == 999 ? "keep-" + i + "-" + e : "drop");
      }
      out.add(batch(i, events));
    }
    return out;
  }

  private static BatchContainer batch(long sequence, List<Object> events) {
    return new BatchContainer() {
      @Override
      public StreamId streamId() {
        return STREAM;
      }

      @Override
      public StreamSequenceToken sequenceToken() {
        return new EventSequenceToken(sequence);
      }

      @Override
      public int eventCount() {
        return events.size();
      }

      @Override
      public Object event(int index) {
        return events.get(index);
      }
    };
  }

  private static StreamConsumer consumer(ListCursor cursor) {
    LocalSubscription sub =
        new LocalSubscription(
            UUID.randomUUID(), STREAM, "keep", Observers.checked(ignored()), null);
    return StreamConsumer.explicit(sub, cursor, null);
  }

  private static dev.tributary.StreamObserver<Object> ignored() {
    return (item, token) -> null;
  }

  private static final StreamConsumer.Filter KEEP =
      (id, item, data) -> ((String) item).startsWith(data);

  /**
   * Item 10 of the delivery-correctness issue: preparing used to recurse once per fully filtered
   * batch, so a long filtered run overflowed the stack and stalled the subscription. It loops.
   */
  @Test
  void longFilteredRuns_areSkippedWithoutRecursion_andReleasedAtOnce() {
    ListCursor cursor = new ListCursor(batches(1_000_000, 1));
    StreamConsumer c = consumer(cursor);
    List<Object> got = new ArrayList<>();
    while (c.prepare(3, KEEP)) {
      got.add(c.nextItem());
      c.advance(1);
    }
    assertThat(got).hasSize(1000).allMatch(o -> ((String) o).startsWith("keep"));
    assertThat(cursor.released).as("every batch passed is released").isEqualTo(1_000_000);
  }

  @Test
  void aCallOfEitherKind_takesWhatRemains_andReleasesOnlyAfterTheLastEvent() {
    ListCursor cursor = new ListCursor(batches(2, 3));
    StreamConsumer c = consumer(cursor);
    StreamConsumer.Filter all = (id, item, data) -> true;
    assertThat(c.prepare(2, all)).isTrue();
    assertThat(c.callSize(false)).isEqualTo(1);
    assertThat(c.callSize(true)).isEqualTo(6);
    // One single-event call, then a batch observer takes the other five in one call.
    assertThat(c.nextToken()).isEqualTo(new EventSequenceToken(0, 0));
    c.advance(1);
    assertThat(cursor.released).isZero();
    assertThat(c.remaining(null))
        .extracting(i -> i.token())
        .containsExactly(
            new EventSequenceToken(0, 1),
            new EventSequenceToken(0, 2),
            new EventSequenceToken(1, 0),
            new EventSequenceToken(1, 1),
            new EventSequenceToken(1, 2));
    assertThat(c.lastBatchOfCall(true).sequenceToken()).isEqualTo(new EventSequenceToken(1));
    c.advance(c.callSize(true));
    assertThat(cursor.released).isEqualTo(2);
    assertThat(c.hasPending()).isFalse();
    assertThat(c.prepare(2, all)).isFalse();
  }
}
