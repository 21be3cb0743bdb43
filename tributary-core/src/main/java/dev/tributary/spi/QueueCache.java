package dev.tributary.spi;

import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import java.util.List;

/**
 * The per-queue cache between reading and delivery, with a cursor per subscription.
 *
 * <p>Confined to the queue's pulling agent: no method is thread-safe.
 */
public interface QueueCache {

  /** How many batches the agent may add in one read. */
  int maxAddCount();

  /** Adds batches in queue order. */
  void addToCache(List<BatchContainer> batches);

  /**
   * One stream's place in a cache, which the agent keeps with its own state of the stream: with it
   * a batch of a stream the agent already tracks costs one lookup (the agent's) instead of two.
   * Valid for the cache that returned it until {@link #release(StreamHandle)}.
   */
  interface StreamHandle {
    /** The stream. */
    StreamId streamId();
  }

  /**
   * The handle of {@code streamId}; the cache keeps the stream's entry (empty or not) until the
   * handle is released. The default is a handle that only names the stream, for caches that look
   * streams up by id anyway.
   */
  default StreamHandle stream(StreamId streamId) {
    return () -> streamId;
  }

  /**
   * Adds {@code batch}, a batch of the handle's stream, in queue order like {@link
   * #addToCache(List)}, without looking the stream up.
   */
  default void addToCache(StreamHandle stream, BatchContainer batch) {
    addToCache(List.of(batch));
  }

  /** The agent no longer tracks the handle's stream; the handle is invalid afterwards. */
  default void release(StreamHandle stream) {}

  /**
   * Returns the batches released since the last call: batches that every cursor of their stream has
   * passed (delivered, filtered out, or given up on), each exactly once, in queue order within a
   * stream but not across streams (a batch is released while older batches of other streams may
   * still be needed). Evicts released batches once no older batch is needed. An empty list when
   * nothing was released. The agent acknowledges the returned batches to the receiver, so this is
   * what makes acknowledgement exact.
   */
  List<BatchContainer> tryPurgeFromCache();

  /**
   * Opens a cursor on {@code streamId} at {@code token}, inclusive; a null token means "after the
   * newest batch". A token newer than the newest waits for it.
   *
   * @throws dev.tributary.QueueCacheMissException when batches at or after {@code token} were
   *     already evicted; the cursor is not created
   */
  QueueCacheCursor cursor(StreamId streamId, StreamSequenceToken token);

  /**
   * True when no batch at or after {@code token} was evicted and nothing before the first batch
   * this cache received is needed: a cursor opened at {@code token} now sees every batch of its
   * stream from {@code token} on that the receiver returns. False when the cache cannot tell (the
   * default); the agent then keeps a replay from the queue going rather than risk a gap.
   */
  default boolean covers(StreamSequenceToken token) {
    return false;
  }

  /** Opens a cursor at the oldest cached batch of {@code streamId}, for recovery after a miss. */
  QueueCacheCursor cursorAtOldest(StreamId streamId);

  /** True when reading should stop until slow cursors move on. */
  boolean isUnderPressure();

  /** How many batches the cache holds. */
  int size();

  /** How many cursors are open. */
  int cursorCount();

  /**
   * How many streams the cache keeps state for (cached batches, open cursors or a held handle), for
   * tests and gauges; -1 when the cache does not tell.
   */
  default int trackedStreams() {
    return -1;
  }
}
