package dev.tributary.spi;

import dev.tributary.HealthStatus;
import dev.tributary.Incubating;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What an adapter says about its own health, beyond single queues: its connection to the queue
 * technology and, where it balances, its membership (Kafka: broker reachable, consumers polling,
 * assigned partitions). Returned by {@link QueueAdapter#health()}.
 *
 * @param status UP, DEGRADED or DOWN
 * @param reasons why the status is not UP, as sentences for people; empty when UP
 * @param notReady why the adapter is not ready to serve yet (Kafka: the group has not assigned this
 *     node's consumers their share yet, not even an empty one); empty when ready
 * @param details facts for people (group, assignment); not for parsing
 */
@Incubating
public record AdapterHealth(
    HealthStatus status, List<String> reasons, List<String> notReady, Map<String, String> details) {

  /** UP and ready with nothing to add: the default of adapters that cannot tell. */
  public static final AdapterHealth UP =
      new AdapterHealth(HealthStatus.UP, List.of(), List.of(), Map.of());

  /** Checks and copies the components. */
  public AdapterHealth {
    Objects.requireNonNull(status, "status was null but it must be set");
    reasons = List.copyOf(reasons);
    notReady = List.copyOf(notReady);
    details = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(details));
  }
}
