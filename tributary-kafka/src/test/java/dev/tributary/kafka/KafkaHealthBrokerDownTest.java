package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.produce;
import static dev.tributary.kafka.KafkaTestSupport.strings;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static dev.tributary.testkit.DeliveryHarness.IMPLICIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.Health;
import dev.tributary.HealthStatus;
import dev.tributary.StreamRuntime;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.kafka.KafkaBroker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The broker SIGKILLed: the provider reports DOWN with the reason (broker unreachable) while its
 * agents keep running (readiness holds, liveness is not failed by an outage a restart cannot fix);
 * once the broker is back the provider reports UP and delivers again.
 */
class KafkaHealthBrokerDownTest {
  @RegisterExtension static final KafkaBroker broker = KafkaBroker.create();

  static final Duration WAIT = Duration.ofSeconds(120);

  @Test
  void brokerKilled_down_withTheReason_thenUpAfterRestart() {
    String topic = unique("health-down");
    broker.createTopic(topic, 1);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    DeliveryHarness rec = DeliveryHarness.create();
    KafkaQueueAdapterFactory f =
        factory(broker, unique("g"))
            .topic(topic, strings(1))
            .retryBackoff(
                dev.tributary.spi.BackoffPolicy.exponential(
                    Duration.ofMillis(50), Duration.ofSeconds(1)))
            .consumerProperty("reconnect.backoff.max.ms", "500")
            .producerProperty("reconnect.backoff.max.ms", "500")
            .build();
    try (StreamRuntime rt =
        StreamRuntime.builder()
            .addProvider("kafka", f)
            .implicitSubscription("kafka", topic, rec.observerFactory(IMPLICIT))
            .meterRegistry(registry)
            .threads(2)
            .build()) {
      rt.start();
      produce(broker, topic, 2, 10, 0);
      await().atMost(WAIT).until(() -> rec.count() == 20);
      await().atMost(WAIT).until(() -> rt.health().status() == HealthStatus.UP);

      broker.kill();
      await().atMost(WAIT).until(() -> rt.health().status() == HealthStatus.DOWN);
      Health down = rt.health();
      assertThat(down.reasons())
          .anyMatch(r -> r.startsWith("provider 'kafka': broker unreachable since"));
      assertThat(gauge(registry)).isZero();
      assertThat(down.readiness().ok()).as("its agents still run").isTrue();
      assertThat(down.liveness(Duration.ofMinutes(5)).ok()).isTrue();

      broker.restart();
      await().atMost(WAIT).until(() -> rt.health().status() == HealthStatus.UP);
      assertThat(gauge(registry)).isEqualTo(1.0);
      produce(broker, topic, 2, 10, 10);
      await().atMost(WAIT).until(() -> rec.distinctCount() == 40);
    }
  }

  private static double gauge(SimpleMeterRegistry registry) {
    return registry.get("tributary.health").tag("provider", "kafka").gauge().value();
  }
}
