package dev.tributary.internal.runtime;

import static dev.tributary.internal.runtime.RuntimeFixture.DONE;
import static dev.tributary.internal.runtime.RuntimeFixture.WAIT;
import static dev.tributary.internal.runtime.RuntimeFixture.join;
import static dev.tributary.internal.runtime.RuntimeFixture.onlyAgent;
import static dev.tributary.internal.runtime.RuntimeFixture.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Inactivity cleanup on manual time: an agent forgets streams idle for longer than {@code
 * streamInactivityPeriod} that have nothing in flight, and picks them up again on their next event.
 * The clock the agent measures idleness with and the read ticks that run the cleanup pass both move
 * only when the test advances the time; events produced in between wake the agent by the memory
 * queue's data signal.
 */
class InactivityCleanupTest {
  private static final Duration INACTIVITY = Duration.ofMinutes(1);

  @RegisterExtension final RuntimeFixture fixture = new RuntimeFixture();

  private static final Duration TICK = Duration.ofSeconds(1);

  private final ManualTime time = new ManualTime(Instant.parse("2026-01-01T00:00:00Z"));
  private final Map<String, AtomicInteger> factoryCalls = new ConcurrentHashMap<>();
  private final Map<String, List<Object>> received = new ConcurrentHashMap<>();

  /**
   * Moves the manual time on one tick at a time and lets the agent run each tick's pump before the
   * next, so that cleanup passes see every tenth of the period go by (the agent runs on its own
   * thread; without the hand-shake the time could run ahead of its pumps).
   */
  private void advance(PullingAgent agent, Duration by) {
    for (Duration left = by; !left.isZero() && !left.isNegative(); left = left.minus(TICK)) {
      time.advance(left.compareTo(TICK) < 0 ? left : TICK);
      snapshot(agent);
    }
  }

  private StreamRuntime runtime() {
    return fixture.start(
        fixture
            .builder()
            .time(time)
            .addProvider(
                "mem",
                MemoryQueueAdapterFactory.builder().queueCount(1).build(),
                o ->
                    o.cacheSize(64)
                        .streamInactivityPeriod(INACTIVITY)
                        .getQueueMessagesTimerPeriod(TICK))
            .implicitSubscription(
                "mem",
                "imp",
                id -> {
                  factoryCalls
                      .computeIfAbsent(id.key(), k -> new AtomicInteger())
                      .incrementAndGet();
                  return recorder(id.key());
                }));
  }

