package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.strings;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static dev.tributary.testkit.DeliveryHarness.IMPLICIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.kafka.KafkaBroker;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.search.Search;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The adapter's consumer and producer report Kafka's own client metrics to the runtime's registry
 * through Micrometer's KafkaClientMetrics binder, tagged with the provider, and leave none behind
 * when the runtime closes.
 */
class KafkaClientMetricsTest {
  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void consumerAndProducerMetrics_areInTheRegistryWhileRunning_andRemovedOnClose()
      throws Exception {
    String topic = unique("clientmetrics");
    broker.createTopic(topic, 1);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    DeliveryHarness rec = DeliveryHarness.create();
    KafkaQueueAdapterFactory f = factory(broker, unique("g")).topic(topic, strings(1)).build();
    StreamRuntime rt =
        StreamRuntime.builder()
            .addProvider("orders", f)
            .implicitSubscription("orders", topic, rec.observerFactory(IMPLICIT))
            .meterRegistry(registry)
            .threads(2)
            .build();
    try {
      rt.start();
      List<CompletableFuture<Void>> sent = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        sent.add(
            rt.provider("orders").<String>stream(StreamId.of(topic, "k"))
                .onNext("v" + i)
                .toCompletableFuture());
      }
      CompletableFuture.allOf(sent.toArray(new CompletableFuture<?>[0]))
          .get(WAIT.toSeconds(), TimeUnit.SECONDS);
      await().atMost(WAIT).until(() -> rec.count() == 20);

      await()
          .atMost(WAIT)
          .until(
              () ->
                  count(registry.find("kafka.consumer.fetch.manager.records.consumed.total"))
                      >= 20);
      await()
          .atMost(WAIT)
          .until(() -> count(registry.find("kafka.producer.record.send.total")) >= 20);
      assertThat(registry.find("kafka.consumer.fetch.manager.records.consumed.total").meters())
          .allMatch(m -> "orders".equals(m.getId().getTag("provider")))
          .allMatch(m -> m.getId().getTag("client.id") != null);
    } finally {
      rt.close();
    }
    List<String> left = new ArrayList<>();
    for (Meter m : registry.getMeters()) {
      if (m.getId().getName().startsWith("kafka.")) {
        left.add(m.getId().toString());
      }
    }
    assertThat(left).as("Kafka client meters left after close").isEmpty();
  }

  private static double count(Search search) {
    double total = 0;
    for (Meter m : search.tag("provider", "orders").meters()) {
      for (var measurement : m.measure()) {
        total += measurement.getValue();
      }
    }
    return total;
  }
}
