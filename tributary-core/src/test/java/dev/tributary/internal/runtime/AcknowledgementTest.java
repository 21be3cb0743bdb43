package dev.tributary.internal.runtime;

import static dev.tributary.internal.runtime.RuntimeFixture.DONE;
import static dev.tributary.internal.runtime.RuntimeFixture.WAIT;
import static dev.tributary.internal.runtime.RuntimeFixture.join;
import static dev.tributary.internal.runtime.RuntimeFixture.onlyAgent;
import static dev.tributary.internal.runtime.RuntimeFixture.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamEventDeliveryFailureException;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSequenceToken;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.DeliveryFailure;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamFailureHandler;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Acknowledgement ({@code receiver.messagesDelivered}, counted by the memory adapter) is exact: a
 * batch is acknowledged as soon as every subscription of its stream has passed it (delivered, or
 * given up on after the failure handler had it), never before, whatever older batches of other
 * streams still wait.
 */
class AcknowledgementTest {
  private static final QueueId Q0 = QueueId.of("mem", 0);
  private static final StreamId SUBSCRIBED = StreamId.of("exp", "a");
  private static final StreamId UNSUBSCRIBED = StreamId.of("other", "x");

  @RegisterExtension final RuntimeFixture fixture = new RuntimeFixture();

  private void produce(StreamRuntime rt, StreamId id, Object item) {
    join(rt.provider("mem").stream(id).onNext(item));
  }

  @Test
  void blockedObserver_isNotAcknowledged_untilItsStageCompletes() {
    List<Object> acked = new CopyOnWriteArrayList<>();
    MemoryQueueAdapterFactory memory =
        MemoryQueueAdapterFactory.builder()
            .queueCount(1)
            .acknowledgementListener(b -> acked.add(b.event(0)))
            .build();
    ProbeAdapterFactory probe = new ProbeAdapterFactory(memory);
    StreamRuntime rt =
        fixture.start(
            fixture
                .builder()
                .addProvider(
                    "mem",
                    probe,
                    o -> o.cacheSize(16).getQueueMessagesTimerPeriod(Duration.ofMillis(5))));
    PullingAgent agent = onlyAgent(rt, "mem");
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<Object> got = new CopyOnWriteArrayList<>();
    join(
        rt.provider("mem").stream(SUBSCRIBED)
            .subscribe(
                (item, token) -> {
                  got.add(item);
                  return gate;
                }));
    try {
      // A batch nobody subscribes to is acknowledged as soon as a pump purges it.
      produce(rt, UNSUBSCRIBED, "x0");
      await().atMost(WAIT).until(() -> memory.acknowledgedCount(Q0) == 1);

      produce(rt, SUBSCRIBED, "a1");
      await().atMost(WAIT).until(() -> got.size() == 1);
      produce(rt, UNSUBSCRIBED, "x2");
      await().atMost(WAIT).until(() -> memory.unreadCount(Q0) == 0);
      // Every read follows a purge in the same pump round: three more reads, three more purges.
      int reads = probe.reads(Q0);
      await().atMost(WAIT).until(() -> probe.reads(Q0) >= reads + 3);

      assertThat(acked)
          .as("a1 is in flight; x2, which nobody needs, is acknowledged at once (exact)")
          .containsExactly("x0", "x2");
      assertThat(snapshot(agent).cacheSize())
          .as("x2 stays cached behind a1 until a1 is delivered")
          .isEqualTo(2);
    } finally {
      gate.complete(null);
    }
    await().atMost(WAIT).until(() -> memory.acknowledgedCount(Q0) == 3);
    assertThat(acked).containsExactly("x0", "x2", "a1");
    assertThat(snapshot(agent).cacheSize()).isZero();
  }

  @Test
  void givenUpDelivery_isAcknowledgedAfterTheFailureHandlerHadIt() {
    List<DeliveryFailure> reported = new CopyOnWriteArrayList<>();
    StreamFailureHandler handler = RuntimeFixture.recordingFailures(reported);
    MemoryQueueAdapterFactory memory =
        MemoryQueueAdapterFactory.builder().queueCount(1).failureHandler(handler).build();
    StreamRuntime rt =
        fixture.start(
            fixture
                .builder()
                .addProvider(
                    "mem",
                    memory,
                    o ->
                        o.cacheSize(16)
                            .maxEventDeliveryTime(Duration.ZERO)
                            .deliveryBackoff(BackoffPolicy.fixed(Duration.ofMillis(1)))
                            .getQueueMessagesTimerPeriod(Duration.ofMillis(5))));
    PullingAgent agent = onlyAgent(rt, "mem");
    List<Object> got = new CopyOnWriteArrayList<>();
    List<Throwable> errors = new CopyOnWriteArrayList<>();
    join(
        rt.provider("mem").stream(SUBSCRIBED)
            .subscribe(
                new StreamObserver<Object>() {
                  @Override
                  public CompletionStage<Void> onNext(Object item, StreamSequenceToken token) {
                    if (item.equals("bad")) {
                      return CompletableFuture.failedFuture(new IllegalStateException("boom"));
                    }
                    got.add(item);
                    return DONE;
                  }

                  @Override
                  public void onError(Throwable error) {
                    errors.add(error);
                  }
                }));

    produce(rt, SUBSCRIBED, "bad");
    produce(rt, SUBSCRIBED, "good");
    await().atMost(WAIT).until(() -> got.size() == 1);
    // The purge that evicts both batches runs on the agent before this snapshot.
    await().atMost(WAIT).until(() -> snapshot(agent).cacheSize() == 0);

    assertThat(got).containsExactly("good");
    assertThat(memory.acknowledgedCount(Q0))
        .as("the given-up batch went to the failure handler, so it is acknowledged too")
        .isEqualTo(2);
    assertThat(errors).singleElement().isInstanceOf(StreamEventDeliveryFailureException.class);
    StreamEventDeliveryFailureException failure =
        (StreamEventDeliveryFailureException) errors.get(0);
    assertThat(failure.streamId()).isEqualTo(SUBSCRIBED);
    assertThat(failure.token().sequenceNumber()).isZero();
    assertThat(failure).hasRootCauseMessage("boom");
    assertThat(reported)
        .singleElement()
        .satisfies(
            r -> {
              assertThat(r.streamId()).isEqualTo(SUBSCRIBED);
              assertThat(r.batch().event(0)).isEqualTo("bad");
              assertThat(r.implicit()).isFalse();
            });
  }

