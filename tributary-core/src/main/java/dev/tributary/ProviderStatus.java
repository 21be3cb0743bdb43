package dev.tributary;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What one provider does on this node now: an operator's snapshot, from {@link
 * StreamProvider#status()}.
 *
 * @param provider the provider's name
 * @param at when the snapshot was taken, on the runtime's clock
 * @param agentsStopped true while the agents are stopped by {@link StreamProvider#stopAgents()}
 * @param queues every queue this node owns, in queue order
 */
@Incubating
public record ProviderStatus(
    String provider, Instant at, boolean agentsStopped, List<QueueStatus> queues) {

  /** Checks and copies the components. */
  public ProviderStatus {
    Objects.requireNonNull(provider, "provider");
    Objects.requireNonNull(at, "at");
    queues = List.copyOf(queues);
  }

  /** The status of {@code queue}, or null when this node does not own it. */
  public QueueStatus queue(String queue) {
    for (QueueStatus q : queues) {
      if (q.queue().equals(queue)) {
        return q;
      }
    }
    return null;
  }
}
