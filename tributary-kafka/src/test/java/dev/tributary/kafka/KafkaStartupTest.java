package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamRuntime;
import dev.tributary.StreamingException;
import dev.tributary.spi.StaticQueueBalancer;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;

/** Start-up against a real broker: topic creation and the errors users meet first. */
class KafkaStartupTest {
  static final KafkaBroker broker = KafkaBroker.shared();

  @Test
  void autoCreateTopic_isCreatedWithPartitionsAndConfigs() throws Exception {
    String topic = unique("auto");
    KafkaQueueAdapterFactory f =
        factory(broker, unique("g"))
            .topic(
                topic, TopicConfig.autoCreate(3, (short) 1).withConfig("retention.ms", "3600000"))
            .build();
    try (StreamRuntime rt = StreamRuntime.builder().addProvider("kafka", f).threads(1).build()) {
      rt.start();
      try (Admin admin = broker.admin()) {
        TopicDescription d = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
        assertThat(d.partitions()).hasSize(3);
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        Config c = admin.describeConfigs(List.of(r)).all().get().get(r);
        assertThat(c.get("retention.ms").value()).isEqualTo("3600000");
      }
      assertThat(f.streamQueueMapper().allQueues()).hasSize(3);
    }
    // A second start finds the topic existing (no TopicExistsException surfaces).
    KafkaQueueAdapterFactory again =
        factory(broker, unique("g")).topic(topic, TopicConfig.autoCreate(3, (short) 1)).build();
    try (StreamRuntime rt =
        StreamRuntime.builder().addProvider("kafka", again).threads(1).build()) {
      rt.start();
      assertThat(again.streamQueueMapper().allQueues()).hasSize(3);
    }
  }

  @Test
  void missingExistingTopics_failStartNamingEachTopicAndTheFix() {
    String a = unique("missing-a");
    String b = unique("missing-b");
    KafkaQueueAdapterFactory f =
        factory(broker, unique("g"))
            .topic(a, TopicConfig.existing())
            .topic(b, TopicConfig.existing())
            .build();
    StreamRuntime rt = StreamRuntime.builder().addProvider("missing", f).threads(1).build();
    assertThatThrownBy(rt::start)
        .isInstanceOf(StreamingException.class)
        .hasMessageContaining("Kafka provider 'missing' cannot start (2 problems)")
        .hasMessageContaining("topic '" + a + "' does not exist and is configured with")
        .hasMessageContaining("topic '" + b + "' does not exist")
        .hasMessageContaining("kafka-topics.sh --bootstrap-server " + broker.bootstrapServers())
        .hasMessageContaining("TopicConfig.autoCreate(partitions, replicationFactor)");
    rt.close();
    assertNoClientsLeft("missing"); // the consumer built while the topics were checked is closed
  }

  @Test
  void unreachableBootstrapServers_failWithinStartupTimeoutNamingTheServers() {
    KafkaQueueAdapterFactory f =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers("127.0.0.1:1")
            .consumerGroupId("g")
            .topic("t", TopicConfig.existing())
            .startupTimeout(Duration.ofSeconds(2))
            .build();
    StreamRuntime rt = StreamRuntime.builder().addProvider("kafka", f).threads(1).build();
    long began = System.nanoTime();
    assertThatThrownBy(rt::start)
        .isInstanceOf(StreamingException.class)
        .hasMessageContaining(
            "Kafka provider 'kafka' cannot reach the Kafka cluster at bootstrapServers"
                + " '127.0.0.1:1' within startupTimeout PT2S")
        .hasMessageContaining("or raise startupTimeout");
    assertThat(Duration.ofNanos(System.nanoTime() - began)).isLessThan(Duration.ofSeconds(15));
    rt.close();
  }

  @Test
  void aProviderBalancer_isRefusedWithGroupAssignment() {
    KafkaQueueAdapterFactory f =
        factory(broker, unique("g"))
            .topic(unique("t"), TopicConfig.autoCreate(1, (short) 1))
            .build();
    StreamRuntime rt =
        StreamRuntime.builder()
            .addProvider("refused", f, o -> o.balancer(StaticQueueBalancer::allQueues))
            .threads(1)
            .build();
    assertThatThrownBy(rt::start)
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("uses consumer-group membership")
        .hasMessageContaining("staticAssignment()");
    rt.close();
    assertNoClientsLeft("refused"); // the adapter started, its consumer was built, never used
  }

  /**
   * A consumer that cannot be built (a property Kafka refuses) fails the start with Kafka's own
   * error, and what the adapter had started (admin client, producer thread, housekeeping) is
   * closed.
   */
  @Test
  void aConsumerThatCannotBeBuilt_failsTheStart_andLeavesNothingRunning() {
    KafkaQueueAdapterFactory f =
        factory(broker, unique("g"))
            .topic(unique("t"), TopicConfig.autoCreate(1, (short) 1))
            .staticAssignment()
            .consumerProperty("max.poll.records", "many")
            .build();
    StreamRuntime rt = StreamRuntime.builder().addProvider("unbuilt", f).threads(1).build();
    assertThatThrownBy(rt::start)
        .isInstanceOf(KafkaException.class)
        .hasStackTraceContaining("max.poll.records");
    rt.close();
    assertNoClientsLeft("unbuilt");
  }

  /** No Kafka client of provider {@code provider} is still registered, and none of its threads. */
  private static void assertNoClientsLeft(String provider) {
    String prefix = "tributary-" + provider + "-";
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              assertThat(server.queryNames(new ObjectName("kafka.*:type=app-info,*"), null))
                  .extracting(n -> n.getKeyProperty("id"))
                  .filteredOn(id -> id != null && id.startsWith(prefix))
                  .as("Kafka clients of provider %s still registered", provider)
                  .isEmpty();
              assertThat(Thread.getAllStackTraces().keySet())
                  .extracting(Thread::getName)
                  .filteredOn(n -> n.startsWith(prefix))
                  .as("threads of provider %s still alive", provider)
                  .isEmpty();
            });
  }
}
