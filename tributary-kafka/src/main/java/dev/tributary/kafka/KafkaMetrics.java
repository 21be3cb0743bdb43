package dev.tributary.kafka;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import org.apache.kafka.common.TopicPartition;

/**
 * The Kafka adapter's meters, tagged {@code provider}, {@code topic} and {@code partition}. Listed
 * with their meaning in {@code docs/kafka.md}.
 *
 * <p>Gauges read a {@link PartitionState}'s volatile fields or take its lock briefly; they are
 * registered when this node starts reading a partition and removed when it stops, because another
 * node reports the partition then. Counters stay: their totals remain meaningful after a hand-over.
 * Thread-safe.
 */
final class KafkaMetrics {

  static final String LAG = "tributary.kafka.partition.lag";
  static final String COMMITTED = "tributary.kafka.partition.committed.offset";
  static final String WATERMARK = "tributary.kafka.partition.delivered.watermark";
  static final String OLDEST_AGE = "tributary.kafka.partition.oldest.undelivered.age";
  static final String STALLED = "tributary.kafka.partition.stalled";
  static final String PAUSED = "tributary.kafka.partition.paused";
  static final String BUFFERED = "tributary.kafka.partition.buffered";
  static final String BUFFERED_BYTES = "tributary.kafka.partition.buffered.bytes";
  static final String POISON = "tributary.kafka.poison.records";
  static final String DEAD_LETTERED = "tributary.kafka.dead.lettered";
  static final String DEAD_LETTER_FAILURES = "tributary.kafka.dead.letter.failures";
  static final String SKIPPED = "tributary.kafka.skipped.records";
  static final String COMMIT_FAILURES = "tributary.kafka.commit.failures";
  static final String OFFSET_OUT_OF_RANGE = "tributary.kafka.offset.out.of.range";
  static final String POLL_ERRORS = "tributary.kafka.poll.errors";
  static final String REPLAYS_ACTIVE = "tributary.kafka.replays.active";
  static final String REPLAYS_QUEUED = "tributary.kafka.replays.queued";
  static final String REPLAY_LAG = "tributary.kafka.replay.lag";
  static final String REPLAY_READ = "tributary.kafka.replay.records.read";
  static final String REPLAY_DELIVERED = "tributary.kafka.replay.records.delivered";

  private final MeterRegistry registry;
  private final String provider;
  private final Counter pollErrors;
  private final java.util.Set<Meter> counters = java.util.concurrent.ConcurrentHashMap.newKeySet();

  KafkaMetrics(MeterRegistry registry, String provider) {
    this.registry = registry;
    this.provider = provider;
    this.pollErrors =
        Counter.builder(POLL_ERRORS)
            .description("Failed polls of the adapter's consumers (each is retried with backoff)")
            .tag("provider", provider)
            .register(registry);
  }

  Tags tags(TopicPartition tp) {
    return Tags.of("provider", provider, "topic", tp.topic(), "partition", "" + tp.partition());
  }

  void pollError() {
    pollErrors.increment();
  }

  void poison(TopicPartition tp) {
    counter(POISON, "Records whose key or value could not be decoded", tags(tp)).increment();
  }

  void deadLettered(TopicPartition tp, String reason) {
    counter(
            DEAD_LETTERED,
            "Records written to the dead-letter topic",
            tags(tp).and("reason", reason))
        .increment();
  }

  void deadLetterFailure(TopicPartition tp) {
    counter(DEAD_LETTER_FAILURES, "Failed attempts to write a dead letter (retried)", tags(tp))
        .increment();
  }

  void skipped(TopicPartition tp, String reason) {
    counter(
            SKIPPED,
            "Records given up on and skipped (poison or undeliverable)",
            tags(tp).and("reason", reason))
        .increment();
  }

  void commitFailure(TopicPartition tp) {
    counter(COMMIT_FAILURES, "Offset commits that failed (retried at the next interval)", tags(tp))
        .increment();
  }

  void offsetOutOfRange(TopicPartition tp) {
    counter(
            OFFSET_OUT_OF_RANGE,
            "Positions that were no longer in the log (retention or deleteRecords removed them),"
                + " each restarted at the earliest retained offset",
            tags(tp))
        .increment();
  }

