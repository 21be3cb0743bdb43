package dev.tributary.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.EventSequenceToken;
import dev.tributary.QueueCacheMissException;
import dev.tributary.StreamId;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A cache that started reading its queue late must not pretend to hold what came before, and a miss
 * must not hold anything back from release.
 */
class SimpleQueueCacheStartTest {
  private final StreamId a = StreamId.of("ns", "a");
  private final StreamId b = StreamId.of("ns", "b");

  @Test
  void tokenBeforeTheFirstCachedBatch_isAMiss() {
    SimpleQueueCache cache = new SimpleQueueCache(QueueId.of("q", 0), 100);
    TestBatch b100 = TestBatch.of(b, 100, 1);
    TestBatch a101 = TestBatch.of(a, 101, 1);
    cache.addToCache(List.of(b100, a101));

    assertThatThrownBy(() -> cache.cursor(a, new EventSequenceToken(5)))
        .isInstanceOf(QueueCacheMissException.class)
        .satisfies(
            e -> {
              QueueCacheMissException miss = (QueueCacheMissException) e;
              assertThat(miss.requested()).isEqualTo(new EventSequenceToken(5));
              assertThat(miss.oldest()).isEqualTo(new EventSequenceToken(100));
            });
    assertThat(cache.cursorCount()).isZero();
    assertThat(cache.tryPurgeFromCache())
        .as("the failed cursor holds nothing")
        .containsExactlyInAnyOrder(b100, a101);
    assertThat(cache.size()).isZero();
  }

  @Test
  void tokenAtTheFirstCachedBatch_isServed() {
    SimpleQueueCache cache = new SimpleQueueCache(QueueId.of("q", 0), 100);
    cache.addToCache(List.of(TestBatch.of(a, 100, 1), TestBatch.of(a, 101, 1)));

    QueueCacheCursor cursor = cache.cursor(a, new EventSequenceToken(100));
    assertThat(cache.tryPurgeFromCache()).as("the cursor holds 100, and 101 behind it").isEmpty();

    assertThat(cursor.moveNext()).isTrue();
    assertThat(cursor.current().sequenceToken()).isEqualTo(new EventSequenceToken(100));
    cursor.markDelivered();
    assertThat(cache.tryPurgeFromCache())
        .extracting(BatchContainer::sequenceToken)
        .containsExactly(new EventSequenceToken(100));
  }

  @Test
  void anyTokenOnAnEmptyNewCache_waitsForIt() {
    SimpleQueueCache cache = new SimpleQueueCache(QueueId.of("q", 0), 100);

    QueueCacheCursor cursor = cache.cursor(a, new EventSequenceToken(5));
    assertThat(cursor.moveNext()).isFalse();
    TestBatch a4 = TestBatch.of(a, 4, 1);
    cache.addToCache(List.of(a4, TestBatch.of(a, 5, 1)));
    assertThat(cache.tryPurgeFromCache())
        .as("the cursor holds its token's batch, not the one before")
        .containsExactly(a4);

    assertThat(cursor.moveNext()).isTrue();
    assertThat(cursor.current().sequenceToken()).isEqualTo(new EventSequenceToken(5));
  }
}
