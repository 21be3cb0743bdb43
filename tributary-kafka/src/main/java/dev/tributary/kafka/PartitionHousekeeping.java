package dev.tributary.kafka;

import dev.tributary.spi.QueueId;
import dev.tributary.spi.RuntimeTime;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The adapter's periodic checks: the stall watchdog (a partition with lag that delivered nothing
 * for {@code stallTimeout} is flagged and logged with the reason) and the partition-count check
 * (added partitions grow the mapper and, with static assignment, this node's share).
 *
 * <p>Time: both checks are fixed-delay loops on the provider's {@link RuntimeTime} ({@code
 * ProviderContext.time()}): the next run is scheduled {@code period} after the previous one ended,
 * and the watchdog's stall clock reads {@link RuntimeTime#clock()}. A test with a manual time
 * therefore steps through a stall instead of waiting for it.
 *
 * <p>Threading: a scheduled tick only hands its check to the housekeeping thread ({@code
 * tributary-<provider>-<n>-kafka-housekeeping}) and returns, so the time's thread never blocks in
 * the admin client. Both checks run there, one at a time; a check that throws is logged and runs
 * again. The watchdog reads the partition states (atomics and volatiles) and owns their watchdog
 * fields; the partition-count check may block in the admin client, bounded by {@code
 * metadataRefreshInterval}. {@link #stallReason} may be called from any thread.
 */
final class PartitionHousekeeping {
  private static final Logger log = LoggerFactory.getLogger(PartitionHousekeeping.class);

  private final String provider;
  private final KafkaSettings settings;
  private final Admin admin;
  private final KafkaStreamQueueMapper mapper;
  private final KafkaQueueBalancer balancer;
  private final Collection<PartitionState> partitions;
  private final RuntimeTime time;
  private final java.util.concurrent.ScheduledExecutorService thread;
  private final Map<String, RuntimeTime.Cancellable> pending = new HashMap<>(); // guarded by this
  private boolean closed; // guarded by this

  /** The last failed partition-count check (the broker unreachable?), or null; any thread. */
  private volatile String metadataError;

  /** Since when the partition-count check has been failing, on the time's clock; -1 when not. */
  private volatile long metadataErrorSinceMillis = -1;

  /**
   * {@code partitions} is a live view of the registered partition states; {@code admin} is null
   * only for adapters that never {@link #start()} housekeeping (unit tests).
   */
  PartitionHousekeeping(
      String provider,
      KafkaSettings settings,
      Admin admin,
      KafkaStreamQueueMapper mapper,
      KafkaQueueBalancer balancer,
      Collection<PartitionState> partitions,
      RuntimeTime time,
      String threadName) {
    this.provider = provider;
    this.settings = settings;
    this.admin = admin;
    this.mapper = mapper;
    this.balancer = balancer;
    this.partitions = partitions;
    this.time = time;
    this.thread = KafkaQueueAdapter.daemonScheduler(threadName);
  }

  /** Schedules both checks: the watchdog at {@link #stallCheckPeriod}. */
  void start() {
    startWatchdog();
    every("partition-count check", settings.metadataRefreshInterval(), this::guardedMetadataCheck);
  }

  /** Schedules the stall watchdog alone (unit tests without an admin client use it directly). */
  void startWatchdog() {
    every("stall watchdog", stallCheckPeriod(), this::guardedWatchdog);
  }

  /** How often the watchdog looks: a quarter of stallTimeout, 50 ms to 5 s. */
  Duration stallCheckPeriod() {
    return Duration.ofMillis(Math.max(50, Math.min(5_000, settings.stallTimeout().toMillis() / 4)));
  }

  /** Stops the checks: cancels the scheduled ticks and interrupts a check that runs. */
  void close() {
    synchronized (this) {
      closed = true;
      pending.values().forEach(RuntimeTime.Cancellable::cancel);
      pending.clear();
    }
    thread.shutdownNow();
  }

  /**
   * A fixed-delay loop on the time: {@code period} after the last run ended, a tick hands {@code
   * check} to the housekeeping thread, which schedules the next tick when the check is done.
   */
  private void every(String what, Duration period, Runnable check) {
    Runnable run =
        () -> {
          try {
            check.run();
          } finally {
            every(what, period, check);
          }
        };
    synchronized (this) {
      if (closed) {
        return;
      }
      RuntimeTime.Cancellable next;
      try {
        next =
            time.schedule(
                period,
                () -> {
                  try {
                    thread.execute(run);
                  } catch (RejectedExecutionException stopped) {
                    log.debug("Provider {}: {} not run: housekeeping is closed", provider, what);
                  }
                });
      } catch (RuntimeException stopped) {
        log.warn("Provider {}: {} stops: the time refused to schedule it", provider, what, stopped);
        return;
      }
      pending.put(what, next);
    }
  }

  private void guardedWatchdog() {
    try {
      watchdog();
    } catch (Throwable t) {
      log.warn("Provider {}: the stall watchdog failed; it runs again", provider, t);
    }
  }

  private void watchdog() {
    long now = time.clock().millis();
    long timeout = settings.stallTimeout().toMillis();
    for (PartitionState s : partitions) {
      long w = s.deliveredWatermark();
      long lag = s.lag();
      // Held by stopAgents() or by an ownership listener's gate: not delivering on purpose.
      if (w != s.watchedWatermark || lag == 0 || !s.watching || s.held || s.gated) {
        s.watchedWatermark = w;
        s.watchedSinceMillis = now;
        s.watching = true;
        if (s.stalled) {
          s.stalled = false;
          s.stalledSinceMillis = -1;
          log.info("Provider {}: partition {} delivers again (lag {})", provider, s.tp, lag);
        }
        continue;
      }
      if (!s.stalled && now - s.watchedSinceMillis >= timeout) {
        s.stalledSinceMillis = s.watchedSinceMillis;
        s.stalled = true;
        log.warn(
            "Provider {}: partition {} is stalled: lag {} records and nothing delivered for {}"
                + " (delivered watermark {}, committed {}). Why: {}",
            provider,
            s.tp,
            lag,
            settings.stallTimeout(),
            w,
            s.committed,
            stallReason(s));
      }
    }
  }

  /** A human explanation of why a partition does not move. */
  String stallReason(PartitionState s) {
    ConsumerLoop loop = s.owner;
    String failing = loop == null ? null : loop.failure();
    if (failing != null) {
      return "its consumer is failing: " + failing;
    }
    if (s.pendingDeadLetters() > 0) {
      return s.pendingDeadLetters()
          + " dead letter(s) to "
          + settings.deadLetterTopic()
          + " are not written yet (see "
          + KafkaMetrics.DEAD_LETTER_FAILURES
          + ")";
    }
    if (s.paused) {
      return "paused by backpressure: "
          + s.bufferedCount
          + " records are buffered because the agent's cache is full; a slow or blocked"
          + " subscription holds the oldest cached events";
    }
    long oldest = s.oldestHandedOut();
    if (oldest >= 0) {
      return "waiting for subscriptions to acknowledge offset "
          + oldest
          + ": a handler is slow, blocked, or failing and being retried for up to"
          + " maxEventDeliveryTime";
    }
    if (s.bufferedCount > 0) {
      return s.bufferedCount + " records are buffered but the agent does not read them";
    }
    return "the consumer fetches nothing (broker or partition leader unavailable?)";
  }

  private void guardedMetadataCheck() {
    try {
      checkPartitionCounts();
      if (metadataError != null) {
        log.info("Provider {}: the broker answers again", provider);
        metadataError = null;
        metadataErrorSinceMillis = -1;
      }
    } catch (Throwable t) {
      if (t instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      Throwable cause =
          t instanceof java.util.concurrent.ExecutionException && t.getCause() != null
              ? t.getCause()
              : t;
      if (metadataErrorSinceMillis < 0) {
        metadataErrorSinceMillis = time.clock().millis();
      }
      metadataError = cause.toString();
      log.debug("Provider {}: partition-count check failed; it runs again", provider, t);
    }
  }

  /**
   * Why the broker looks unreachable: the partition-count check (a bounded admin call every {@code
   * metadataRefreshInterval}) has been failing; null while it works. Any thread.
   */
  String brokerError() {
    return metadataError;
  }

  /** Since when {@link #brokerError()} has been failing, on the time's clock; -1 when it works. */
  long brokerErrorSinceMillis() {
    return metadataErrorSinceMillis;
  }

  /** The housekeeping thread as a scheduler, lent to the Kafka client metrics' refresh. */
  java.util.concurrent.ScheduledExecutorService scheduler() {
    return thread;
  }

  private void checkPartitionCounts() throws Exception {
    int ms = (int) Math.min(Integer.MAX_VALUE, settings.metadataRefreshInterval().toMillis());
    Map<String, TopicDescription> d =
        admin
            .describeTopics(settings.topics().keySet(), new DescribeTopicsOptions().timeoutMs(ms))
            .allTopicNames()
            .get(ms, TimeUnit.MILLISECONDS);
    Map<String, Integer> counts = new HashMap<>();
    d.forEach((t, desc) -> counts.put(t, desc.partitions().size()));
    List<QueueId> added = mapper.grow(counts);
    if (added.isEmpty()) {
      return;
    }
    log.info("Provider {}: topics gained partitions {}", provider, added);
    if (settings.staticAssignment() && balancer.isStarted()) {
      balancer.add(added);
    }
  }
}
