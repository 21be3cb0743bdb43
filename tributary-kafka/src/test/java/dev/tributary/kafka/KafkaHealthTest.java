package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.assertComplete;
import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.produce;
import static dev.tributary.kafka.KafkaTestSupport.strings;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static dev.tributary.testkit.DeliveryHarness.IMPLICIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.Health;
import dev.tributary.HealthStatus;
import dev.tributary.QueueHealth;
import dev.tributary.StreamRuntime;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.Gate;
import dev.tributary.testkit.kafka.KafkaBroker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Health on a real broker with a slow observer: UP while delivering; DEGRADED once the blocked
 * subscription fills the cache, the partition is paused and the stall watchdog flags it (with the
 * reason); UP again once the observer catches up, with every event delivered once and in order.
 */
class KafkaHealthTest {
  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void slowObserver_degradedWithStallAndPressureReasons_upAgainAfterRecovery() {
    String topic = unique("health-slow");
    broker.createTopic(topic, 1);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    DeliveryHarness rec = DeliveryHarness.create();
    Gate gate = rec.gate();
    KafkaQueueAdapterFactory f =
        factory(broker, unique("g"))
            .topic(topic, strings(1))
            .maxBufferedRecordsPerPartition(20)
            .stallTimeout(Duration.ofMillis(500))
            .build();
    try (StreamRuntime rt =
        StreamRuntime.builder()
            .addProvider("kafka", f, o -> o.cacheSize(32).stallThreshold(Duration.ofMillis(500)))
            .implicitSubscription("kafka", topic, rec.observerFactory(IMPLICIT, gate))
            .meterRegistry(registry)
            .threads(2)
            .build()) {
      rt.start();
      await().atMost(WAIT).until(() -> rt.health().readiness().ok());
      Health up = rt.health();
      assertThat(up.status()).as(up.reasons().toString()).isEqualTo(HealthStatus.UP);
      assertThat(up.providers().get("kafka").details())
          .containsEntry("assigned", "[" + topic + "-0]")
          .containsEntry("consumers", "1 (1 polling)");
      assertThat(gauge(registry)).isEqualTo(1.0);

      Map<String, List<String>> expected = produce(broker, topic, 4, 50, 0);
      await()
          .atMost(WAIT)
          .until(() -> rt.health().status() == HealthStatus.DEGRADED && queue(rt, topic) != null);
      await().atMost(WAIT).until(() -> queue(rt, topic).reasons().size() >= 2);
      QueueHealth q = queue(rt, topic);
      assertThat(q.underPressureSince()).as("cache full").isNotNull();
      assertThat(q.pausedSince()).as("partition paused").isNotNull();
      assertThat(q.stalledSince()).as("stalled").isNotNull();
      assertThat(q.reasons())
          .anyMatch(r -> r.startsWith("stalled: lag") && r.contains("paused by backpressure"))
          .anyMatch(r -> r.startsWith("stalled: the cache has been full"));
      assertThat(rt.health().reasons()).allMatch(r -> r.contains("queue " + topic + "-0"));
      assertThat(gauge(registry)).isEqualTo(0.5);
      assertThat(rt.health().readiness().ok()).as("agents still run").isTrue();
      await().atMost(WAIT).until(() -> !rt.health().liveness(Duration.ofMillis(200)).ok());
      assertThat(rt.health().liveness(Duration.ofHours(1)).ok()).isTrue();

      gate.open();
      await().atMost(WAIT).until(() -> rec.count() >= 200);
      await().atMost(WAIT).until(() -> rt.health().status() == HealthStatus.UP);
      QueueHealth recovered = queue(rt, topic);
      assertThat(recovered.stalledSince()).isNull();
      assertThat(recovered.underPressureSince()).isNull();
      assertThat(gauge(registry)).isEqualTo(1.0);
      assertComplete(rec, topic, expected);
      assertThat(rec.count()).isEqualTo(200);
    }
    assertThat(registry.find("tributary.health").gauges()).isEmpty();
  }

  private static QueueHealth queue(StreamRuntime rt, String topic) {
    return rt.health().providers().get("kafka").queue(topic + "-0");
  }

  private static double gauge(SimpleMeterRegistry registry) {
    return registry.get("tributary.health").tag("provider", "kafka").gauge().value();
  }
}
