package dev.tributary.spi;

import dev.tributary.HealthStatus;
import dev.tributary.Incubating;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What an adapter says about one queue this node owns, returned by {@link
 * QueueAdapter#queueHealth(QueueId)}: its status with reasons, and the facts the runtime cannot see
 * (whether fetching is paused, a stall by the adapter's own watchdog, lag and offsets).
 *
 * @param status UP, DEGRADED or DOWN
 * @param reasons why the status is not UP, as sentences for people; empty when UP
 * @param pausedSince since when fetching the queue has been paused (backpressure); null when not
 * @param stalledSince since when the adapter has seen the queue stalled (events waiting, no
 *     progress); null when not, or when it cannot tell
 * @param lag events in the queue not yet delivered; -1 when unknown
 * @param committedOffset the offset last made durable for the queue; -1 when unknown or none
 * @param deliveredOffset the delivered watermark the adapter holds; -1 when unknown
 * @param details facts for people; not for parsing
 */
@Incubating
public record QueueHealthReport(
    HealthStatus status,
    List<String> reasons,
    Instant pausedSince,
    Instant stalledSince,
    long lag,
    long committedOffset,
    long deliveredOffset,
    Map<String, String> details) {

  /** UP, nothing known: the default of adapters that cannot tell. */
  public static final QueueHealthReport UNKNOWN =
      new QueueHealthReport(HealthStatus.UP, List.of(), null, null, -1, -1, -1, Map.of());

  /** Checks and copies the components. */
  public QueueHealthReport {
    Objects.requireNonNull(status, "status was null but it must be set");
    reasons = List.copyOf(reasons);
    details = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(details));
  }
}