  private StreamObserver<Object> recorder(String key) {
    return (item, token) -> {
      received.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>()).add(item);
      return DONE;
    };
  }

  private void produce(StreamRuntime rt, String namespace, String key, Object item) {
    join(rt.provider("mem").stream(StreamId.of(namespace, key)).onNext(item));
  }

  private void awaitReceived(String key, Object... items) {
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> assertThat(received.getOrDefault(key, List.of())).containsExactly(items));
  }

  @Test
  void idleImplicitStream_isDroppedAfterTheInactivityPeriod_andReactivatedByItsNextEvent() {
    StreamRuntime rt = runtime();
    PullingAgent agent = onlyAgent(rt, "mem");

    produce(rt, "imp", "a", "a1");
    awaitReceived("a", "a1");
    advance(agent, Duration.ofSeconds(40));
    produce(rt, "imp", "b", "b1");
    awaitReceived("b", "b1");
    assertThat(snapshot(agent).streams()).isEqualTo(2);

    // Now a has been idle for 80 s and b for 40 s: only a goes.
    advance(agent, Duration.ofSeconds(40));
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              PullingAgent.Snapshot s = snapshot(agent);
              assertThat(s.streams()).isEqualTo(1);
              assertThat(s.subscriptions()).isEqualTo(1);
              assertThat(s.cursors()).as("b is idle, so parked").isZero();
              assertThat(s.cacheStreams()).as("the cache dropped a with the agent").isZero();
            });

    produce(rt, "imp", "a", "a2");
    produce(rt, "imp", "b", "b2");
    awaitReceived("a", "a1", "a2");
    awaitReceived("b", "b1", "b2");
    assertThat(factoryCalls.get("a")).as("a's observer is created again").hasValue(2);
    assertThat(factoryCalls.get("b")).as("b's observer is kept").hasValue(1);
    assertThat(snapshot(agent).streams()).isEqualTo(2);
  }

  @Test
  void streamIdleForLessThanThePeriod_isKept() {
    StreamRuntime rt = runtime();
    PullingAgent agent = onlyAgent(rt, "mem");
    produce(rt, "imp", "a", "a1");
    awaitReceived("a", "a1");

    // Exactly the period is not longer than the period; a cleanup pass runs (>= period / 10).
    advance(agent, INACTIVITY);
    produce(rt, "imp", "probe", "p1");
    awaitReceived("probe", "p1");
    produce(rt, "imp", "a", "a2");
    awaitReceived("a", "a1", "a2");

    assertThat(factoryCalls.get("a")).hasValue(1);
    assertThat(snapshot(agent).streams()).isEqualTo(2);
  }

  @Test
  void idleStreamWithAnExplicitSubscription_isDropped_andTheSubscriptionKeepsReceiving() {
    StreamRuntime rt = runtime();
    PullingAgent agent = onlyAgent(rt, "mem");
    StreamSubscriptionHandle<Object> handle =
        join(rt.provider("mem").stream(StreamId.of("exp", "e")).subscribe(recorder("e")));
    produce(rt, "exp", "e", "e1");
    awaitReceived("e", "e1");
    assertThat(snapshot(agent).subscriptions()).isEqualTo(1);

    // Cleanup passes run every tenth of the period: one of them falls more than the period
    // after e1 only once a further tenth has passed.
    advance(agent, INACTIVITY.plus(INACTIVITY.dividedBy(10)).plusSeconds(1));
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              PullingAgent.Snapshot s = snapshot(agent);
              assertThat(s.streams()).isZero();
              assertThat(s.subscriptions()).isZero();
              assertThat(s.cursors()).isZero();
            });

    produce(rt, "exp", "e", "e2");
    produce(rt, "exp", "e", "e3");
    awaitReceived("e", "e1", "e2", "e3");
    assertThat(snapshot(agent).subscriptions()).isEqualTo(1);

    // The handle still works after the stream was dropped and picked up again.
    join(handle.unsubscribe());
    assertThat(snapshot(agent).subscriptions()).isZero();
  }

  @Test
  void idleStreamWithADeliveryInFlight_isKept() {
    StreamRuntime rt = runtime();
    PullingAgent agent = onlyAgent(rt, "mem");
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<Object> slow = new CopyOnWriteArrayList<>();
    join(
        rt.provider("mem").stream(StreamId.of("exp", "slow"))
            .subscribe(
                (item, token) -> {
                  slow.add(item);
                  return slow.size() == 1 ? gate : DONE;
                }));
    try {
      produce(rt, "exp", "slow", "s1");
      produce(rt, "imp", "a", "a1");
      awaitReceived("a", "a1");
      await().atMost(WAIT).until(() -> slow.size() == 1);

      advance(agent, INACTIVITY.multipliedBy(2));
      // The cleanup pass that drops the idle implicit stream keeps the busy one.
      await()
          .atMost(WAIT)
          .untilAsserted(
              () -> {
                PullingAgent.Snapshot s = snapshot(agent);
                assertThat(s.streams()).isEqualTo(1);
                assertThat(s.subscriptions()).isEqualTo(1);
              });
    } finally {
      gate.complete(null);
    }
    produce(rt, "exp", "slow", "s2");
    await().atMost(WAIT).until(() -> slow.size() == 2);
    assertThat(slow).containsExactly("s1", "s2");
  }

  /**
   * Streams that appear and go idle round after round leave nothing behind in the agent or in its
   * cache: each stream's handle is released with its state.
   */
  @Test
  void churnOfIdleStreams_leavesNoStateInTheAgentOrItsCache() {
    StreamRuntime rt = runtime();
    PullingAgent agent = onlyAgent(rt, "mem");
    for (int round = 0; round < 3; round++) {
      for (int k = 0; k < 50; k++) {
        produce(rt, "imp", "r" + round + "-" + k, "x");
      }
      String last = "r" + round + "-49";
      awaitReceived(last, "x");
      await()
          .atMost(WAIT)
          .untilAsserted(
              () -> {
                PullingAgent.Snapshot s = snapshot(agent);
                assertThat(s.streams()).isEqualTo(50);
                assertThat(s.cacheStreams()).isEqualTo(50);
              });
      advance(agent, INACTIVITY.plus(INACTIVITY.dividedBy(10)).plusSeconds(1));
      await()
          .atMost(WAIT)
          .untilAsserted(
              () -> {
                PullingAgent.Snapshot s = snapshot(agent);
                assertThat(s.streams()).isZero();
                assertThat(s.subscriptions()).isZero();
                assertThat(s.cursors()).isZero();
                assertThat(s.cacheStreams()).isZero();
                assertThat(s.cacheSize()).isZero();
              });
    }
    assertThat(received).hasSize(150);
  }

  /**
   * An implicit stream idle for more than a tenth of the period is parked: the agent keeps its
   * state and observer, the cursor and the cache's entry go; its next events reopen them and reach
   * the same observer, in order, with nothing lost.
   */
  @Test
  void streamIdleForATenthOfThePeriod_isParked_andItsNextEventsReachTheSameObserver() {
    StreamRuntime rt = runtime();
    PullingAgent agent = onlyAgent(rt, "mem");
    StreamLeases leases = RuntimeFixture.provider(rt, "mem").leases();
    produce(rt, "imp", "a", "a1");
    awaitReceived("a", "a1");
    assertThat(snapshot(agent).cursors()).isEqualTo(1);
    assertThat(leases.heldCount()).isEqualTo(1);

    advance(agent, INACTIVITY.dividedBy(5).plusSeconds(1));
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              PullingAgent.Snapshot s = snapshot(agent);
              assertThat(s.streams()).isEqualTo(1);
              assertThat(s.subscriptions()).isEqualTo(1);
              assertThat(s.cursors()).isZero();
              assertThat(s.cacheStreams()).isZero();
            });
    assertThat(leases.heldCount()).as("a parked stream holds no lease").isZero();

    produce(rt, "imp", "a", "a2");
    produce(rt, "imp", "a", "a3");
    awaitReceived("a", "a1", "a2", "a3");
    assertThat(factoryCalls.get("a")).as("the parked stream kept its observer").hasValue(1);
    PullingAgent.Snapshot s = snapshot(agent);
    assertThat(s.cursors()).isEqualTo(1);
    assertThat(s.cacheStreams()).isEqualTo(1);
    assertThat(leases.heldCount()).as("claimed again with its next batch").isEqualTo(1);

    // Parked again, then dropped after the whole period: nothing is left.
    advance(agent, INACTIVITY.plus(INACTIVITY.dividedBy(5)));
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              PullingAgent.Snapshot t = snapshot(agent);
              assertThat(t.streams()).isZero();
              assertThat(t.cursors()).isZero();
              assertThat(t.cacheStreams()).isZero();
            });
  }

  /** A stream with an explicit subscription is not parked: its cursor stays while it is tracked. */
  @Test
  void idleStreamWithAnExplicitSubscription_isNotParked() {
    StreamRuntime rt = runtime();
    PullingAgent agent = onlyAgent(rt, "mem");
    join(rt.provider("mem").stream(StreamId.of("exp", "e")).subscribe(recorder("e")));
    produce(rt, "exp", "e", "e1");
    awaitReceived("e", "e1");
    advance(agent, INACTIVITY.dividedBy(2));
    PullingAgent.Snapshot s = snapshot(agent);
    assertThat(s.streams()).isEqualTo(1);
    assertThat(s.cursors()).isEqualTo(1);
    produce(rt, "exp", "e", "e2");
    awaitReceived("e", "e1", "e2");
  }
}
