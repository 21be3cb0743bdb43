package dev.tributary.testkit.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A real 3-broker cluster: replication, one broker SIGKILLed, a client link cut off. */
class LocalKafkaClusterTest {

  private static LocalKafkaCluster cluster;

  @BeforeAll
  static void start() {
    cluster = LocalKafkaCluster.builder().brokers(3).clientLinks(1).heap("256m").build();
    cluster.start();
  }

  @AfterAll
  static void stop() {
    cluster.close();
  }

  @Test
  void topics_areReplicatedThreeTimes_withMinInsync2() throws Exception {
    cluster.createTopic("replicated", 2);
    try (Admin admin = Admin.create(Admins.probeProperties(cluster.bootstrapServers()))) {
      TopicDescription d =
          admin.describeTopics(List.of("replicated")).allTopicNames().get().get("replicated");
      assertThat(d.partitions()).allSatisfy(p -> assertThat(p.replicas()).hasSize(3));
      String minIsr =
          admin
              .describeConfigs(
                  List.of(
                      new org.apache.kafka.common.config.ConfigResource(
                          org.apache.kafka.common.config.ConfigResource.Type.TOPIC, "replicated")))
              .all()
              .get()
              .values()
              .iterator()
              .next()
              .get("min.insync.replicas")
              .value();
      assertThat(minIsr).isEqualTo("2");
    }
  }

  @Test
  void oneBrokerKilled_acksAllStillSucceeds_throughTheLink() throws Exception {
    cluster.createTopic("survives", 3);
    try (KafkaProducer<String, String> p = producer(cluster.link(0).bootstrapServers(), 60_000)) {
      send(p, "survives", "before");
      cluster.kill(0);
      assertThat(cluster.isRunning(0)).isFalse();
      for (int i = 0; i < 10; i++) {
        send(p, "survives", "during-" + i);
      }
      cluster.restart(0);
      assertThat(cluster.allRunning()).isTrue();
      send(p, "survives", "after");
    }
  }

  @Test
  void partitionedLink_getsNoAnswer_directClientsDo_healRestores() throws Exception {
    cluster.createTopic("cut", 1);
    try (KafkaProducer<String, String> viaLink =
            producer(cluster.link(0).bootstrapServers(), 4_000);
        KafkaProducer<String, String> direct = producer(cluster.bootstrapServers(), 30_000)) {
      // The producer's 4 s delivery timeout makes the partition show quickly; on a loaded machine
      // the first send (metadata, a leader just elected) may need a few tries.
      await()
          .atMost(Duration.ofSeconds(60))
          .ignoreExceptions()
          .until(() -> send(viaLink, "cut", "before") != null);
      cluster.link(0).partition();
      assertThatThrownBy(() -> send(viaLink, "cut", "during"))
          .hasCauseInstanceOf(org.apache.kafka.common.errors.TimeoutException.class);
      send(direct, "cut", "direct-during");
      cluster.link(0).heal();
      await()
          .atMost(Duration.ofSeconds(60))
          .ignoreExceptions()
          .until(() -> send(viaLink, "cut", "after") != null);
    }
  }

  private static KafkaProducer<String, String> producer(String bootstrap, int deliveryTimeoutMs) {
    Properties p = new Properties();
    p.putAll(
        Map.of(
            ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ProducerConfig.ACKS_CONFIG,
            "all",
            ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
            Integer.toString(deliveryTimeoutMs),
            ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG,
            Integer.toString(deliveryTimeoutMs),
            ProducerConfig.LINGER_MS_CONFIG,
            "0",
            ProducerConfig.MAX_BLOCK_MS_CONFIG,
            "30000"));
    return new KafkaProducer<>(p, new StringSerializer(), new StringSerializer());
  }

  private static RecordMetadata send(KafkaProducer<String, String> p, String topic, String v)
      throws InterruptedException, ExecutionException, java.util.concurrent.TimeoutException {
    return p.send(new ProducerRecord<>(topic, v, v)).get(60, TimeUnit.SECONDS);
  }
}
