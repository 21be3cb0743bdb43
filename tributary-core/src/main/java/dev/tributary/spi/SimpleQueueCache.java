package dev.tributary.spi;

import dev.tributary.QueueCacheMissException;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;

/**
 * A bounded FIFO cache of one queue's batches with per-subscription cursors and bucketed
 * backpressure, after Orleans' {@code SimpleQueueCache}, with exact acknowledgement.
 *
 * <p>Batches are numbered in arrival order; batch {@code i} lives in bucket {@code i / bucketSize},
 * where {@code bucketSize = max(cacheSize / 10, 1)}. The cache is under pressure when its batches
 * span ten buckets and the oldest is still needed; the agent then stops reading. So the cache never
 * holds more than {@code 10 * bucketSize} batches and never evicts an undelivered one.
 *
 * <p>Each cursor holds exactly one batch: the oldest of its stream that it has not released (the
 * first it moved to since its last {@link Cursor#markDelivered()}, or the next one it will move
 * to), or none while it waits for its stream's next batch. A batch is <em>released</em> once no
 * cursor of its stream holds it or an older batch of the stream: every subscription has passed it.
 * {@link #tryPurgeFromCache()} returns each batch once, when it is released, whatever older batches
 * of other streams still wait; that is what makes acknowledgement exact instead of bucket-granular.
 * Released batches leave the cache as soon as no older batch is still needed.
 *
 * <p>A cursor walks a per-stream chain: moving to the next batch of a stream costs O(1) whatever
 * the number of other streams in the queue. A chain lives while it holds batches, a cursor refers
 * to it or the agent holds it as the stream's {@link StreamHandle}; adding a batch through the
 * handle needs no lookup at all, adding one by id one map lookup.
 *
 * <p>Not thread-safe: confined to the owning pulling agent.
 */
final class SimpleQueueCache implements QueueCache {

  /** How many buckets make the cache full. */
  static final int NUM_BUCKETS = 10;

  /** The smallest cacheSize, as for {@link SimpleQueueAdapterCache}. */
  static final int MIN_CACHE_SIZE = SimpleQueueAdapterCache.MIN_CACHE_SIZE;

  private final QueueId queueId;
  private final int bucketSize;
  private final ArrayDeque<Entry> entries = new ArrayDeque<>();
  private final HashMap<StreamId, Chain> chains = new HashMap<>();

  /** Chains whose unreleased batches may have become releasable since the last purge. */
  private final ArrayList<Chain> dirty = new ArrayList<>();

  private long nextIndex;
  private StreamSequenceToken lastPurgedToken;
  private StreamSequenceToken firstAddedToken;
  private int cursorCount;
  private int nonEmptyChains;

