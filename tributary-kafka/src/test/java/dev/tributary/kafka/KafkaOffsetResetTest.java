package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.assertComplete;
import static dev.tributary.kafka.KafkaTestSupport.committed;
import static dev.tributary.kafka.KafkaTestSupport.endOffsets;
import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.produce;
import static dev.tributary.kafka.KafkaTestSupport.strings;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static dev.tributary.testkit.DeliveryHarness.IMPLICIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamRuntime;
import dev.tributary.testkit.Delivery;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.kafka.KafkaBroker;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Where a partition starts when the group has no committed offset for it, or when its position is
 * no longer in the log: the adapter decides, never Kafka's {@code auto.offset.reset}.
 */
class KafkaOffsetResetTest {
  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(60);
  static final int PARTITIONS = 2;

  private static StreamRuntime runtime(
      KafkaQueueAdapterFactory f, String topic, DeliveryHarness rec, MeterRegistry registry) {
    return StreamRuntime.builder()
        .addProvider("kafka", f, o -> o.cacheSize(128))
        .implicitSubscription("kafka", topic, rec.observerFactory())
        .meterRegistry(registry)
        .threads(2)
        .build();
  }

  private static KafkaQueueAdapterFactory streamEndWhenUncommitted(String group, String topic) {
    return factory(broker, group)
        .topic(topic, strings(PARTITIONS))
        .whenNoCommittedOffset(ConsumeMode.STREAM_END)
        .build();
  }

  @Test
  void committedOffsetsRemovedByRetention_restartAtTheEarliestRetainedRecord_notAtTheLogEnd()
      throws Exception {
    String topic = unique("out-of-range");
    String group = unique("g");
    broker.createTopic(topic, PARTITIONS);

    // Run 1: a new group that starts at the log end reads what is written after its assignment and
    // commits it.
    DeliveryHarness rec1 = DeliveryHarness.create();
    KafkaQueueAdapterFactory f1 = streamEndWhenUncommitted(group, topic);
    try (StreamRuntime rt = runtime(f1, topic, rec1, new SimpleMeterRegistry())) {
      rt.start();
      await().atMost(WAIT).until(() -> f1.ownedPartitions().size() == PARTITIONS);
      produce(broker, topic, 8, 10, 0);
      await().atMost(WAIT).until(() -> rec1.count() >= 80);
      Map<Integer, Long> ends = endOffsets(broker, topic, PARTITIONS);
      await().atMost(WAIT).until(() -> committed(broker, group, topic).equals(ends));
    }
    assertThat(rec1.count()).isEqualTo(80);
    rec1.assertInOrderNoDuplicates();
    Map<Integer, Long> committedBefore = committed(broker, group, topic);

    // While the group is away, more records arrive and the oldest ones, the committed position
    // included, are deleted (as retention would).
    produce(broker, topic, 8, 20, 10);
    Map<Integer, Long> ends = endOffsets(broker, topic, PARTITIONS);
    Map<Integer, Long> deletedBefore = new HashMap<>();
    Map<TopicPartition, RecordsToDelete> delete = new HashMap<>();
    int retained = 0;
    for (int p = 0; p < PARTITIONS; p++) {
      long c = committedBefore.get(p);
      long e = ends.get(p);
      assertThat(e - c).as("records written to partition %s after the commit", p).isGreaterThan(4);
      long d = c + (e - c) / 2;
      deletedBefore.put(p, d);
      delete.put(new TopicPartition(topic, p), RecordsToDelete.beforeOffset(d));
      retained += (int) (e - d);
    }
    try (Admin admin = broker.admin()) {
      admin.deleteRecords(delete).all().get();
    }

    // Run 2: the committed offsets are below the log start. Every retained record is delivered,
    // once, from the earliest retained offset on; nothing jumps to the log end.
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    DeliveryHarness rec2 = DeliveryHarness.create();
    KafkaQueueAdapterFactory f2 = streamEndWhenUncommitted(group, topic);
    int expected = retained;
    try (StreamRuntime rt = runtime(f2, topic, rec2, registry)) {
      rt.start();
      await("every retained record delivered").atMost(WAIT).until(() -> rec2.count() >= expected);
      await().atMost(WAIT).until(() -> committed(broker, group, topic).equals(ends));
      assertThat(rec2.count()).isEqualTo(expected);
      assertThat(rec2.duplicates()).isZero();
      // Per stream, offsets strictly increase.
      rec2.assertInOrderNoDuplicates();
      Map<Integer, List<Long>> offsetsByPartition = new HashMap<>();
      for (Delivery d : rec2.deliveries(IMPLICIT)) {
        offsetsByPartition
            .computeIfAbsent(
                f2.streamQueueMapper().queueForStream(d.streamId()).index(), k -> new ArrayList<>())
            .add(d.token().sequenceNumber());
      }
      for (int p = 0; p < PARTITIONS; p++) {
        List<Long> got = offsetsByPartition.getOrDefault(p, List.of());
        long logStart = deletedBefore.get(p);
        assertThat(got).as("offsets of partition %s", p).hasSize((int) (ends.get(p) - logStart));
        assertThat(got).as("offsets of partition %s", p).allMatch(o -> o >= logStart);
        assertThat(
                registry
                    .get("tributary.kafka.offset.out.of.range")
                    .tags("provider", "kafka", "topic", topic, "partition", "" + p)
                    .counter()
                    .count())
            .as("out-of-range restarts of partition %s", p)
            .isEqualTo(1.0);
      }
    }
  }

  /** A group that never committed starts where whenNoCommittedOffset says. */
  @ParameterizedTest(name = "whenNoCommittedOffset={0}")
  @EnumSource(
      value = ConsumeMode.class,
      names = {"STREAM_START", "STREAM_END"})
  void aNewGroup_startsWhereWhenNoCommittedOffsetSays(ConsumeMode whenNoCommittedOffset) {
    String topic = unique("uncommitted");
    String group = unique("g");
    broker.createTopic(topic, PARTITIONS);
    Map<String, List<String>> backlog = produce(broker, topic, 8, 5, 0);
    DeliveryHarness rec = DeliveryHarness.create();
    KafkaQueueAdapterFactory f =
        factory(broker, group)
            .topic(topic, strings(PARTITIONS))
            .whenNoCommittedOffset(whenNoCommittedOffset)
            .build();
    try (StreamRuntime rt = runtime(f, topic, rec, new SimpleMeterRegistry())) {
      rt.start();
      // Positions are resolved before a partition counts as owned.
      await().atMost(WAIT).until(() -> f.ownedPartitions().size() == PARTITIONS);
      Map<String, List<String>> fresh = produce(broker, topic, 8, 5, 5);
      Map<String, List<String>> expected = new HashMap<>();
      if (whenNoCommittedOffset == ConsumeMode.STREAM_START) {
        backlog.forEach((k, v) -> expected.computeIfAbsent(k, x -> new ArrayList<>()).addAll(v));
      }
      fresh.forEach((k, v) -> expected.computeIfAbsent(k, x -> new ArrayList<>()).addAll(v));
      int n = expected.values().stream().mapToInt(List::size).sum();
      await().atMost(WAIT).until(() -> rec.count() >= n);
      Map<Integer, Long> ends = endOffsets(broker, topic, PARTITIONS);
      await().atMost(WAIT).until(() -> committed(broker, group, topic).equals(ends));
      assertComplete(rec, topic, expected);
      assertThat(rec.count()).isEqualTo(n);
    }
  }
}