  @Test
  void retriedDelivery_isAcknowledgedOnceItSucceeds() {
    MemoryQueueAdapterFactory memory = MemoryQueueAdapterFactory.builder().queueCount(1).build();
    StreamRuntime rt =
        fixture.start(
            fixture
                .builder()
                .addProvider(
                    "mem",
                    memory,
                    o ->
                        o.cacheSize(16)
                            .deliveryBackoff(BackoffPolicy.fixed(Duration.ofMillis(1)))
                            .getQueueMessagesTimerPeriod(Duration.ofMillis(5))));
    AtomicInteger attempts = new AtomicInteger();
    List<Object> got = new CopyOnWriteArrayList<>();
    join(
        rt.provider("mem").stream(SUBSCRIBED)
            .subscribe(
                (item, token) -> {
                  if (attempts.incrementAndGet() < 3) {
                    return CompletableFuture.failedFuture(new IllegalStateException("transient"));
                  }
                  got.add(item);
                  return DONE;
                }));
    produce(rt, SUBSCRIBED, "e1");
    await().atMost(WAIT).until(() -> memory.acknowledgedCount(Q0) == 1);
    assertThat(got).containsExactly("e1");
    assertThat(attempts).hasValue(3);
  }

  /**
   * At-least-once: a batch is acknowledged only after its subscription was handed it. Here the
   * subscription falls behind (its first event is slow) and then catches up synchronously through
   * more than the agent's per-turn budget of synchronous deliveries (512), so the agent yields its
   * thread half-way; a pump that runs in that gap (here: woken by data the observer itself
   * produces) must not acknowledge the batches the subscription has not reached yet.
   */
  @Test
  void acknowledgementWaitsForDelivery_whenACatchingUpSubscriptionYieldsTheThread() {
    Set<StreamSequenceToken> delivered = ConcurrentHashMap.newKeySet();
    List<StreamSequenceToken> ackedBeforeDelivery = new CopyOnWriteArrayList<>();
    Consumer<BatchContainer> onAck =
        batch -> {
          if (batch.streamId().equals(SUBSCRIBED) && !delivered.contains(batch.sequenceToken())) {
            ackedBeforeDelivery.add(batch.sequenceToken());
          }
        };
    MemoryQueueAdapterFactory memory =
        MemoryQueueAdapterFactory.builder().queueCount(1).acknowledgementListener(onAck).build();
    StreamRuntime rt = fixture.start(fixture.builder().addProvider("mem", memory));
    AtomicReference<StreamRuntime> self = new AtomicReference<>(rt);
    CompletableFuture<Void> gate = new CompletableFuture<>();
    AtomicInteger calls = new AtomicInteger();
    int backlog = 1_000;
    join(
        rt.provider("mem").stream(SUBSCRIBED)
            .subscribe(
                (item, token) -> {
                  delivered.add(token);
                  int n = calls.getAndIncrement();
                  if (n == 0) {
                    return gate;
                  }
                  if (n == 100) {
                    // Wakes the agent: a pump is queued behind this synchronous run.
                    self.get().provider("mem").stream(UNSUBSCRIBED).onNext("wake up");
                  }
                  return DONE;
                }));
    try {
      produce(rt, SUBSCRIBED, 0);
      await().atMost(WAIT).until(() -> calls.get() == 1);
      for (int i = 1; i <= backlog; i++) {
        produce(rt, SUBSCRIBED, i);
      }
      await().atMost(WAIT).until(() -> memory.unreadCount(Q0) == 0);
    } finally {
      gate.complete(null);
    }
    await().atMost(WAIT).until(() -> calls.get() == backlog + 1);
    await().atMost(WAIT).until(() -> memory.acknowledgedCount(Q0) == backlog + 2);

    assertThat(ackedBeforeDelivery.size())
        .as(
            "batches acknowledged before the subscription was handed them (first %s, last %s)",
            ackedBeforeDelivery.isEmpty() ? "-" : ackedBeforeDelivery.get(0),
            ackedBeforeDelivery.isEmpty()
                ? "-"
                : ackedBeforeDelivery.get(ackedBeforeDelivery.size() - 1))
        .isZero();
  }
}
