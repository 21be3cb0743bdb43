package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamProviderOptions;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueId;
import dev.tributary.testkit.ManualTime;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The stall watchdog on a manual time, over Kafka's MockConsumer: a partition with lag whose
 * handed-out records are never acknowledged is flagged exactly when stallTimeout has passed on the
 * manual clock, and cleared once delivery moves. The consumer thread polls on real time; only the
 * watchdog's ticks and its stall clock follow the manual time, so each step is deterministic.
 */
class StallWatchdogManualTimeTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final Duration STALL_TIMEOUT = Duration.ofSeconds(2);

  private final TopicPartition tp = new TopicPartition("t", 0);
  private final MockConsumer<byte[], byte[]> mock = new MockConsumer<>("earliest");
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final ManualTime time = new ManualTime();
  private KafkaQueueAdapter adapter;
  private KafkaAdapterReceiver receiver;
  private Duration period;

  @BeforeEach
  void start() throws Exception {
    KafkaSettings settings =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers("localhost:9")
            .consumerGroupId("g")
            .topic("t", TopicConfig.existing())
            .staticAssignment()
            .stallTimeout(STALL_TIMEOUT)
            .pollTimeout(Duration.ofMillis(5))
            .retryBackoff(BackoffPolicy.fixed(Duration.ofMillis(5)))
            .closeTimeout(Duration.ofSeconds(1))
            .build()
            .settings();
    mock.updateBeginningOffsets(Map.of(tp, 0L));
    mock.updateEndOffsets(Map.of(tp, 4L));
    ProviderContext context =
        new ProviderContext("p", StreamProviderOptions.defaults(), registry, time.clock(), time);
    adapter = KafkaQueueAdapter.forTest(settings, context, Map.of("t", 1), i -> mock);
    adapter.startConsumers();
    receiver = (KafkaAdapterReceiver) adapter.createReceiver(QueueId.of("t", 0));
    receiver.initialize(WAIT).toCompletableFuture().get(10, TimeUnit.SECONDS);
    period = adapter.housekeeping().stallCheckPeriod();
  }

  @AfterEach
  void stop() {
    adapter.close();
  }

  /** One watchdog tick: fires it, then waits until its check ran and armed the next tick. */
  private void tick() {
    time.awaitScheduled(period);
    time.advance(period);
    time.awaitScheduled(period);
  }

  private double stalledGauge() {
    return registry.get(KafkaMetrics.STALLED).tag("partition", "0").gauge().value();
  }

  @Test
  void aPartitionWithLag_isStalledExactlyAfterStallTimeout_andRecoversWhenDeliveryMoves() {
    assertThat(period).isEqualTo(STALL_TIMEOUT.dividedBy(4));
    for (long o = 0; o < 4; o++) {
      mock.addRecord(
          new ConsumerRecord<>(
              "t",
              0,
              o,
              "k".getBytes(StandardCharsets.UTF_8),
              ("v" + o).getBytes(StandardCharsets.UTF_8)));
    }
    List<BatchContainer> handedOut = new ArrayList<>();
    await()
        .atMost(WAIT)
        .until(
            () -> {
              handedOut.addAll(receiver.getQueueMessages(100).toCompletableFuture().join());
              return handedOut.size() == 4;
            });
    PartitionState state = adapter.state(tp);
    await().atMost(WAIT).until(() -> state.lag() == 4);

    adapter.housekeeping().startWatchdog();
    tick(); // the first look: the stall clock starts here
    int ticksToTimeout = (int) (STALL_TIMEOUT.toMillis() / period.toMillis());
    for (int i = 1; i < ticksToTimeout; i++) {
      tick();
    }
    // stallTimeout minus one period since the first look: not stalled yet.
    assertThat(state.stalled).isFalse();
    assertThat(stalledGauge()).isZero();

    tick(); // exactly stallTimeout since the first look
    assertThat(state.stalled).isTrue();
    assertThat(stalledGauge()).isEqualTo(1.0);
    assertThat(adapter.housekeeping().stallReason(state))
        .startsWith("waiting for subscriptions to acknowledge offset 0");

    receiver.messagesDelivered(handedOut.subList(0, 2));
    await().atMost(WAIT).until(() -> state.deliveredWatermark() == 2);
    tick();
    assertThat(state.stalled).as("the delivered watermark moved").isFalse();
    assertThat(stalledGauge()).isZero();
  }
}
