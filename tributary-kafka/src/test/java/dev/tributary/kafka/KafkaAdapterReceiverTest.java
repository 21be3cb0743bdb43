package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamProviderOptions;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueId;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;

/** The receiver's lifecycle with static assignment, driven by Kafka's MockConsumer. */
class KafkaAdapterReceiverTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private final TopicPartition tp = new TopicPartition("t", 1);
  private final MockConsumer<byte[], byte[]> mock = new MockConsumer<>("earliest");
  private KafkaQueueAdapter adapter;

  @AfterEach
  void stop() {
    if (adapter != null) {
      adapter.close();
    }
  }

  /**
   * Item 11 of the delivery-correctness issue: an agent stopped while its receiver initializes shut
   * the receiver down before the consumer thread had assigned the partition, so the assignment went
   * ahead afterwards and the partition stayed assigned and buffering with nobody reading it.
   * Whatever the interleaving, a receiver shut down is unassigned.
   */
  @RepeatedTest(20)
  void shutdownWhileInitializing_leavesThePartitionUnassigned() throws Exception {
    KafkaSettings settings =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers("localhost:9")
            .consumerGroupId("g")
            .topic("t", TopicConfig.existing())
            .staticAssignment()
            .pollTimeout(Duration.ofMillis(5))
            .retryBackoff(BackoffPolicy.fixed(Duration.ofMillis(5)))
            .closeTimeout(Duration.ofSeconds(1))
            .build()
            .settings();
    mock.updateBeginningOffsets(Map.of(new TopicPartition("t", 0), 0L, tp, 0L));
    ProviderContext context =
        new ProviderContext(
            "p", StreamProviderOptions.defaults(), new SimpleMeterRegistry(), Clock.systemUTC());
    adapter = KafkaQueueAdapter.forTest(settings, context, Map.of("t", 2), i -> mock);
    adapter.startConsumers();
    KafkaAdapterReceiver receiver =
        (KafkaAdapterReceiver) adapter.createReceiver(QueueId.of("t", 1));

    CompletableFuture<Void> init = receiver.initialize(WAIT).toCompletableFuture();
    CompletableFuture<Void> down = receiver.shutdown(WAIT).toCompletableFuture();
    init.handle((v, e) -> null).get();
    down.get();

    await().atMost(WAIT).until(() -> !mock.assignment().contains(tp));
    assertThat(adapter.state(tp)).as("no partition state left behind").isNull();
    assertThat(adapter.ownedPartitions()).isEmpty();
  }
}
