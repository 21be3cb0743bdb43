package dev.tributary;

/**
 * A subscription asked for events older than the queue cache still holds.
 *
 * <p>Delivered to the observer's {@code onError}; delivery then continues from the oldest event the
 * cache still has. Raise {@code cacheSize} to keep more history.
 */
public class QueueCacheMissException extends StreamingException {
  private static final long serialVersionUID = 1L;

  private final transient StreamSequenceToken requested;
  private final transient StreamSequenceToken oldest;
  private final transient StreamSequenceToken newest;

  /** Creates the exception for {@code streamId} in {@code queue}. */
  public QueueCacheMissException(
      String queue,
      StreamId streamId,
      StreamSequenceToken requested,
      StreamSequenceToken oldest,
      StreamSequenceToken newest) {
    super(
        "Stream "
            + streamId
            + " in queue "
            + queue
            + " asked for token "
            + requested
            + " but the cache holds only "
            + (oldest == null ? "nothing" : oldest + ".." + newest)
            + ". The cache keeps only what some subscription still needs, so events every"
            + " subscription has passed are gone from it whatever cacheSize is. Delivery continues"
            + " from the oldest cached event of the stream.");
    this.requested = requested;
    this.oldest = oldest;
    this.newest = newest;
  }

  /** The token the subscription asked for. */
  public StreamSequenceToken requested() {
    return requested;
  }

  /** The oldest token in the cache when the miss happened, or null when the cache was empty. */
  public StreamSequenceToken oldest() {
    return oldest;
  }

  /** The newest token in the cache when the miss happened, or null when the cache was empty. */
  public StreamSequenceToken newest() {
    return newest;
  }
}