  /** Creates the cache of {@code queueId} holding at most {@code cacheSize} batches. */
  SimpleQueueCache(QueueId queueId, int cacheSize) {
    if (cacheSize < MIN_CACHE_SIZE) {
      throw new IllegalArgumentException(
          "cacheSize was " + cacheSize + " but it must be at least " + MIN_CACHE_SIZE);
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

    /** How many cursors hold this batch as the oldest they have not released. */
    int holds;

    boolean released;
    boolean purged;

    Entry(BatchContainer batch, long index, Chain chain) {
      this.batch = batch;
      this.index = index;
      this.chain = chain;
      this.lastToken = batch.eventToken(batch.eventCount() - 1);
    }
  }

  /**
   * The cached batches of one stream, oldest first, and the cursors over them; the stream's handle.
   * In {@link #chains} while it holds batches, open cursors refer to it or its handle is held.
   */
  static final class Chain implements StreamHandle {
    final StreamId streamId;
    Entry head;
    Entry tail;

    /** The oldest batch of the chain not released yet; null when all are. */
    Entry firstUnreleased;

    /** The first open cursor (most streams have one); null when none is open. */
    Cursor first;

    /** The other open cursors, [0, moreCount); null until a second one opens. */
    Cursor[] more;

    int moreCount;

    /** How many handles of this chain are held. */
    int pins;

    /**
     * Cursors that hold a released batch (they were opened at an older token): until they move on,
     * nothing after it is released either.
     */
    int rewoundHolds;

    boolean dirty;

    Chain(StreamId streamId) {
      this.streamId = streamId;
    }

    @Override
    public StreamId streamId() {
      return streamId;
    }

    @Override
    public String toString() {
      return "Chain{" + streamId + "}";
    }

    void addCursor(Cursor c) {
      if (first == null) {
        first = c;
        return;
      }
      if (more == null) {
        more = new Cursor[2];
      } else if (moreCount == more.length) {
        more = Arrays.copyOf(more, moreCount * 2);
      }
      more[moreCount++] = c;
    }

    void removeCursor(Cursor c) {
      if (first == c) {
        first = moreCount == 0 ? null : more[--moreCount];
        if (first != null) {
          more[moreCount] = null;
        }
        return;
      }
      for (int i = 0; i < moreCount; i++) {
        if (more[i] == c) {
          more[i] = more[--moreCount];
          more[moreCount] = null;
          return;
        }
      }
    }

    /** Offers a new batch of the stream to every open cursor. */
    void offer(Entry e) {
      if (first != null) {
        first.offer(e);
        for (int j = 0; j < moreCount; j++) {
          more[j].offer(e);
        }
      }
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

  /**
   * Drops {@code chain} from the map once it holds no batch, no cursor refers to it and no handle
   * of it is held.
   */
  private void releaseIfUnused(Chain chain) {
    if (chain.head == null && chain.first == null && chain.pins == 0 && !chain.dirty) {
      chains.remove(chain.streamId, chain);
    }
  }

  private void markDirty(Chain chain) {
    if (!chain.dirty) {
      chain.dirty = true;
      dirty.add(chain);
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
    if (firstAddedToken == null) {
      firstAddedToken = batches.get(0).sequenceToken();
    }
    for (int i = 0, n = batches.size(); i < n; i++) {
      BatchContainer batch = batches.get(i);
      add(chainOf(batch.streamId()), batch);
    }
  }

  @Override
  public StreamHandle stream(StreamId streamId) {
    Chain chain = chainOf(streamId);
    chain.pins++;
    return chain;
  }

  @Override
  public void addToCache(StreamHandle stream, BatchContainer batch) {
    if (firstAddedToken == null) {
      firstAddedToken = batch.sequenceToken();
    }
    add(held(stream), batch);
  }

  @Override
  public void release(StreamHandle stream) {
    Chain chain = held(stream);
    chain.pins--;
    releaseIfUnused(chain);
  }

  /**
   * The chain of a handle this cache returned and that is still held (a held chain stays in {@link
   * #chains}, so it needs no lookup).
   */
  private static Chain held(StreamHandle stream) {
    if (!(stream instanceof Chain chain) || chain.pins <= 0) {
      throw new IllegalArgumentException(
          "stream handle was " + stream + " but it must be one this cache returned, not released");
    }
    return chain;
  }

  private void add(Chain chain, BatchContainer batch) {
    Entry e = new Entry(batch, nextIndex++, chain);
    entries.addLast(e);
    if (chain.head == null) {
      chain.head = e;
      nonEmptyChains++;
    } else {
      chain.tail.nextInStream = e;
    }
    chain.tail = e;
    if (chain.firstUnreleased == null) {
      chain.firstUnreleased = e;
    }
    chain.offer(e);
    // Released at the next purge unless a cursor holds it by then: the agent attaches the
    // subscriptions of a new stream before it purges again.
    markDirty(chain);
  }

  @Override
  public List<BatchContainer> tryPurgeFromCache() {
    List<BatchContainer> released = null;
    for (int i = 0, n = dirty.size(); i < n; i++) {
      Chain chain = dirty.get(i);
      chain.dirty = false;
      Entry e = chain.firstUnreleased;
      while (e != null && e.holds == 0 && chain.rewoundHolds == 0) {
        e.released = true;
        if (released == null) {
          released = new ArrayList<>();
        }
        released.add(e.batch);
        e = e.nextInStream;
      }
      chain.firstUnreleased = e;
      releaseIfUnused(chain);
    }
    dirty.clear();
    while (!entries.isEmpty()) {
      Entry e = entries.peekFirst();
      if (!e.released || e.holds > 0) {
        break;
      }
      entries.pollFirst();
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
    }
    return released == null ? List.of() : released;
  }

  @Override
  public QueueCacheCursor cursor(StreamId streamId, StreamSequenceToken token) {
    Chain chain = chainOf(streamId);
    if (token == null) {
      return open(chain, null, null);
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
    return found != null ? open(chain, found, null) : open(chain, null, token);
  }

  @Override
  public boolean covers(StreamSequenceToken token) {
    // Batches leave in queue order, so everything after the last purged one is still here.
    return (firstAddedToken == null || token.compareTo(firstAddedToken) >= 0)
        && (lastPurgedToken == null || token.compareTo(lastPurgedToken) > 0);
  }

  @Override
  public QueueCacheCursor cursorAtOldest(StreamId streamId) {
    Chain chain = chainOf(streamId);
    return open(chain, chain.head, null);
  }

  private Cursor open(Chain chain, Entry start, StreamSequenceToken minToken) {
    Cursor c = new Cursor(chain, minToken);
    chain.addCursor(c);
    cursorCount++;
    if (start != null) {
      c.next = start;
      c.hold(start);
    }
    return c;
  }

  @Override
  public boolean isUnderPressure() {
    if (entries.isEmpty()) {
      return false;
    }
    Entry first = entries.peekFirst();
    long oldest = bucketOf(first.index);
    long newest = bucketOf(entries.peekLast().index);
    // The oldest batch is still needed: not released, or held by a cursor opened at an old token.
    return newest - oldest + 1 >= NUM_BUCKETS && (!first.released || first.holds > 0);
  }

  @Override
  public int size() {
    return entries.size();
  }

  @Override
  public int cursorCount() {
    return cursorCount;
  }

  @Override
  public int trackedStreams() {
    return chains.size();
  }

  /** How many buckets hold batches; for tests and metrics. */
  int bucketCount() {
    if (entries.isEmpty()) {
      return 0;
    }
    return (int) (bucketOf(entries.peekLast().index) - bucketOf(entries.peekFirst().index) + 1);
  }

  /** How many streams have batches in the cache. */
  int streamCount() {
    return nonEmptyChains;
  }

  private long bucketOf(long index) {
    return index / bucketSize;
  }

  /** A cursor over the chain of one stream. */
  final class Cursor implements QueueCacheCursor {
    private final Chain chain;
    private StreamSequenceToken minToken;

    /** The batch the next {@link #moveNext()} moves to; null while none is cached yet. */
    private Entry next;

    /** The batch the last {@link #moveNext()} moved to, until {@link #markDelivered()}. */
    private Entry current;

    /** The one batch this cursor holds: the oldest it has not released; null when none. */
    private Entry held;

    private boolean closed;

    Cursor(Chain chain, StreamSequenceToken minToken) {
      this.chain = chain;
      this.minToken = minToken;
    }

    /** A batch was added to this cursor's stream. */
    void offer(Entry e) {
      if (next != null || closed) {
        return;
      }
      if (minToken != null) {
        if (e.lastToken.compareTo(minToken) < 0) {
          return;
        }
        minToken = null;
      }
      next = e;
      if (held == null) {
        hold(e);
      }
    }

    void hold(Entry e) {
      held = e;
      e.holds++;
      if (e.released) {
        chain.rewoundHolds++;
      }
    }

    private void unhold() {
      if (held != null) {
        held.holds--;
        if (held.released) {
          chain.rewoundHolds--;
        }
        held = null;
        markDirty(chain);
      }
    }

    @Override
    public boolean moveNext() {
      if (closed) {
        throw new IllegalStateException(
            "cursor on " + chain.streamId + " in " + queueId + " is closed");
      }
      if (next == null) {
        return false;
      }
      current = next;
      next = current.nextInStream;
      return true;
    }

    @Override
    public void markDelivered() {
      if (closed) {
        return;
      }
      current = null;
      // Keep holding the stream's next cached batch: it is not delivered yet, and the agent may
      // yield before it moves there.
      if (held != next) {
        unhold();
        if (next != null) {
          hold(next);
        }
      }
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
    public void close() {
      if (!closed) {
        closed = true;
        unhold();
        next = null;
        current = null;
        cursorCount--;
        chain.removeCursor(this);
        releaseIfUnused(chain);
      }
    }

    @Override
    public String toString() {
      return "Cursor{"
          + chain.streamId
          + " at "
          + (current == null ? "waiting" : current.lastToken)
          + "}";
    }
  }
}
