package dev.tributary.spi;

import dev.tributary.StreamSequenceToken;

/**
 * One subscription's position in a queue cache, over the batches of one stream.
 *
 * <p>A cursor holds every batch it moved to since its last {@link #markDelivered()}: the cache does
 * not purge (and so does not acknowledge) a held batch. That is what makes delivery at-least-once:
 * a batch is released only after its subscription acknowledged it. A cursor opened at a cached
 * batch holds that batch from the start. Held batches at the oldest end of the cache put it under
 * pressure.
 *
 * <p>Confined to the agent that owns the cache.
 */
public interface QueueCacheCursor extends AutoCloseable {

  /**
   * Moves to the next batch of the cursor's stream and returns true, or returns false when there is
   * none yet (the cursor then waits and a later call may succeed).
   *
   * @throws dev.tributary.QueueCacheMissException when the next batch was already evicted
   */
  boolean moveNext();

  /** The batch the last successful {@link #moveNext()} moved to; null before the first. */
  BatchContainer current();

  /** Releases every batch the cursor holds: they were delivered (or given up on). */
  void markDelivered();

  /**
   * Tells a waiting cursor that its stream has new batches starting at {@code token}; cursors that
   * find their next batch on their own may ignore it.
   */
  void refresh(StreamSequenceToken token);

  /** Releases the cursor; the cache may then purge what it held. Idempotent. */
  @Override
  void close();
}
