package dev.tributary.kafka;

/**
 * What the adapter does with a record it gave up on: one whose value cannot be deserialized (a
 * poison record), or an event no subscription could process within {@code maxEventDeliveryTime}.
 *
 * <p>Either way the record is accounted for: the partition keeps flowing and its offset is
 * committed only once the action is done (for {@link #DEAD_LETTER}, once the dead-letter topic has
 * acknowledged the copy).
 */
public enum FailureAction {
  /** Log at ERROR with topic, partition, offset and cause, count it in a metric, and go on. */
  SKIP,

  /**
   * Write the raw record to the dead-letter topic with its origin and cause in headers, retrying
   * that write with backoff until it succeeds, and go on.
   */
  DEAD_LETTER
}
