package dev.tributary.internal.cache;

import dev.tributary.QueueCacheMissException;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.QueueCache;
import dev.tributary.spi.QueueCacheCursor;
import dev.tributary.spi.QueueId;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/**
 * A bounded FIFO cache of one queue's batches with per-subscription cursors and bucketed
 * backpressure, after Orleans' {@code SimpleQueueCache}.
 *
 * <p>Batches are numbered in arrival order; batch {@code i} lives in bucket {@code i / bucketSize},
 * where {@code bucketSize = max(cacheSize / 10, 1)}. Each bucket counts the cursors that hold one
 * of its batches (the batch being delivered, or the next one to deliver). Purging drops whole
 * leading buckets that no cursor holds; the cache is under pressure when ten buckets exist and a
 * cursor still holds the oldest, and the agent then stops reading. So the cache never holds more
 * than {@code 10 * bucketSize} batches and never evicts an undelivered one.
 *
 * <p>Unlike Orleans' cursor, which scans every batch of the queue for its stream, a cursor here
 * walks a per-stream chain: moving to the next batch of a stream costs O(1) whatever the number of
 * other streams in the queue. A chain lives while it holds batches or a cursor refers to it, so
 * cursors and purges follow references and adding a batch is the only per-batch map lookup.
 *
 * <p>Not thread-safe: confined to the owning pulling agent.
 */
public final class SimpleQueueCache implements QueueCache {

  /** How many buckets make the cache full. */
  public static final int NUM_BUCKETS = 10;

  private final QueueId queueId;
  private final int bucketSize;
  private final ArrayDeque<Entry> entries = new ArrayDeque<>();
  private final HashMap<StreamId, Chain> chains = new HashMap<>();
  private int[] bucketCursors = new int[32];
  private long nextIndex;
  private StreamSequenceToken lastPurgedToken;
  private StreamSequenceToken firstAddedToken;
  private int cursorCount;
  private int nonEmptyChains;

  /** Creates the cache of {@code queueId} holding at most {@code cacheSize} batches. */
  public SimpleQueueCache(QueueId queueId, int cacheSize) {
    if (cacheSize < 1) {
      throw new IllegalArgumentException("cacheSize was " + cacheSize + " but it must be >= 1");
    }
    this.queueId = queueId;
    this.bucketSize = Math.max(cacheSize / NUM_BUCKETS, 1);
  }

  /** One cached batch, linked to the next batch of the same stream. */
  static final class Entry {
    final BatchContainer batch;
    final long index;
    final StreamSequenceToken lastToken;
    final Chain chain;
    Entry nextInStream;
    boolean purged;
    boolean failed;

    Entry(BatchContainer batch, long index, Chain chain) {
      this.batch = batch;
      this.index = index;
      this.chain = chain;
      this.lastToken = batch.eventToken(batch.eventCount() - 1);
    }
  }

  /**
   * The cached batches of one stream, oldest first; both ends are null when none is cached. In
   * {@link #chains} while it holds batches or open cursors refer to it.
   */
  static final class Chain {
    final StreamId streamId;
    Entry head;
    Entry tail;
    int cursors;

    Chain(StreamId streamId) {
      this.streamId = streamId;
    }
  }

  /** The chain of {@code streamId}, created (empty) when there is none. */
  private Chain chainOf(StreamId streamId) {
    Chain chain = chains.get(streamId);
    if (chain == null) {
      chain = new Chain(streamId);
      chains.put(streamId, chain);
    }
    return chain;
  }

  /** Drops {@code chain} from the map once it holds no batch and no cursor refers to it. */
  private void releaseIfUnused(Chain chain) {
    if (chain.head == null && chain.cursors == 0) {
      chains.remove(chain.streamId, chain);
    }
  }

  @Override
  public int maxAddCount() {
    return bucketSize;
  }

  @Override
  public void addToCache(List<BatchContainer> batches) {
    if (batches.isEmpty()) {
      return;
    }
    ensureRingCovers(bucketOf(nextIndex + batches.size() - 1));
    if (firstAddedToken == null) {
      firstAddedToken = batches.get(0).sequenceToken();
    }
    for (int i = 0, n = batches.size(); i < n; i++) {
      BatchContainer batch = batches.get(i);
      Chain chain = chainOf(batch.streamId());
      Entry e = new Entry(batch, nextIndex++, chain);
      entries.addLast(e);
      if (chain.head == null) {
        chain.head = e;
        nonEmptyChains++;
      } else {
        chain.tail.nextInStream = e;
      }
      chain.tail = e;
    }
  }

