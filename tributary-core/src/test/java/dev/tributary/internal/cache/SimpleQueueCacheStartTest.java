package dev.tributary.internal.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.EventSequenceToken;
import dev.tributary.QueueCacheMissException;
import dev.tributary.StreamId;
import dev.tributary.spi.QueueCacheCursor;
import dev.tributary.spi.QueueId;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A cache that started reading its queue late must not pretend to hold what came before. */
class SimpleQueueCacheStartTest {
  private final StreamId a = StreamId.of("ns", "a");
  private final StreamId b = StreamId.of("ns", "b");

  @Test
  void tokenBeforeTheFirstCachedBatch_isAMiss() {
    SimpleQueueCache cache = new SimpleQueueCache(QueueId.of("q", 0), 100);
    cache.addToCache(List.of(TestBatch.of(b, 100, 1), TestBatch.of(a, 101, 1)));

    assertThatThrownBy(() -> cache.cursor(a, new EventSequenceToken(5)))
        .isInstanceOf(QueueCacheMissException.class)
        .satisfies(
            e -> {
              QueueCacheMissException miss = (QueueCacheMissException) e;
              assertThat(miss.requested()).isEqualTo(new EventSequenceToken(5));
              assertThat(miss.oldest()).isEqualTo(new EventSequenceToken(100));
            });
    assertThat(cache.cursorCount()).isZero();
  }

  @Test
  void tokenAtTheFirstCachedBatch_isServed() {
    SimpleQueueCache cache = new SimpleQueueCache(QueueId.of("q", 0), 100);
    cache.addToCache(List.of(TestBatch.of(a, 100, 1), TestBatch.of(a, 101, 1)));

    QueueCacheCursor cursor = cache.cursor(a, new EventSequenceToken(100));

    assertThat(cursor.moveNext()).isTrue();
    assertThat(cursor.current().sequenceToken()).isEqualTo(new EventSequenceToken(100));
  }

  @Test
  void anyTokenOnAnEmptyNewCache_waitsForIt() {
    SimpleQueueCache cache = new SimpleQueueCache(QueueId.of("q", 0), 100);

    QueueCacheCursor cursor = cache.cursor(a, new EventSequenceToken(5));
    assertThat(cursor.moveNext()).isFalse();
    cache.addToCache(List.of(TestBatch.of(a, 4, 1), TestBatch.of(a, 5, 1)));

    assertThat(cursor.moveNext()).isTrue();
    assertThat(cursor.current().sequenceToken()).isEqualTo(new EventSequenceToken(5));
  }
}
