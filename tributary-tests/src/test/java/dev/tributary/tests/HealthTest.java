package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.AgentState;
import dev.tributary.Health;
import dev.tributary.HealthStatus;
import dev.tributary.ProviderHealth;
import dev.tributary.ProviderStatus;
import dev.tributary.QueueHealth;
import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.QueueId;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.Gate;
import dev.tributary.testkit.ManualTime;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Health, readiness and liveness on the memory adapter, stepped on a manual clock where thresholds
 * matter; and the operator's stop and start of a provider's agents, counting every event.
 */
class HealthTest extends MemoryRuntimeTest {

  private static final String GAUGE = "tributary.health";

  @Test
  void notStarted_isDown_started_isUpAndReady_closed_isDownAndTheGaugeIsGone() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    StreamRuntime rt =
        invariants.track(
            StreamRuntime.builder()
                .addProvider(MEM, MemoryQueueAdapterFactory.builder().queueCount(2).build())
                .meterRegistry(registry)
                .build());
    Health before = rt.health();
    assertThat(before.status()).isEqualTo(HealthStatus.DOWN);
    assertThat(before.reasons()).anyMatch(r -> r.contains("not running"));
    assertThat(before.readiness().ok()).isFalse();

    rt.start();
    await().atMost(Duration.ofSeconds(10)).until(() -> rt.health().readiness().ok());
    Health up = rt.health();
    assertThat(up.status()).isEqualTo(HealthStatus.UP);
    assertThat(up.reasons()).isEmpty();
    assertThat(up.liveness(Duration.ofMinutes(1)).ok()).isTrue();
    ProviderHealth p = up.providers().get(MEM);
    assertThat(p.queues()).hasSize(2).allMatch(q -> q.agentState() == AgentState.RUNNING);
    assertThat(registry.get(GAUGE).tag("provider", MEM).gauge().value()).isEqualTo(1.0);

