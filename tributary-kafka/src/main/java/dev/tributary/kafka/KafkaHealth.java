package dev.tributary.kafka;

import dev.tributary.HealthStatus;
import dev.tributary.spi.AdapterHealth;
import dev.tributary.spi.QueueHealthReport;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Kafka adapter's contribution to health: what its consumer, housekeeping and agent threads
 * published, turned into an {@link AdapterHealth} and a {@link QueueHealthReport} per partition.
 *
 * <p>Any thread; never blocks and never calls a Kafka client: it reads volatiles and atomics of
 * {@link ConsumerLoop}, {@link PartitionHousekeeping} and {@link PartitionState} (whose monitor
 * {@link PartitionState#lag()} takes briefly, as the gauges do).
 *
 * <ul>
 *   <li>DOWN: the broker does not answer the housekeeping's partition-count check (an admin call
 *       every {@code metadataRefreshInterval}, bounded by it), or every consumer fails to poll.
 *   <li>DEGRADED: a consumer fails, has not returned from poll for {@link #POLL_STALE} (or three
 *       poll timeouts, whichever is longer), or its commits fail; per partition: stalled by the
 *       watchdog (lag and no progress for {@code stallTimeout}), or its consumer fails.
 * </ul>
 */
final class KafkaHealth {
  /** How long a consumer may stay inside poll before health calls it not polling. */
  static final Duration POLL_STALE = Duration.ofSeconds(15);

  private KafkaHealth() {}

  static AdapterHealth adapter(KafkaQueueAdapter adapter, List<ConsumerLoop> loops) {
    KafkaSettings settings = adapter.settings();
    HealthStatus status = HealthStatus.UP;
    List<String> reasons = new ArrayList<>();
    List<String> notReady = new ArrayList<>();
    Map<String, String> details = new LinkedHashMap<>();
    details.put("group", settings.groupId());
    details.put("assignment", settings.staticAssignment() ? "static" : "consumer group");
    details.put("assigned", adapter.ownedPartitions().toString());
    String brokerError = adapter.housekeeping().brokerError();
    if (brokerError != null) {
      long since = adapter.housekeeping().brokerErrorSinceMillis();
      status = HealthStatus.DOWN;
      reasons.add(
          "broker unreachable"
              + (since >= 0 ? " since " + Instant.ofEpochMilli(since) : "")
              + " (bootstrapServers "
              + settings.bootstrapServers()
              + "): "
              + brokerError);
    }
    if (settings.direction().reads()) {
      long stale = Math.max(POLL_STALE.toMillis(), settings.pollTimeout().toMillis() * 3);
      int failing = 0;
      int polling = 0;
      for (ConsumerLoop loop : loops) {
        String failure = loop.failure();
        long sincePoll = loop.millisSinceLastPoll();
        if (!loop.isRunning()) {
          if (!adapter.isClosing()) {
            failing++;
            reasons.add("consumer " + loop.name() + " is not running");
          }
          continue;
        }
        if (failure != null) {
          failing++;
          reasons.add("consumer " + loop.name() + " is failing: " + failure);
        } else if (sincePoll > stale) {
          reasons.add(
              "consumer " + loop.name() + " has not returned from poll for " + sincePoll + " ms");
        } else {
          polling++;
        }
        int commits = loop.commitFailures();
        if (commits > 0) {
          reasons.add("consumer " + loop.name() + ": " + commits + " commit(s) failed in a row");
        }
      }
      details.put("consumers", loops.size() + " (" + polling + " polling)");
      if (!settings.staticAssignment()) {
        boolean joined = false;
        for (ConsumerLoop loop : loops) {
          joined |= loop.hasJoined();
        }
        if (!joined) {
          notReady.add(
              "waiting for consumer group " + settings.groupId() + " to assign this node's share");
        }
      }
      if (!loops.isEmpty() && failing == loops.size()) {
        status = HealthStatus.DOWN;
      } else if (!reasons.isEmpty()) {
        status = status.worst(HealthStatus.DEGRADED);
      }
    }
    return new AdapterHealth(status, reasons, notReady, details);
  }

  static QueueHealthReport partition(KafkaQueueAdapter adapter, PartitionState s) {
    if (s == null || s.closed) {
      return QueueHealthReport.UNKNOWN;
    }
    HealthStatus status = HealthStatus.UP;
    List<String> reasons = new ArrayList<>();
    long lag = s.lag();
    Instant stalledSince = null;
    if (s.stalled) {
      long since = s.stalledSinceMillis;
      stalledSince = since >= 0 ? Instant.ofEpochMilli(since) : null;
      status = HealthStatus.DEGRADED;
      reasons.add(
          "stalled: lag "
              + lag
              + " and the delivered watermark unmoved for stallTimeout "
              + adapter.settings().stallTimeout()
              + (stalledSince != null ? " (since " + stalledSince + ")" : "")
              + ". Why: "
              + adapter.housekeeping().stallReason(s));
    }
    ConsumerLoop loop = s.owner;
    String failure = loop == null ? null : loop.failure();
    if (failure != null) {
      status = HealthStatus.DEGRADED;
      reasons.add("its consumer is failing (last poll error): " + failure);
    }
    long paused = s.pausedSinceMillis;
    Map<String, String> details = new LinkedHashMap<>();
    details.put("lag", Long.toString(lag));
    details.put("logEndOffset", Long.toString(s.logEndOffset));
    details.put("buffered", Integer.toString(s.bufferedCount));
    details.put("paused", Boolean.toString(s.paused));
    details.put("heldByStopAgents", Boolean.toString(s.held));
    if (loop != null) {
      details.put("consumer", loop.name());
    }
    return new QueueHealthReport(
        status,
        reasons,
        s.paused && paused >= 0 ? Instant.ofEpochMilli(paused) : null,
        stalledSince,
        lag,
        s.committed,
        s.deliveredPosition(),
        details);
  }
}
