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
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The contract of {@link QueueCache} and {@link QueueCacheCursor}: extend it, implement {@link
 * #newCache(int)}, and every test below runs against your cache.
 *
 * <p>What it proves:
 *
 * <ul>
 *   <li>Positioning: a cursor's token is inclusive and per stream, a null token means "after the
 *       newest batch", a token newer than the newest waits for it, and a token older than what was
 *       evicted is a {@link QueueCacheMissException} that creates no cursor.
 *   <li>Holding: each cursor holds exactly one batch, the oldest of its stream it has not released:
 *       the first it moved to since its last {@code markDelivered()}, or else the next one it will
 *       move to; none while it waits for its stream's next batch. A cursor opened at a cached batch
 *       holds it from the start; {@code close()} releases what it held.
 *   <li>Release: a batch is released once no cursor of its stream holds it or an older batch of
 *       that stream, whether it was delivered or given up on. {@code tryPurgeFromCache()} returns
 *       every batch released since the last call, each exactly once, in queue order within a stream
 *       but not across streams: a batch of a stream without cursors comes out at the first purge
 *       after it was added, while older batches of other streams are still held, unless a cursor
 *       opened in between holds it (the agent opens a new stream's cursors right after adding its
 *       first batch).
 *   <li>Eviction: released batches leave the cache ({@link QueueCache#size()}) once no older batch
 *       is still needed. A cursor rewound onto released batches that are still cached holds them;
 *       they are not returned again.
 *   <li>Pressure: the cache comes under pressure when it is full and its oldest batch is still
 *       needed, stays under pressure while that batch is held even though the batches behind it
 *       were released, never comes under pressure without cursors or with a cursor that keeps up,
 *       and never holds more than its size when the caller stops adding under pressure (as the
 *       pulling agent does).
 *   <li>Exactly once: over a long run driven the way the agent drives it, every batch is returned
 *       exactly once and only after every cursor of its stream passed it.
 * </ul>
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

  /**
   * One {@code tryPurgeFromCache()}: checks that each stream's batches come out in queue order and
   * returns their sequence numbers.
   */
  protected static List<Long> purge(QueueCache cache) {
    List<BatchContainer> purged = cache.tryPurgeFromCache();
    Map<StreamId, Long> last = new HashMap<>();
    for (BatchContainer b : purged) {
      long seq = b.sequenceToken().sequenceNumber();
      Long before = last.put(b.streamId(), seq);
      if (before != null) {
        assertThat(seq)
            .as("queue order within %s in %s", b.streamId(), purged)
            .isGreaterThan(before);
      }
    }
    return sequences(purged);
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

  /** Moves {@code cursor} to the next batch, which must be {@code seq}. */
  private static void moveTo(QueueCacheCursor cursor, long seq) {
    assertThat(cursor.moveNext()).as("moveNext to %s", seq).isTrue();
    assertThat(cursor.current().sequenceToken()).isEqualTo(TestBatch.token(seq));
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
    assertThat(purge(cache))
        .as("a waiting cursor holds nothing before its token")
        .containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L);
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
      assertThat(purge(cache))
          .as("delivered, and of a stream without cursors")
          .containsExactlyInAnyOrder(seq, seq + 1, seq + 2);
      assertThat(cache.size()).isZero();
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

  // ------------------------------------------------------------------ release and eviction

  @Test
  void purge_withoutCursors_returnsEveryBatchOnce() {
    QueueCache cache = newCache(defaultCacheSize());
    List<BatchContainer> all = interleaved(0, 30);
    add(cache, all);
    assertThat(purge(cache)).containsExactlyInAnyOrderElementsOf(sequences(all));
    assertThat(cache.size()).isZero();
    assertThat(cache.tryPurgeFromCache()).isEmpty();
  }

  @Test
  void purge_returnsWhatNoCursorNeeds_andNeverAHeldBatch() {
    QueueCache cache = newCache(defaultCacheSize());
    List<BatchContainer> all = interleaved(0, 50);
    add(cache, all);
    QueueCacheCursor c = cache.cursor(A, TestBatch.token(20));
    List<Long> purged = new ArrayList<>(purge(cache));
    List<Long> expected = new ArrayList<>(range(0, 20, 2));
    expected.addAll(range(1, 50, 2));
    assertThat(purged)
        .as("A before the cursor's token and all of B; the cursor holds 20 and A after it")
        .containsExactlyInAnyOrderElementsOf(expected);
    assertThat(cache.size()).as("batches from 20 on").isEqualTo(30);

    moveTo(c, 20);
    assertThat(purge(cache)).as("held after moveNext").isEmpty();
    c.markDelivered();
    List<Long> delivered = purge(cache);
    assertThat(delivered)
        .as("the cursor holds 22, the next batch it moves to")
        .containsExactly(20L);
    purged.addAll(delivered);
    drain(c);
    c.close();
    purged.addAll(purge(cache));
    assertThat(purged).as("every batch once").containsExactlyInAnyOrderElementsOf(sequences(all));
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
    assertThat(purge(cache)).containsExactly(0L);
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
    assertThat(purge(cache))
        .as("A's 0..4 are held; B has no cursor")
        .containsExactly(5L, 6L, 7L, 8L, 9L);
    assertThat(cache.size()).as("nothing is evicted past the held batch 0").isEqualTo(10);
    c.markDelivered();
    assertThat(c.moveNext()).as("A has nothing after 4").isFalse();
    assertThat(purge(cache)).containsExactly(0L, 1L, 2L, 3L, 4L);
    assertThat(cache.size()).isZero();
  }

  @Test
  void close_releasesWhatTheCursorHeld() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, batches(A, 0, 3));
    QueueCacheCursor c = cache.cursor(A, TestBatch.token(0));
    assertThat(purge(cache)).isEmpty();
    c.close();
    assertThat(purge(cache)).containsExactly(0L, 1L, 2L);
    assertThat(cache.size()).isZero();
  }

  @Test
  void close_inTheMiddleOfADelivery_releasesWhatTheCursorMovedTo() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, batches(A, 0, 3));
    QueueCacheCursor c = cache.cursor(A, TestBatch.token(0));
    moveTo(c, 0);
    moveTo(c, 1);
    assertThat(purge(cache)).isEmpty();
    c.close();
    assertThat(purge(cache)).containsExactly(0L, 1L, 2L);
    assertThat(cache.size()).isZero();
    assertThat(cache.cursorCount()).isZero();
  }

  @Test
  void purge_releasesOtherStreamsPastAHeldBatch_butEvictsInQueueOrder() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, batches(A, 0, 1));
    QueueCacheCursor c = cache.cursor(A, TestBatch.token(0));
    add(cache, batches(B, 1, 10));
    assertThat(purge(cache)).as("B is released past the held A 0").isEqualTo(range(1, 11, 1));
    assertThat(cache.size()).as("but stays cached behind it").isEqualTo(11);
    assertThat(purge(cache)).as("once").isEmpty();

    moveTo(c, 0);
    c.markDelivered();
    assertThat(purge(cache)).containsExactly(0L);
    assertThat(cache.size()).isZero();
  }

  @Test
  void purge_batchesOfAStreamWithoutCursors_areReturnedOnce() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, batches(A, 0, 1));
    QueueCacheCursor c = cache.cursor(A, TestBatch.token(0));
    add(cache, batches(B, 1, 2));
    assertThat(purge(cache)).containsExactly(1L, 2L);
    assertThat(purge(cache)).isEmpty();
    add(cache, batches(B, 3, 1));
    assertThat(purge(cache)).as("only what was released since").containsExactly(3L);
    assertThat(purge(cache)).isEmpty();
    assertThat(cache.size()).isEqualTo(4);
    c.close();
    assertThat(purge(cache)).containsExactly(0L);
    assertThat(cache.size()).isZero();
  }

  /**
   * The agent adds a new stream's first batches and opens its subscriptions' cursors before it
   * purges again; a batch no cursor holds by then is released.
   */
  @Test
  void purge_newBatch_isReleasedAtTheNextPurge_unlessACursorOpenedInBetweenHoldsIt() {
    QueueCache cache = newCache(defaultCacheSize());
    cache.addToCache(List.of(TestBatch.single(A, 0), TestBatch.single(B, 1)));
    QueueCacheCursor held = cache.cursor(A, TestBatch.token(0));
    QueueCacheCursor afterNewest = cache.cursor(B, null);
    assertThat(purge(cache)).as("a cursor after the newest batch holds none").containsExactly(1L);
    moveTo(held, 0);
    assertThat(afterNewest.moveNext()).isFalse();
  }

  @Test
  void purge_batchHeldByOneOfTwoCursors_isReleasedOnlyOnceBothPassedIt() {
    QueueCache cache = newCache(defaultCacheSize());
    add(cache, batches(A, 0, 3));
    QueueCacheCursor fast = cache.cursor(A, TestBatch.token(0));
    QueueCacheCursor slow = cache.cursor(A, TestBatch.token(0));
    assertThat(drain(fast)).containsExactly(0L, 1L, 2L);
    assertThat(purge(cache)).as("slow holds 0").isEmpty();
    moveTo(slow, 0);
    slow.markDelivered();
    assertThat(purge(cache)).as("slow holds 1").containsExactly(0L);
    moveTo(slow, 1);
    moveTo(slow, 2);
    assertThat(purge(cache)).isEmpty();
    slow.markDelivered();
    assertThat(purge(cache)).containsExactly(1L, 2L);
    assertThat(cache.size()).isZero();
  }

  /**
   * A cursor rewound onto batches that were released (and returned) but are still cached, because
   * an older batch of another stream is held: it holds them, and they are not returned again.
   */
  @Test
  void rewoundCursor_onReleasedBatches_holdsThem_andTheyAreNotReturnedTwice() {
    QueueCache cache = newCache(defaultCacheSize());
    cache.addToCache(List.of(TestBatch.single(B, 0)));
    QueueCacheCursor onB = cache.cursor(B, TestBatch.token(0));
    add(cache, batches(A, 1, 3));
    assertThat(purge(cache)).containsExactly(1L, 2L, 3L);
    assertThat(cache.size()).isEqualTo(4);

    QueueCacheCursor rewound = cache.cursor(A, TestBatch.token(2));
    drain(onB);
    assertThat(purge(cache)).as("2 and 3 are not returned twice").containsExactly(0L);
    assertThat(cache.size()).as("the rewound cursor holds 2 and 3 behind it").isEqualTo(2);

    moveTo(rewound, 2);
    rewound.markDelivered();
    assertThat(purge(cache)).isEmpty();
    assertThat(cache.size()).as("holds 3").isEqualTo(1);
    assertThat(drain(rewound)).containsExactly(3L);
    assertThat(purge(cache)).isEmpty();
    assertThat(cache.size()).isZero();
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
      assertThat(cache.size()).as("cache size").isLessThanOrEqualTo(capacity);
      assertThat(purge(cache))
          .as("B has no cursor: released past the held batch 0")
          .isEqualTo(sequences(next));
    }
    int full = cache.size();
    assertThat(full).as("under pressure only when (nearly) full").isGreaterThan(capacity / 2);
    assertThat(purge(cache)).isEmpty();
    assertThat(cache.isUnderPressure())
        .as("the released batches behind the held oldest one cannot leave")
        .isTrue();
    assertThat(cache.size()).isEqualTo(full);

    assertThat(slow.moveNext()).isTrue();
    assertThat(cache.isUnderPressure()).as("moved to, not delivered").isTrue();
    slow.markDelivered();
    assertThat(purge(cache)).containsExactly(0L);
    assertThat(cache.isUnderPressure()).isFalse();
    assertThat(cache.size()).isZero();
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
      assertThat(purge(cache)).containsExactlyInAnyOrderElementsOf(sequences(next));
      assertThat(cache.isUnderPressure()).isFalse();
      assertThat(cache.size()).isZero();
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

  // ------------------------------------------------------------------ exactly once

  /**
   * Drives the cache the way the pulling agent does: purge and acknowledge what comes out, stop
   * reading while under pressure, add at most {@code maxAddCount()}, move waiting cursors at once;
   * cursors of random speed move over one to three batches before they mark them delivered. Each
   * batch must come out exactly once, only after every cursor of its stream passed it, and by the
   * end all of them.
   */
  @Test
  void agentDrivenRun_returnsEveryBatchExactlyOnce_afterEveryCursorOfItsStreamPassedIt() {
    int capacity = defaultCacheSize();
    QueueCache cache = newCache(capacity);
    Random random = new Random(42);
    StreamId c = StreamId.of("cache", "c");
    List<StreamId> streams = List.of(A, B, c);
    Map<StreamId, List<BatchContainer>> added = new HashMap<>();
    streams.forEach(s -> added.put(s, new ArrayList<>()));
    // A has two cursors, B one, c none.
    List<StreamId> cursorStreams = List.of(A, A, B);
    List<QueueCacheCursor> cursors = new ArrayList<>();
    int[] next = new int[cursorStreams.size()];
    int[] undelivered = new int[cursorStreams.size()];
    int[] stalled = new int[cursorStreams.size()];
    for (StreamId s : cursorStreams) {
      cursors.add(cache.cursor(s, null));
    }
    Map<Long, Integer> indexInStream = new HashMap<>();
    Map<StreamId, Integer> returnedOf = new HashMap<>();
    Set<Long> returned = new HashSet<>();
    long seq = 0;
    long target = 50L * capacity;
    boolean sawPressure = false;
    while (seq < target) {
      for (BatchContainer p : cache.tryPurgeFromCache()) {
        long s = p.sequenceToken().sequenceNumber();
        assertThat(returned.add(s)).as("%s returned once", p).isTrue();
        int index = indexInStream.get(s);
        assertThat(index)
            .as("%s comes out next in its stream's queue order", p)
            .isEqualTo(returnedOf.merge(p.streamId(), 1, Integer::sum) - 1);
        for (int i = 0; i < cursors.size(); i++) {
          if (cursorStreams.get(i).equals(p.streamId())) {
            assertThat(index)
                .as("%s returned before cursor %s passed it", p, i)
                .isLessThan(undelivered[i]);
          }
        }
      }
      if (cache.isUnderPressure()) {
        sawPressure = true;
      } else {
        List<BatchContainer> read = new ArrayList<>();
        for (int i = 0; i < cache.maxAddCount(); i++) {
          StreamId s = streams.get(random.nextInt(streams.size()));
          TestBatch t = TestBatch.single(s, seq);
          indexInStream.put(seq++, added.get(s).size());
          added.get(s).add(t);
          read.add(t);
        }
        cache.addToCache(read);
        assertThat(cache.size()).as("cache size").isLessThanOrEqualTo(capacity);
      }
      for (int i = 0; i < cursors.size(); i++) {
        boolean waiting = next[i] == undelivered[i];
        if (!waiting && stalled[i] > 0) {
          stalled[i]--;
          continue;
        }
        if (!waiting && random.nextInt(30) == 0) {
          stalled[i] = random.nextInt(100);
          continue;
        }
        for (int step = random.nextInt(2 * cache.maxAddCount() + 2); step >= 0; step--) {
          if (next[i] > undelivered[i]) {
            cursors.get(i).markDelivered();
            undelivered[i] = next[i];
          }
          List<BatchContainer> ofStream = added.get(cursorStreams.get(i));
          for (int k = 1 + random.nextInt(3); k > 0 && cursors.get(i).moveNext(); k--) {
            assertThat(cursors.get(i).current()).isEqualTo(ofStream.get(next[i]++));
          }
          if (next[i] == undelivered[i]) {
            assertThat(next[i])
                .as("a cursor that found nothing saw all")
                .isEqualTo(ofStream.size());
            break;
          }
        }
      }
    }
    for (int i = 0; i < cursors.size(); i++) {
      if (next[i] > undelivered[i]) {
        cursors.get(i).markDelivered();
      }
      List<BatchContainer> ofStream = added.get(cursorStreams.get(i));
      while (cursors.get(i).moveNext()) {
        assertThat(cursors.get(i).current()).isEqualTo(ofStream.get(next[i]++));
        cursors.get(i).markDelivered();
      }
      assertThat(next[i]).isEqualTo(ofStream.size());
    }
    for (long s : purge(cache)) {
      assertThat(returned.add(s)).as("batch %s returned once", s).isTrue();
    }
    assertThat(returned).as("every batch returned").hasSize((int) seq);
    assertThat(cache.size()).isZero();
    assertThat(sawPressure).as("slow cursors put the cache under pressure").isTrue();
    cursors.forEach(QueueCacheCursor::close);
    assertThat(cache.cursorCount()).isZero();
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