    rt.close();
    assertThat(rt.health().status()).isEqualTo(HealthStatus.DOWN);
    assertThat(registry.find(GAUGE).gauges()).isEmpty();
  }

  @Test
  void slowObserver_fullCacheIsStalledExactlyAfterStallThreshold_andUpAgainOnceDelivered() {
    ManualTime time = new ManualTime();
    Duration threshold = Duration.ofSeconds(30);
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(1).build(),
            o -> o.cacheSize(16).stallThreshold(threshold),
            (x, b) -> b.time(time));
    StreamRuntime rt = h.runtime();
    h.awaitThat("ready", () -> rt.health().readiness().ok());
    assertThat(rt.health().status()).isEqualTo(HealthStatus.UP);
    StreamId s = StreamId.of("orders", "slow");
    QueueId q = queueOf(s);
    Gate gate = h.gate();
    h.subscribe("slow", s, gate);
    h.produce(s, ints(0, 100));
    h.awaitThat("cache under pressure", () -> queue(rt, q).underPressureSince() != null);

    // Backpressure alone is not a stall: UP until stallThreshold passed on the runtime's clock.
    QueueHealth pressed = queue(rt, q);
    assertThat(pressed.underPressureSince()).isEqualTo(ManualTime.DEFAULT_START);
    assertThat(pressed.stalledSince()).isNull();
    assertThat(rt.health().status()).isEqualTo(HealthStatus.UP);
    time.advance(threshold.minusMillis(1));
    assertThat(rt.health().status()).isEqualTo(HealthStatus.UP);
    time.advance(Duration.ofMillis(1));

    Health stalled = rt.health();
    assertThat(stalled.status()).isEqualTo(HealthStatus.DEGRADED);
    assertThat(stalled.reasons())
        .singleElement()
        .asString()
        .contains("queue " + q, "stalled", "stallThreshold");
    assertThat(queue(rt, q).stalledSince()).isEqualTo(ManualTime.DEFAULT_START);
    assertThat(h.gaugeMax(GAUGE, "provider", MEM)).isEqualTo(0.5);
    assertThat(stalled.readiness().ok()).as("agents run: still ready").isTrue();
    assertThat(stalled.liveness(threshold).ok()).isTrue();
    time.advance(Duration.ofMillis(1));
    Health.Probe liveness = rt.health().liveness(threshold);
    assertThat(liveness.ok()).isFalse();
    assertThat(liveness.reasons()).singleElement().asString().contains("stalled since");

    gate.open();
    h.awaitCount("slow", s, 100);
    h.awaitThat("up again", () -> rt.health().status() == HealthStatus.UP);
    assertThat(queue(rt, q).underPressureSince()).isNull();
    assertThat(rt.health().liveness(threshold).ok()).isTrue();
    assertThat(h.gaugeMax(GAUGE, "provider", MEM)).isEqualTo(1.0);
    h.assertExactly("slow", s, ints(0, 100)).assertInOrderNoDuplicates();
  }

  /** A deliberate stop is no stall: a liveness probe must not restart a node an operator paused. */
  @Test
  void stoppedAgents_underPressure_longerThanTheThresholds_areNotStalled_livenessHolds() {
    ManualTime time = new ManualTime();
    Duration threshold = Duration.ofSeconds(30);
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(1).build(),
            o -> o.cacheSize(16).stallThreshold(threshold).drainTimeout(Duration.ofSeconds(1)),
            (x, b) -> b.time(time));
    StreamRuntime rt = h.runtime();
    h.awaitThat("ready", () -> rt.health().readiness().ok());
    StreamId s = StreamId.of("orders", "paused");
    QueueId q = queueOf(s);
    Gate gate = h.gate();
    h.subscribe("slow", s, gate);
    h.produce(s, ints(0, 100));
    h.awaitThat("cache under pressure", () -> queue(rt, q).underPressureSince() != null);
    CompletableFuture<Void> stop = rt.provider(MEM).stopAgents().toCompletableFuture();
    // The held delivery keeps the drain waiting until drainTimeout, on the runtime's clock.
    time.awaitScheduled(Duration.ofSeconds(1));
    time.advance(Duration.ofSeconds(1));
    h.join(stop, "stopAgents");

    time.advance(threshold.multipliedBy(10));

    Health health = rt.health();
    assertThat(queue(rt, q).stalledSince()).isNull();
    assertThat(health.liveness(threshold).ok()).as("%s", health.reasons()).isTrue();
    assertThat(health.reasons()).noneMatch(r -> r.contains("stalled"));
    gate.open();
    h.join(rt.provider(MEM).startAgents(), "startAgents");
    h.awaitCount("slow", s, 100);
    h.assertDeliveredAtLeastOnce("slow", s, ints(0, 100));
  }

  @Test
  void stopAgents_drainsAndDeliversNothingWhileStopped_startAgents_resumesExactly()
      throws Exception {
    DeliveryHarness h =
        start(MemoryQueueAdapterFactory.builder().queueCount(2).build(), o -> {}, (x, b) -> {});
    StreamRuntime rt = h.runtime();
    StreamId a = StreamId.of("orders", "a");
    StreamId b = StreamId.of("orders", "b");
    // One event of a stays in flight when the stop is asked for: the stop waits for it.
    CompletableFuture<Void> held = new CompletableFuture<>();
    CompletableFuture<Void> entered = new CompletableFuture<>();
    Behavior holdA5 =
        (id, item, token, attempt) -> {
          if (item.equals(5)) {
            entered.complete(null);
            return held;
          }
          return CompletableFuture.completedFuture(null);
        };
    h.subscribe("sub", a, holdA5);
    h.subscribe("sub", b);
    h.produce(a, ints(0, 10)).produce(b, ints(0, 10));
    entered.get(10, TimeUnit.SECONDS);
    h.awaitCount("sub", a, 5).awaitCount("sub", b, 10);

    CompletableFuture<Void> stop = rt.provider(MEM).stopAgents().toCompletableFuture();
    await()
        .during(Duration.ofMillis(300))
        .atMost(Duration.ofSeconds(5))
        .until(() -> !stop.isDone());
    held.complete(null);
    stop.get(10, TimeUnit.SECONDS);
    long atStop = h.count("sub");
    assertThat(atStop).as("a:5 completed; a:6.. not delivered once stopped").isEqualTo(16);
    h.awaitThat("delivered progress acknowledged", () -> memory.acknowledgedCount() == 16);

    ProviderStatus status = rt.provider(MEM).status();
    assertThat(status.agentsStopped()).isTrue();
    assertThat(status.queues()).hasSize(2).allMatch(x -> x.agentState() == AgentState.SUSPENDED);
    Health health = rt.health();
    assertThat(health.status()).isEqualTo(HealthStatus.DEGRADED);
    assertThat(health.reasons()).anyMatch(r -> r.contains("stopAgents()"));
    assertThat(health.readiness().ok()).isFalse();

    h.produce(a, ints(10, 20)).produce(b, ints(10, 20));
    await()
        .during(Duration.ofSeconds(1))
        .atMost(Duration.ofSeconds(5))
        .until(() -> h.count("sub") == atStop);

    rt.provider(MEM).startAgents().toCompletableFuture().get(10, TimeUnit.SECONDS);
    h.awaitCount("sub", a, 20).awaitCount("sub", b, 20);
    h.assertExactly("sub", a, ints(0, 20))
        .assertExactly("sub", b, ints(0, 20))
        .assertInOrderNoDuplicates()
        .assertNoErrors();
    assertThat(h.count("sub")).isEqualTo(40);
    h.awaitThat("ready again", () -> rt.health().readiness().ok());
    assertThat(rt.provider(MEM).status().agentsStopped()).isFalse();
    h.awaitThat("all acknowledged", () -> memory.acknowledgedCount() == 40);
  }

  private static QueueHealth queue(StreamRuntime rt, QueueId q) {
    return rt.health().providers().get(MEM).queue(q.toString());
  }
}
