package dev.tributary.internal.runtime;

import static dev.tributary.internal.runtime.RuntimeFixture.DONE;
import static dev.tributary.internal.runtime.RuntimeFixture.WAIT;
import static dev.tributary.internal.runtime.RuntimeFixture.agentQueues;
import static dev.tributary.internal.runtime.RuntimeFixture.agents;
import static dev.tributary.internal.runtime.RuntimeFixture.join;
import static dev.tributary.internal.runtime.RuntimeFixture.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamQueueMapper;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The pulling manager runs exactly one agent per owned queue and follows the balancer. */
class PullingManagerBalancerTest {
  private static final QueueId Q0 = QueueId.of("mem", 0);
  private static final QueueId Q1 = QueueId.of("mem", 1);
  private static final QueueId Q2 = QueueId.of("mem", 2);
  private static final QueueId Q3 = QueueId.of("mem", 3);

  @RegisterExtension final RuntimeFixture fixture = new RuntimeFixture();

  private ProbeAdapterFactory probe;
  private TestBalancer balancer;

  private StreamRuntime runtime(Set<QueueId> initial, Duration subscribeTimeout) {
    return runtime(initial, subscribeTimeout, fixture.builder());
  }

  private StreamRuntime runtime(
      Set<QueueId> initial, Duration subscribeTimeout, StreamRuntime.Builder builder) {
    probe = new ProbeAdapterFactory(MemoryQueueAdapterFactory.builder().queueCount(4).build());
    balancer = new TestBalancer(initial);
    return fixture.start(
        builder.addProvider(
            "mem",
            probe,
            o ->
                o.cacheSize(64)
                    .balancer(() -> balancer)
                    .subscribeTimeout(subscribeTimeout)
                    .getQueueMessagesTimerPeriod(Duration.ofMillis(5))));
  }

  /** A stream that the provider's mapper puts on {@code queue}. */
  private StreamId streamOn(QueueId queue) {
    StreamQueueMapper mapper = probe.streamQueueMapper();
    for (int i = 0; ; i++) {
      StreamId id = StreamId.of("ns", "k" + i);
      if (mapper.queueForStream(id).equals(queue)) {
        return id;
      }
    }
  }

  @Test
  void agentsStartAndStopWithOwnership() {
    StreamRuntime rt = runtime(Set.of(Q0, Q1), Duration.ofSeconds(30));
    assertThat(agentQueues(rt, "mem")).containsExactly(Q0, Q1);
    PullingAgent first0 = agents(rt, "mem").get(Q0);
    PullingAgent first1 = agents(rt, "mem").get(Q1);

    join(balancer.change(Set.of(Q1, Q2)));
    assertThat(agentQueues(rt, "mem")).containsExactly(Q1, Q2);
    assertThat(agents(rt, "mem").get(Q1)).as("a kept queue keeps its agent").isSameAs(first1);
    assertThat(snapshot(first0).state()).isEqualTo("STOPPED");
    await().atMost(WAIT).until(() -> snapshot(agents(rt, "mem").get(Q2)).state().equals("RUNNING"));

    join(balancer.change(Set.of()));
    assertThat(agentQueues(rt, "mem")).isEmpty();
    assertThat(snapshot(first1).state()).isEqualTo("STOPPED");

    join(balancer.change(Set.of(Q3, Q0)));
    assertThat(agentQueues(rt, "mem")).containsExactly(Q0, Q3);
    assertThat(agents(rt, "mem").get(Q0))
        .as("a queue taken back gets a new agent")
        .isNotSameAs(first0);

    assertThat(probe.receiversCreated(Q0)).isEqualTo(2);
    assertThat(probe.receiversCreated(Q1)).isEqualTo(1);
    assertThat(probe.receiversCreated(Q2)).isEqualTo(1);
    assertThat(probe.receiversCreated(Q3)).isEqualTo(1);
  }

