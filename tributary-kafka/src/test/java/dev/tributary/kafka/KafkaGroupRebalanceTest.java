package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.assertComplete;
import static dev.tributary.kafka.KafkaTestSupport.committed;
import static dev.tributary.kafka.KafkaTestSupport.endOffsets;
import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.produce;
import static dev.tributary.kafka.KafkaTestSupport.strings;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamRuntime;
import dev.tributary.spi.QueueId;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Two runtimes in one consumer group split the partitions and hand them over without loss. */
class KafkaGroupRebalanceTest {
  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(90);

  private static StreamRuntime node(
      String name, KafkaQueueAdapterFactory f, String topic, DeliveryHarness rec) {
    return StreamRuntime.builder()
        .addProvider("kafka", f, o -> o.cacheSize(128))
        .implicitSubscription("kafka", topic, rec.observerFactory())
        .nodeName(name)
        .threads(2)
        .build();
  }

  private static KafkaQueueAdapterFactory factoryFor(String group, String topic, String protocol) {
    KafkaQueueAdapterFactory.Builder b = factory(broker, group).topic(topic, strings(4));
    if (protocol.equals("classic")) {
      b.consumerProperty("heartbeat.interval.ms", "300");
    } else {
      b.consumerProperty("group.protocol", protocol);
    }
    return b.build();
  }

  @ParameterizedTest(name = "group.protocol={0}")
  @ValueSource(strings = {"classic", "consumer"})
  void twoNodes_splitPartitions_andClosingOneHandsItsPartitionsOverAfterCommitting(
      String protocol) {
    String topic = unique("group");
    String group = unique("g");
    broker.createTopic(topic, 4);
    // One recorder for the whole group: per-stream order and duplicates are checked across nodes.
    DeliveryHarness rec = DeliveryHarness.create();
    KafkaQueueAdapterFactory fa = factoryFor(group, topic, protocol);
    KafkaQueueAdapterFactory fb = factoryFor(group, topic, protocol);
    try (StreamRuntime a = node("node-a", fa, topic, rec)) {
      a.start();
      await().atMost(WAIT).until(() -> fa.ownedPartitions().size() == 4);
      Map<String, List<String>> first = produce(broker, topic, 20, 20, 0);

      Map<String, List<String>> second;
      try (StreamRuntime b = node("node-b", fb, topic, rec)) {
        b.start();
        await()
            .atMost(WAIT)
            .until(() -> fa.ownedPartitions().size() == 2 && fb.ownedPartitions().size() == 2);
        Set<QueueId> union = new HashSet<>(fa.ownedPartitions());
        union.addAll(fb.ownedPartitions());
        assertThat(union).hasSize(4);

        second = produce(broker, topic, 20, 20, 20);
        await().atMost(WAIT).until(() -> rec.count() >= 800);
      }
      // b closed: a takes every partition back.
      await().atMost(WAIT).until(() -> fa.ownedPartitions().size() == 4);
      Map<String, List<String>> third = produce(broker, topic, 20, 20, 40);
      await().atMost(WAIT).until(() -> rec.count() >= 1200);

      for (String key : first.keySet()) {
        first.get(key).addAll(second.get(key));
        first.get(key).addAll(third.get(key));
      }
      assertComplete(rec, topic, first);
      // Each hand-over committed before releasing: nothing was delivered twice.
      assertThat(rec.duplicates()).isZero();
      assertThat(rec.count()).isEqualTo(1200);
      Map<Integer, Long> ends = endOffsets(broker, topic, 4);
      await().atMost(WAIT).until(() -> committed(broker, group, topic).equals(ends));
    }
  }
}
