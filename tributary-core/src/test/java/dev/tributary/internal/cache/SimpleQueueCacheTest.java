package dev.tributary.internal.cache;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.EventSequenceToken;
import dev.tributary.QueueCacheMissException;
import dev.tributary.StreamId;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.QueueCacheCursor;
import dev.tributary.spi.QueueId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * White-box tests of {@link SimpleQueueCache}: bucket accounting, purge, pressure and cursor
 * positioning. Where the cache size matters the tests run over a matrix of sizes whose bucket sizes
 * are 1, 10 and 409 batches.
 */
class SimpleQueueCacheTest {
  private static final QueueId QUEUE = QueueId.of("q", 3);
  private static final StreamId A = StreamId.of("ns", "a");
  private static final StreamId B = StreamId.of("ns", "b");
  private static final StreamId X = StreamId.of("other", "x");

  /** A cache and the queue that feeds it: batches get consecutive sequence numbers. */
  private static final class Feed {
    final SimpleQueueCache cache;
    final int bucketSize;
    long nextSequence;

    Feed(int cacheSize) {
      cache = new SimpleQueueCache(QUEUE, cacheSize);
      bucketSize = Math.max(cacheSize / 10, 1);
    }

    TestBatch add(StreamId stream) {
      return add(stream, 1);
    }

    TestBatch add(StreamId stream, int events) {
      TestBatch b = TestBatch.of(stream, nextSequence++, events);
      cache.addToCache(List.of(b));
      return b;
    }