  @Test
  void aNewlyOwnedQueue_deliversToItsSubscriptions() {
    StreamRuntime rt = runtime(Set.of(Q0), Duration.ofSeconds(30));
    StreamId onQ2 = streamOn(Q2);
    join(balancer.change(Set.of(Q0, Q2)));
    List<Object> got = new CopyOnWriteArrayList<>();
    join(
        rt.provider("mem").stream(onQ2)
            .subscribe(
                (item, token) -> {
                  got.add(item);
                  return DONE;
                }));
    for (int i = 0; i < 20; i++) {
      join(rt.provider("mem").stream(onQ2).onNext(i));
    }
    await().atMost(WAIT).until(() -> got.size() == 20);
    assertThat(got)
        .containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19);
  }

  /** On manual time: the subscribe fails exactly {@code subscribeTimeout} after it was made. */
  @Test
  void subscribeToAStreamOfAnUnownedQueue_failsAfterSubscribeTimeout() {
    Duration subscribeTimeout = Duration.ofSeconds(40);
    ManualTime time = new ManualTime();
    StreamRuntime rt = runtime(Set.of(Q0), subscribeTimeout, fixture.builder().time(time));
    StreamId onQ1 = streamOn(Q1);
    CompletableFuture<?> subscribed =
        rt.provider("mem").stream(onQ1).subscribe((item, token) -> DONE).toCompletableFuture();
    time.awaitScheduled(subscribeTimeout);
    time.advance(subscribeTimeout.minusMillis(1));
    assertThat(subscribed).as("still waiting just before subscribeTimeout").isNotDone();

    time.advance(Duration.ofMillis(1));
    assertThatThrownBy(() -> subscribed.get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasMessageContaining("no agent on this node owns queue " + Q1)
        .hasMessageContaining("timed out after " + subscribeTimeout)
        .hasMessageContaining("subscribeTimeout");
  }

  /**
   * Ownership changes that arrive while the manager waits for a released agent to drain are folded
   * together: only the newest set is applied, and a queue owned only in between never gets an
   * agent.
   */
  @Test
  void newestChangeWins_whileAStopIsPending() {
    StreamRuntime rt = runtime(Set.of(Q0), Duration.ofSeconds(30));
    StreamId onQ0 = streamOn(Q0);
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<Object> got = new CopyOnWriteArrayList<>();
    join(
        rt.provider("mem").stream(onQ0)
            .subscribe(
                (item, token) -> {
                  got.add(item);
                  return gate;
                }));
    PullingAgent agent0 = agents(rt, "mem").get(Q0);
    try {
      join(rt.provider("mem").stream(onQ0).onNext("in flight"));
      await().atMost(WAIT).until(() -> got.size() == 1);

      CompletableFuture<Void> toQ1 = balancer.change(Set.of(Q1));
      await().atMost(WAIT).until(() -> snapshot(agent0).state().equals("STOPPING"));
      CompletableFuture<Void> toQ2 = balancer.change(Set.of(Q2));
      CompletableFuture<Void> toQ2andQ3 = balancer.change(Set.of(Q2, Q3));

      // Deterministic: q0's agent cannot finish stopping while its delivery is in flight.
      assertThat(toQ1).isNotDone();
      assertThat(toQ2).isNotDone();
      assertThat(toQ2andQ3).isNotDone();
      assertThat(agentQueues(rt, "mem")).containsExactly(Q0);
    } finally {
      gate.complete(null);
    }
    await().atMost(WAIT).until(() -> agentQueues(rt, "mem").equals(Set.of(Q2, Q3)));
    assertThat(snapshot(agent0).state()).isEqualTo("STOPPED");
    assertThat(probe.receiversCreated(Q1)).as("q1 was owned only in between").isZero();
    assertThat(probe.receiversCreated(Q2)).isEqualTo(1);
    assertThat(probe.receiversCreated(Q3)).isEqualTo(1);
    assertThat(probe.memory.acknowledgedCount(Q0))
        .as("the drained delivery was flushed on stop")
        .isEqualTo(1);
  }

  @Test
  void everyStageOfAFoldedChange_completes() throws Exception {
    StreamRuntime rt = runtime(Set.of(Q0, Q1), Duration.ofSeconds(30));
    List<CompletableFuture<Void>> stages = new CopyOnWriteArrayList<>();
    List<Set<QueueId>> sets = List.of(Set.of(Q1), Set.of(Q2), Set.of(), Set.of(Q0, Q3), Set.of(Q3));
    for (Set<QueueId> s : sets) {
      stages.add(balancer.change(s));
    }
    CompletableFuture.allOf(stages.toArray(new CompletableFuture<?>[0]))
        .get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(agentQueues(rt, "mem")).containsExactly(Q3);
  }

  /**
   * A queue released and taken back while the manager is still busy with an earlier change gets a
   * fresh agent (and receiver): the adapter released it in between (for Kafka, the partition state
   * the old receiver read from is closed), so the old agent must not be kept because the newest
   * ownership set happens to contain the queue again.
   */
  @Test
  void queueReleasedAndTakenBackWhileBusy_getsAFreshAgentAndReceiver() {
    StreamRuntime rt = runtime(Set.of(Q0, Q1), Duration.ofSeconds(30));
    PullingAgent first0 = agents(rt, "mem").get(Q0);
    assertThat(probe.receiversCreated(Q0)).isEqualTo(1);
    // Q1's agent takes long to stop: a delivery is in flight until the gate opens.
    StreamId on1 = streamOn(Q1);
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<Object> got = new CopyOnWriteArrayList<>();
    join(
        rt.provider("mem").stream(on1)
            .subscribe(
                (item, token) -> {
                  got.add(item);
                  return gate;
                }));
    join(rt.provider("mem").stream(on1).onNext("in flight"));
    await().atMost(WAIT).until(() -> got.size() == 1);

    CompletableFuture<Void> releaseQ1 = balancer.change(Set.of(Q0)); // busy until the gate opens
    CompletableFuture<Void> releaseQ0 = balancer.change(Set.of()); // folded
    CompletableFuture<Void> takeBackQ0 = balancer.change(Set.of(Q0)); // folded
    gate.complete(null);
    join(releaseQ1);
    join(releaseQ0);
    join(takeBackQ0);

    assertThat(agentQueues(rt, "mem")).containsExactly(Q0);
    PullingAgent again0 = agents(rt, "mem").get(Q0);
    assertThat(again0).as("Q0 was released in between: a new agent").isNotSameAs(first0);
    assertThat(snapshot(first0).state()).isEqualTo("STOPPED");
    assertThat(probe.receiversCreated(Q0)).isEqualTo(2);
    await().atMost(WAIT).until(() -> snapshot(again0).state().equals("RUNNING"));
  }

  @Test
  void close_stopsEveryAgent_andClosesTheBalancer() {
    StreamRuntime rt = runtime(Set.of(Q0, Q1, Q2, Q3), Duration.ofSeconds(30));
    List<PullingAgent> all = List.copyOf(agents(rt, "mem").values());
    assertThat(all).hasSize(4);
    for (PullingAgent a : all) {
      await().atMost(WAIT).until(() -> snapshot(a).state().equals("RUNNING"));
    }
    assertThat(balancer.closed).isFalse();
    rt.close();
    assertThat(agentQueues(rt, "mem")).isEmpty();
    assertThat(balancer.closed).isTrue();
  }
}
