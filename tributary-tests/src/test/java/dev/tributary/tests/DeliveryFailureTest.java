package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.FaultedSubscriptionException;
import dev.tributary.StreamEventDeliveryFailureException;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.DeliveryFailure;
import dev.tributary.spi.StreamFailureHandler;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.ManualTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A consumer that fails is retried with backoff for up to {@code maxEventDeliveryTime}; then it is
 * told ({@code onError(StreamEventDeliveryFailureException)}), the failure handler is called once,
 * and the event is skipped, or the explicit subscription is faulted. Implicit subscriptions are
 * never faulted. After Orleans' StreamDeliveryFailure tests.
 *
 * <p>The runtime runs on {@link ManualTime}: each retry waits for the test to advance the time by
 * the backoff, so the number of attempts is exact ({@value #BUDGET_MILLIS} ms of budget with a
 * {@value #BACKOFF_MILLIS} ms backoff: the first attempt and four retries) and nothing is given up
 * before the budget is spent, however fast or slow the machine.
 */
class DeliveryFailureTest extends MemoryRuntimeTest {

  private static final String NS = "orders";
  private static final String IMPLICIT_NS = "actors";

  static final long BACKOFF_MILLIS = 50;
  static final long BUDGET_MILLIS = 200;
  private static final Duration BACKOFF = Duration.ofMillis(BACKOFF_MILLIS);
  private static final Duration BUDGET = Duration.ofMillis(BUDGET_MILLIS);

  /** Attempts at 0, 50, 100, 150 and 200 ms; the next would be at 250 ms, past the budget. */
  private static final int ATTEMPTS = 5;

  private final ManualTime time = new ManualTime();

  /** Records every failure it is told about; faults subscriptions when asked to. */
  static final class RecordingHandler implements StreamFailureHandler {
    final boolean fault;
    final List<DeliveryFailure> failures = new CopyOnWriteArrayList<>();

    RecordingHandler(boolean fault) {
      this.fault = fault;
    }

    @Override
    public boolean shouldFaultSubscriptionOnError() {
      return fault;
    }

    @Override
    public CompletionStage<Void> onDeliveryFailure(DeliveryFailure failure) {
      failures.add(failure);
      return CompletableFuture.completedFuture(null);
    }
  }

  private DeliveryHarness start(
      RecordingHandler handler, Duration maxEventDeliveryTime, Behavior implicitBehavior) {
    return start(
        MemoryQueueAdapterFactory.builder().queueCount(2).failureHandler(handler).build(),
        o ->
            o.deliveryBackoff(BackoffPolicy.fixed(BACKOFF))
                .maxEventDeliveryTime(maxEventDeliveryTime)
                // Shorter than the backoff, so the first tick (at a random fraction of the period)
                // is never mistaken for a retry being armed.
                .getQueueMessagesTimerPeriod(Duration.ofMillis(20)),
        (h, b) ->
            b.time(time)
                .implicitSubscription(
                    MEM,
                    IMPLICIT_NS,
                    h.observerFactory(DeliveryHarness.IMPLICIT, implicitBehavior)));
  }

  /**
   * Lets {@code retries} retries happen, one backoff apart: waits until the runtime armed each,
   * checks that {@code check} still holds, then advances the time by the backoff.
   */
  private void retry(int retries, Runnable check) {
    for (int i = 0; i < retries; i++) {
      time.awaitScheduled(BACKOFF);
      check.run();
      time.advance(BACKOFF);
    }
  }

  private static Runnable notGivenUp(DeliveryHarness h, String subscriber, StreamId s) {
    return () ->
        assertThat(h.errors(subscriber, s))
            .as("nothing given up before maxEventDeliveryTime")
            .isEmpty();
  }

  private static Behavior rejects(int poison) {
    return Behavior.failWhen(Integer.valueOf(poison)::equals);
  }

  @Test
  void throwingConsumer_isRetried_thenToldOnce_andTheEventIsSkipped() {
    RecordingHandler handler = new RecordingHandler(false);
    DeliveryHarness h = start(handler, BUDGET, Behavior.ACK);
    StreamId s = StreamId.of(NS, "skip");
    StreamSubscriptionHandle<Object> picky = h.subscribe("picky", s, rejects(3));
    h.subscribe("all", s);
    h.produce(s, ints(0, 10));
    retry(ATTEMPTS - 1, notGivenUp(h, "picky", s));
    h.awaitCount("all", s, 10).awaitCount("picky", s, 9).awaitErrors("picky", s, 1);
    StreamSequenceToken poison = h.tokens("all", s).get(3);

    assertThat(h.attempts("picky", s, poison))
        .as("attempts at the poison event")
        .isGreaterThanOrEqualTo(2)
        .isEqualTo(ATTEMPTS);
    List<Throwable> errors = h.errors("picky", s);
    assertThat(errors).hasSize(1);
    assertThat(errors.get(0)).isInstanceOf(StreamEventDeliveryFailureException.class);
    StreamEventDeliveryFailureException e = (StreamEventDeliveryFailureException) errors.get(0);
    assertThat(e.token()).isEqualTo(poison);
    assertThat(e.subscriptionId()).isEqualTo(picky.subscriptionId());
    assertThat(e.streamId()).isEqualTo(s);
    assertThat(e)
        .hasMessageContaining("maxEventDeliveryTime")
        .hasMessageContaining(s.toString())
        .hasRootCauseInstanceOf(IllegalStateException.class)
        .rootCause()
        .hasMessageStartingWith("test observer rejects 3 of " + s);

    h.awaitThat("the failure handler is called", () -> handler.failures.size() == 1);
    DeliveryFailure f = handler.failures.get(0);
    assertThat(f.subscriptionId()).isEqualTo(picky.subscriptionId());
    assertThat(f.streamId()).isEqualTo(s);
    assertThat(f.token()).isEqualTo(poison);
    assertThat(f.implicit()).isFalse();
    assertThat(f.providerName()).isEqualTo(MEM);
    assertThat(f.queueId()).isEqualTo(queueOf(s));
    assertThat(f.batch().streamId()).as("the failed event's batch").isEqualTo(s);
    List<Object> batchEvents = new ArrayList<>();
    for (int i = 0; i < f.batch().eventCount(); i++) {
      batchEvents.add(f.batch().event(i));
    }
    assertThat(batchEvents).as("the events of the failed event's batch").contains(3);

    h.produce(s, ints(10, 15));
    h.awaitCount("picky", s, 14).awaitCount("all", s, 15);
    List<Object> expected = ints(0, 15);
    expected.remove(Integer.valueOf(3));
    h.assertExactly("picky", s, expected).assertInOrderNoDuplicates();
    assertThat(h.errors("picky", s)).as("onError calls").hasSize(1);
    assertThat(handler.failures).as("failure handler calls").hasSize(1);
    assertThat(h.counter("tributary.delivery.failures", "provider", MEM)).isEqualTo(1.0);
    assertThat(h.counter("tributary.delivery.retries", "provider", MEM))
        .isGreaterThanOrEqualTo(1.0)
        .isEqualTo(ATTEMPTS - 1.0);
  }

  @Test
  void asynchronouslyFailingConsumer_isRetriedAndSkippedLikeAThrowingOne() {
    RecordingHandler handler = new RecordingHandler(false);
    DeliveryHarness h = start(handler, BUDGET, Behavior.ACK);
    StreamId s = StreamId.of(NS, "async-fail");
    Behavior failsLater =
        (id, item, token, attempt) ->
            Integer.valueOf(2).equals(item)
                ? CompletableFuture.runAsync(
                    () -> {
                      throw new IllegalStateException("async rejection of " + item);
                    })
                : CompletableFuture.completedFuture(null);
    h.subscribe("picky", s, failsLater);
    h.produce(s, ints(0, 6));
    retry(ATTEMPTS - 1, notGivenUp(h, "picky", s));
    h.awaitCount("picky", s, 5).awaitErrors("picky", s, 1);
    assertThat(h.items("picky", s)).containsExactly(0, 1, 3, 4, 5);
    assertThat(h.errors("picky", s).get(0))
        .isInstanceOf(StreamEventDeliveryFailureException.class)
        .hasRootCauseMessage("async rejection of 2");
    assertThat(h.attempts("picky", s)).isGreaterThanOrEqualTo(7).isEqualTo(5 + ATTEMPTS);
    h.awaitThat("the failure handler is called", () -> handler.failures.size() == 1);
  }

  @Test
  void consumerThatRecovers_isRetriedUntilItSucceeds_andNothingIsReported() {
    RecordingHandler handler = new RecordingHandler(true);
    DeliveryHarness h = start(handler, Duration.ofMinutes(1), Behavior.ACK);
    StreamId s = StreamId.of(NS, "recovers");
    h.subscribe("flaky", s, Behavior.failFirstAttempts(2));
    h.produce(s, ints(0, 10));
    retry(20, () -> assertThat(h.errors("flaky", s)).isEmpty());
    h.awaitCount("flaky", s, 10);
    h.assertExactly("flaky", s, ints(0, 10)).assertInOrderNoDuplicates().assertNoErrors();
    for (StreamSequenceToken t : h.tokens("flaky", s)) {
      assertThat(h.attempts("flaky", s, t)).as("attempts at %s", t).isEqualTo(3);
    }
    assertThat(handler.failures).isEmpty();
    assertThat(h.counter("tributary.delivery.retries", "provider", MEM)).isEqualTo(20.0);
  }

  @Test
  void faultSubscription_faultsTheExplicitSubscription_whichReceivesNothingMore() {
    RecordingHandler handler = new RecordingHandler(true);
    DeliveryHarness h = start(handler, BUDGET, Behavior.ACK);
    StreamId s = StreamId.of(NS, "fault");
    StreamSubscriptionHandle<Object> picky = h.subscribe("picky", s, rejects(3));
    StreamSubscriptionHandle<Object> control = h.subscribe("control", s);
    h.produce(s, ints(0, 10));
    retry(ATTEMPTS - 1, notGivenUp(h, "picky", s));
    h.awaitCount("control", s, 10).awaitErrors("picky", s, 2);
    StreamSequenceToken poison = h.tokens("control", s).get(3);

    List<Throwable> errors = h.errors("picky", s);
    assertThat(errors).hasSize(2);
    assertThat(errors.get(0)).isInstanceOf(StreamEventDeliveryFailureException.class);
    assertThat(((StreamEventDeliveryFailureException) errors.get(0)).token()).isEqualTo(poison);
    assertThat(errors.get(1)).isInstanceOf(FaultedSubscriptionException.class);
    FaultedSubscriptionException faulted = (FaultedSubscriptionException) errors.get(1);
    assertThat(faulted.subscriptionId()).isEqualTo(picky.subscriptionId());
    assertThat(faulted.streamId()).isEqualTo(s);
    assertThat(faulted).hasCauseInstanceOf(StreamEventDeliveryFailureException.class);
    assertThat(h.attempts("picky", s, poison)).isGreaterThanOrEqualTo(2).isEqualTo(ATTEMPTS);

    h.produce(s, ints(10, 15));
    h.awaitCount("control", s, 15);
    h.assertExactly("picky", s, ints(0, 3)).assertExactly("control", s, ints(0, 15));
    assertThat(h.errors("picky", s)).hasSize(2);
    assertThat(h.attempts("picky", s))
        .as("nothing offered after the fault")
        .isEqualTo(h.attempts("picky", s, poison) + 3);

    assertThatThrownBy(() -> h.resume(picky, "picky", Behavior.ACK))
        .isInstanceOf(FaultedSubscriptionException.class);
    assertThat(h.join(h.stream(s).subscriptions(), "list"))
        .extracting(StreamSubscriptionHandle::subscriptionId)
        .containsExactly(control.subscriptionId());
    h.awaitThat("the failure handler is called", () -> handler.failures.size() == 1);
    assertThat(h.counter("tributary.subscriptions.faulted", "provider", MEM)).isEqualTo(1.0);
    // The failed batch was given up after the failure handler had it: acknowledged like the rest.
    h.awaitThat("every batch acknowledged", () -> memory.acknowledgedCount() == 15);
  }

  @Test
  void faultSubscription_neverFaultsAnImplicitSubscription() {
    RecordingHandler handler = new RecordingHandler(true);
    DeliveryHarness h = start(handler, BUDGET, rejects(3));
    StreamId s = StreamId.of(IMPLICIT_NS, "actor-1");
    h.produce(s, ints(0, 10));
    retry(ATTEMPTS - 1, notGivenUp(h, DeliveryHarness.IMPLICIT, s));
    h.awaitCount(DeliveryHarness.IMPLICIT, s, 9).awaitErrors(DeliveryHarness.IMPLICIT, s, 1);
    h.produce(s, ints(10, 13));
    h.awaitCount(DeliveryHarness.IMPLICIT, s, 12);
    List<Object> expected = ints(0, 13);
    expected.remove(Integer.valueOf(3));
    h.assertExactly(DeliveryHarness.IMPLICIT, s, expected).assertInOrderNoDuplicates();
    List<Throwable> errors = h.errors(DeliveryHarness.IMPLICIT, s);
    assertThat(errors).hasSize(1);
    assertThat(errors.get(0)).isInstanceOf(StreamEventDeliveryFailureException.class);
    h.awaitThat("the failure handler is called", () -> handler.failures.size() == 1);
    assertThat(handler.failures.get(0).implicit()).isTrue();
    assertThat(h.activations(DeliveryHarness.IMPLICIT, s)).isOne();
    assertThat(h.counter("tributary.subscriptions.faulted", "provider", MEM)).isZero();
  }

  @Test
  void observerWhoseOnErrorThrows_doesNotStopTheAgent() {
    RecordingHandler handler = new RecordingHandler(false);
    DeliveryHarness h = start(handler, BUDGET.dividedBy(2), Behavior.ACK);
    StreamId s = StreamId.of(NS, "bad-onerror");
    List<Object> got = new CopyOnWriteArrayList<>();
    dev.tributary.StreamObserver<Object> rude =
        new dev.tributary.StreamObserver<>() {
          @Override
          public CompletionStage<Void> onNext(Object item, StreamSequenceToken token) {
            if (Integer.valueOf(1).equals(item)) {
              throw new IllegalStateException("reject 1");
            }
            got.add(item);
            return CompletableFuture.completedFuture(null);
          }

          @Override
          public void onError(Throwable error) {
            throw new IllegalStateException("onError itself fails");
          }
        };
    h.join(h.stream(s).subscribe(rude), "subscribe");
    h.subscribe("witness", s);
    h.produce(s, ints(0, 5));
    retry(2, () -> assertThat(got).containsExactly(0)); // at 0, 50 and 100 ms, then given up
    h.awaitCount("witness", s, 5);
    h.awaitThat("the rude observer gets the rest", () -> got.size() == 4);
    assertThat(got).containsExactly(0, 2, 3, 4);
  }
}
