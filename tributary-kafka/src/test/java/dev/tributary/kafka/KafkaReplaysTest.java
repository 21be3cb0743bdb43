package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.EventSequenceToken;
import dev.tributary.EventsExpiredException;
import dev.tributary.StreamId;
import dev.tributary.StreamProviderOptions;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.QueueReplay;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Replays over Kafka's MockConsumer: only the stream's key is returned, in offset order, with the
 * position after what was read; a start below the log start is reported and moves on; and at most
 * {@code maxConcurrentReplays} run at once, the others queued and admitted as slots free, with no
 * slot lost to a replay closed while it waited.
 */
class KafkaReplaysTest {
  private static final TopicPartition TP = new TopicPartition("t", 0);
  private static final QueueId QUEUE = QueueId.of("t", 0);
  private static final StreamId A = StreamId.of("t", "a");
  private static final StreamId B = StreamId.of("t", "b");

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final List<MockConsumer<byte[], byte[]>> consumers = new CopyOnWriteArrayList<>();
  private long logStart;

  /** When set, the even offsets' key is two bytes that are not UTF-8 instead of "a". */
  private boolean binaryKeys;

  private static final byte[] BINARY = {0, (byte) 0xC8};
  private KafkaQueueAdapter adapter;

  @BeforeEach
  void start() {
    KafkaSettings settings =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers("localhost:9")
            .consumerGroupId("g")
            .topic("t", TopicConfig.existing().withValueSerde(Serdes.String()))
            .staticAssignment()
            .maxConcurrentReplays(1)
            .closeTimeout(Duration.ofSeconds(1))
            .build()
            .settings();
    ProviderContext context =
        new ProviderContext("p", StreamProviderOptions.defaults(), registry, Clock.systemUTC());
    adapter =
        KafkaQueueAdapter.forTest(
            settings,
            context,
            Map.of("t", 1),
            i -> {
              throw new AssertionError("no group consumer in this test");
            },
            i -> newConsumer());
  }

  @AfterEach
  void stop() {
    adapter.close();
  }

