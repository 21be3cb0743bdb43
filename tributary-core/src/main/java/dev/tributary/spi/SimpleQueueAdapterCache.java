package dev.tributary.spi;

import dev.tributary.internal.cache.SimpleQueueCache;

/**
 * Creates {@link SimpleQueueCache}s: bounded, bucketed, with backpressure instead of eviction.
 *
 * <p>The cache holds at most {@code cacheSize} batches (rounded down to ten buckets). Reading stops
 * while all ten buckets are full and a cursor still sits in the oldest one.
 */
public final class SimpleQueueAdapterCache implements QueueAdapterCache {

  private final int cacheSize;

  /** Creates caches of {@code cacheSize} batches each; at least 16. */
  public SimpleQueueAdapterCache(int cacheSize) {
    if (cacheSize < 16) {
      throw new IllegalArgumentException(
          "cacheSize was " + cacheSize + " but it must be at least 16");
    }
    this.cacheSize = cacheSize;
  }

  @Override
  public QueueCache createQueueCache(QueueId queueId) {
    return new SimpleQueueCache(queueId, cacheSize);
  }
}
