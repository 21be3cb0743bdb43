package dev.tributary.internal.runtime;

import dev.tributary.AgentState;
import dev.tributary.HealthStatus;
import dev.tributary.ProviderHealth;
import dev.tributary.ProviderStatus;
import dev.tributary.QueueHealth;
import dev.tributary.QueueStatus;
import dev.tributary.spi.AdapterHealth;
import dev.tributary.spi.QueueAdapter;
import dev.tributary.spi.QueueHealthReport;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamQueueBalancer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds a provider's {@link ProviderHealth} and {@link ProviderStatus} from what its agents
 * published ({@link AgentView}, {@link AgentMetrics}) and what its adapter reports ({@link
 * QueueAdapter#health()}, {@link QueueAdapter#queueHealth(QueueId)}).
 *
 * <p>Any thread; never blocks: it reads volatiles and calls the adapter's non-blocking health
 * methods through a guard (an adapter that throws is reported DEGRADED, never propagated).
 */
final class ProviderHealthCheck {
  private static final Logger log = LoggerFactory.getLogger(ProviderHealthCheck.class);

  private ProviderHealthCheck() {}

  /** What the check needs of the provider at one moment; the provider builds it. */
  record Parts(
      String name,
      long nowMillis,
      boolean started,
      boolean closed,
      QueueAdapter adapter,
      StreamQueueBalancer balancer,
      PullingManager manager,
      Duration stallThreshold,
      int cacheCapacity) {}

  static ProviderHealth health(Parts p) {
    Instant at = Instant.ofEpochMilli(p.nowMillis());
    String who = "provider '" + p.name() + "'";
    if (!p.started() || p.closed() || p.adapter() == null || p.manager() == null) {
      String why = who + (p.closed() ? " is closed" : " is not started");
      return new ProviderHealth(
          p.name(), at, HealthStatus.DOWN, List.of(why), false, List.of(why), List.of(), Map.of());
    }
    AdapterHealth adapterHealth = adapterHealth(p);
    HealthStatus status = adapterHealth.status();
    List<String> reasons = new ArrayList<>();
    for (String r : adapterHealth.reasons()) {
      reasons.add(who + ": " + r);
    }
    List<String> notReady = new ArrayList<>();
    for (String r : adapterHealth.notReady()) {
      notReady.add(who + ": " + r);
    }
    boolean suspended = p.manager().isSuspended();
    if (suspended) {
      long since = p.manager().suspendedSinceMillis();
      String why =
          who
              + ": agents stopped by stopAgents()"
              + (since >= 0 ? " since " + Instant.ofEpochMilli(since) : "");
      status = status.worst(HealthStatus.DEGRADED);
      reasons.add(why);
      notReady.add(why);
    }
    List<QueueHealth> queues = new ArrayList<>();
    for (QueueId q : owned(p)) {
      QueueHealth h = queueHealth(p, q, at);
      queues.add(h);
      status = status.worst(h.status());
      for (String r : h.reasons()) {
        reasons.add(who + " queue " + q + ": " + r);
      }
      if (h.agentState() != AgentState.RUNNING && h.agentState() != AgentState.SUSPENDED) {
        notReady.add(who + " queue " + q + ": agent " + h.agentState());
      }
    }
    return new ProviderHealth(
        p.name(), at, status, reasons, suspended, notReady, queues, adapterHealth.details());
  }

  private static QueueHealth queueHealth(Parts p, QueueId q, Instant at) {
    PullingAgent agent = p.manager().agent(q);
    QueueHealthReport r = queueReport(p, q);
    HealthStatus status = r.status();
    List<String> reasons = new ArrayList<>(r.reasons());
    if (agent == null) {
      return new QueueHealth(
          q.toString(),
          status.worst(HealthStatus.DEGRADED),
          append(reasons, "owned, but no agent runs for it"),
          AgentState.NONE,
          null,
          r.pausedSince(),
          r.stalledSince(),
          null,
          null,
          r.details());
    }
    AgentView v = agent.view;
    AgentState state = v.state;
    String readError = v.lastReadError;
    long readErrorAt = v.lastReadErrorMillis;
    if (readError != null) {
      status = status.worst(HealthStatus.DEGRADED);
      reasons.add(
          (state == AgentState.STARTING ? "receiver initialization failing" : "reads failing")
              + ", last at "
              + Instant.ofEpochMilli(readErrorAt)
              + ": "
              + readError);
    }
    long pressureSince = v.pressureSinceMillis;
    // An operator's stopAgents() holds delivery on purpose: not a stall, whatever the adapter's
    // watchdog saw (a liveness probe must not restart a node that was paused deliberately).
    boolean suspended = state == AgentState.SUSPENDED;
    Instant stalledSince = suspended ? null : r.stalledSince();
    if (pressureSince >= 0 && !suspended) {
      long quietSince = Math.max(pressureSince, v.lastAckMillis);
      if (p.nowMillis() - quietSince >= p.stallThreshold().toMillis()) {
        Instant since = Instant.ofEpochMilli(quietSince);
        status = status.worst(HealthStatus.DEGRADED);
        reasons.add(
            "stalled: the cache has been full since "
                + Instant.ofEpochMilli(pressureSince)
                + " and nothing was acknowledged since "
                + since
                + " (stallThreshold "
                + p.stallThreshold()
                + "): a slow or blocked subscription holds the oldest cached events");
        stalledSince = stalledSince == null || since.isBefore(stalledSince) ? since : stalledSince;
      }
    }
    return new QueueHealth(
        q.toString(),
        status,
        reasons,
        state,
        pressureSince < 0 ? null : Instant.ofEpochMilli(pressureSince),
        r.pausedSince(),
        stalledSince,
        readError,
        readError == null ? null : Instant.ofEpochMilli(readErrorAt),
        r.details());
  }

  static ProviderStatus status(Parts p) {
    Instant at = Instant.ofEpochMilli(p.nowMillis());
    if (!p.started() || p.closed() || p.adapter() == null || p.manager() == null) {
      return new ProviderStatus(p.name(), at, false, List.of());
    }
    List<QueueStatus> queues = new ArrayList<>();
    for (QueueId q : owned(p)) {
      PullingAgent agent = p.manager().agent(q);
      QueueHealthReport r = queueReport(p, q);
      if (agent == null) {
        queues.add(
            new QueueStatus(
                q.toString(),
                AgentState.NONE,
                r.lag(),
                r.committedOffset(),
                r.deliveredOffset(),
                0,
                p.cacheCapacity(),
                false,
                0,
                0));
        continue;
      }
      AgentMetrics m = agent.metrics();
      queues.add(
          new QueueStatus(
              q.toString(),
              agent.view.state,
              r.lag(),
              r.committedOffset(),
              r.deliveredOffset(),
              m.cacheSize,
              p.cacheCapacity(),
              m.underPressure == 1,
              m.activeStreams,
              m.activeSubscriptions));
    }
    return new ProviderStatus(p.name(), at, p.manager().isSuspended(), queues);
  }

  /** The queues this node owns: the balancer's, and any with an agent still running. */
  private static Set<QueueId> owned(Parts p) {
    Set<QueueId> out = new TreeSet<>();
    if (p.adapter().direction().reads() && p.balancer() != null) {
      try {
        out.addAll(p.balancer().myQueues());
      } catch (RuntimeException e) {
        log.debug("Provider {}: the balancer's myQueues() failed", p.name(), e);
      }
    }
    for (PullingAgent a : p.manager().agents()) {
      out.add(a.queueId());
    }
    return out;
  }

  private static AdapterHealth adapterHealth(Parts p) {
    try {
      AdapterHealth h = p.adapter().health();
      return h != null ? h : AdapterHealth.UP;
    } catch (RuntimeException e) {
      log.debug("Provider {}: the adapter's health() threw", p.name(), e);
      return new AdapterHealth(
          HealthStatus.DEGRADED,
          List.of("the adapter's health() failed: " + e),
          List.of(),
          Map.of());
    }
  }

  private static QueueHealthReport queueReport(Parts p, QueueId q) {
    try {
      QueueHealthReport r = p.adapter().queueHealth(q);
      return r != null ? r : QueueHealthReport.UNKNOWN;
    } catch (RuntimeException e) {
      log.debug("Provider {}: the adapter's queueHealth({}) threw", p.name(), q, e);
      Map<String, String> none = new LinkedHashMap<>();
      return new QueueHealthReport(
          HealthStatus.DEGRADED,
          List.of("the adapter's queueHealth() failed: " + e),
          null,
          null,
          -1,
          -1,
          -1,
          none);
    }
  }

  private static List<String> append(List<String> list, String item) {
    list.add(item);
    return list;
  }
}
