package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.StreamId;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.QueueId;
import dev.tributary.testkit.DeliveryHarness;
import io.micrometer.core.instrument.Meter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The agents' Micrometer meters: {@code tributary.events.read} and {@code
 * tributary.events.delivered} match what was produced and delivered, per provider and queue; the
 * gauges exist while agents run and are removed when they stop.
 */
class MetricsTest extends MemoryRuntimeTest {

  private static final String READ = "tributary.events.read";
  private static final String DELIVERED = "tributary.events.delivered";

  @Test
  void readAndDeliveredCounters_matchWhatWasProducedAndDelivered_perQueue() {
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(4).build(),
            o -> {},
            (x, b) -> b.implicitSubscription(MEM, "metered", x.observerFactory()));
    Map<QueueId, Integer> readPerQueue = new HashMap<>();
    Map<QueueId, Integer> deliveredPerQueue = new HashMap<>();
    List<StreamId> audited = new ArrayList<>();
    for (int k = 0; k < 3; k++) {
      StreamId s = StreamId.of("audited", "a" + k);
      audited.add(s);
      h.subscribe("audit", s);
      h.subscribe("audit2", s);
    }
    for (int k = 0; k < 12; k++) {
      StreamId s = StreamId.of("metered", "m" + k);
      h.produce(s, ints(0, 25));
      readPerQueue.merge(queueOf(s), 25, Integer::sum);
      deliveredPerQueue.merge(queueOf(s), 25, Integer::sum);
    }
    for (StreamId s : audited) {
      h.produce(s, ints(0, 10));
      readPerQueue.merge(queueOf(s), 10, Integer::sum);
      deliveredPerQueue.merge(queueOf(s), 20, Integer::sum);
    }
    h.awaitCount(300 + 60);
    h.assertInOrderNoDuplicates();
    for (QueueId q : memory.streamQueueMapper().allQueues()) {
      String queue = q.toString();
      double read = readPerQueue.getOrDefault(q, 0);
      double delivered = deliveredPerQueue.getOrDefault(q, 0);
      h.awaitThat(
          "events.delivered of " + queue + " reaches " + delivered,
          () -> h.counter(DELIVERED, "provider", MEM, "queue", queue) == delivered);
      assertThat(h.counter(READ, "provider", MEM, "queue", queue))
          .as("read of %s", queue)
          .isEqualTo(read);
    }
    assertThat(h.counter(READ, "provider", MEM)).isEqualTo(330.0);
    assertThat(h.counter(DELIVERED, "provider", MEM)).isEqualTo(360.0);
    assertThat(h.counter(READ, "provider", "other")).isZero();
  }

  @Test
  void gauges_describeEachAgent_andEveryMeterIsRemovedWhenTheRuntimeCloses() {
    DeliveryHarness h =
        start(MemoryQueueAdapterFactory.builder().queueCount(2).build(), o -> {}, (x, b) -> {});
    StreamId s = StreamId.of("orders", "gauged");
    String queue = queueOf(s).toString();
    h.subscribe("a", s);
    h.subscribe("b", s);
    h.produce(s, ints(0, 5));
    h.awaitCount("a", s, 5).awaitCount("b", s, 5);
    for (String gauge :
        List.of(
            "tributary.cache.size",
            "tributary.cache.pressure",
            "tributary.streams.active",
            "tributary.subscriptions.active")) {
      assertThat(h.gaugeMax(gauge, "provider", MEM, "queue", queue)).as(gauge).isNotNaN();
    }
    h.awaitThat(
        "two active subscriptions on " + queue,
        () -> h.gaugeMax("tributary.subscriptions.active", "provider", MEM, "queue", queue) == 2.0);
    assertThat(h.gaugeMax("tributary.cache.pressure", "provider", MEM, "queue", queue)).isZero();
    h.close();
    List<String> left = new ArrayList<>();
    for (Meter m : h.meterRegistry().getMeters()) {
      if (m.getId().getName().startsWith("tributary.")) {
        left.add(m.getId().toString());
      }
    }
    assertThat(left).as("meters left after close").isEmpty();
  }

  /**
   * {@code tributary.events.read} is described as "Events read from the queue" and {@code
   * tributary.events.delivered} counts events; for batches of several events the two must use the
   * same unit, or read and delivered can't be compared.
   */
  @Test
  void readCounter_countsEvents_notBatches() {
    DeliveryHarness h =
        start(MemoryQueueAdapterFactory.builder().queueCount(1).build(), o -> {}, (x, b) -> {});
    StreamId s = StreamId.of("orders", "batched");
    h.subscribe("sub", s);
    for (int b = 0; b < 5; b++) {
      h.produceBatch(s, ints(b * 3, b * 3 + 3));
    }
    h.awaitCount("sub", s, 15);
    h.awaitThat("15 events delivered", () -> h.counter(DELIVERED, "provider", MEM) == 15.0);
    assertThat(h.counter(READ, "provider", MEM)).as("events read").isEqualTo(15.0);
  }
}