  @Override
  public List<BatchContainer> tryPurgeFromCache() {
    List<BatchContainer> delivered = null;
    while (!entries.isEmpty()) {
      long bucket = bucketOf(entries.peekFirst().index);
      if (bucketCursors[slot(bucket)] > 0) {
        break;
      }
      while (!entries.isEmpty() && bucketOf(entries.peekFirst().index) == bucket) {
        Entry e = entries.pollFirst();
        e.purged = true;
        Chain chain = e.chain;
        // Entries leave in index order, so e is its chain's head.
        chain.head = e.nextInStream;
        if (chain.head == null) {
          chain.tail = null;
          nonEmptyChains--;
          releaseIfUnused(chain);
        }
        lastPurgedToken = e.lastToken;
        if (!e.failed) {
          if (delivered == null) {
            delivered = new ArrayList<>();
          }
          delivered.add(e.batch);
        }
      }
    }
    return delivered == null ? List.of() : delivered;
  }

  @Override
  public QueueCacheCursor cursor(StreamId streamId, StreamSequenceToken token) {
    Chain chain = chainOf(streamId);
    if (token == null) {
      return open(chain, null, chain.tail, null);
    }
    Entry found = null;
    for (Entry e = chain.head; e != null; e = e.nextInStream) {
      if (e.lastToken.compareTo(token) >= 0) {
        found = e;
        break;
      }
    }
    boolean chainCoversToken =
        chain.head != null && chain.head.batch.sequenceToken().compareTo(token) <= 0;
    // A miss: batches at or after the token were purged, or the token predates everything this
    // cache ever held (the queue was read from a later position).
    boolean purged = lastPurgedToken != null && token.compareTo(lastPurgedToken) <= 0;
    boolean beforeStart = firstAddedToken != null && token.compareTo(firstAddedToken) < 0;
    if ((purged || beforeStart) && !chainCoversToken) {
      releaseIfUnused(chain);
      throw new QueueCacheMissException(
          queueId.toString(),
          streamId,
          token,
          entries.isEmpty() ? null : entries.peekFirst().batch.sequenceToken(),
          entries.isEmpty() ? null : entries.peekLast().lastToken);
    }
    if (found != null) {
      return open(chain, found, null, token);
    }
    return open(chain, null, chain.tail, token);
  }

  @Override
  public QueueCacheCursor cursorAtOldest(StreamId streamId) {
    Chain chain = chainOf(streamId);
    return open(chain, chain.head, null, null);
  }

  private Cursor open(Chain chain, Entry start, Entry last, StreamSequenceToken minToken) {
    Cursor c = new Cursor(chain, start, last, minToken, nextIndex);
    chain.cursors++;
    cursorCount++;
    if (start != null) {
      c.heldFrom = start;
      c.pin(bucketOf(start.index));
    }
    return c;
  }

  @Override
  public boolean isUnderPressure() {
    if (entries.isEmpty()) {
      return false;
    }
    long oldest = bucketOf(entries.peekFirst().index);
    long newest = bucketOf(entries.peekLast().index);
    return newest - oldest + 1 >= NUM_BUCKETS && bucketCursors[slot(oldest)] > 0;
  }

  @Override
  public int size() {
    return entries.size();
  }

  @Override
  public int cursorCount() {
    return cursorCount;
  }

  /** How many buckets hold batches; for tests and metrics. */
  public int bucketCount() {
    if (entries.isEmpty()) {
      return 0;
    }
    return (int) (bucketOf(entries.peekLast().index) - bucketOf(entries.peekFirst().index) + 1);
  }

  /** How many streams have batches in the cache. */
  public int streamCount() {
    return nonEmptyChains;
  }

  private long bucketOf(long index) {
    return index / bucketSize;
  }

  private int slot(long bucket) {
    return (int) (bucket & (bucketCursors.length - 1));
  }

