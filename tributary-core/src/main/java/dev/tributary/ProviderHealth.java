package dev.tributary;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The health of one provider on this node: the worst of its adapter's and its owned queues'
 * statuses, with the reasons.
 *
 * @param provider the provider's name
 * @param at when the snapshot was taken, on the runtime's clock
 * @param status UP, DEGRADED or DOWN
 * @param reasons why the status is not UP; empty when UP
 * @param agentsStopped true while the agents are stopped by {@link StreamProvider#stopAgents()}
 * @param notReady why the provider is not ready (owned queues without a running agent); empty when
 *     ready
 * @param queues the health of every queue this node owns, in queue order
 * @param details what the adapter adds (Kafka: the group, assigned partitions, whether its
 *     consumers poll); for people, not for parsing
 */
@Incubating
public record ProviderHealth(
    String provider,
    Instant at,
    HealthStatus status,
    List<String> reasons,
    boolean agentsStopped,
    List<String> notReady,
    List<QueueHealth> queues,
    Map<String, String> details) {

  /** Checks and copies the components. */
  public ProviderHealth {
    Objects.requireNonNull(provider, "provider");
    Objects.requireNonNull(at, "at");
    Objects.requireNonNull(status, "status");
    reasons = List.copyOf(reasons);
    notReady = List.copyOf(notReady);
    queues = List.copyOf(queues);
    details = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(details));
  }

  /** The readiness view of this provider: every owned queue has a running agent. */
  public Health.Probe readiness() {
    return new Health.Probe(notReady.isEmpty(), notReady);
  }

  /** The liveness view of this provider: no queue stalled for longer than {@code stallBound}. */
  public Health.Probe liveness(Duration stallBound) {
    Objects.requireNonNull(stallBound, "stallBound");
    List<String> why = new ArrayList<>();
    for (QueueHealth q : queues) {
      Instant since = q.stalledSince();
      if (since != null && Duration.between(since, at).compareTo(stallBound) > 0) {
        why.add(
            "provider '"
                + provider
                + "' queue "
                + q.queue()
                + " stalled since "
                + since
                + ", longer than "
                + stallBound);
      }
    }
    return new Health.Probe(why.isEmpty(), why);
  }

  /** The health of {@code queue}, or null when this node does not own it. */
  public QueueHealth queue(String queue) {
    for (QueueHealth q : queues) {
      if (q.queue().equals(queue)) {
        return q;
      }
    }
    return null;
  }
}
