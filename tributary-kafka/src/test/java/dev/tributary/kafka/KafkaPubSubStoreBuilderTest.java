package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The store's builder reports every problem at once, naming option, value and rule. */
class KafkaPubSubStoreBuilderTest {

  @Test
  void defaults_build() {
    KafkaPubSubStore s = KafkaPubSubStore.builder().bootstrapServers("localhost:9092").build();
    assertThat(s.topic()).isEqualTo("tributary-subscriptions");
    assertThat(s.isShared()).isTrue();
    s.close();
  }

  @Test
  void everyOption_accepted() {
    KafkaPubSubStore s =
        KafkaPubSubStore.builder()
            .bootstrapServers("broker-1:9092, broker-2:9093")
            .topic("app.subscriptions")
            .partitions(3)
            .replicationFactor((short) 3)
            .createTopic(false)
            .startTimeout(Duration.ofSeconds(5))
            .closeTimeout(Duration.ZERO)
            .topicConfig("segment.ms", "600000")
            .clientProperty("security.protocol", "PLAINTEXT")
            .clientProperty("acks", "all")
            .meterRegistry(new io.micrometer.core.instrument.simple.SimpleMeterRegistry())
            .build();
    assertThat(s.topic()).isEqualTo("app.subscriptions");
    s.close();
  }

  @Test
  void everyProblem_isReportedInOneException() {
    assertThatThrownBy(
            () ->
                KafkaPubSubStore.builder()
                    .bootstrapServers("no-port-here")
                    .topic("bad topic!")
                    .partitions(0)
                    .replicationFactor((short) 0)
                    .startTimeout(Duration.ofMillis(1))
                    .closeTimeout(Duration.ofSeconds(-1))
                    .clientProperty("bootstrap.servers", "x:1")
                    .clientProperty("acks", "1")
                    .clientProperty("enable.idempotence", "false")
                    .clientProperty("group.id", "g")
                    .clientProperty("value.serializer", "x")
                    .clientProperty("", "v")
                    .topicConfig("cleanup.policy", "delete")
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Invalid KafkaPubSubStore configuration (13 problems):")
        .hasMessageContaining(
            "bootstrapServers was 'no-port-here' but each entry must be host:port")
        .hasMessageContaining("topic was 'bad topic!' but a Kafka topic name must be")
        .hasMessageContaining("partitions was 0 but it must be between 1 and 1000")
        .hasMessageContaining("replicationFactor was 0 but it must be at least 1")
        .hasMessageContaining("startTimeout was PT0.001S but it must be between PT0.1S and PT1H")
        .hasMessageContaining("closeTimeout was PT-1S but it must be between PT0S and PT1H")
        .hasMessageContaining("clientProperty(bootstrap.servers) was 'x:1' but it is managed")
        .hasMessageContaining("clientProperty(acks) was '1' but it must be all")
        .hasMessageContaining("clientProperty(enable.idempotence) was 'false' but it must be true")
        .hasMessageContaining("clientProperty(group.id) was 'g' but the store reads every")
        .hasMessageContaining("clientProperty(value.serializer) was 'x' but the store writes")
        .hasMessageContaining("clientProperty key was '' but it must be a Kafka config name")
        .hasMessageContaining("topicConfig(cleanup.policy) was 'delete' but it must be compact");
  }

  @Test
  void missingServers_nullsAndTwiceSetOptions_areReported() {
    assertThatThrownBy(
            () ->
                KafkaPubSubStore.builder()
                    .topic(null)
                    .partitions(2)
                    .partitions(3)
                    .startTimeout(null)
                    .meterRegistry(null)
                    .clientProperty("linger.ms", null)
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bootstrapServers was not set but it is required")
        .hasMessageContaining("topic was 'null'")
        .hasMessageContaining("partitions was set twice (the second time to '3')")
        .hasMessageContaining("startTimeout was null")
        .hasMessageContaining("meterRegistry was null")
        .hasMessageContaining("clientProperty(linger.ms) value was null");
  }

  @Test
  void writesBeforeStart_failClearly() {
    KafkaPubSubStore s = KafkaPubSubStore.builder().bootstrapServers("localhost:9092").build();
    assertThat(
            s.remove("p", dev.tributary.StreamId.of("n", "k"), java.util.UUID.randomUUID())
                .toCompletableFuture())
        .failsWithin(Duration.ofSeconds(1))
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .withMessageContaining("before start()");
    s.close();
    assertThat(s.start().toCompletableFuture())
        .failsWithin(Duration.ofSeconds(1))
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .withMessageContaining("was already closed");
  }

  @Test
  void clientPropertiesTheClientsReject_failStartClearly() {
    KafkaPubSubStore s =
        KafkaPubSubStore.builder()
            .bootstrapServers("localhost:9092")
            .clientProperty("linger.ms", "not a number")
            .build();
    try {
      assertThat(s.start().toCompletableFuture())
          .failsWithin(Duration.ofSeconds(10))
          .withThrowableOfType(java.util.concurrent.ExecutionException.class)
          .havingCause()
          .isInstanceOf(IllegalArgumentException.class)
          .withMessageContaining("its Kafka clients could not be created")
          .withMessageContaining("linger.ms");
    } finally {
      s.close();
    }
  }

  @Test
  void unreachableCluster_failsStartWithinStartTimeout_namingTheServers() {
    KafkaPubSubStore s =
        KafkaPubSubStore.builder()
            .bootstrapServers("127.0.0.1:1")
            .startTimeout(Duration.ofSeconds(2))
            .build();
    try {
      long began = System.nanoTime();
      assertThat(s.start().toCompletableFuture())
          .failsWithin(Duration.ofSeconds(30))
          .withThrowableOfType(java.util.concurrent.ExecutionException.class)
          .havingCause()
          .isInstanceOf(dev.tributary.StreamingException.class)
          .withMessageContaining(
              "subscription store on topic 'tributary-subscriptions' cannot reach the Kafka"
                  + " cluster at bootstrapServers '127.0.0.1:1' within startTimeout PT2S");
      assertThat(Duration.ofNanos(System.nanoTime() - began)).isLessThan(Duration.ofSeconds(15));
    } finally {
      s.close();
    }
  }
}
