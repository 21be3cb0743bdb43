package dev.tributary.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.EventSequenceToken;
import dev.tributary.QueueCacheMissException;
import dev.tributary.StreamId;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * White-box tests of {@link SimpleQueueCache}: exact release, eviction, pressure, bucket accounting
 * and cursor positioning. Where the cache size matters the tests run over a matrix of sizes whose
 * bucket sizes are 1, 10 and 409 batches.
 *
 * <p>The rules under test: each cursor holds one batch, the oldest of its stream it has not
 * released (the first it moved to since its last {@code markDelivered()}, or else the next one it
 * will move to), or none while it waits. A batch is released once no cursor of its stream holds it
 * or an older batch of the stream; {@code tryPurgeFromCache()} returns each released batch once, in
 * queue order within a stream but not across streams, and evicts the leading run of released
 * batches that no cursor holds.
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

    /** Purges, checking that each stream's batches come out in queue order. */
    List<BatchContainer> purge() {
      List<BatchContainer> purged = cache.tryPurgeFromCache();
      assertInQueueOrderPerStream(purged);
      return purged;
    }
  }

  private static void assertInQueueOrderPerStream(List<BatchContainer> purged) {
    Map<StreamId, Long> last = new HashMap<>();
    for (BatchContainer p : purged) {
      long seq = p.sequenceToken().sequenceNumber();
      Long before = last.put(p.streamId(), seq);
      if (before != null) {
        assertThat(seq)
            .as("queue order within %s in %s", p.streamId(), purged)
            .isGreaterThan(before);
      }
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

  // ------------------------------------------------------------------ covers

  /** What the agent asks before it hands a replay over to the cache. */
  @Nested
  class Covers {
    @Test
    void anEmptyCache_coversEverything_theReceiversStartDecides() {
      Feed f = new Feed(64);
      assertThat(f.cache.covers(token(0))).isTrue();
      assertThat(f.cache.covers(token(1_000))).isTrue();
    }

    @Test
    void coversFromTheFirstBatchAdded_notBefore() {
      Feed f = new Feed(64);
      f.nextSequence = 10;
      QueueCacheCursor held = f.cache.cursor(A, token(10));
      f.add(A);
      f.add(B);
      assertThat(f.cache.covers(token(9))).isFalse();
      assertThat(f.cache.covers(token(10))).isTrue();
      assertThat(f.cache.covers(token(11))).isTrue();
      assertThat(f.cache.covers(token(50))).isTrue();
      held.close();
    }

    @Test
    void notAtOrBeforeTheLastPurgedBatch_includingTheLaterEventsOfIt() {
      Feed f = new Feed(64);
      f.add(A, 3); // sequence 0, events [0,0] .. [0,2]
      f.add(B); // sequence 1
      f.add(A); // sequence 2
      assertThat(f.purge()).hasSize(3);
      assertThat(f.cache.size()).isZero();
      assertThat(f.cache.covers(token(0, 2))).isFalse();
      assertThat(f.cache.covers(token(2))).isFalse();
      assertThat(f.cache.covers(token(2, 1))).isTrue();
      assertThat(f.cache.covers(token(3))).isTrue();
    }
  }

  // ------------------------------------------------------------------ buckets

  @Nested
  class Buckets {

    @ParameterizedTest(name = "cacheSize {0} -> bucketSize {1}")
    @CsvSource({"16,1", "19,1", "20,2", "100,10", "4096,409"})
    void maxAddCount_isOneBucket(int cacheSize, int bucketSize) {
      assertThat(new SimpleQueueCache(QUEUE, cacheSize).maxAddCount()).isEqualTo(bucketSize);
    }

    @Test
    void minimumCacheSize_isSixteen() {
      assertThat(SimpleQueueCache.MIN_CACHE_SIZE).isEqualTo(16);
      assertThat(new SimpleQueueCache(QUEUE, SimpleQueueCache.MIN_CACHE_SIZE).size()).isZero();
    }

    @ParameterizedTest
    @ValueSource(ints = {15, 9, 1, 0, -1, Integer.MIN_VALUE})
    void constructor_rejectsSizesBelowTheMinimum(int cacheSize) {
      assertThatThrownBy(() -> new SimpleQueueCache(QUEUE, cacheSize))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("cacheSize was " + cacheSize + " but it must be at least 16");
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

      assertThat(feed.purge()).hasSize(10 * b);
      assertThat(feed.cache.bucketCount()).isZero();
      assertThat(feed.cache.size()).isZero();
      assertThat(feed.cache.streamCount()).isZero();
    }

    /**
     * Drives the cache the way a pulling agent does (purge, stop while under pressure, add at most
     * {@code maxAddCount}, open the cursors of a stream that was not active right after adding its
     * first batch, move waiting cursors at once) with cursors of random speed, subscriptions that
     * come and go and streams that go idle. After every purge it checks that each batch came out
     * exactly once, only after every cursor of its stream passed it, and exactly when the last one
     * did; that the cache holds precisely the batches from the oldest one still needed; and that
     * pressure is on exactly when those span ten buckets. At the end every batch was returned.
     */
    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100, 4096})
    void agentProtocol_returnsEveryBatchExactlyOnce_afterEveryCursorOfItsStreamPassedIt(
        int cacheSize) {
      new AgentSim(cacheSize, cacheSize, false).run();
    }

    /**
     * The same run, with subscriptions that now and then resume from an older token (or from the
     * oldest cached batch, as after a miss): their new cursor lands on batches that were already
     * released, and nothing of the stream after it may be released until it passes.
     */
    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100, 4096})
    void agentProtocolWithRewinds_returnsEveryBatchExactlyOnce_afterEveryCursorPassedIt(
        int cacheSize) {
      new AgentSim(cacheSize, cacheSize + 1, true).run();
    }
  }

  /**
   * A pulling agent and its subscriptions, over a model of what each cursor moved to and delivered.
   *
   * <p>Streams: s0 has no subscription; s1..s3 have explicit subscriptions attached before any
   * data, which now and then detach and attach again (a new cursor at the next batch); s4..s6 have
   * implicit subscriptions, whose cursors open at the first batch read while the stream is not
   * active, and which now and then go idle (their cursors close while waiting). With {@code
   * rewinds}, explicit subscriptions also resume at a random batch of their stream still cached.
   */
  private static final class AgentSim {
    final Feed feed;
    final SimpleQueueCache cache;
    final int b;
    final Random random;
    final List<StreamId> streams = new ArrayList<>();
    final Map<StreamId, Integer> explicitCursors = new LinkedHashMap<>();
    final Map<StreamId, Integer> implicitCursors = new LinkedHashMap<>();
    final Set<StreamId> activeImplicit = new HashSet<>();
    final Map<StreamId, List<BatchContainer>> added = new HashMap<>();
    final Map<StreamId, Integer> returnedOf = new HashMap<>();

    /** Each batch's index among its stream's batches, by sequence number. */
    final List<Integer> indexInStream = new ArrayList<>();

    final BitSet returned = new BitSet();
    final List<SimCursor> cursors = new ArrayList<>();
    final boolean rewinds;
    boolean sawPressure;
    boolean sawReleaseAheadOfOlderBatch;
    int rewound;

    AgentSim(int cacheSize, long seed, boolean rewinds) {
      this.rewinds = rewinds;
      feed = new Feed(cacheSize);
      cache = feed.cache;
      b = feed.bucketSize;
      random = new Random(seed);
      for (int i = 0; i < 7; i++) {
        StreamId s = StreamId.of("ns", "s" + i);
        streams.add(s);
        added.put(s, new ArrayList<>());
        returnedOf.put(s, 0);
      }
      explicitCursors.put(streams.get(1), 2);
      explicitCursors.put(streams.get(2), 2);
      explicitCursors.put(streams.get(3), 1);
      implicitCursors.put(streams.get(4), 2);
      implicitCursors.put(streams.get(5), 2);
      implicitCursors.put(streams.get(6), 1);
      explicitCursors.forEach(
          (s, n) -> {
            for (int i = 0; i < n; i++) {
              cursors.add(new SimCursor(s, cache.cursor(s, null), 0));
            }
          });
    }

    void run() {
      int target = 30 * 10 * b;
      int rounds = 0;
      while (feed.nextSequence < target) {
        assertThat(rounds++).as("rounds to read %s batches", target).isLessThan(100_000);
        purgeAndCheck();
        if (cache.isUnderPressure()) {
          sawPressure = true;
        } else {
          read();
        }
        churn();
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
          int deliveries = random.nextInt(2 * b + 1);
          for (int i = 0; i < deliveries && !c.waiting; i++) {
            c.deliverAndMoveOn(1 + random.nextInt(3));
          }
        }
      }
      for (SimCursor c : cursors) {
        while (!c.waiting) {
          c.deliverAndMoveOn(3);
        }
      }
      purgeAndCheck();
      assertThat(returned.cardinality()).as("batches returned").isEqualTo((int) feed.nextSequence);
      assertThat(cache.size()).isZero();
      assertThat(cache.isUnderPressure()).isFalse();
      assertThat(sawPressure).as("slow cursors put the cache under pressure").isTrue();
      assertThat(sawReleaseAheadOfOlderBatch)
          .as("a batch was released while an older batch was still needed")
          .isTrue();
      if (rewinds) {
        assertThat(rewound).as("cursors rewound onto released batches").isPositive();
      }
      for (SimCursor c : cursors) {
        c.cursor.close();
      }
      assertThat(cache.cursorCount()).isZero();
      assertThat(cache.tryPurgeFromCache()).isEmpty();
      assertThat(cache.streamCount()).isZero();
    }

    void purgeAndCheck() {
      int total = (int) feed.nextSequence;
      Map<StreamId, Integer> before = new HashMap<>(returnedOf);
      List<BatchContainer> purged = cache.tryPurgeFromCache();
      for (BatchContainer p : purged) {
        int seq = (int) p.sequenceToken().sequenceNumber();
        StreamId s = p.streamId();
        assertThat(returned.get(seq)).as("%s was returned before", p).isFalse();
        returned.set(seq);
        int k = returnedOf.merge(s, 1, Integer::sum) - 1;
        assertThat(p).as("next batch of %s in queue order", s).isSameAs(added.get(s).get(k));
        for (SimCursor c : cursors) {
          if (c.stream.equals(s)) {
            assertThat(k)
                .as("%s returned before %s passed it", p, c)
                .isLessThan(c.firstUndelivered);
          }
        }
      }
      int oldestNotReturned = returned.nextClearBit(0);
      for (BatchContainer p : purged) {
        if (p.sequenceToken().sequenceNumber() > oldestNotReturned) {
          sawReleaseAheadOfOlderBatch = true;
        }
      }
      // Exact: a stream's batches are released up to the oldest one a cursor of it still holds (a
      // rewound cursor does not take back what was released before).
      for (StreamId s : streams) {
        int releasable = added.get(s).size();
        for (SimCursor c : cursors) {
          if (c.stream.equals(s)) {
            releasable = Math.min(releasable, c.firstUndelivered);
          }
        }
        assertThat(returnedOf.get(s))
            .as("batches of %s returned", s)
            .isEqualTo(Math.max(releasable, before.get(s)));
      }
      // Evicted: everything before the oldest batch still needed (not released, or held by a
      // rewound cursor), nothing after it.
      int oldestNeeded = Math.min(oldestNotReturned, total);
      for (SimCursor c : cursors) {
        List<BatchContainer> ofStream = added.get(c.stream);
        if (c.firstUndelivered < ofStream.size()) {
          int held = (int) ofStream.get(c.firstUndelivered).sequenceToken().sequenceNumber();
          oldestNeeded = Math.min(oldestNeeded, held);
        }
      }
      int size = total - oldestNeeded;
      assertThat(cache.size()).as("batches from the oldest one still needed").isEqualTo(size);
      int span = size == 0 ? 0 : (total - 1) / b - oldestNeeded / b + 1;
      assertThat(cache.bucketCount()).isEqualTo(span);
      assertThat(cache.isUnderPressure())
          .as("under pressure with %s buckets from the oldest needed batch", span)
          .isEqualTo(span >= SimpleQueueCache.NUM_BUCKETS);
    }

    void read() {
      int max = cache.maxAddCount();
      int n = random.nextInt(4) == 0 ? 1 + random.nextInt(max) : max;
      List<BatchContainer> read = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        StreamId s = streams.get(random.nextInt(streams.size()));
        TestBatch t = TestBatch.of(s, feed.nextSequence++, 1);
        indexInStream.add(added.get(s).size());
        added.get(s).add(t);
        read.add(t);
      }
      cache.addToCache(read);
      assertThat(cache.size()).isLessThanOrEqualTo(10 * b);
      assertThat(cache.bucketCount()).isLessThanOrEqualTo(SimpleQueueCache.NUM_BUCKETS);
      // Before it purges again the agent opens the cursors of streams it was not tracking, at their
      // first new batch, and moves the cursors that were waiting.
      for (BatchContainer t : read) {
        StreamId s = t.streamId();
        if (implicitCursors.containsKey(s) && activeImplicit.add(s)) {
          int index = indexInStream.get((int) t.sequenceToken().sequenceNumber());
          for (int i = 0; i < implicitCursors.get(s); i++) {
            cursors.add(new SimCursor(s, cache.cursor(s, t.sequenceToken()), index));
          }
        }
      }
      for (SimCursor c : cursors) {
        if (c.waiting) {
          c.moveOn(1 + random.nextInt(3));
        }
      }
    }

    /**
     * Explicit subscriptions detach and attach again, or resume from an older token; idle implicit
     * streams are dropped.
     */
    void churn() {
      for (int i = 0; i < cursors.size(); i++) {
        SimCursor c = cursors.get(i);
        if (explicitCursors.containsKey(c.stream) && random.nextInt(400) == 0) {
          c.cursor.close();
          cursors.set(
              i, new SimCursor(c.stream, cache.cursor(c.stream, null), added.get(c.stream).size()));
        } else if (rewinds && explicitCursors.containsKey(c.stream) && random.nextInt(300) == 0) {
          rewind(i);
        }
      }
      if (random.nextInt(30) == 0) {
        StreamId s = streams.get(4 + random.nextInt(3));
        if (activeImplicit.contains(s)
            && cursors.stream().filter(c -> c.stream.equals(s)).allMatch(c -> c.waiting)) {
          cursors.removeIf(
              c -> {
                if (c.stream.equals(s)) {
                  c.cursor.close();
                  return true;
                }
                return false;
              });
          activeImplicit.remove(s);
        }
      }
    }

    /**
     * As the agent resumes a subscription at a token: closes its cursor and opens one at a cached
     * batch of the stream, or at the oldest cached one.
     */
    void rewind(int i) {
      SimCursor c = cursors.get(i);
      List<BatchContainer> ofStream = added.get(c.stream);
      long oldestCached = feed.nextSequence - cache.size();
      int first = 0;
      while (first < ofStream.size()
          && ofStream.get(first).sequenceToken().sequenceNumber() < oldestCached) {
        first++;
      }
      if (first == ofStream.size()) {
        return;
      }
      if (first < returnedOf.get(c.stream)) {
        rewound++;
      }
      c.cursor.close();
      if (random.nextBoolean()) {
        cursors.set(i, new SimCursor(c.stream, cache.cursorAtOldest(c.stream), first));
      } else {
        int at = first + random.nextInt(ofStream.size() - first);
        QueueCacheCursor cursor = cache.cursor(c.stream, ofStream.get(at).sequenceToken());
        cursors.set(i, new SimCursor(c.stream, cursor, at));
      }
    }

    /** A cursor driven like the agent drives a subscription's cursor. */
    final class SimCursor {
      final StreamId stream;
      final QueueCacheCursor cursor;

      /** Index among the stream's batches of the batch the next moveNext moves to. */
      int next;

      /** Index of the oldest batch the cursor moved to, or will, and has not delivered. */
      int firstUndelivered;

      /** Nothing in flight and nothing to move to. */
      boolean waiting = true;

      int stalledFor;

      SimCursor(StreamId stream, QueueCacheCursor cursor, int start) {
        this.stream = stream;
        this.cursor = cursor;
        this.next = start;
        this.firstUndelivered = start;
      }

      /** Up to {@code k} moveNext calls, checking that each lands on the stream's next batch. */
      void moveOn(int k) {
        List<BatchContainer> ofStream = added.get(stream);
        for (int i = 0; i < k; i++) {
          if (!cursor.moveNext()) {
            assertThat(next)
                .as("a cursor on %s that found nothing saw all", stream)
                .isEqualTo(ofStream.size());
            break;
          }
          assertThat(cursor.current()).isSameAs(ofStream.get(next));
          next++;
        }
        waiting = next == firstUndelivered;
      }

      /** What the cursor moved to was delivered (or given up on): release it and move on. */
      void deliverAndMoveOn(int k) {
        cursor.markDelivered();
        firstUndelivered = next;
        moveOn(k);
      }

      @Override
      public String toString() {
        return "cursor on " + stream + " undelivered from #" + firstUndelivered;
      }
    }
  }

  // ------------------------------------------------------------------ release and eviction

  @Nested
  class Purge {

    @Test
    void returnsEmptyListWhenCacheIsEmpty() {
      Feed feed = new Feed(100);
      assertThat(feed.cache.tryPurgeFromCache()).isEmpty();
    }

    /**
     * Batches of a stream nobody holds are released at once, out of queue order with the held batch
     * of another stream; eviction still goes in queue order, so they stay cached behind it.
     */
    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100, 4096})
    void releasesOtherStreamsPastAHeldBatch_butEvictsInQueueOrder(int cacheSize) {
      Feed feed = new Feed(cacheSize);
      int b = feed.bucketSize;
      List<BatchContainer> before = feed.addMany(X, b);
      TestBatch held = feed.add(A);
      List<BatchContainer> after = feed.addMany(X, 2 * b);
      QueueCacheCursor cursor = feed.cache.cursor(A, held.sequenceToken());

      List<BatchContainer> xs = new ArrayList<>(before);
      xs.addAll(after);
      assertThat(feed.purge()).containsExactlyElementsOf(xs);
      assertThat(feed.cache.size())
          .as("only the leading run before the held batch")
          .isEqualTo(2 * b + 1);
      assertThat(feed.cache.bucketCount()).isEqualTo(3);
      assertThat(feed.purge()).as("released batches come out once").isEmpty();
      assertThat(feed.cache.size()).isEqualTo(2 * b + 1);

      assertThat(next(cursor)).isSameAs(held);
      assertThat(feed.purge()).as("still held until delivered").isEmpty();
      cursor.markDelivered();
      assertThat(feed.purge()).containsExactly(held);
      assertThat(feed.cache.size()).isZero();
      cursor.close();
    }

    @Test
    void evictsTheLeadingRunOfReleasedBatches_upToTheOldestHeldOne() {
      Feed feed = new Feed(16);
      TestBatch x0 = feed.add(X);
      TestBatch a1 = feed.add(A);
      TestBatch x2 = feed.add(X);
      TestBatch b3 = feed.add(B);
      TestBatch a4 = feed.add(A);
      QueueCacheCursor onA = feed.cache.cursor(A, a1.sequenceToken());
      QueueCacheCursor onB = feed.cache.cursor(B, b3.sequenceToken());

      assertThat(feed.purge()).containsExactlyInAnyOrder(x0, x2);
      assertThat(feed.cache.size()).as("x0 left; a1 is held").isEqualTo(4);

      assertThat(next(onB)).isSameAs(b3);
      onB.markDelivered();
      assertThat(feed.purge()).containsExactly(b3);
      assertThat(feed.cache.size()).as("a1 is still held").isEqualTo(4);

      assertThat(next(onA)).isSameAs(a1);
      onA.markDelivered();
      assertThat(feed.purge()).as("a4 is the next batch onA moves to").containsExactly(a1);
      assertThat(feed.cache.size()).as("a1, x2 and b3 left; a4 is held").isEqualTo(1);

      assertThat(next(onA)).isSameAs(a4);
      onA.markDelivered();
      assertThat(feed.purge()).containsExactly(a4);
      assertThat(feed.cache.size()).isZero();
    }

    @Test
    void batchesOfAStreamWithoutCursor_areReturnedOnce_whileTheyWaitForEviction() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      QueueCacheCursor onA = feed.cache.cursor(A, a0.sequenceToken());
      TestBatch x1 = feed.add(X);
      TestBatch x2 = feed.add(X);

      assertThat(feed.purge()).containsExactly(x1, x2);
      TestBatch x3 = feed.add(X);
      assertThat(feed.purge()).as("only what was released since").containsExactly(x3);
      assertThat(feed.purge()).isEmpty();
      assertThat(feed.cache.size()).isEqualTo(4);

      onA.close();
      assertThat(feed.purge()).containsExactly(a0);
      assertThat(feed.cache.size()).isZero();
      assertThat(feed.purge()).isEmpty();
    }

    /**
     * The agent adds a new stream's first batches and opens its subscriptions' cursors before it
     * purges again; a batch no cursor holds by then is released.
     */
    @Test
    void newBatch_isReleasedAtTheNextPurge_unlessACursorOpenedInBetweenHoldsIt() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      TestBatch b1 = feed.add(B);
      TestBatch x2 = feed.add(X);
      QueueCacheCursor atA0 = feed.cache.cursor(A, a0.sequenceToken());
      // A cursor after the newest batch holds nothing already cached.
      QueueCacheCursor afterNewest = feed.cache.cursor(B, null);

      assertThat(feed.purge()).containsExactlyInAnyOrder(b1, x2);
      assertThat(next(atA0)).isSameAs(a0);
      assertThat(afterNewest.moveNext()).isFalse();
    }

    /**
     * A batch the agent gave up on (after calling the failure handler) is released like a delivered
     * one: the cursor just marks it delivered.
     */
    @Test
    void batchGivenUpOn_isReleasedLikeADeliveredOne() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      TestBatch failed = feed.add(A);
      TestBatch a2 = feed.add(A);
      QueueCacheCursor cursor = feed.cache.cursor(A, a0.sequenceToken());
      assertThat(next(cursor)).isSameAs(a0);
      cursor.markDelivered();
      assertThat(next(cursor)).isSameAs(failed);
      cursor.markDelivered();

      assertThat(feed.purge()).containsExactly(a0, failed);
      assertThat(next(cursor)).isSameAs(a2);
      cursor.markDelivered();
      assertThat(feed.purge()).containsExactly(a2);
      assertThat(feed.cache.size()).isZero();
    }
  }

  // ------------------------------------------------------------------ pressure

  @Nested
  class Pressure {

    /**
     * The oldest batch is held: the batches behind it are released (and returned) but cannot be
     * evicted, so the cache stays full and under pressure until the oldest is delivered.
     */
    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100, 4096})
    void tenBucketsBehindAHeldOldestBatch_areUnderPressure_untilItIsDelivered(int cacheSize) {
      Feed feed = new Feed(cacheSize);
      int b = feed.bucketSize;
      TestBatch a0 = feed.add(A);
      List<BatchContainer> xs = feed.addMany(X, 10 * b - 1);
      QueueCacheCursor slow = feed.cache.cursorAtOldest(A);

      assertThat(feed.cache.bucketCount()).isEqualTo(10);
      assertThat(feed.cache.isUnderPressure()).isTrue();
      assertThat(feed.purge()).containsExactlyElementsOf(xs);
      assertThat(feed.cache.size()).as("released but not evictable").isEqualTo(10 * b);
      assertThat(feed.cache.isUnderPressure()).isTrue();

      assertThat(next(slow)).isSameAs(a0);
      assertThat(feed.purge()).isEmpty();
      assertThat(feed.cache.isUnderPressure()).as("moved to but not delivered").isTrue();

      slow.markDelivered();
      assertThat(feed.purge()).containsExactly(a0);
      assertThat(feed.cache.size()).isZero();
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
      assertThat(feed.purge()).hasSize(9 * b - 1);
      assertThat(feed.cache.bucketCount()).isEqualTo(9);
      assertThat(feed.cache.isUnderPressure()).isFalse();

      feed.add(X);
      assertThat(feed.purge()).hasSize(1);
      assertThat(feed.cache.bucketCount()).isEqualTo(10);
      assertThat(feed.cache.isUnderPressure()).isTrue();
      slow.close();
      assertThat(feed.purge()).hasSize(1);
      assertThat(feed.cache.isUnderPressure()).isFalse();
    }

    /** Released leading buckets leave at the purge; pressure follows the oldest held batch. */
    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100, 4096})
    void tenBucketsWhoseOldestIsReleased_shrinkAtThePurge_andAreNotUnderPressure(int cacheSize) {
      Feed feed = new Feed(cacheSize);
      int b = feed.bucketSize;
      feed.addMany(X, b);
      TestBatch second = feed.add(A);
      feed.addMany(X, 9 * b - 1);
      QueueCacheCursor cursor = feed.cache.cursor(A, second.sequenceToken());
      assertThat(feed.cache.bucketCount()).isEqualTo(10);

      assertThat(feed.purge()).hasSize(10 * b - 1);
      assertThat(feed.cache.bucketCount()).isEqualTo(9);
      assertThat(feed.cache.size()).isEqualTo(9 * b);
      assertThat(feed.cache.isUnderPressure()).isFalse();

      feed.addMany(X, b);
      assertThat(feed.purge()).hasSize(b);
      assertThat(feed.cache.bucketCount()).isEqualTo(10);
      assertThat(feed.cache.isUnderPressure()).as("now the held batch is the oldest").isTrue();
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
      TestBatch x1 = feed.add(X);
      QueueCacheCursor cursor = feed.cache.cursor(A, a0.sequenceToken());
      assertThat(feed.purge()).containsExactly(x1);
      assertThat(feed.cache.size()).isEqualTo(2);
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
    void futureToken_waitsThenSeesTheBatch_holdingNothingBeforeIt() {
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
      assertThat(feed.purge()).as("waiting cursors hold nothing before their token").hasSize(5);
      assertThat(feed.cache.size()).isZero();

      TestBatch a5 = feed.add(A);
      TestBatch b6 = feed.add(B);
      assertThat(feed.purge()).as("each cursor holds the batch at its token").isEmpty();
      assertThat(next(known)).isSameAs(a5);
      assertThat(next(unknown)).isSameAs(b6);
    }

    @Test
    void tokenOlderThanWhatWasPurged_throwsMissWithRequestedOldestNewest() {
      Feed feed = new Feed(16);
      feed.add(A); // 0
      feed.add(X); // 1
      feed.add(A); // 2
      assertThat(feed.purge()).hasSize(3);
      assertThat(feed.cache.size()).isZero();
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
      feed.purge();
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
      feed.purge();
      TestBatch a1 = feed.add(A);
      TestBatch x2 = feed.add(X);
      TestBatch a3 = feed.add(A);

      QueueCacheCursor cursor = feed.cache.cursorAtOldest(A);
      assertThat(feed.purge())
          .as("a1 is held from the start, and a3 behind it")
          .containsExactly(x2);
      assertThat(next(cursor)).isSameAs(a1);
      assertThat(next(cursor)).isSameAs(a3);
      assertThat(cursor.moveNext()).isFalse();
      cursor.markDelivered();
      assertThat(feed.purge()).containsExactly(a1, a3);
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
      TestBatch x1 = feed.add(X);
      assertThat(feed.purge()).containsExactlyInAnyOrder(a0, x1);
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
      assertThat(feed.purge()).as("a0 and a2 are held, a4 behind them").containsExactly(x1, x3);
      assertThat(feed.cache.size()).isEqualTo(5);

      cursor.markDelivered();
      assertThat(next(cursor)).isSameAs(a4);
      assertThat(feed.purge()).containsExactly(a0, a2);
      assertThat(feed.cache.size()).isEqualTo(1);

      cursor.markDelivered();
      assertThat(feed.purge()).containsExactly(a4);
      assertThat(feed.cache.size()).isZero();
    }

    @Test
    void markDeliveredWithoutACurrentBatch_isHarmless() {
      Feed feed = new Feed(16);
      QueueCacheCursor cursor = feed.cache.cursor(A, null);
      cursor.markDelivered();
      TestBatch a0 = feed.add(A);
      assertThat(feed.purge()).as("a waiting cursor holds the next batch of its stream").isEmpty();
      cursor.markDelivered();
      assertThat(feed.purge()).as("it did not move there yet").isEmpty();
      assertThat(next(cursor)).isSameAs(a0);
      assertThat(feed.purge()).isEmpty();
    }

    /**
     * The cursor delivered a0 and did not move to a1 yet: it holds a1, so the purge neither returns
     * a1 nor loses it, and the cursor then moves there.
     */
    @Test
    void cursorHoldsTheNextBatchItWillMoveTo_betweenMarkDeliveredAndMoveNext() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      TestBatch a1 = feed.add(A);
      QueueCacheCursor cursor = feed.cache.cursor(A, a0.sequenceToken());
      assertThat(next(cursor)).isSameAs(a0);
      cursor.markDelivered();

      assertThat(feed.purge()).containsExactly(a0);
      assertThat(feed.cache.size()).isEqualTo(1);
      assertThat(next(cursor)).isSameAs(a1);
    }

    @Test
    void batchHeldByOneOfTwoCursors_isReleasedOnlyOnceBothPassedIt() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      TestBatch a1 = feed.add(A);
      TestBatch a2 = feed.add(A);
      QueueCacheCursor fast = feed.cache.cursor(A, a0.sequenceToken());
      QueueCacheCursor slow = feed.cache.cursor(A, a0.sequenceToken());

      assertThat(next(fast)).isSameAs(a0);
      assertThat(next(fast)).isSameAs(a1);
      fast.markDelivered();
      assertThat(feed.purge()).as("slow still holds a0").isEmpty();

      assertThat(next(slow)).isSameAs(a0);
      slow.markDelivered();
      assertThat(feed.purge()).as("slow holds a1 now").containsExactly(a0);

      assertThat(next(fast)).isSameAs(a2);
      fast.markDelivered();
      assertThat(fast.moveNext()).isFalse();
      assertThat(feed.purge()).as("fast waits; slow still holds a1").isEmpty();

      assertThat(next(slow)).isSameAs(a1);
      slow.markDelivered();
      assertThat(feed.purge()).containsExactly(a1);
      assertThat(next(slow)).isSameAs(a2);
      slow.markDelivered();
      assertThat(feed.purge()).containsExactly(a2);
      assertThat(feed.cache.size()).isZero();
    }

    @Test
    void cursorOpenedAtALaterToken_doesNotHoldOlderBatchesOfItsStream() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      TestBatch a1 = feed.add(A);
      TestBatch a2 = feed.add(A);
      QueueCacheCursor fromA0 = feed.cache.cursor(A, a0.sequenceToken());
      QueueCacheCursor fromA2 = feed.cache.cursor(A, a2.sequenceToken());

      assertThat(feed.purge()).isEmpty();
      assertThat(next(fromA0)).isSameAs(a0);
      assertThat(next(fromA0)).isSameAs(a1);
      fromA0.markDelivered();
      assertThat(feed.purge()).containsExactly(a0, a1);
      assertThat(next(fromA2)).isSameAs(a2);
      fromA2.markDelivered();
      assertThat(feed.purge()).as("fromA0 holds a2 as its next batch").isEmpty();
      fromA0.close();
      assertThat(feed.purge()).containsExactly(a2);
    }
  }

  // ------------------------------------------------------------------ rewinding

  @Nested
  class Rewind {

    /**
     * a1 and a2 are released (A has no cursor) but cannot be evicted behind b0, which is held. A
     * cursor rewound onto them holds them: they are not evicted under it and not returned again.
     */
    @ParameterizedTest(name = "cursorAtOldest {0}")
    @ValueSource(booleans = {false, true})
    void cursorOnReleasedBatches_holdsThem_andTheyAreNotReturnedTwice(boolean atOldest) {
      Feed feed = new Feed(16);
      TestBatch b0 = feed.add(B);
      QueueCacheCursor onB = feed.cache.cursor(B, b0.sequenceToken());
      TestBatch a1 = feed.add(A);
      TestBatch a2 = feed.add(A);
      assertThat(feed.purge()).containsExactly(a1, a2);
      assertThat(feed.cache.size()).isEqualTo(3);

      QueueCacheCursor rewound =
          atOldest ? feed.cache.cursorAtOldest(A) : feed.cache.cursor(A, a1.sequenceToken());
      assertThat(feed.purge()).isEmpty();

      assertThat(next(onB)).isSameAs(b0);
      onB.markDelivered();
      assertThat(feed.purge()).as("a1 and a2 were returned already").containsExactly(b0);
      assertThat(feed.cache.size()).as("b0 left; the rewound cursor holds a1").isEqualTo(2);

      assertThat(next(rewound)).isSameAs(a1);
      assertThat(next(rewound)).isSameAs(a2);
      assertThat(rewound.moveNext()).isFalse();
      assertThat(feed.purge()).isEmpty();
      assertThat(feed.cache.size()).as("a1 is held until delivered").isEqualTo(2);

      rewound.markDelivered();
      assertThat(feed.purge()).as("nothing is returned twice").isEmpty();
      assertThat(feed.cache.size()).isZero();
      assertThat(feed.cache.streamCount()).isZero();
    }

    /**
     * a1 was released and returned, then a cursor was rewound onto it. a2 arrives after: the
     * rewound cursor holds a1, an older batch of the stream, so a2 must not be released (and
     * acknowledged) before that cursor passes it, whether or not another cursor delivered it.
     */
    @ParameterizedTest(name = "another cursor delivered a2: {0}")
    @ValueSource(booleans = {false, true})
    void rewoundCursor_keepsTheLaterBatchesOfItsStreamUnreleased_untilItPassesThem(
        boolean anotherCursor) {
      Feed feed = new Feed(16);
      TestBatch b0 = feed.add(B);
      QueueCacheCursor onB = feed.cache.cursor(B, b0.sequenceToken());
      TestBatch a1 = feed.add(A);
      assertThat(feed.purge()).containsExactly(a1);
      QueueCacheCursor rewound = feed.cache.cursor(A, a1.sequenceToken());
      QueueCacheCursor live = anotherCursor ? feed.cache.cursor(A, null) : null;

      TestBatch a2 = feed.add(A);
      if (live != null) {
        assertThat(next(live)).isSameAs(a2);
        live.markDelivered();
      }
      assertThat(feed.purge()).as("the rewound cursor has not passed a2").isEmpty();

      assertThat(next(rewound)).isSameAs(a1);
      rewound.markDelivered();
      assertThat(feed.purge()).as("the rewound cursor holds a2 now").isEmpty();
      assertThat(next(rewound)).isSameAs(a2);
      rewound.markDelivered();
      assertThat(feed.purge()).containsExactly(a2);
      onB.close();
      assertThat(feed.purge()).containsExactly(b0);
      assertThat(feed.cache.size()).isZero();
    }

    /**
     * A cursor rewound onto a released batch that became the oldest one still needs it, so that
     * batch cannot be evicted: with ten buckets behind it the cache must be under pressure, or an
     * agent that reads while not under pressure grows it past its size.
     */
    @ParameterizedTest(name = "cacheSize {0}")
    @ValueSource(ints = {16, 100})
    void rewoundCursorOnTheOldestBatch_putsAFullCacheUnderPressure(int cacheSize) {
      Feed feed = new Feed(cacheSize);
      int b = feed.bucketSize;
      TestBatch b0 = feed.add(B);
      QueueCacheCursor onB = feed.cache.cursor(B, b0.sequenceToken());
      TestBatch a1 = feed.add(A);
      assertThat(feed.purge()).containsExactly(a1);
      QueueCacheCursor rewound = feed.cache.cursor(A, a1.sequenceToken());
      onB.close();
      assertThat(feed.purge()).containsExactly(b0);
      assertThat(feed.cache.size()).as("a1: released, held, the oldest").isEqualTo(1);

      for (int round = 0; round < 20 && !feed.cache.isUnderPressure(); round++) {
        feed.addMany(X, b);
        assertThat(feed.purge()).hasSize(b);
        assertThat(feed.cache.size())
            .as("an agent that stops reading under pressure keeps the cache within its size")
            .isLessThanOrEqualTo(cacheSize);
      }
      assertThat(feed.cache.isUnderPressure()).isTrue();
      assertThat(feed.cache.bucketCount()).isEqualTo(10);

      assertThat(next(rewound)).isSameAs(a1);
      rewound.markDelivered();
      assertThat(feed.purge()).as("a1 was returned before").isEmpty();
      assertThat(feed.cache.size()).isZero();
      assertThat(feed.cache.isUnderPressure()).isFalse();
    }

    @Test
    void closingARewoundCursor_evictsWhatItHeld_withoutReturningItAgain() {
      Feed feed = new Feed(16);
      TestBatch b0 = feed.add(B);
      QueueCacheCursor onB = feed.cache.cursor(B, b0.sequenceToken());
      TestBatch a1 = feed.add(A);
      assertThat(feed.purge()).containsExactly(a1);
      QueueCacheCursor rewound = feed.cache.cursor(A, a1.sequenceToken());
      onB.close();
      assertThat(feed.purge()).containsExactly(b0);
      assertThat(feed.cache.size()).isEqualTo(1);

      rewound.close();
      assertThat(feed.purge()).isEmpty();
      assertThat(feed.cache.size()).isZero();
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
      assertThat(feed.purge()).as("second still holds a0").isEmpty();
      second.close();
      second.close();
      assertThat(feed.cache.cursorCount()).as("close is idempotent").isEqualTo(1);
      assertThat(feed.purge()).containsExactly(a0);
      third.close();
      assertThat(feed.cache.cursorCount()).isZero();
    }

    /** Closing releases what the cursor moved to and the batches behind it, delivered or not. */
    @Test
    void close_inTheMiddleOfADelivery_releasesWhatTheCursorHeld() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      TestBatch a1 = feed.add(A);
      TestBatch a2 = feed.add(A);
      QueueCacheCursor cursor = feed.cache.cursor(A, a0.sequenceToken());
      assertThat(next(cursor)).isSameAs(a0);
      assertThat(next(cursor)).isSameAs(a1);
      assertThat(feed.purge()).isEmpty();

      cursor.close();
      cursor.markDelivered();
      assertThat(feed.purge()).containsExactly(a0, a1, a2);
      assertThat(feed.cache.size()).isZero();
      assertThat(feed.cache.streamCount()).isZero();
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

    /** A caller that ignores pressure gets far more than ten buckets; holds stay exact. */
    @Test
    void holdsStayExact_farBeyondTenBuckets() {
      Feed feed = new Feed(16);
      TestBatch a0 = feed.add(A);
      List<BatchContainer> xs = new ArrayList<>(feed.addMany(X, 34));
      TestBatch b35 = feed.add(B);
      QueueCacheCursor holdsFirst = feed.cache.cursor(A, a0.sequenceToken());
      QueueCacheCursor holdsLater = feed.cache.cursor(B, b35.sequenceToken());
      xs.addAll(feed.addMany(X, 64));
      assertThat(feed.cache.bucketCount()).isEqualTo(100);

      assertThat(feed.purge()).containsExactlyElementsOf(xs);
      assertThat(feed.cache.size()).isEqualTo(100);
      holdsFirst.close();
      assertThat(feed.purge()).containsExactly(a0);
      assertThat(feed.cache.size()).as("from b35 on").isEqualTo(65);
      holdsLater.close();
      assertThat(feed.purge()).containsExactly(b35);
      assertThat(feed.cache.size()).isZero();
    }
  }

  // ------------------------------------------------------------------ stream handles

  @Nested
  class StreamHandles {

    @Test
    void heldHandle_keepsTheStreamsEntry_untilReleased_thenNothingIsLeft() {
      Feed feed = new Feed(16);
      QueueCache.StreamHandle a = feed.cache.stream(A);
      assertThat(a.streamId()).isEqualTo(A);
      assertThat(feed.cache.trackedStreams()).isEqualTo(1);

      TestBatch a0 = TestBatch.of(A, feed.nextSequence++, 1);
      feed.cache.addToCache(a, a0);
      QueueCacheCursor cursor = feed.cache.cursor(A, a0.sequenceToken());
      assertThat(next(cursor)).isSameAs(a0);
      cursor.markDelivered();
      cursor.close();
      assertThat(feed.purge()).containsExactly(a0);
      assertThat(feed.cache.size()).isZero();
      assertThat(feed.cache.trackedStreams()).as("the handle is still held").isEqualTo(1);

      feed.cache.release(a);
      assertThat(feed.cache.trackedStreams()).isZero();
      assertThat(feed.cache.cursorCount()).isZero();
    }

    @Test
    void batchAddedThroughTheHandle_reachesCursorsOpenedById_andIsReleasedExactly() {
      Feed feed = new Feed(16);
      QueueCache.StreamHandle a = feed.cache.stream(A);
      QueueCacheCursor byId = feed.cache.cursor(A, null);
      TestBatch a0 = TestBatch.of(A, feed.nextSequence++, 1);
      feed.cache.addToCache(a, a0);
      TestBatch b1 = feed.add(B);

      assertThat(feed.purge()).as("a0 is held by the cursor").containsExactly(b1);
      assertThat(next(byId)).isSameAs(a0);
      byId.markDelivered();
      assertThat(feed.purge()).containsExactly(a0);
      assertThat(feed.cache.streamCount()).isZero();
      byId.close();
      feed.cache.release(a);
      assertThat(feed.cache.trackedStreams()).isZero();
    }

    @Test
    void handleAndById_addToTheSameChain_inQueueOrder() {
      Feed feed = new Feed(16);
      QueueCache.StreamHandle a = feed.cache.stream(A);
      TestBatch a0 = feed.add(A);
      TestBatch a1 = TestBatch.of(A, feed.nextSequence++, 1);
      feed.cache.addToCache(a, a1);
      TestBatch a2 = feed.add(A);
      QueueCacheCursor cursor = feed.cache.cursor(A, a0.sequenceToken());
      assertThat(next(cursor)).isSameAs(a0);
      assertThat(next(cursor)).isSameAs(a1);
      assertThat(next(cursor)).isSameAs(a2);
      assertThat(cursor.moveNext()).isFalse();
      assertThat(feed.cache.trackedStreams()).isEqualTo(1);
    }

    @Test
    void releasedHandle_isRejected() {
      Feed feed = new Feed(16);
      QueueCache.StreamHandle a = feed.cache.stream(A);
      feed.cache.release(a);
      assertThatThrownBy(() -> feed.cache.addToCache(a, TestBatch.of(A, 0, 1)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("stream handle");
      assertThatThrownBy(() -> feed.cache.release(a)).isInstanceOf(IllegalArgumentException.class);
      assertThatThrownBy(() -> feed.cache.release(() -> A))
          .as("a handle this cache did not return")
          .isInstanceOf(IllegalArgumentException.class);
      assertThat(feed.cache.trackedStreams()).isZero();
    }

    /** The first cursor lives in a field, later ones in an array: closing any keeps the rest. */
    @ParameterizedTest
    @ValueSource(ints = {0, 1, 2})
    void closingAnyOfThreeCursors_leavesTheOtherTwoSeeingNewBatches(int closed) {
      Feed feed = new Feed(16);
      QueueCacheCursor[] cursors = {
        feed.cache.cursor(A, null), feed.cache.cursor(A, null), feed.cache.cursor(A, null)
      };
      cursors[closed].close();
      TestBatch a0 = feed.add(A);
      for (int i = 0; i < 3; i++) {
        if (i != closed) {
          assertThat(next(cursors[i])).as("cursor %d", i).isSameAs(a0);
        }
      }
      assertThat(feed.purge()).as("both open cursors hold a0").isEmpty();
      for (int i = 0; i < 3; i++) {
        if (i != closed) {
          cursors[i].markDelivered();
          cursors[i].close();
        }
      }
      assertThat(feed.purge()).containsExactly(a0);
      assertThat(feed.cache.cursorCount()).isZero();
      assertThat(feed.cache.trackedStreams()).isZero();
    }
  }
}
