package dev.tributary;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link EventSequenceToken}: a value ordered by sequence number, then event index. */
class EventSequenceTokenTest {

  /** Another token implementation: equality and order are defined by the numbers alone. */
  private static final class OtherToken extends StreamSequenceToken {
    private final long sequenceNumber;
    private final int eventIndex;

    OtherToken(long sequenceNumber, int eventIndex) {
      this.sequenceNumber = sequenceNumber;
      this.eventIndex = eventIndex;
    }

    @Override
    public long sequenceNumber() {
      return sequenceNumber;
    }

    @Override
    public int eventIndex() {
      return eventIndex;
    }
  }

  @Test
  void equalTokens_areEqualWithEqualHashCodes() {
    EventSequenceToken t = new EventSequenceToken(42, 3);
    assertThat(t)
        .isEqualTo(new EventSequenceToken(42, 3))
        .hasSameHashCodeAs(new EventSequenceToken(42, 3));
    assertThat(t).isNotEqualTo(new EventSequenceToken(42, 4));
    assertThat(t).isNotEqualTo(new EventSequenceToken(43, 3));
    assertThat(t).isEqualTo(new OtherToken(42, 3)).hasSameHashCodeAs(new OtherToken(42, 3));
    assertThat(t.sequenceNumber()).isEqualTo(42);
    assertThat(t.eventIndex()).isEqualTo(3);
  }

  @Test
  void singleArgumentConstructor_isEventZero() {
    assertThat(new EventSequenceToken(7)).isEqualTo(new EventSequenceToken(7, 0));
  }

  @Test
  void compareTo_ordersBySequenceNumberThenEventIndex() {
    List<StreamSequenceToken> tokens =
        new ArrayList<>(
            List.of(
                new EventSequenceToken(2, 0),
                new EventSequenceToken(1, 5),
                new OtherToken(1, 0),
                new EventSequenceToken(Long.MAX_VALUE, 0),
                new EventSequenceToken(0, Integer.MAX_VALUE),
                new EventSequenceToken(1, 1)));
    Collections.shuffle(tokens, new Random(1));
    Collections.sort(tokens);
    assertThat(tokens)
        .containsExactly(
            new EventSequenceToken(0, Integer.MAX_VALUE),
            new EventSequenceToken(1, 0),
            new EventSequenceToken(1, 1),
            new EventSequenceToken(1, 5),
            new EventSequenceToken(2, 0),
            new EventSequenceToken(Long.MAX_VALUE, 0));
  }

  @Test
  void olderAndNewer_followTheOrder() {
    EventSequenceToken a = new EventSequenceToken(5, 1);
    EventSequenceToken b = new EventSequenceToken(5, 2);
    assertThat(a.isOlderThan(b)).isTrue();
    assertThat(b.isOlderThan(a)).isFalse();
    assertThat(b.isNewerThan(a)).isTrue();
    assertThat(a.isNewerThan(a)).isFalse();
    assertThat(a.isOlderThan(a)).isFalse();
    assertThat(a.compareTo(new EventSequenceToken(5, 1))).isZero();
  }

  @Test
  void withEventIndex_keepsTheSequenceNumber() {
    EventSequenceToken t = new EventSequenceToken(9, 0);
    assertThat(t.withEventIndex(4)).isEqualTo(new EventSequenceToken(9, 4));
    assertThat(t.withEventIndex(0)).isSameAs(t);
  }

  @Test
  void toString_showsBothNumbers() {
    assertThat(new EventSequenceToken(12, 3)).hasToString("[12,3]");
  }

  @Test
  void negativeNumbers_areRejectedWithTheRule() {
    assertThatThrownBy(() -> new EventSequenceToken(-1, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("sequenceNumber was -1")
        .hasMessageContaining("at least 0");
    assertThatThrownBy(() -> new EventSequenceToken(0, -2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("eventIndex was -2")
        .hasMessageContaining("at least 0");
    assertThatThrownBy(() -> new EventSequenceToken(3).withEventIndex(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("eventIndex");
  }
}
