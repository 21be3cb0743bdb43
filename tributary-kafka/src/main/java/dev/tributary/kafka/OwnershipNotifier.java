package dev.tributary.kafka;

import dev.tributary.spi.RuntimeTime;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Calls the provider's {@link PartitionOwnershipListener} for the consumer threads and holds the
 * delivery of newly assigned partitions back until the listener's stage completes or the ownership
 * timeout passes.
 *
 * <p>Threading: {@link #assigned} and {@link #released} run on consumer threads. The gate of an
 * assignment is opened by whichever thread completes the listener's stage, or by the provider's
 * {@link RuntimeTime} thread at the timeout; opening only clears {@link PartitionState#gated} and
 * runs the agent's data signal, which hands work to the agent and returns. No consumer thread ever
 * waits for a gate.
 */
final class OwnershipNotifier {
  private static final Logger log = LoggerFactory.getLogger(OwnershipNotifier.class);

  private final String provider;
  private final PartitionOwnershipListener listener;
  private final Duration timeout;
  private final RuntimeTime time;

  OwnershipNotifier(
      String provider, PartitionOwnershipListener listener, Duration timeout, RuntimeTime time) {
    this.provider = provider;
    this.listener = listener;
    this.timeout = timeout;
    this.time = time;
  }

  /**
   * Tells the listener that {@code states} were assigned and gates their delivery until its stage
   * completes. Call before the runtime hears of the partitions, so that their agents start gated.
   */
  void assigned(List<PartitionState> states) {
    if (states.isEmpty() || listener == PartitionOwnershipListener.NONE) {
      return;
    }
    Set<TopicPartition> tps = new LinkedHashSet<>();
    for (PartitionState s : states) {
      s.gated = true;
      tps.add(s.tp);
    }
    AtomicBoolean open = new AtomicBoolean();
    CompletionStage<Void> stage;
    try {
      stage = listener.onAssigned(Set.copyOf(tps));
    } catch (Throwable t) {
      log.warn(
          "Provider {}: the partition ownership listener threw on the assignment of {}; they"
              + " deliver now",
          provider,
          tps,
          t);
      open(states, open);
      return;
    }
    if (stage == null) {
      open(states, open);
      return;
    }
    RuntimeTime.Cancellable timer =
        time.schedule(
            timeout,
            () -> {
              if (open(states, open)) {
                log.warn(
                    "Provider {}: the partition ownership listener did not complete the assignment"
                        + " of {} within partitionOwnershipTimeout {}; they deliver now",
                    provider,
                    tps,
                    timeout);
              }
            });
    stage.whenComplete(
        (v, e) -> {
          timer.cancel();
          if (open(states, open) && e != null) {
            log.warn(
                "Provider {}: the partition ownership listener failed the assignment of {}; they"
                    + " deliver now",
                provider,
                tps,
                e);
          } else if (e == null) {
            log.debug("Provider {}: {} may deliver", provider, tps);
          }
        });
  }

  /** Opens the gate of {@code states} unless {@code open} says it was; true when this call did. */
  private static boolean open(List<PartitionState> states, AtomicBoolean open) {
    if (!open.compareAndSet(false, true)) {
      return false;
    }
    for (PartitionState s : states) {
      s.gated = false;
      Runnable l = s.dataListener;
      if (l != null && !s.closed) {
        try {
          l.run();
        } catch (Throwable t) {
          log.debug("the data signal of {} threw; the agent reads at its next tick", s.tp, t);
        }
      }
    }
    return true;
  }

  /**
   * Tells the listener that {@code tps} were released: revoked after their commit ({@code lost}
   * false) or lost.
   */
  void released(Collection<TopicPartition> tps, boolean lost) {
    if (tps.isEmpty() || listener == PartitionOwnershipListener.NONE) {
      return;
    }
    Set<TopicPartition> set = Set.copyOf(tps);
    try {
      if (lost) {
        listener.onLost(set);
      } else {
        listener.onRevoked(set);
      }
    } catch (Throwable t) {
      log.warn(
          "Provider {}: the partition ownership listener threw on the {} of {}",
          provider,
          lost ? "loss" : "revoke",
          set,
          t);
    }
  }
}
