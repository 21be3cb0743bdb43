package dev.tributary.spi;

/**
 * Creates {@link SimpleQueueCache}s: bounded, bucketed, with backpressure instead of eviction.
 *
 * <p>The cache holds at most {@code cacheSize} batches (rounded down to ten buckets). Reading stops
 * while the cached batches span all ten buckets and the oldest is still needed by a cursor.
 */
public final class SimpleQueueAdapterCache implements QueueAdapterCache {

  /** The smallest cacheSize: ten buckets of one batch, with room to spare. */
  public static final int MIN_CACHE_SIZE = 16;

  private final int cacheSize;

  /** Creates caches of {@code cacheSize} batches each; at least 16. */
  public SimpleQueueAdapterCache(int cacheSize) {
    if (cacheSize < MIN_CACHE_SIZE) {
      throw new IllegalArgumentException(
          "cacheSize was " + cacheSize + " but it must be at least " + MIN_CACHE_SIZE);
    }
    this.cacheSize = cacheSize;
  }

  @Override
  public QueueCache createQueueCache(QueueId queueId) {
    return new SimpleQueueCache(queueId, cacheSize);
  }
}
