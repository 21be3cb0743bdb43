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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The consumer loop and receiver driven by Kafka's MockConsumer: hand-out once, recovery after a
 * failed poll, pause and resume, commits from acknowledgements. Kafka behaviour itself is proven
 * against the real broker elsewhere.
 */
class ConsumerLoopMockConsumerTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private final TopicPartition tp = new TopicPartition("t", 0);
  private final MockConsumer<byte[], byte[]> mock = new MockConsumer<>("earliest");
  private final AtomicInteger signals = new AtomicInteger();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private KafkaQueueAdapter adapter;
  private KafkaAdapterReceiver receiver;

  @BeforeEach
  void start() throws Exception {
    KafkaSettings settings =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers("localhost:9")
            .consumerGroupId("g")
            .topic("t", TopicConfig.existing())
            .staticAssignment()
            .maxBufferedRecordsPerPartition(4)
            .commitInterval(Duration.ofMillis(10))
            .pollTimeout(Duration.ofMillis(5))
            .retryBackoff(BackoffPolicy.fixed(Duration.ofMillis(5)))
            .closeTimeout(Duration.ofSeconds(1))
            .build()
            .settings();
    mock.updateBeginningOffsets(Map.of(tp, 0L));
    ProviderContext context =
        new ProviderContext("p", StreamProviderOptions.defaults(), registry, Clock.systemUTC());
    adapter = KafkaQueueAdapter.forTest(settings, context, Map.of("t", 1), i -> mock);
    adapter.startConsumers();
    receiver = (KafkaAdapterReceiver) adapter.createReceiver(QueueId.of("t", 0));
    receiver.setDataAvailableListener(signals::incrementAndGet);
    receiver.initialize(WAIT).toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() {
    adapter.close();
  }

  private void add(long from, long to) {
    for (long o = from; o < to; o++) {
      mock.addRecord(
          new ConsumerRecord<>(
              "t",
              0,
              o,
              "k".getBytes(StandardCharsets.UTF_8),
              ("v" + o).getBytes(StandardCharsets.UTF_8)));
    }
  }

  private List<Long> drainUntil(int count) {
    List<Long> got = new ArrayList<>();
    await()
        .atMost(WAIT)
        .until(
            () -> {
              for (BatchContainer b : receiver.getQueueMessages(100).toCompletableFuture().join()) {
                got.add(b.sequenceToken().sequenceNumber());
              }
              return got.size() >= count;
            });
    return got;
  }

  @Test
  void afterAFailedPoll_thePartitionIsReSoughtAfterItsLastBufferedRecord() {
    add(0, 3);
    assertThat(drainUntil(3)).containsExactly(0L, 1L, 2L);
    assertThat(signals.get()).isPositive();
    // A poll fails after the fetch position moved past records nobody received.
    mock.schedulePollTask(
        () -> {
          mock.seek(tp, 7);
          mock.setPollException(new KafkaException("fetch failed"));
        });
    await().atMost(WAIT).until(() -> pollErrors() >= 1);
    add(3, 9);
    assertThat(drainUntil(6)).containsExactly(3L, 4L, 5L, 6L, 7L, 8L);
  }

  @Test
  void aFullBufferPausesThePartition_andDrainingHalfResumesIt() {
    // All ten arrive in one poll: added from the consumer thread at the start of a poll, so the
    // loop cannot pause after a first part of them.
    mock.schedulePollTask(() -> add(0, 10));
    await().atMost(WAIT).until(() -> mock.paused().contains(tp));
    List<BatchContainer> first = receiver.getQueueMessages(7).toCompletableFuture().join();
    assertThat(first).hasSize(7);
    // Three left: more than half of the bound of 4, so it stays paused...
    await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> mock.paused().contains(tp));
    receiver.getQueueMessages(1).toCompletableFuture().join();
    // ...and two left is half: fetching resumes.
    await().atMost(WAIT).until(() -> mock.paused().isEmpty());
    assertThat(drainUntil(2)).containsExactly(8L, 9L);
  }

  @Test
  void acknowledgedBatches_areCommittedAsTheDeliveredWatermark() {
    add(0, 4);
    List<BatchContainer> batches = new ArrayList<>();
    await()
        .atMost(WAIT)
        .until(
            () -> {
              batches.addAll(receiver.getQueueMessages(100).toCompletableFuture().join());
              return batches.size() == 4;
            });
    receiver.messagesDelivered(batches.subList(0, 2));
    await().atMost(WAIT).until(() -> committedOffset() == 2L);
    receiver.messagesDelivered(batches.subList(2, 4));
    await().atMost(WAIT).until(() -> committedOffset() == 4L);
  }

  @Test
  void decodedRecords_carryHeadersTimestampKeyAndValue() {
    org.apache.kafka.common.header.internals.RecordHeaders headers =
        new org.apache.kafka.common.header.internals.RecordHeaders();
    headers.add("trace", "abc".getBytes(StandardCharsets.UTF_8));
    headers.add("trace", "last".getBytes(StandardCharsets.UTF_8));
    ConsumerRecord<byte[], byte[]> r =
        new ConsumerRecord<>(
            "t",
            0,
            42L,
            1_700_000_000_000L,
            org.apache.kafka.common.record.TimestampType.CREATE_TIME,
            3,
            2,
            "key".getBytes(StandardCharsets.UTF_8),
            "va".getBytes(StandardCharsets.UTF_8),
            headers,
            java.util.Optional.empty());
    KafkaBatchContainer c = adapter.decoder().decode(r, adapter.state(tp));
    assertThat(c.streamId()).isEqualTo(dev.tributary.StreamId.of("t", "key"));
    assertThat(c.sequenceToken()).isEqualTo(new dev.tributary.EventSequenceToken(42));
    assertThat((byte[]) c.event(0)).isEqualTo("va".getBytes(StandardCharsets.UTF_8));
    assertThat(c.timestampMillis()).isEqualTo(1_700_000_000_000L);
    assertThat(new String(c.headers().get("trace"), StandardCharsets.UTF_8)).isEqualTo("last");
    assertThat(c.offset()).isEqualTo(42);
    assertThat(c.topicPartition()).isEqualTo(tp);
  }

  private long committedOffset() {
    var m = mock.committed(java.util.Set.of(tp));
    return m.get(tp) == null ? -1 : m.get(tp).offset();
  }

  /** The provider's failed polls, as its meter counts them. */
  private double pollErrors() {
    return registry.get(KafkaMetrics.POLL_ERRORS).tag("provider", "p").counter().count();
  }
}