  /** A consumer over offsets {@code logStart .. 19}: keys a and b alternate, a on even offsets. */
  private MockConsumer<byte[], byte[]> newConsumer() {
    MockConsumer<byte[], byte[]> c = new MockConsumer<>("none");
    c.updateBeginningOffsets(Map.of(TP, logStart));
    c.updateEndOffsets(Map.of(TP, 20L));
    c.schedulePollTask(
        () -> {
          for (long o = logStart; o < 20; o++) {
            String key = o % 2 == 0 ? "a" : "b";
            byte[] keyBytes = binaryKeys && o % 2 == 0 ? BINARY : utf8(key);
            c.addRecord(new ConsumerRecord<>("t", 0, o, keyBytes, utf8(key + ":" + o)));
          }
        });
    consumers.add(c);
    return c;
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static List<Object> values(List<BatchContainer> batches) {
    List<Object> out = new ArrayList<>();
    for (BatchContainer b : batches) {
      out.add(b.event(0));
    }
    return out;
  }

  private static <T> T get(CompletableFuture<T> f) throws Exception {
    return f.get(10, TimeUnit.SECONDS);
  }

  private double gauge(String name) {
    return registry.get(name).gauge().value();
  }

  @Test
  void returnsOnlyTheStreamsRecords_inOrder_fromTheStartOffset() throws Exception {
    QueueReplay r = adapter.openReplay(QUEUE, A, new EventSequenceToken(5));
    List<Object> got = new ArrayList<>();
    for (int i = 0; i < 10 && got.size() < 7; i++) {
      got.addAll(values(get(r.read(100).toCompletableFuture())));
    }
    assertThat(got).containsExactly("a:6", "a:8", "a:10", "a:12", "a:14", "a:16", "a:18");
    assertThat(get(r.read(100).toCompletableFuture())).isEmpty();
    assertThat(r.position()).isEqualTo(new EventSequenceToken(20));
    r.close();
    assertThat(registry.get(KafkaMetrics.REPLAY_READ).counter().count()).isEqualTo(15.0);
    assertThat(registry.get(KafkaMetrics.REPLAY_DELIVERED).counter().count()).isEqualTo(7.0);
  }

  /** The live path decodes such keys lossily; the replay must find the same stream. */
  @Test
  void keysThatAreNotUtf8_areMatchedAsTheLivePathNamesThem() throws Exception {
    binaryKeys = true;
    StreamId binary = new StreamIdTable("t").idOf(BINARY);
    QueueReplay r = adapter.openReplay(QUEUE, binary, new EventSequenceToken(12));
    List<Object> got = new ArrayList<>();
    for (int i = 0; i < 10 && got.size() < 4; i++) {
      got.addAll(values(get(r.read(100).toCompletableFuture())));
    }
    assertThat(got).containsExactly("a:12", "a:14", "a:16", "a:18");
    r.close();
  }

  @Test
  void aStartBelowTheLogStart_isReportedOnce_andTheReplayGoesOnFromTheLogStart() throws Exception {
    logStart = 10;
    QueueReplay r = adapter.openReplay(QUEUE, B, new EventSequenceToken(3));
    ExecutionException gap =
        org.assertj.core.api.Assertions.catchThrowableOfType(
            ExecutionException.class, () -> get(r.read(100).toCompletableFuture()));
    assertThat(gap.getCause()).isInstanceOf(EventsExpiredException.class);
    EventsExpiredException e = (EventsExpiredException) gap.getCause();
    assertThat(e.requested()).isEqualTo(new EventSequenceToken(3));
    assertThat(e.earliest()).isEqualTo(new EventSequenceToken(10));
    assertThat(r.position()).isEqualTo(new EventSequenceToken(10));
    List<Object> got = new ArrayList<>();
    for (int i = 0; i < 10 && got.size() < 5; i++) {
      got.addAll(values(get(r.read(100).toCompletableFuture())));
    }
    assertThat(got).containsExactly("b:11", "b:13", "b:15", "b:17", "b:19");
    r.close();
  }

  @Test
  void beyondMaxConcurrentReplays_replaysWait_andClosingFreesTheirSlots() throws Exception {
    QueueReplay first = adapter.openReplay(QUEUE, A, new EventSequenceToken(0));
    QueueReplay second = adapter.openReplay(QUEUE, B, new EventSequenceToken(0));
    QueueReplay third = adapter.openReplay(QUEUE, B, new EventSequenceToken(0));
    assertThat(get(first.read(1).toCompletableFuture())).hasSize(1);
    CompletableFuture<List<BatchContainer>> secondRead = second.read(100).toCompletableFuture();
    CompletableFuture<List<BatchContainer>> thirdRead = third.read(100).toCompletableFuture();
    assertThat(gauge(KafkaMetrics.REPLAYS_ACTIVE)).isEqualTo(1.0);
    assertThat(gauge(KafkaMetrics.REPLAYS_QUEUED)).isEqualTo(2.0);
    // Queued, so no task of it can run: its read waits for a slot.
    assertThat(secondRead).isNotDone();

    // A queued replay that closes completes its read empty and leaves the queue.
    third.close();
    assertThat(get(thirdRead)).isEmpty();
    assertThat(gauge(KafkaMetrics.REPLAYS_QUEUED)).isEqualTo(1.0);

    first.close();
    assertThat(values(get(secondRead))).isNotEmpty().allMatch(v -> ((String) v).startsWith("b:"));
    assertThat(gauge(KafkaMetrics.REPLAYS_ACTIVE)).isEqualTo(1.0);
    assertThat(gauge(KafkaMetrics.REPLAYS_QUEUED)).isZero();
    second.close();
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> gauge(KafkaMetrics.REPLAYS_ACTIVE) == 0.0);
    org.awaitility.Awaitility.await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> consumers.stream().allMatch(MockConsumer::closed));
    assertThat(consumers).hasSize(2);
  }
}
