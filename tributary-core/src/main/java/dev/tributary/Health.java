package dev.tributary;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The health of one runtime: its status (the worst of its providers', DOWN when it is not running),
 * the reasons for it, each provider's health, and two views for probes.
 *
 * <p>A snapshot taken by {@link StreamRuntime#health()}; immutable. The reasons are sentences for
 * people (logs, a health endpoint); do not parse them.
 *
 * @param at when the snapshot was taken, on the runtime's clock
 * @param running whether the runtime was started and not closed
 * @param status UP, DEGRADED or DOWN
 * @param reasons why the status is not UP, each naming its provider and queue; empty when UP
 * @param providers each provider's health by name, in the order they were added
 */
@Incubating
public record Health(
    Instant at,
    boolean running,
    HealthStatus status,
    List<String> reasons,
    Map<String, ProviderHealth> providers) {

  /** Checks and copies the components. */
  public Health {
    Objects.requireNonNull(at, "at");
    Objects.requireNonNull(status, "status");
    reasons = List.copyOf(reasons);
    providers = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(providers));
  }

  /** True when {@link #status()} is UP. */
  public boolean isUp() {
    return status == HealthStatus.UP;
  }

  /**
   * The readiness view: the runtime is running and every queue its providers own has a running
   * agent (none starting, missing or stopped by {@link StreamProvider#stopAgents()}). Wire it to a
   * readiness probe.
   */
  public Probe readiness() {
    List<String> why = new ArrayList<>();
    if (!running) {
      why.add("the runtime is not running (not started, or closed)");
    }
    for (ProviderHealth p : providers.values()) {
      why.addAll(p.readiness().reasons());
    }
    return new Probe(why.isEmpty(), why);
  }

  /**
   * The liveness view: no queue of any provider has been stalled (events waiting and no progress)
   * for longer than {@code stallBound}. A DOWN broker alone does not fail it: restarting the node
   * does not bring a broker back. Wire it to a liveness probe with a bound well above the
   * providers' stall thresholds.
   */
  public Probe liveness(Duration stallBound) {
    List<String> why = new ArrayList<>();
    for (ProviderHealth p : providers.values()) {
      why.addAll(p.liveness(stallBound).reasons());
    }
    return new Probe(why.isEmpty(), why);
  }

  /**
   * The outcome of a probe view.
   *
   * @param ok whether the probe passes
   * @param reasons why it does not; empty when it passes
   */
  public record Probe(boolean ok, List<String> reasons) {
    /** Copies the reasons. */
    public Probe {
      reasons = List.copyOf(reasons);
    }
  }
}