  /**
   * Grows the ring of bucket cursor counts so that every bucket from the oldest held one to {@code
   * newestBucket} has its own slot. Runs before batches are added, while the old slots are still
   * unambiguous.
   */
  private void ensureRingCovers(long newestBucket) {
    long oldest = entries.isEmpty() ? bucketOf(nextIndex) : bucketOf(entries.peekFirst().index);
    if (newestBucket - oldest + 1 <= bucketCursors.length) {
      return;
    }
    int length = bucketCursors.length;
    while (newestBucket - oldest + 1 > length) {
      length <<= 1;
    }
    int[] grown = new int[length];
    if (!entries.isEmpty()) {
      long newestExisting = bucketOf(nextIndex - 1);
      for (long b = oldest; b <= newestExisting; b++) {
        grown[(int) (b & (length - 1))] = bucketCursors[slot(b)];
      }
    }
    bucketCursors = grown;
  }

  private void addPin(long bucket, int delta) {
    bucketCursors[slot(bucket)] += delta;
  }

  /** A cursor over the chain of one stream. */
  final class Cursor implements QueueCacheCursor {
    private final Chain chain;
    private final StreamId streamId;
    private final long createdAtIndex;
    private final StreamSequenceToken minToken;
    private Entry start;
    private Entry current;
    private Entry last;
    private Entry heldFrom;
    private long pinnedBucket = -1;
    private boolean closed;

    Cursor(
        Chain chain, Entry start, Entry last, StreamSequenceToken minToken, long createdAtIndex) {
      this.chain = chain;
      this.streamId = chain.streamId;
      this.start = start;
      this.last = last;
      this.minToken = minToken;
      this.createdAtIndex = createdAtIndex;
    }

    @Override
    public boolean moveNext() {
      if (closed) {
        throw new IllegalStateException("cursor on " + streamId + " in " + queueId + " is closed");
      }
      Entry candidate;
      if (start != null) {
        candidate = start;
        start = null;
      } else {
        candidate = nextAfter(current != null ? current : last);
      }
      while (candidate != null && minToken != null && candidate.lastToken.compareTo(minToken) < 0) {
        candidate = candidate.nextInStream;
      }
      if (candidate == null) {
        return false;
      }
      if (heldFrom == null) {
        heldFrom = candidate;
        pin(bucketOf(candidate.index));
      }
      current = candidate;
      return true;
    }

    /** The batch after {@code previous} in this stream, or the first new one when null. */
    private Entry nextAfter(Entry previous) {
      if (previous != null) {
        if (previous.nextInStream != null) {
          return previous.nextInStream;
        }
        if (!previous.purged) {
          return null;
        }
        return chain.head == null || chain.head.index <= previous.index ? null : chain.head;
      }
      Entry e = chain.head;
      while (e != null && e.index < createdAtIndex) {
        e = e.nextInStream;
      }
      return e;
    }

    @Override
    public void markDelivered() {
      if (current != null) {
        last = current;
        current = null;
      }
      heldFrom = null;
      // Keep holding the stream's next cached batch: it is not delivered yet, and the agent may
      // yield before it moves there.
      Entry next = last == null || last.purged ? null : last.nextInStream;
      pin(next == null ? -1 : bucketOf(next.index));
    }

    void pin(long bucket) {
      if (pinnedBucket == bucket) {
        return;
      }
      if (pinnedBucket >= 0) {
        addPin(pinnedBucket, -1);
      }
      if (bucket >= 0) {
        addPin(bucket, 1);
      }
      pinnedBucket = bucket;
    }

    @Override
    public BatchContainer current() {
      return current == null ? null : current.batch;
    }

    @Override
    public void refresh(StreamSequenceToken token) {
      // The stream chain tells a waiting cursor where its next batch is; nothing to do.
    }

    @Override
    public void recordDeliveryFailure() {
      for (Entry e = heldFrom; e != null; e = e.nextInStream) {
        e.failed = true;
        if (e == current) {
          break;
        }
      }
    }

    @Override
    public void close() {
      if (!closed) {
        closed = true;
        pin(-1);
        start = null;
        current = null;
        heldFrom = null;
        cursorCount--;
        chain.cursors--;
        releaseIfUnused(chain);
      }
    }

    @Override
    public String toString() {
      return "Cursor{"
          + streamId
          + " at "
          + (current == null ? "waiting" : current.lastToken)
          + "}";
    }
  }
}
