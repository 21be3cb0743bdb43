package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.strings;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static dev.tributary.kafka.KafkaTestSupport.utf8;
import static dev.tributary.testkit.DeliveryHarness.IMPLICIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Partitions added to a topic at run time are picked up and read from their beginning. */
class KafkaPartitionGrowthTest {
  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(60);

  @ParameterizedTest(name = "static assignment: {0}")
  @ValueSource(booleans = {false, true})
  void addedPartitions_areReadWithoutRestart(boolean staticAssignment) throws Exception {
    String topic = unique("grow");
    broker.createTopic(topic, 1);
    DeliveryHarness rec = DeliveryHarness.create();
    KafkaQueueAdapterFactory.Builder b =
        factory(broker, unique("g"))
            .topic(topic, strings(1))
            // STREAM_END must not skip records of partitions added while running.
            .consumeMode(ConsumeMode.STREAM_END);
    if (staticAssignment) {
      b.staticAssignment();
    }
    KafkaQueueAdapterFactory f = b.build();
    try (StreamRuntime rt =
        StreamRuntime.builder()
            .addProvider("kafka", f)
            .implicitSubscription("kafka", topic, rec.observerFactory())
            .threads(2)
            .build()) {
      rt.start();
      await().atMost(WAIT).until(() -> f.ownedPartitions().size() == 1);
      try (Admin admin = broker.admin()) {
        admin.createPartitions(Map.of(topic, NewPartitions.increaseTo(3))).all().get();
      }
      // Written to the new partitions before the runtime noticed them.
      try (KafkaProducer<byte[], byte[]> p = KafkaTestSupport.producer(broker)) {
        for (int partition = 0; partition < 3; partition++) {
          for (int i = 0; i < 10; i++) {
            String key = "p" + partition;
            p.send(new ProducerRecord<>(topic, partition, utf8(key), utf8(key + ":" + i))).get();
          }
        }
      }
      await().atMost(WAIT).until(() -> f.streamQueueMapper().allQueues().size() == 3);
      await().atMost(WAIT).until(() -> f.ownedPartitions().size() == 3);
      await().atMost(WAIT).until(() -> rec.count() >= 20);
      assertThat(rec.items(IMPLICIT, StreamId.of(topic, "p1")))
          .containsExactlyElementsOf(
              List.of(
                  "p1:0", "p1:1", "p1:2", "p1:3", "p1:4", "p1:5", "p1:6", "p1:7", "p1:8", "p1:9"));
      assertThat(rec.items(IMPLICIT, StreamId.of(topic, "p2"))).hasSize(10);
      rec.assertInOrderNoDuplicates();
    }
  }
}
