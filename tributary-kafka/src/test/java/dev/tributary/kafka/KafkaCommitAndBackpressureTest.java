package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.assertComplete;
import static dev.tributary.kafka.KafkaTestSupport.committed;
import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.offsets;
import static dev.tributary.kafka.KafkaTestSupport.produce;
import static dev.tributary.kafka.KafkaTestSupport.strings;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static dev.tributary.testkit.DeliveryHarness.IMPLICIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamRuntime;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.kafka.KafkaBroker;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Offsets are committed only after delivery, and a slow subscription pauses its partition
 * (backpressure) without losing or reordering anything.
 */
class KafkaCommitAndBackpressureTest {
  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(60);

  /**
   * Either bound pauses the partition: 20 records, or 1 KiB (about five of these records, each
   * reckoned at its few bytes plus the 200-byte overhead) with the record bound at its default.
   */
  @ParameterizedTest(name = "bound by {0}")
  @ValueSource(strings = {"records", "bytes"})
  void blockedSubscription_holdsTheCommitBelowItsEvent_andPausesThePartitionWithoutLoss(
      String bound) {
    String topic = unique("blocked");
    String group = unique("g");
    broker.createTopic(topic, 1);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    DeliveryHarness rec = DeliveryHarness.create();
    CompletableFuture<Void> gate = new CompletableFuture<>();
    AtomicLong blockedOffset = new AtomicLong(-1);
    Behavior blockK05 =
        (id, item, token, attempt) -> {
          if (item.equals("k0:5")) {
            blockedOffset.set(token.sequenceNumber());
            return gate;
          }
          return CompletableFuture.completedFuture(null);
        };
    KafkaQueueAdapterFactory.Builder fb =
        factory(broker, group).topic(topic, strings(1)).stallTimeout(Duration.ofMillis(500));
    if (bound.equals("records")) {
      // Also: a fetch.max.wait.ms of the user's wins over the adapter's 50 ms.
      fb.maxBufferedRecordsPerPartition(20).consumerProperty("fetch.max.wait.ms", "200");
    } else {
      fb.maxBufferedBytesPerPartition(1024);
    }
    KafkaQueueAdapterFactory f = fb.build();
    String fetchWait = bound.equals("records") ? "200" : "50";
    try (StreamRuntime rt =
        StreamRuntime.builder()
            .addProvider("kafka", f, o -> o.cacheSize(32))
            .implicitSubscription("kafka", topic, rec.observerFactory(IMPLICIT, blockK05))
            .meterRegistry(registry)
            .threads(2)
            .build()) {
      rt.start();
      assertThat(f.adapter().clientProperties().consumer(0))
          .containsEntry("fetch.max.wait.ms", fetchWait);
      Map<String, List<String>> expected = produce(broker, topic, 6, 50, 0);
      await().atMost(WAIT).until(() -> blockedOffset.get() >= 0);
      long blocked = blockedOffset.get();

      // The cache fills behind the blocked event, the agent stops reading, the buffer fills and
      // the partition is paused; the watchdog reports it stalled and why.
      await().atMost(WAIT).until(() -> gauge(registry, topic, KafkaMetrics.PAUSED) == 1);
      await().atMost(WAIT).until(() -> gauge(registry, topic, KafkaMetrics.STALLED) == 1);
      PartitionState state = f.adapter().state(new TopicPartition(topic, 0));
      assertThat(f.adapter().housekeeping().stallReason(state))
          .startsWith("paused by backpressure");
      if (bound.equals("bytes")) {
        assertThat(state.bufferedBytes()).isGreaterThanOrEqualTo(1024);
        assertThat(gauge(registry, topic, KafkaMetrics.BUFFERED_BYTES))
            .isEqualTo(state.bufferedBytes());
        assertThat(state.bufferedCount)
            .isLessThan(KafkaQueueAdapterFactory.DEFAULT_MIN_BUFFERED_RECORDS);
      }

      // Other streams were delivered past the blocked event, yet the commit stays below it.
      long highest = offsets(rec).stream().mapToLong(x -> x).max().orElse(-1);
      assertThat(highest).isGreaterThan(blocked);
      await()
          .during(Duration.ofMillis(1500))
          .atMost(Duration.ofSeconds(10))
          .until(() -> committed(broker, group, topic).getOrDefault(0, 0L) <= blocked);

      gate.complete(null);
      await().atMost(WAIT).until(() -> rec.count() >= 300);
      assertComplete(rec, topic, expected);
      assertThat(rec.count()).isEqualTo(300);
      await().atMost(WAIT).until(() -> committed(broker, group, topic).getOrDefault(0, 0L) == 300L);
      await().atMost(WAIT).until(() -> gauge(registry, topic, KafkaMetrics.PAUSED) == 0);
      await().atMost(WAIT).until(() -> gauge(registry, topic, KafkaMetrics.STALLED) == 0);
      assertThat(gauge(registry, topic, KafkaMetrics.LAG)).isZero();
      assertThat(gauge(registry, topic, KafkaMetrics.WATERMARK)).isEqualTo(300);
    }
  }

  private static double gauge(SimpleMeterRegistry registry, String topic, String name) {
    Gauge g = registry.find(name).tag("topic", topic).tag("partition", "0").gauge();
    return g == null ? Double.NaN : g.value();
  }
}
