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
   * Removes batches that no cursor needs any more and returns those that were delivered (not those
   * marked by {@link QueueCacheCursor#recordDeliveryFailure()}), oldest first; an empty list when
   * nothing was purged.
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

  /** Opens a cursor at the oldest cached batch of {@code streamId}, for recovery after a miss. */
  QueueCacheCursor cursorAtOldest(StreamId streamId);

  /** True when reading should stop until slow cursors move on. */
  boolean isUnderPressure();

  /** How many batches the cache holds. */
  int size();

  /** How many cursors are open. */
  int cursorCount();
}
