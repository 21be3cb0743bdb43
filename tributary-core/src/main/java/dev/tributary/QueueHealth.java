package dev.tributary;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The health of one queue this node owns.
 *
 * @param queue the queue (for Kafka {@code topic-partition})
 * @param status UP, DEGRADED or DOWN
 * @param reasons why the status is not UP; empty when UP
 * @param agentState what the queue's agent does
 * @param underPressureSince since when the queue's cache has been full, reading paused
 *     (backpressure: a subscription holds the oldest cached events); null when it is not
 * @param pausedSince since when the adapter has paused fetching the queue (Kafka: the partition's
 *     buffer is full); null when it has not or cannot tell
 * @param stalledSince since when events have been waiting with no progress (the agent's cache is
 *     full and nothing was acknowledged for {@code stallThreshold}, or the adapter's own watchdog:
 *     Kafka, lag with an unmoved delivered watermark for {@code stallTimeout}); null when not
 *     stalled
 * @param lastReadError the last failed read or receiver initialization, while reads keep failing;
 *     null once a read worked again
 * @param lastReadErrorAt when {@code lastReadError} happened; null with it
 * @param details what the adapter adds (Kafka: lag, offsets, buffered records, the consumer's
 *     failure); for people, not for parsing
 */
@Incubating
public record QueueHealth(
    String queue,
    HealthStatus status,
    List<String> reasons,
    AgentState agentState,
    Instant underPressureSince,
    Instant pausedSince,
    Instant stalledSince,
    String lastReadError,
    Instant lastReadErrorAt,
    Map<String, String> details) {

  /** Checks and copies the components. */
  public QueueHealth {
    Objects.requireNonNull(queue, "queue");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(agentState, "agentState");
    reasons = List.copyOf(reasons);
    details = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(details));
  }
}
