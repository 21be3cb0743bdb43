package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The builder reports every problem at once, naming option, value and rule. */
class KafkaQueueAdapterFactoryBuilderTest {

  private static KafkaQueueAdapterFactory.Builder valid() {
    return KafkaQueueAdapterFactory.builder()
        .bootstrapServers("localhost:9092,broker-2:9093")
        .consumerGroupId("app")
        .topic("orders", TopicConfig.autoCreate(3, (short) 1));
  }

  @Test
  void validOptions_build() {
    KafkaQueueAdapterFactory f =
        valid()
            .consumerProperty("enable.auto.commit", "false")
            .consumerProperty("group.id", "app")
            .consumerProperty(
                "partition.assignment.strategy",
                "org.apache.kafka.clients.consumer.CooperativeStickyAssignor")
            .consumerProperty("max.poll.records", "200")
            .producerProperty("linger.ms", "1")
            .deadLetterTopic("orders.dlt")
            .build();
    assertThat(f.toString()).contains("orders.dlt");
  }

  @Test
  void everyProblem_isReportedInOneException() {
    assertThatThrownBy(
            () ->
                KafkaQueueAdapterFactory.builder()
                    .bootstrapServers("no-port-here")
                    .consumerGroupId(" ")
                    .consumerThreads(0)
                    .maxBufferedBytesPerPartition(100)
                    .commitInterval(Duration.ofMillis(1))
                    .whenNoCommittedOffset(ConsumeMode.LAST_COMMITTED_MESSAGE)
                    .poisonRecords(FailureAction.DEAD_LETTER)
                    .consumerProperty("enable.auto.commit", "true")
                    .consumerProperty("value.deserializer", "x.Y")
                    .consumerProperty("group.id", "other")
                    .consumerProperty("partition.assignment.strategy", "range")
                    .consumerProperty("auto.offset.reset", "latest")
                    .producerProperty("key.serializer", "x.Z")
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("Invalid KafkaQueueAdapterFactory configuration (14 problems):")
        .hasMessageContaining(
            "bootstrapServers was 'no-port-here' but each entry must be host:port")
        .hasMessageContaining("consumerGroupId was ' ' but it must be a non-blank string")
        .hasMessageContaining("no topic was added but at least one is required")
        .hasMessageContaining("consumerThreads was 0 but it must be between 1 and 64")
        .hasMessageContaining(
            "maxBufferedBytesPerPartition was 100 but it must be between 1024 and 1073741824")
        .hasMessageContaining("commitInterval was PT0.001S but it must be between")
        .hasMessageContaining("whenNoCommittedOffset was LAST_COMMITTED_MESSAGE")
        .hasMessageContaining("poisonRecords was DEAD_LETTER but no deadLetterTopic was set")
        .hasMessageContaining(
            "consumerProperty(enable.auto.commit) was 'true' but it must be false")
        .hasMessageContaining("consumerProperty(value.deserializer) was 'x.Y'")
        .hasMessageContaining("consumerProperty(group.id) was 'other' but it is managed")
        .hasMessageContaining("consumerProperty(partition.assignment.strategy) was 'range'")
        .hasMessageContaining("consumerProperty(auto.offset.reset) was 'latest' but it is managed")
        .hasMessageContaining("producerProperty(key.serializer) was 'x.Z'");
  }

  @Test
  void topicProblems_nameTheTopic() {
    assertThatThrownBy(
            () ->
                valid()
                    .topic("bad name!", TopicConfig.existing())
                    .topic("zero", TopicConfig.autoCreate(0, (short) 0))
                    .topic("orders", TopicConfig.existing())
                    .deadLetterTopic("orders")
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("topic name was 'bad name!' but a Kafka topic name must be")
        .hasMessageContaining("topic 'zero': partitions was 0 but it must be at least 1")
        .hasMessageContaining("topic 'zero': replicationFactor was 0 but it must be at least 1")
        .hasMessageContaining("topic 'orders' was added twice")
        .hasMessageContaining(
            "deadLetterTopic was 'orders' but it must not be one of the consumed");
  }

  @Test
  void optionSetTwice_isAProblem() {
    assertThatThrownBy(() -> valid().consumerGroupId("again").consumerThreads(2).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("consumerGroupId was set twice ('app', then 'again')");
  }

  @Test
  void nullOptions_andOptionsSetTwice_areEachReportedOnce_inOptionOrder() {
    assertThatThrownBy(
            () ->
                valid()
                    .consumeMode(null)
                    .pollTimeout(null)
                    .retryBackoff(null)
                    .failureHandler(null)
                    .nullKeyPolicy(null)
                    .maxBufferedBytesPerPartition(1L << 20)
                    .maxBufferedBytesPerPartition(1L << 21)
                    .stallTimeout(Duration.ofSeconds(1))
                    .stallTimeout(Duration.ofSeconds(2))
                    .staticAssignment()
                    .staticAssignment()
                    .faultSubscriptionsOnError(true)
                    .faultSubscriptionsOnError(false)
                    .deadLetterTopic(" ")
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "Invalid KafkaQueueAdapterFactory configuration (10 problems):\n"
                + "  - maxBufferedBytesPerPartition was set twice ('1048576', then '2097152')\n"
                + "  - stallTimeout was set twice ('PT1S', then 'PT2S')\n"
                + "  - staticAssignment was set twice ('true', then 'true')\n"
                + "  - faultSubscriptionsOnError was set twice ('true', then 'false')\n"
                + "  - consumeMode was null but it must be set to a ConsumeMode\n"
                + "  - pollTimeout was null but it must be set to a Duration\n"
                + "  - retryBackoff was null but it must be set to a BackoffPolicy\n"
                + "  - nullKeyPolicy was null but it must be set to a NullKeyPolicy\n"
                + "  - deadLetterTopic was ' ' but it must be a non-blank string\n"
                + "  - failureHandler was null but it must be set to a StreamFailureHandler");
  }

  @Test
  void consumerGroupProtocol_refusesAnAssignor() {
    assertThatThrownBy(
            () ->
                valid()
                    .consumerProperty("group.protocol", "consumer")
                    .consumerProperty(
                        "partition.assignment.strategy",
                        "org.apache.kafka.clients.consumer.CooperativeStickyAssignor")
                    .build())
        .hasMessageContaining("group.protocol is 'consumer', where the broker assigns partitions");
  }
}