  /** A replay read {@code read} records of {@code tp} and kept {@code delivered} of its stream. */
  void replayRecords(TopicPartition tp, long read, long delivered) {
    if (read > 0) {
      counter(REPLAY_READ, "Records replays read from the log, every key's", tags(tp))
          .increment(read);
    }
    if (delivered > 0) {
      counter(
              REPLAY_DELIVERED,
              "Records of the replayed streams that replays handed to their subscriptions",
              tags(tp))
          .increment(delivered);
    }
  }

  /** Registers the gauges of the provider's replays; returns them for removal. */
  List<Meter> register(KafkaReplays replays) {
    Tags tags = Tags.of("provider", provider);
    List<Meter> meters = new ArrayList<>();
    meters.add(
        Gauge.builder(REPLAYS_ACTIVE, replays, KafkaReplays::active)
            .description("Replays from the partitions reading now, each with its own consumer")
            .tags(tags)
            .strongReference(true)
            .register(registry));
    meters.add(
        Gauge.builder(REPLAYS_QUEUED, replays, KafkaReplays::queued)
            .description("Replays waiting for one of maxConcurrentReplays to end")
            .tags(tags)
            .strongReference(true)
            .register(registry));
    meters.add(
        Gauge.builder(REPLAY_LAG, replays, KafkaReplays::lag)
            .description("Records between the open replays' positions and their partitions' ends")
            .tags(tags)
            .strongReference(true)
            .register(registry));
    return meters;
  }

  private Counter counter(String name, String description, Tags tags) {
    Counter c = Counter.builder(name).description(description).tags(tags).register(registry);
    counters.add(c);
    return c;
  }

  /**
   * Removes the counters when the adapter closes, so that a closed provider leaves no meters behind
   * (the registry may outlive it, in tests and in applications that restart providers).
   */
  void close() {
    registry.remove(pollErrors);
    for (Meter m : counters) {
      registry.remove(m);
    }
    counters.clear();
  }

  /** Registers the gauges of a partition this node now reads; returns them for removal. */
  List<Meter> register(PartitionState s) {
    Tags tags = tags(s.tp);
    List<Meter> meters = new ArrayList<>();
    meters.add(gauge(LAG, "Records in the log not yet delivered", tags, s, PartitionState::lag));
    meters.add(gauge(COMMITTED, "Offset last committed by this node", tags, s, p -> p.committed));
    meters.add(
        gauge(
            WATERMARK,
            "Highest offset delivered to every subscription + 1",
            tags,
            s,
            PartitionState::deliveredWatermark));
    meters.add(
        gauge(
            OLDEST_AGE,
            "Age in ms of the oldest fetched record not yet delivered (0 when none)",
            tags,
            s,
            p -> {
              long ts = p.oldestUndeliveredTimestamp;
              return ts <= 0 ? 0 : Math.max(0, System.currentTimeMillis() - ts);
            }));
    meters.add(
        gauge(
            STALLED,
            "1 while the partition has lag and delivered nothing for stallTimeout",
            tags,
            s,
            p -> p.stalled ? 1 : 0));
    meters.add(
        gauge(
            PAUSED, "1 while fetching is paused by backpressure", tags, s, p -> p.paused ? 1 : 0));
    meters.add(
        gauge(BUFFERED, "Fetched records waiting for the agent", tags, s, p -> p.bufferedCount));
    meters.add(
        gauge(
            BUFFERED_BYTES,
            "Bytes of fetched records waiting for the agent, as counted against"
                + " maxBufferedBytesPerPartition",
            tags,
            s,
            p -> p.bufferedBytes()));
    return meters;
  }

  private Gauge gauge(
      String name,
      String description,
      Tags tags,
      PartitionState s,
      ToDoubleFunction<PartitionState> f) {
    return Gauge.builder(name, s, f)
        .description(description)
        .tags(tags)
        .strongReference(true)
        .register(registry);
  }

  void remove(List<Meter> meters) {
    for (Meter m : meters) {
      registry.remove(m);
    }
  }
}
