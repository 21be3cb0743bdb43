package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.StreamId;
import dev.tributary.memory.GeneratorAdapterFactory;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.RecordingQueueAdapterFactory;
import dev.tributary.testkit.RuntimeInvariantsExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A generator-adapter run (Orleans' StreamGeneratorProvider tests): every generated event reaches
 * the implicit subscription of its stream, in order, once, and is acknowledged.
 */
class GeneratorRunTest {

  @RegisterExtension final RuntimeInvariantsExtension invariants = new RuntimeInvariantsExtension();

  private static final int STREAMS = 50;
  private static final int EVENTS = 200;

  private static List<Object> longs(long to) {
    List<Object> out = new ArrayList<>();
    for (long i = 0; i < to; i++) {
      out.add(i);
    }
    return out;
  }

  private GeneratorAdapterFactory generator() {
    return GeneratorAdapterFactory.builder()
        .namespace("gen")
        .queueCount(4)
        .streamCount(STREAMS)
        .eventsPerStream(EVENTS)
        .build();
  }

  @Test
  void everyGeneratedEvent_arrivesOnce_inOrder_perStream() {
    GeneratorAdapterFactory gen = generator();
    RecordingQueueAdapterFactory spy = invariants.track(new RecordingQueueAdapterFactory(gen));
    DeliveryHarness h = invariants.newHarness().timeout(Duration.ofSeconds(30));
    h.start(
        h.runtimeBuilder()
            .addProvider("gen", spy, o -> o.cacheSize(256))
            .implicitSubscription("gen", "gen", h.observerFactory()));
    long total = gen.totalEvents();
    assertThat(total).isEqualTo((long) STREAMS * EVENTS);
    h.awaitCount(total);
    for (int k = 0; k < STREAMS; k++) {
      StreamId s = StreamId.of("gen", Integer.toString(k));
      h.assertExactly(DeliveryHarness.IMPLICIT, s, longs(EVENTS));
      assertThat(h.activations(DeliveryHarness.IMPLICIT, s)).isOne();
    }
    h.assertInOrderNoDuplicates().assertNoErrors();
    assertThat(h.count()).isEqualTo(total);
    h.awaitThat("everything acknowledged", () -> gen.acknowledgedCount() == total);
    h.awaitThat(
        "events.delivered counts every event",
        () -> h.counter("tributary.events.delivered", "provider", "gen") == total);
    assertThat(h.counter("tributary.events.read", "provider", "gen")).isEqualTo(total);
    assertThat(spy.readCount()).isEqualTo(total);
    assertThat(spy.maxCacheSize()).isLessThanOrEqualTo(256);
  }

  @Test
  void batchObservers_receiveEveryGeneratedEventInOrder() {
    GeneratorAdapterFactory gen = generator();
    DeliveryHarness h = invariants.newHarness().timeout(Duration.ofSeconds(30));
    h.start(
        h.runtimeBuilder()
            .addProvider("gen", gen, o -> o.batchContainerBatchSize(16))
            .implicitBatchSubscription(
                "gen", "gen", h.batchObserverFactory("batched", Behavior.ACK)));
    h.awaitCount(gen.totalEvents());
    for (int k = 0; k < STREAMS; k++) {
      h.assertExactly("batched", StreamId.of("gen", Integer.toString(k)), longs(EVENTS));
    }
    h.assertInOrderNoDuplicates();
    h.awaitThat("everything acknowledged", () -> gen.acknowledgedCount() == gen.totalEvents());
  }
}
