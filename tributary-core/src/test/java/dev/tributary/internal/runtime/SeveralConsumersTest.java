package dev.tributary.internal.runtime;

import static dev.tributary.internal.runtime.RuntimeFixture.DONE;
import static dev.tributary.internal.runtime.RuntimeFixture.WAIT;
import static dev.tributary.internal.runtime.RuntimeFixture.join;
import static dev.tributary.internal.runtime.RuntimeFixture.onlyAgent;
import static dev.tributary.internal.runtime.RuntimeFixture.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.FaultedSubscriptionException;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.DeliveryFailure;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamFailureHandler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A stream's consumers in its agent as they come and go, and implicit observers called through the
 * guard: a consumer faulted while the agent wakes the stream's consumers does not cost the others
 * their wake-up, and whatever an implicit observer returns or throws, its events are handled and
 * acknowledged.
 */
class SeveralConsumersTest {
  private static final QueueId Q0 = QueueId.of("mem", 0);
  private static final StreamId SHARED = StreamId.of("ns", "shared");

  @RegisterExtension final RuntimeFixture fixture = new RuntimeFixture();

  private StreamRuntime start(StreamRuntime.Builder builder) {
    return fixture.start(builder);
  }

  private StreamRuntime.Builder builder(MemoryQueueAdapterFactory memory) {
    return fixture
        .builder()
        .addProvider(
            "mem",
            memory,
            o ->
                o.cacheSize(64)
                    .maxEventDeliveryTime(Duration.ZERO)
                    .deliveryBackoff(BackoffPolicy.fixed(Duration.ofMillis(1)))
                    .getQueueMessagesTimerPeriod(Duration.ofMillis(5)));
  }

  private static void produce(StreamRuntime rt, StreamId id, Object item) {
    join(rt.provider("mem").stream(id).onNext(item));
  }

  private static StreamObserver<Object> recorder(List<Object> into) {
    return (item, token) -> {
      into.add(item);
      return DONE;
    };
  }

  /**
   * Three subscriptions of one stream; the first throws and is faulted at once, inside the agent's
   * round that wakes the stream's consumers for the new batch. The two after it must still get the
   * event in that round: nothing else would wake them before the stream's next batch. Then the
   * stream goes down to one consumer and to none.
   */
  @Test
  void consumerFaultedWhileTheStreamIsWoken_theOthersStillGetTheEvent() {
    MemoryQueueAdapterFactory memory =
        MemoryQueueAdapterFactory.builder()
            .queueCount(1)
            .failureHandler(StreamFailureHandler.FAULT_SUBSCRIPTION)
            .build();
    StreamRuntime rt = start(builder(memory));
    PullingAgent agent = onlyAgent(rt, "mem");
    List<Throwable> errorsOfFirst = new CopyOnWriteArrayList<>();
    List<Object> second = new CopyOnWriteArrayList<>();
    List<Object> third = new CopyOnWriteArrayList<>();
    join(
        rt.provider("mem").stream(SHARED)
            .subscribe(
                new StreamObserver<Object>() {
                  @Override
                  public CompletionStage<Void> onNext(Object item, StreamSequenceToken token) {
                    throw new IllegalStateException("first fails");
                  }

                  @Override
                  public void onError(Throwable error) {
                    errorsOfFirst.add(error);
                  }
                }));
    StreamSubscriptionHandle<Object> secondHandle =
        join(rt.provider("mem").stream(SHARED).subscribe(recorder(second)));
    StreamSubscriptionHandle<Object> thirdHandle =
        join(rt.provider("mem").stream(SHARED).subscribe(recorder(third)));
    assertThat(snapshot(agent).subscriptions()).isEqualTo(3);

    produce(rt, SHARED, "e1");
    await().atMost(WAIT).until(() -> second.size() == 1 && third.size() == 1);
    assertThat(second).containsExactly("e1");
    assertThat(third).containsExactly("e1");
    assertThat(errorsOfFirst).last().isInstanceOf(FaultedSubscriptionException.class);
    assertThat(snapshot(agent).subscriptions()).isEqualTo(2);

    join(secondHandle.unsubscribe());
    produce(rt, SHARED, "e2");
    await().atMost(WAIT).until(() -> third.size() == 2);
    assertThat(third).containsExactly("e1", "e2");
    assertThat(second).containsExactly("e1");

    join(thirdHandle.unsubscribe());
    PullingAgent.Snapshot none = snapshot(agent);
    assertThat(none.subscriptions()).isZero();
    assertThat(none.streams()).as("a stream without consumers is dropped").isZero();
    await().atMost(WAIT).until(() -> memory.acknowledgedCount(Q0) == 2);
  }

  /**
   * Implicit observers held as the factory made them: one that returns a null stage, one that
   * throws, and a factory that makes something that is not an observer. Every event reaches the
   * first in order; the others' are given up, reported and acknowledged; the agent carries on.
   */
  @Test
  @SuppressWarnings({"unchecked", "rawtypes"})
  void implicitObserverReturningNullOrThrowing_isGuarded() {
    List<DeliveryFailure> reported = new CopyOnWriteArrayList<>();
    MemoryQueueAdapterFactory memory =
        MemoryQueueAdapterFactory.builder()
            .queueCount(1)
            .failureHandler(RuntimeFixture.recordingFailures(reported))
            .build();
    List<Object> nulls = new CopyOnWriteArrayList<>();
    List<Object> thrown = new CopyOnWriteArrayList<>();
    StreamObserver<Object> returnsNull =
        (item, token) -> {
          nulls.add(item);
          return null;
        };
    StreamObserver<Object> throwing =
        (item, token) -> {
          thrown.add(item);
          throw new IllegalStateException("throws " + item);
        };
    StreamRuntime rt =
        start(
            builder(memory)
                .implicitSubscription("mem", "nul", id -> returnsNull)
                .implicitSubscription("mem", "thr", id -> throwing)
                .implicitSubscription("mem", "bad", (Function) id -> "not an observer"));
    StreamId nul = StreamId.of("nul", "k");
    StreamId thr = StreamId.of("thr", "k");
    StreamId bad = StreamId.of("bad", "k");
    for (int i = 0; i < 3; i++) {
      produce(rt, nul, "n" + i);
      produce(rt, thr, "t" + i);
      produce(rt, bad, "b" + i);
    }
    await().atMost(WAIT).until(() -> memory.acknowledgedCount(Q0) == 9);

    assertThat(nulls).containsExactly("n0", "n1", "n2");
    assertThat(thrown).containsExactly("t0", "t1", "t2");
    assertThat(reported).hasSize(6).allMatch(DeliveryFailure::implicit);
    assertThat(reported.stream().filter(f -> f.streamId().equals(thr)))
        .extracting(f -> f.cause().getMessage())
        .containsExactly("throws t0", "throws t1", "throws t2");
    assertThat(reported.stream().filter(f -> f.streamId().equals(bad)))
        .hasSize(3)
        .allSatisfy(
            f ->
                assertThat(f.cause())
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("must be a StreamObserver or a BatchStreamObserver"));
    assertThat(snapshot(onlyAgent(rt, "mem")).state()).isEqualTo("RUNNING");
  }
}
