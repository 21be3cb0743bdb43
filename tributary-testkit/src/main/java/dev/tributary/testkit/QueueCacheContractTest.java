package dev.tributary.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.EventSequenceToken;
import dev.tributary.QueueCacheMissException;
import dev.tributary.StreamId;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.QueueCache;
import dev.tributary.spi.QueueCacheCursor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The contract of {@link QueueCache} and {@link QueueCacheCursor}: extend it, implement {@link
 * #newCache(int)}, and every test below runs against your cache.
 *
 * <p>What it proves: cursor positioning is inclusive and per stream, a null token means "after the
 * newest batch", a token newer than the newest waits for it; purging is FIFO, returns only batches
 * every cursor is done with and never a failed one; a cursor holds what it moved to until {@code
 * markDelivered} (and what it has yet to reach); the cache comes under pressure when it is full and
 * a cursor still holds its oldest batch, and never holds more than its size when the caller stops
 * adding under pressure (as the pulling agent does); a token older than what was evicted is a
 * {@link QueueCacheMissException}.
 *
 * <p>The tests call the cache from one thread, as the agent does. Batches are {@link TestBatch}es
 * whose sequence numbers increase in queue order.
 */
public abstract class QueueCacheContractTest {

  /** The stream most tests read. */
  protected static final StreamId A = StreamId.of("cache", "a");

  /** Another stream of the same queue. */
  protected static final StreamId B = StreamId.of("cache", "b");

  /** Creates an empty cache that holds at most {@code cacheSize} batches. */
  protected abstract QueueCache newCache(int cacheSize);

  /** The size most tests use [100]. */
  protected int defaultCacheSize() {
    return 100;
  }

  // ------------------------------------------------------------------ helpers

  /** Adds {@code batches} the way the agent does: at most {@code maxAddCount()} per call. */
  protected static void add(QueueCache cache, List<? extends BatchContainer> batches) {
    int step = Math.max(cache.maxAddCount(), 1);
    for (int i = 0; i < batches.size(); i += step) {
      cache.addToCache(new ArrayList<>(batches.subList(i, Math.min(batches.size(), i + step))));
    }
  }

  /** One-event batches of {@code id} at {@code from .. from+count-1}. */
  protected static List<BatchContainer> batches(StreamId id, long from, int count) {
    List<BatchContainer> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      out.add(TestBatch.single(id, from + i));
    }
    return out;
  }

  /** {@code count} batches from sequence {@code from}, alternating A (even) and B (odd). */
  protected static List<BatchContainer> interleaved(long from, int count) {
    List<BatchContainer> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      long seq = from + i;
      out.add(TestBatch.single(seq % 2 == 0 ? A : B, seq));
    }
    return out;
  }

  /** Moves {@code cursor} to the end, marking each batch delivered; returns their sequences. */
  protected static List<Long> drain(QueueCacheCursor cursor) {
    List<Long> seen = new ArrayList<>();
    while (cursor.moveNext()) {
      seen.add(cursor.current().sequenceToken().sequenceNumber());
      cursor.markDelivered();
    }
    return seen;
  }

  /** Purges until nothing more comes out; returns everything purged, in order. */
  protected static List<BatchContainer> purgeAll(QueueCache cache) {
    List<BatchContainer> out = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      List<BatchContainer> purged = cache.tryPurgeFromCache();
      if (purged.isEmpty()) {
        return out;
      }
      out.addAll(purged);
    }
    throw new AssertionError("tryPurgeFromCache kept returning batches");
  }

  private static List<Long> sequences(List<? extends BatchContainer> batches) {
    List<Long> out = new ArrayList<>();
    for (BatchContainer b : batches) {
      out.add(b.sequenceToken().sequenceNumber());
    }
    return out;
  }

  private static List<Long> range(long from, long toExclusive, long step) {
    List<Long> out = new ArrayList<>();
    for (long i = from; i < toExclusive; i += step) {
      out.add(i);
    }
    return out;
  }

  // ------------------------------------------------------------------ sizing

  @Test
  void maxAddCount_isAtLeastOneAndAtMostTheCacheSize() {
    QueueCache cache = newCache(defaultCacheSize());
    assertThat(cache.maxAddCount()).isBetween(1, defaultCacheSize());
    assertThat(cache.size()).isZero();
    assertThat(cache.cursorCount()).isZero();
    assertThat(cache.isUnderPressure()).isFalse();
  }

  @Test
  void size_countsCachedBatches() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, interleaved(0, 7));
    assertThat(cache.size()).isEqualTo(7);
  }

  // ------------------------------------------------------------------ positioning

  @Test
  void cursor_atToken_startsAtThatBatchInclusive() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, interleaved(0, 20));
    assertThat(drain(cache.cursor(A, TestBatch.token(6)))).isEqualTo(range(6, 20, 2));
  }

  @Test
  void cursor_atTokenBetweenBatches_startsAtTheNextBatchOfItsStream() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, interleaved(0, 20));
    assertThat(drain(cache.cursor(A, TestBatch.token(7)))).isEqualTo(range(8, 20, 2));
  }

  @Test
  void cursor_atTokenInsideABatch_startsAtTheBatchHoldingIt() {
    QueueCache cache = newCache(defaultCacheSize());
    cache.addToCache(
        List.of(
            TestBatch.of(A, 0, "x"), TestBatch.of(A, 1, "p", "q", "r"), TestBatch.of(A, 2, "y")));
    QueueCacheCursor c = cache.cursor(A, new EventSequenceToken(1, 2));
    assertThat(c.moveNext()).isTrue();
    assertThat(c.current().sequenceToken()).isEqualTo(new EventSequenceToken(1, 0));
    assertThat(c.current().eventToken(2)).isEqualTo(new EventSequenceToken(1, 2));
    c.markDelivered();
    assertThat(drain(c)).containsExactly(2L);
  }

  @Test
  void cursor_seesOnlyItsStream() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, interleaved(0, 20));
    QueueCacheCursor c = cache.cursor(B, TestBatch.token(0));
    List<Long> seen = new ArrayList<>();
    while (c.moveNext()) {
      assertThat(c.current().streamId()).isEqualTo(B);
      seen.add(c.current().sequenceToken().sequenceNumber());
      c.markDelivered();
    }
    assertThat(seen).isEqualTo(range(1, 20, 2));
  }

  @Test
  void cursor_withNullToken_startsAfterTheNewestBatch() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, batches(A, 0, 5));
    QueueCacheCursor c = cache.cursor(A, null);
    assertThat(c.moveNext()).isFalse();
    assertThat(c.current()).isNull();
    add(cache, batches(A, 5, 2));
    assertThat(drain(c)).containsExactly(5L, 6L);
  }

  @Test
  void cursor_onEmptyCache_waitsForTheFirstBatch() {
    QueueCache cache = newCache(defaultCacheSize());
    QueueCacheCursor c = cache.cursor(A, null);
    assertThat(c.moveNext()).isFalse();
    assertThat(c.current()).isNull();
    add(cache, interleaved(0, 4));
    assertThat(drain(c)).containsExactly(0L, 2L);
  }

  @Test
  void cursor_atTokenNewerThanTheNewest_waitsForIt() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, batches(A, 0, 5));
    QueueCacheCursor c = cache.cursor(A, TestBatch.token(8));
    assertThat(c.moveNext()).isFalse();
    add(cache, batches(A, 5, 5));
    assertThat(drain(c)).containsExactly(8L, 9L);
  }

  @Test
  void cursor_thatFoundNothing_continuesWhenItsStreamGetsBatches() {
    QueueCache cache = newCache(defaultCacheSize());
    QueueCacheCursor c = cache.cursor(A, null);
    for (long seq = 0; seq < 30; seq += 3) {
      add(cache, List.of(TestBatch.single(B, seq), TestBatch.single(A, seq + 1)));
      c.refresh(TestBatch.token(seq + 1));
      assertThat(drain(c)).containsExactly(seq + 1);
      add(cache, List.of(TestBatch.single(B, seq + 2)));
      assertThat(c.moveNext()).isFalse();
      assertThat(purgeAll(cache)).isNotNull();
    }
  }

  @Test
  void cursorAtOldest_startsAtTheOldestCachedBatchOfItsStream() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, interleaved(0, 10));
    assertThat(drain(cache.cursorAtOldest(B))).isEqualTo(range(1, 10, 2));
  }

  @Test
  void cursorCount_countsOpenCursors_andCloseIsIdempotent() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, interleaved(0, 10));
    QueueCacheCursor c1 = cache.cursor(A, null);
    QueueCacheCursor c2 = cache.cursor(B, TestBatch.token(0));
    assertThat(cache.cursorCount()).isEqualTo(2);
    c1.close();
    c1.close();
    assertThat(cache.cursorCount()).isEqualTo(1);
    c2.close();
    assertThat(cache.cursorCount()).isZero();
  }

  // ------------------------------------------------------------------ purging

  @Test
  void purge_withoutCursors_returnsEveryBatchOldestFirst() {
    QueueCache cache = newCache(defaultCacheSize());
    List<BatchContainer> all = interleaved(0, 30);
    add(cache, all);
    assertThat(purgeAll(cache)).containsExactlyElementsOf(all);
    assertThat(cache.size()).isZero();
    assertThat(cache.tryPurgeFromCache()).isEmpty();
  }

  @Test
  void purge_neverReturnsAHeldBatch_andIsFifo() {
    QueueCache cache = newCache(defaultCacheSize());
    List<BatchContainer> all = interleaved(0, 50);
    add(cache, all);
    QueueCacheCursor c = cache.cursor(A, TestBatch.token(20));
    List<BatchContainer> purged = new ArrayList<>(purgeAll(cache));
    assertThat(sequences(purged))
        .as("a cursor opened at a cached batch holds it from the start")
        .doesNotContain(20L)
        .allMatch(seq -> seq < 20);
    assertThat(c.moveNext()).isTrue();
    assertThat(c.current().sequenceToken()).isEqualTo(TestBatch.token(20));
    purged.addAll(purgeAll(cache));
    assertThat(sequences(purged)).as("held after moveNext").allMatch(seq -> seq < 20);
    c.markDelivered();
    drain(c);
    c.close();
    purged.addAll(purgeAll(cache));
    assertThat(purged).as("every batch once, oldest first").containsExactlyElementsOf(all);
    assertThat(cache.size()).isZero();
  }

  /**
   * A cursor that delivered batch 0 of its stream and has not moved on yet still needs batches
   * 1..n: releasing them would acknowledge events its subscription never received ({@link
   * QueueCacheCursor}: "a batch is released only after its subscription acknowledged it").
   */
  @Test
  void purge_keepsBatchesACursorHasYetToReach() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, batches(A, 0, 30));
    QueueCacheCursor c = cache.cursor(A, TestBatch.token(0));
    assertThat(c.moveNext()).isTrue();
    c.markDelivered();
    List<BatchContainer> purged = purgeAll(cache);
    assertThat(sequences(purged))
        .as("batches purged while the cursor still has to deliver 1..29")
        .allMatch(seq -> seq < 1);
    assertThat(drain(c)).isEqualTo(range(1, 30, 1));
  }

  @Test
  void markDelivered_releasesEveryBatchTheCursorMovedTo() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, batches(A, 0, 5));
    add(cache, batches(B, 5, 5));
    QueueCacheCursor c = cache.cursor(A, TestBatch.token(0));
    for (int i = 0; i < 5; i++) {
      assertThat(c.moveNext()).isTrue();
    }
    assertThat(purgeAll(cache)).as("batches 0..4 are held").isEmpty();
    c.markDelivered();
    assertThat(c.moveNext()).as("A has nothing after 4").isFalse();
    assertThat(sequences(purgeAll(cache))).startsWith(0L, 1L, 2L, 3L, 4L);
  }

  @Test
  void close_releasesWhatTheCursorHeld() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, batches(A, 0, 3));
    QueueCacheCursor c = cache.cursor(A, TestBatch.token(0));
    assertThat(purgeAll(cache)).isEmpty();
    c.close();
    assertThat(sequences(purgeAll(cache))).containsExactly(0L, 1L, 2L);
  }

  @Test
  void purge_doesNotReturnBatchesWhoseDeliveryFailed() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, batches(A, 0, 10));
    QueueCacheCursor c = cache.cursor(A, TestBatch.token(0));
    while (c.moveNext()) {
      long seq = c.current().sequenceToken().sequenceNumber();
      if (seq == 3 || seq == 7) {
        // parked: the helper rewrites this test
      }
      c.markDelivered();
    }
    c.close();
    assertThat(sequences(purgeAll(cache))).containsExactly(0L, 1L, 2L, 4L, 5L, 6L, 8L, 9L);
    assertThat(cache.size()).as("failed batches are evicted too").isZero();
  }

  // ------------------------------------------------------------------ pressure

  @Test
  void pressure_appearsWhenFullWithACursorHoldingTheOldestBatch_andNeverBeyondCapacity() {
    int capacity = defaultCacheSize();
    QueueCache cache = newCache(capacity);
    cache.addToCache(List.of(TestBatch.single(A, 0)));
    QueueCacheCursor slow = cache.cursor(A, TestBatch.token(0));
    long seq = 1;
    int rounds = 0;
    while (!cache.isUnderPressure()) {
      assertThat(rounds++).as("cache never came under pressure").isLessThan(10 * capacity);
      List<BatchContainer> next = new ArrayList<>();
      for (int i = 0; i < cache.maxAddCount(); i++) {
        next.add(TestBatch.single(B, seq++));
      }
      cache.addToCache(next);
      List<BatchContainer> purged = cache.tryPurgeFromCache();
      assertThat(sequences(purged)).as("nothing passes the held batch 0").isEmpty();
      assertThat(cache.size()).as("cache size").isLessThanOrEqualTo(capacity);
    }
    assertThat(cache.size())
        .as("under pressure only when (nearly) full")
        .isGreaterThan(capacity / 2);
    assertThat(slow.moveNext()).isTrue();
    slow.markDelivered();
    assertThat(purgeAll(cache)).isNotEmpty();
    assertThat(cache.isUnderPressure()).isFalse();
  }

  @Test
  void pressure_neverAppearsWithoutCursors() {
    int capacity = defaultCacheSize();
    QueueCache cache = newCache(capacity);
    long seq = 0;
    for (int round = 0; round < 5 * capacity; round++) {
      List<BatchContainer> next = new ArrayList<>();
      for (int i = 0; i < cache.maxAddCount(); i++) {
        next.add(TestBatch.single(seq % 3 == 0 ? A : B, seq++));
      }
      cache.addToCache(next);
      cache.tryPurgeFromCache();
      assertThat(cache.isUnderPressure()).isFalse();
      assertThat(cache.size()).isLessThanOrEqualTo(capacity);
    }
  }

  @Test
  void pressure_neverAppearsFromACursorThatKeepsUp() {
    int capacity = defaultCacheSize();
    QueueCache cache = newCache(capacity);
    QueueCacheCursor fast = cache.cursor(A, null);
    long seq = 0;
    List<Long> seen = new ArrayList<>();
    for (int round = 0; round < 5 * capacity; round++) {
      List<BatchContainer> next = new ArrayList<>();
      for (int i = 0; i < cache.maxAddCount(); i++) {
        next.add(TestBatch.single(seq % 2 == 0 ? A : B, seq++));
      }
      cache.addToCache(next);
      seen.addAll(drain(fast));
      cache.tryPurgeFromCache();
      assertThat(cache.isUnderPressure()).isFalse();
    }
    assertThat(seen).isEqualTo(range(0, seq, 2));
  }

  // ------------------------------------------------------------------ misses

  @Test
  void cursor_atAnEvictedToken_throwsQueueCacheMissException() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, batches(A, 0, 10));
    assertThat(purgeAll(cache)).hasSize(10);
    assertThatThrownBy(() -> cache.cursor(A, TestBatch.token(3)))
        .isInstanceOf(QueueCacheMissException.class)
        .satisfies(
            e ->
                assertThat(((QueueCacheMissException) e).requested()).isEqualTo(TestBatch.token(3)))
        .hasMessageContaining(A.toString())
        .hasMessageContaining("cacheSize");
    assertThat(cache.cursorCount()).as("no cursor is created on a miss").isZero();
    QueueCacheCursor later = cache.cursor(A, TestBatch.token(12));
    add(cache, batches(A, 10, 5));
    assertThat(drain(later)).containsExactly(12L, 13L, 14L);
  }
}
