package dev.tributary.spi;

/** Creates the cache of each queue. Called by the pulling manager's thread. */
@FunctionalInterface
public interface QueueAdapterCache {

  /** Creates the cache of {@code queueId}. */
  QueueCache createQueueCache(QueueId queueId);
}