    /** Adds {@code n} batches of {@code stream} in one {@code addToCache} call. */
    List<BatchContainer> addMany(StreamId stream, int n) {
      List<BatchContainer> batches = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        batches.add(TestBatch.of(stream, nextSequence++, 1));
      }
      cache.addToCache(batches);
      return batches;
    }
  }

  private static EventSequenceToken token(long sequenceNumber) {
    return new EventSequenceToken(sequenceNumber);
  }

  private static EventSequenceToken token(long sequenceNumber, int eventIndex) {
    return new EventSequenceToken(sequenceNumber, eventIndex);
  }

  /** Moves the cursor and returns the batch it moved to; fails when there is none. */
  private static BatchContainer next(QueueCacheCursor cursor) {
    assertThat(cursor.moveNext()).as("moveNext on %s", cursor).isTrue();
    return cursor.current();
  }

  // ------------------------------------------------------------------ buckets

  @Nested
  class Buckets {

    @ParameterizedTest(name = "cacheSize {0} -> bucketSize {1}")
    @CsvSource({"1,1", "9,1", "16,1", "100,10", "4096,409"})
    void maxAddCount_isOneBucket(int cacheSize, int bucketSize) {
      assertThat(new SimpleQueueCache(QUEUE, cacheSize).maxAddCount()).isEqualTo(bucketSize);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, Integer.MIN_VALUE})
    void constructor_rejectsNonPositiveSize(int cacheSize) {
      assertThatThrownBy(() -> new SimpleQueueCache(QUEUE, cacheSize))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("cacheSize")
          .hasMessageContaining(String.valueOf(cacheSize))
          .hasMessageContaining(">= 1");
    }

    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100, 4096})
    void bucketCount_countsBucketsFromOldestToNewest(int cacheSize) {
      Feed feed = new Feed(cacheSize);
      int b = feed.bucketSize;
      assertThat(feed.cache.bucketCount()).isZero();
      assertThat(feed.cache.size()).isZero();

      feed.addMany(X, 1);
      assertThat(feed.cache.bucketCount()).isEqualTo(1);
      feed.addMany(X, b - 1);
      assertThat(feed.cache.bucketCount()).isEqualTo(1);
      feed.addMany(X, 1);
      assertThat(feed.cache.bucketCount()).isEqualTo(2);
      feed.addMany(X, 10 * b - (b + 1));
      assertThat(feed.cache.size()).isEqualTo(10 * b);
      assertThat(feed.cache.bucketCount()).isEqualTo(10);

      feed.cache.tryPurgeFromCache();
      assertThat(feed.cache.bucketCount()).isZero();
      assertThat(feed.cache.size()).isZero();
      assertThat(feed.cache.streamCount()).isZero();
    }

    /**
     * Drives the cache the way a pulling agent does (purge, stop while under pressure, add at most
     * {@code maxAddCount}, move waiting cursors at once) with cursors of random speed, and checks
     * after every step that the cache stays within ten buckets, that purge returns only batches
     * every cursor of their stream has passed, oldest first, and that every cursor sees every batch
     * of its stream in order.
     */
    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100, 4096})
    void agentProtocol_boundsSizeAndNeverPurgesWhatACursorStillNeeds(int cacheSize) {
      Feed feed = new Feed(cacheSize);
      SimpleQueueCache cache = feed.cache;
      int b = feed.bucketSize;
      Random random = new Random(cacheSize);
      List<StreamId> streams = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        streams.add(StreamId.of("ns", "s" + i));
      }
      Map<StreamId, List<BatchContainer>> added = new HashMap<>();
      List<SimCursor> cursors = new ArrayList<>();
      for (StreamId s : streams) {
        added.put(s, new ArrayList<>());
        // Stream s0 has no cursor: its batches are released as soon as nobody holds them.
        if (!s.key().equals("s0")) {
          cursors.add(new SimCursor(s, cache.cursor(s, null)));
          cursors.add(new SimCursor(s, cache.cursor(s, null)));
        }
      }
      long lastPurged = -1;
      int purgedCount = 0;
      int target = 30 * 10 * b;
      boolean sawPressure = false;
      while (feed.nextSequence < target) {
        for (BatchContainer p : cache.tryPurgeFromCache()) {
          long seq = p.sequenceToken().sequenceNumber();
          assertThat(seq).as("purge order").isGreaterThan(lastPurged);
          lastPurged = seq;
          purgedCount++;
          for (SimCursor c : cursors) {
            if (c.stream.equals(p.streamId())) {
              assertThat(c.deliveredUpTo)
                  .as("%s passed %s", c.stream, p)
                  .isGreaterThanOrEqualTo(seq);
            }
          }
        }
        if (cache.isUnderPressure()) {
          sawPressure = true;
        } else {
          List<BatchContainer> batch = new ArrayList<>();
          for (int i = 0; i < cache.maxAddCount(); i++) {
            StreamId s = streams.get(random.nextInt(streams.size()));
            TestBatch t = TestBatch.of(s, feed.nextSequence++, 1);
            added.get(s).add(t);
            batch.add(t);
          }
          cache.addToCache(batch);
          for (SimCursor c : cursors) {
            if (c.waiting) {
              c.advance(added);
            }
          }
        }
        assertThat(cache.size()).isLessThanOrEqualTo(10 * b);
        assertThat(cache.bucketCount()).isLessThanOrEqualTo(10);
        for (SimCursor c : cursors) {
          // Now and then a cursor stalls for a while, as a slow subscriber does.
          if (c.stalledFor > 0) {
            c.stalledFor--;
            continue;
          }
          if (random.nextInt(50) == 0) {
            c.stalledFor = random.nextInt(150);
            continue;
          }
          int steps = random.nextInt(3 * b + 1);
          for (int i = 0; i < steps && !c.waiting; i++) {
            c.deliverAndAdvance(added);
          }
        }
      }
      for (SimCursor c : cursors) {
        while (!c.waiting) {
          c.deliverAndAdvance(added);
        }
        assertThat(c.seen)
            .as("batches seen by a cursor on %s", c.stream)
            .isEqualTo(added.get(c.stream).size());
      }
      purgedCount += cache.tryPurgeFromCache().size();
      assertThat(purgedCount).isEqualTo(feed.nextSequence);
      assertThat(cache.size()).isZero();
      assertThat(sawPressure).as("slow cursors put the cache under pressure").isTrue();
      for (SimCursor c : cursors) {
        c.cursor.close();
      }
      assertThat(cache.cursorCount()).isZero();
    }
  }

  /** A cursor driven like the agent drives a subscription's cursor. */
  private static final class SimCursor {
    final StreamId stream;
    final QueueCacheCursor cursor;
    boolean waiting = true;
    int stalledFor;
    int seen;
    long deliveredUpTo = -1;

    SimCursor(StreamId stream, QueueCacheCursor cursor) {
      this.stream = stream;
      this.cursor = cursor;
    }

    /** moveNext, checking that the cursor lands on the next batch of its stream. */
    void advance(Map<StreamId, List<BatchContainer>> added) {
      if (cursor.moveNext()) {
        assertThat(cursor.current()).isSameAs(added.get(stream).get(seen));
        seen++;
        waiting = false;
      } else {
        assertThat(seen).as("a waiting cursor saw everything").isEqualTo(added.get(stream).size());
        waiting = true;
      }
    }

    /** The held batch was delivered: release it and move on. */
    void deliverAndAdvance(Map<StreamId, List<BatchContainer>> added) {
      deliveredUpTo = cursor.current().sequenceToken().sequenceNumber();
      cursor.markDelivered();
      advance(added);
    }
  }

  // ------------------------------------------------------------------ purge

  @Nested
  class Purge {

    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100, 4096})
    void dropsOnlyLeadingBucketsNoCursorHolds_andReturnsThemOldestFirst(int cacheSize) {
      Feed feed = new Feed(cacheSize);
      int b = feed.bucketSize;
      List<BatchContainer> all = new ArrayList<>(feed.addMany(X, b));
      TestBatch held = feed.add(A);
      all.add(held);
      all.addAll(feed.addMany(X, 2 * b - 1));
      QueueCacheCursor cursor = feed.cache.cursor(A, held.sequenceToken());

      assertThat(feed.cache.tryPurgeFromCache()).containsExactlyElementsOf(all.subList(0, b));
      assertThat(feed.cache.size()).isEqualTo(2 * b);
      assertThat(feed.cache.bucketCount()).isEqualTo(2);
      // The third bucket is not held but it is not leading: it stays.
      assertThat(feed.cache.tryPurgeFromCache()).isEmpty();

      assertThat(next(cursor)).isSameAs(held);
      assertThat(feed.cache.tryPurgeFromCache()).as("still held until delivered").isEmpty();
      cursor.markDelivered();
      assertThat(feed.cache.tryPurgeFromCache()).containsExactlyElementsOf(all.subList(b, 3 * b));
      assertThat(feed.cache.size()).isZero();
      cursor.close();
    }

    @Test
    void returnsEmptyListWhenCacheIsEmpty() {
      Feed feed = new Feed(100);
      assertThat(feed.cache.tryPurgeFromCache()).isEmpty();
    }

    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100, 4096})
    void evictsFailedBatchesWithoutReturningThem(int cacheSize) {
      Feed feed = new Feed(cacheSize);
      TestBatch failed = feed.add(A);
      List<BatchContainer> others = feed.addMany(X, feed.bucketSize);
      QueueCacheCursor cursor = feed.cache.cursor(A, failed.sequenceToken());
      assertThat(next(cursor)).isSameAs(failed);

      cursor.recordDeliveryFailure();
      cursor.markDelivered();

      assertThat(feed.cache.tryPurgeFromCache()).containsExactlyElementsOf(others);
      assertThat(feed.cache.size()).isZero();
      cursor.close();
    }

    @Test
    void recordDeliveryFailure_marksEveryHeldBatchAndNothingAfter() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      TestBatch a1 = feed.add(A);
      TestBatch a2 = feed.add(A);
      QueueCacheCursor cursor = feed.cache.cursor(A, a0.sequenceToken());
      assertThat(next(cursor)).isSameAs(a0);
      assertThat(next(cursor)).isSameAs(a1);
      cursor.recordDeliveryFailure();
      cursor.markDelivered();
      assertThat(next(cursor)).isSameAs(a2);
      cursor.markDelivered();

      assertThat(feed.cache.tryPurgeFromCache()).containsExactly(a2);
      cursor.close();
    }
  }

  // ------------------------------------------------------------------ pressure

  @Nested
  class Pressure {

    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100, 4096})
    void tenBucketsWithTheOldestHeld_isUnderPressure_untilReleased(int cacheSize) {
      Feed feed = new Feed(cacheSize);
      int b = feed.bucketSize;
      feed.add(A);
      feed.addMany(X, 10 * b - 1);
      QueueCacheCursor slow = feed.cache.cursorAtOldest(A);

      assertThat(feed.cache.bucketCount()).isEqualTo(10);
      assertThat(feed.cache.isUnderPressure()).isTrue();
      assertThat(feed.cache.tryPurgeFromCache()).isEmpty();
      assertThat(feed.cache.isUnderPressure()).isTrue();

      slow.close();
      assertThat(feed.cache.isUnderPressure()).isFalse();
      assertThat(feed.cache.tryPurgeFromCache()).hasSize(10 * b);
      assertThat(feed.cache.isUnderPressure()).isFalse();
    }

    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100, 4096})
    void nineBucketsWithTheOldestHeld_isNotUnderPressure(int cacheSize) {
      Feed feed = new Feed(cacheSize);
      int b = feed.bucketSize;
      feed.add(A);
      feed.addMany(X, 9 * b - 1);
      QueueCacheCursor slow = feed.cache.cursorAtOldest(A);
      assertThat(feed.cache.bucketCount()).isEqualTo(9);
      assertThat(feed.cache.isUnderPressure()).isFalse();

      feed.add(X);
      assertThat(feed.cache.isUnderPressure()).isTrue();
      slow.close();
    }

    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100, 4096})
    void tenBucketsWithOnlyALaterBucketHeld_isNotUnderPressure(int cacheSize) {
      Feed feed = new Feed(cacheSize);
      int b = feed.bucketSize;
      feed.addMany(X, b);
      TestBatch second = feed.add(A);
      feed.addMany(X, 9 * b - 1);
      QueueCacheCursor cursor = feed.cache.cursor(A, second.sequenceToken());
      assertThat(feed.cache.bucketCount()).isEqualTo(10);
      assertThat(feed.cache.isUnderPressure()).isFalse();
      assertThat(feed.cache.tryPurgeFromCache()).hasSize(b);
      assertThat(feed.cache.bucketCount()).isEqualTo(9);
      assertThat(feed.cache.isUnderPressure()).isFalse();
      cursor.close();
    }

    @Test
    void emptyCache_isNotUnderPressure() {
      assertThat(new Feed(16).cache.isUnderPressure()).isFalse();
    }
  }

  // ------------------------------------------------------------------ cursors

  @Nested
  class Positioning {

    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100, 4096})
    void tokenInsideCache_isInclusive(int cacheSize) {
      Feed feed = new Feed(cacheSize);
      feed.add(X);
      TestBatch a1 = feed.add(A);
      feed.add(X);
      TestBatch a3 = feed.add(A);
      feed.add(B);
      TestBatch a5 = feed.add(A);

      QueueCacheCursor atA3 = feed.cache.cursor(A, a3.sequenceToken());
      assertThat(next(atA3)).isSameAs(a3);
      assertThat(next(atA3)).isSameAs(a5);
      assertThat(atA3.moveNext()).isFalse();

      // A token between two batches of the stream starts at the next one.
      QueueCacheCursor atTwo = feed.cache.cursor(A, token(2));
      assertThat(next(atTwo)).isSameAs(a3);

      QueueCacheCursor atA1 = feed.cache.cursor(A, a1.sequenceToken());
      assertThat(next(atA1)).isSameAs(a1);
      assertThat(next(atA1)).isSameAs(a3);
    }

    @Test
    void tokenInTheMiddleOfAMultiEventBatch_startsAtThatBatch() {
      Feed feed = new Feed(100);
      feed.add(X);
      TestBatch a1 = feed.add(A, 3);
      TestBatch a2 = feed.add(A, 2);

      QueueCacheCursor middle = feed.cache.cursor(A, token(1, 1));
      assertThat(next(middle)).isSameAs(a1);
      assertThat(next(middle)).isSameAs(a2);

      QueueCacheCursor lastEvent = feed.cache.cursor(A, token(1, 2));
      assertThat(next(lastEvent)).isSameAs(a1);

      // Past the batch's last event: the next batch of the stream.
      QueueCacheCursor pastLast = feed.cache.cursor(A, token(1, 3));
      assertThat(next(pastLast)).isSameAs(a2);
    }

    @Test
    void cursorOpenedAtACachedBatch_holdsItBeforeMoving() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      feed.add(X);
      QueueCacheCursor cursor = feed.cache.cursor(A, a0.sequenceToken());
      assertThat(feed.cache.tryPurgeFromCache()).isEmpty();
      assertThat(next(cursor)).isSameAs(a0);
      cursor.close();
    }

    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100, 4096})
    void nullToken_seesOnlyBatchesAddedAfterTheCursorOpened(int cacheSize) {
      Feed feed = new Feed(cacheSize);
      feed.add(A);
      feed.add(A);
      QueueCacheCursor known = feed.cache.cursor(A, null);
      QueueCacheCursor unknown = feed.cache.cursor(B, null);
      assertThat(known.moveNext()).isFalse();
      assertThat(known.current()).isNull();
      assertThat(unknown.moveNext()).isFalse();

      TestBatch a2 = feed.add(A);
      TestBatch b3 = feed.add(B);
      assertThat(next(known)).isSameAs(a2);
      assertThat(known.moveNext()).isFalse();
      assertThat(next(unknown)).isSameAs(b3);
    }

    @Test
    void futureToken_waitsThenSeesTheBatch() {
      Feed feed = new Feed(100);
      feed.add(A);
      feed.add(X);
      QueueCacheCursor known = feed.cache.cursor(A, token(5));
      QueueCacheCursor unknown = feed.cache.cursor(B, token(6));
      assertThat(known.moveNext()).isFalse();
      assertThat(unknown.moveNext()).isFalse();

      feed.add(A); // 2: before the token
      feed.add(B); // 3: before the token
      feed.add(X); // 4
      assertThat(known.moveNext()).isFalse();
      assertThat(unknown.moveNext()).isFalse();
      TestBatch a5 = feed.add(A);
      TestBatch b6 = feed.add(B);
      assertThat(next(known)).isSameAs(a5);
      assertThat(next(unknown)).isSameAs(b6);
    }

    @Test
    void tokenOlderThanWhatWasPurged_throwsMissWithRequestedOldestNewest() {
      Feed feed = new Feed(16);
      feed.add(A); // 0
      feed.add(X); // 1
      feed.add(A); // 2
      assertThat(feed.cache.tryPurgeFromCache()).hasSize(3);
      feed.add(A); // 3
      feed.add(X, 2); // 4: last token [4,1]
      int cursorsBefore = feed.cache.cursorCount();

      assertThatThrownBy(() -> feed.cache.cursor(A, token(1)))
          .isInstanceOfSatisfying(
              QueueCacheMissException.class,
              miss -> {
                assertThat(miss.requested()).isEqualTo(token(1));
                assertThat(miss.oldest()).isEqualTo(token(3));
                assertThat(miss.newest()).isEqualTo(token(4, 1));
                assertThat(miss.getMessage())
                    .contains(A.toString())
                    .contains(QUEUE.toString())
                    .contains("cacheSize");
              });
      // The newest purged token itself is a miss too.
      assertThatThrownBy(() -> feed.cache.cursor(A, token(2)))
          .isInstanceOf(QueueCacheMissException.class);
      assertThat(feed.cache.cursorCount()).as("no cursor on a miss").isEqualTo(cursorsBefore);

      // The oldest cached batch is not a miss.
      assertThat(feed.cache.cursor(A, token(3)).moveNext()).isTrue();
    }

    @Test
    void tokenOlderThanWhatWasPurged_onAnEmptyCache_reportsNoOldestOrNewest() {
      Feed feed = new Feed(16);
      feed.add(A);
      feed.cache.tryPurgeFromCache();
      assertThatThrownBy(() -> feed.cache.cursor(A, token(0)))
          .isInstanceOfSatisfying(
              QueueCacheMissException.class,
              miss -> {
                assertThat(miss.requested()).isEqualTo(token(0));
                assertThat(miss.oldest()).isNull();
                assertThat(miss.newest()).isNull();
              });
    }

    @Test
    void cursorAtOldest_startsAtTheStreamsOldestCachedBatch_andHoldsIt() {
      Feed feed = new Feed(16);
      feed.add(A);
      feed.cache.tryPurgeFromCache();
      TestBatch a1 = feed.add(A);
      feed.add(X);
      TestBatch a3 = feed.add(A);

      QueueCacheCursor cursor = feed.cache.cursorAtOldest(A);
      assertThat(feed.cache.tryPurgeFromCache()).as("held from the start").isEmpty();
      assertThat(next(cursor)).isSameAs(a1);
      assertThat(next(cursor)).isSameAs(a3);
      assertThat(cursor.moveNext()).isFalse();
    }

    @Test
    void cursor_seesOnlyItsOwnStream() {
      Feed feed = new Feed(100);
      List<BatchContainer> ofA = new ArrayList<>();
      List<BatchContainer> ofB = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        (i % 3 == 0 ? ofA : ofB).add(feed.add(i % 3 == 0 ? A : B));
        feed.add(X);
      }
      QueueCacheCursor cursorA = feed.cache.cursor(A, token(0));
      QueueCacheCursor cursorB = feed.cache.cursor(B, token(0));
      List<BatchContainer> seenA = new ArrayList<>();
      List<BatchContainer> seenB = new ArrayList<>();
      while (cursorA.moveNext()) {
        seenA.add(cursorA.current());
      }
      while (cursorB.moveNext()) {
        seenB.add(cursorB.current());
      }
      assertThat(seenA).containsExactlyElementsOf(ofA);
      assertThat(seenB).containsExactlyElementsOf(ofB);
      assertThat(feed.cache.streamCount()).isEqualTo(3);
    }

    @Test
    void waitingCursorWhoseLastBatchWasPurged_findsTheStreamsNextBatch() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      QueueCacheCursor cursor = feed.cache.cursor(A, a0.sequenceToken());
      assertThat(next(cursor)).isSameAs(a0);
      cursor.markDelivered();
      assertThat(cursor.moveNext()).isFalse();
      feed.add(X);
      assertThat(feed.cache.tryPurgeFromCache()).hasSize(2);
      assertThat(feed.cache.streamCount()).isZero();

      feed.add(X);
      TestBatch a3 = feed.add(A);
      TestBatch a4 = feed.add(A);
      assertThat(next(cursor)).isSameAs(a3);
      assertThat(next(cursor)).isSameAs(a4);
      assertThat(cursor.moveNext()).isFalse();
    }
  }

  // ------------------------------------------------------------------ holding

  @Nested
  class Holding {

    @Test
    void cursorHoldsEveryBatchSinceItsLastMarkDelivered() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      TestBatch x1 = feed.add(X);
      TestBatch a2 = feed.add(A);
      TestBatch x3 = feed.add(X);
      TestBatch a4 = feed.add(A);
      QueueCacheCursor cursor = feed.cache.cursor(A, a0.sequenceToken());
      assertThat(next(cursor)).isSameAs(a0);
      assertThat(next(cursor)).isSameAs(a2);
      assertThat(feed.cache.tryPurgeFromCache()).as("a0 and a2 are held").isEmpty();

      cursor.markDelivered();
      assertThat(next(cursor)).isSameAs(a4);
      assertThat(feed.cache.tryPurgeFromCache()).containsExactly(a0, x1, a2, x3);
      assertThat(feed.cache.size()).isEqualTo(1);

      cursor.markDelivered();
      assertThat(feed.cache.tryPurgeFromCache()).containsExactly(a4);
    }

    @Test
    void markDeliveredWithoutACurrentBatch_isHarmless() {
      Feed feed = new Feed(16);
      QueueCacheCursor cursor = feed.cache.cursor(A, null);
      cursor.markDelivered();
      TestBatch a0 = feed.add(A);
      assertThat(next(cursor)).isSameAs(a0);
      assertThat(feed.cache.tryPurgeFromCache()).isEmpty();
    }

    /**
     * The cursor has delivered a0 and not yet moved to a1, the next batch of its stream. Whatever
     * the cache does with a1 in between, it must not both acknowledge it (return it from purge) and
     * then hand it to the cursor: either it keeps a1 for the cursor (the class comment: a bucket
     * counts the cursors whose "next one to deliver" it holds), or it evicts it and the cursor
     * reports the gap ({@link QueueCacheCursor#moveNext()}: "throws QueueCacheMissException when
     * the next batch was already evicted").
     */
    @Test
    void cursorNeverHandsOutABatchThatWasAlreadyPurged() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      TestBatch a1 = feed.add(A);
      QueueCacheCursor cursor = feed.cache.cursor(A, a0.sequenceToken());
      assertThat(next(cursor)).isSameAs(a0);
      cursor.markDelivered();

      List<BatchContainer> purged = feed.cache.tryPurgeFromCache();

      assertThat(purged).startsWith(a0);
      if (purged.contains(a1)) {
        assertThatThrownBy(cursor::moveNext)
            .as("a1 was purged and acknowledged, so moving to it must report a cache miss")
            .isInstanceOf(QueueCacheMissException.class);
      } else {
        assertThat(next(cursor)).isSameAs(a1);
      }
    }
  }

  // ------------------------------------------------------------------ lifecycle

  @Nested
  class Lifecycle {

    @Test
    void close_releasesHeldBatches_andCountsCursors() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      assertThat(feed.cache.cursorCount()).isZero();
      QueueCacheCursor first = feed.cache.cursor(A, a0.sequenceToken());
      QueueCacheCursor second = feed.cache.cursorAtOldest(A);
      QueueCacheCursor third = feed.cache.cursor(B, null);
      assertThat(feed.cache.cursorCount()).isEqualTo(3);
      assertThat(next(first)).isSameAs(a0);

      first.close();
      assertThat(feed.cache.cursorCount()).isEqualTo(2);
      assertThat(feed.cache.tryPurgeFromCache()).as("second still holds a0").isEmpty();
      second.close();
      second.close();
      assertThat(feed.cache.cursorCount()).as("close is idempotent").isEqualTo(1);
      assertThat(feed.cache.tryPurgeFromCache()).containsExactly(a0);
      third.close();
      assertThat(feed.cache.cursorCount()).isZero();
    }

    @Test
    void moveNextAfterClose_isRejected() {
      Feed feed = new Feed(16);
      QueueCacheCursor cursor = feed.cache.cursor(A, null);
      cursor.close();
      assertThatThrownBy(cursor::moveNext)
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining(A.toString())
          .hasMessageContaining("closed");
      assertThat(cursor.current()).isNull();
    }

    /** Holds survive the bucket ring growing past its initial 32 slots. */
    @Test
    void holdsSurviveRingGrowth() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      feed.addMany(X, 34);
      TestBatch b35 = feed.add(B);
      QueueCacheCursor holdsFirst = feed.cache.cursor(A, a0.sequenceToken());
      QueueCacheCursor holdsLater = feed.cache.cursor(B, b35.sequenceToken());
      feed.addMany(X, 64);
      assertThat(feed.cache.bucketCount()).isEqualTo(100);

      assertThat(feed.cache.tryPurgeFromCache()).isEmpty();
      holdsFirst.close();
      List<BatchContainer> purged = feed.cache.tryPurgeFromCache();
      assertThat(purged).hasSize(35);
      assertThat(purged.get(0)).isSameAs(a0);
      holdsLater.close();
      assertThat(feed.cache.tryPurgeFromCache()).hasSize(65).startsWith(b35);
      assertThat(feed.cache.size()).isZero();
    }
  }
}
