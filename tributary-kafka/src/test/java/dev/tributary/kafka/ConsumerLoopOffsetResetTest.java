package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamProviderOptions;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueId;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Where the consumer loop starts a partition when its committed offset cannot be read, and where it
 * restarts one whose position left the log, driven by Kafka's MockConsumer with the reset policy
 * the adapter gives its real consumers.
 */
class ConsumerLoopOffsetResetTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private final TopicPartition tp0 = new TopicPartition("t", 0);
  private final TopicPartition tp1 = new TopicPartition("t", 1);
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private KafkaQueueAdapter adapter;
  private FlakyMockConsumer mock;

  /** A MockConsumer whose committed-offset reads fail a given number of times. */
  final class FlakyMockConsumer extends MockConsumer<byte[], byte[]> {
    final AtomicInteger failuresLeft = new AtomicInteger();
    final AtomicInteger committedReads = new AtomicInteger();
    final AtomicBoolean startedEarly = new AtomicBoolean();

    FlakyMockConsumer(String offsetResetStrategy) {
      super(offsetResetStrategy);
    }

    @Override
    public synchronized Map<TopicPartition, OffsetAndMetadata> committed(
        Set<TopicPartition> partitions, Duration timeout) {
      committedReads.incrementAndGet();
      if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
        // While its start is unknown, the partition is neither handed to the runtime nor read.
        PartitionState s = adapter.state(tp0);
        if (adapter.balancer().myQueues().contains(QueueId.of("t", 0))
            || (s != null && s.bufferedCount > 0)) {
          startedEarly.set(true);
        }
        throw new TimeoutException("committed offsets not available yet");
      }
      return super.committed(partitions, timeout);
    }
  }

  private void start(KafkaQueueAdapterFactory.Builder builder, int partitionsAtStart) {
    KafkaSettings settings =
        builder
            .bootstrapServers("localhost:9")
            .consumerGroupId("g")
            .topic("t", TopicConfig.existing())
            .commitInterval(Duration.ofMillis(10))
            .pollTimeout(Duration.ofMillis(5))
            .retryBackoff(BackoffPolicy.fixed(Duration.ofMillis(5)))
            .revokeTimeout(Duration.ofSeconds(1))
            .closeTimeout(Duration.ofSeconds(1))
            .build()
            .settings();
    ProviderContext context =
        new ProviderContext("p", StreamProviderOptions.defaults(), registry, Clock.systemUTC());
    KafkaQueueAdapter[] self = new KafkaQueueAdapter[1];
    adapter =
        KafkaQueueAdapter.forTest(
            settings,
            context,
            Map.of("t", partitionsAtStart),
            i -> {
              Object reset =
                  self[0]
                      .clientProperties()
                      .consumer(i)
                      .get(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG);
              mock = new FlakyMockConsumer((String) reset);
              mock.updateBeginningOffsets(Map.of(tp0, 0L, tp1, 0L));
              mock.updateEndOffsets(Map.of(tp0, 10L, tp1, 10L));
              return mock;
            });
    self[0] = adapter;
    adapter.startConsumers();
  }

  @AfterEach
  void stop() {
    if (adapter != null) {
      adapter.close();
    }
  }

  private static ConsumerRecord<byte[], byte[]> record(TopicPartition tp, long offset) {
    return new ConsumerRecord<>(
        tp.topic(),
        tp.partition(),
        offset,
        "k".getBytes(StandardCharsets.UTF_8),
        ("v" + offset).getBytes(StandardCharsets.UTF_8));
  }

  private void onLoop(Runnable task) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    mock.schedulePollTask(
        () -> {
          try {
            task.run();
          } finally {
            done.countDown();
          }
        });
    assertThat(done.await(WAIT.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
  }

  private static List<Long> drain(
      KafkaAdapterReceiver receiver, int count, List<BatchContainer> got) {
    List<Long> offsets = new ArrayList<>();
    await()
        .atMost(WAIT)
        .until(
            () -> {
              for (BatchContainer b : receiver.getQueueMessages(100).toCompletableFuture().join()) {
                got.add(b);
                offsets.add(b.sequenceToken().sequenceNumber());
              }
              return offsets.size() >= count;
            });
    return offsets;
  }

  private long committed(TopicPartition tp) {
    var m = mock.committed(Set.of(tp));
    return m.get(tp) == null ? -1 : m.get(tp).offset();
  }

  /**
   * Partition 0 has a committed offset (5); partition 1 was added to the topic while the runtime
   * ran and has none, so it must start at its beginning whatever whenNoCommittedOffset says. The
   * committed-offset read fails three times at assignment.
   */
  @Test
  void aFailedCommittedOffsetRead_isRetried_andNeitherPartitionStartsWhereKafkaWouldGuess()
      throws Exception {
    start(KafkaQueueAdapterFactory.builder().whenNoCommittedOffset(ConsumeMode.STREAM_END), 1);
    mock.failuresLeft.set(3);
    onLoop(
        () -> {
          mock.commitSync(Map.of(tp0, new OffsetAndMetadata(5)));
          mock.rebalance(List.of(tp0, tp1));
          for (long o = 0; o < 10; o++) {
            mock.addRecord(record(tp0, o));
            mock.addRecord(record(tp1, o));
          }
        });
    await()
        .atMost(WAIT)
        .until(
            () ->
                adapter
                    .balancer()
                    .myQueues()
                    .equals(Set.of(QueueId.of("t", 0), QueueId.of("t", 1))));
    KafkaAdapterReceiver r0 = (KafkaAdapterReceiver) adapter.createReceiver(QueueId.of("t", 0));
    KafkaAdapterReceiver r1 = (KafkaAdapterReceiver) adapter.createReceiver(QueueId.of("t", 1));
    r0.initialize(WAIT).toCompletableFuture().get(10, TimeUnit.SECONDS);
    r1.initialize(WAIT).toCompletableFuture().get(10, TimeUnit.SECONDS);

    List<BatchContainer> got1 = new ArrayList<>();
    assertThat(drain(r1, 10, got1)).containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
    List<BatchContainer> got0 = new ArrayList<>();
    assertThat(drain(r0, 5, got0)).containsExactly(5L, 6L, 7L, 8L, 9L);
    assertThat(mock.committedReads.get()).isGreaterThanOrEqualTo(4);
    assertThat(mock.startedEarly).isFalse();

    r0.messagesDelivered(got0);
    r1.messagesDelivered(got1);
    await().atMost(WAIT).until(() -> committed(tp0) == 10L && committed(tp1) == 10L);
  }

  /**
   * Records 0-2 were read, then retention removed everything before offset 7: the partition
   * restarts at 7, counts the restart, and commits past it.
   */
  @Test
  void aPositionBelowTheLogStart_restartsAtTheEarliestRetainedOffset() throws Exception {
    start(KafkaQueueAdapterFactory.builder().staticAssignment(), 1);
    KafkaAdapterReceiver r = (KafkaAdapterReceiver) adapter.createReceiver(QueueId.of("t", 0));
    r.initialize(WAIT).toCompletableFuture().get(10, TimeUnit.SECONDS);
    onLoop(
        () -> {
          for (long o = 0; o < 3; o++) {
            mock.addRecord(record(tp0, o));
          }
        });
    List<BatchContainer> first = new ArrayList<>();
    assertThat(drain(r, 3, first)).containsExactly(0L, 1L, 2L);
    r.messagesDelivered(first);
    await().atMost(WAIT).until(() -> committed(tp0) == 3L);

    onLoop(
        () -> {
          mock.updateBeginningOffsets(Map.of(tp0, 7L));
          for (long o = 7; o < 10; o++) {
            mock.addRecord(record(tp0, o));
          }
        });
    List<BatchContainer> rest = new ArrayList<>();
    assertThat(drain(r, 3, rest)).containsExactly(7L, 8L, 9L);
    assertThat(
            registry
                .get("tributary.kafka.offset.out.of.range")
                .tags("provider", "p", "topic", "t", "partition", "0")
                .counter()
                .count())
        .isEqualTo(1.0);
    r.messagesDelivered(rest);
    await().atMost(WAIT).until(() -> committed(tp0) == 10L);
  }
}
