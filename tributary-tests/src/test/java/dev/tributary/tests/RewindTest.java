package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.AsyncStream;
import dev.tributary.EventSequenceToken;
import dev.tributary.QueueCacheMissException;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.memory.GeneratorAdapterFactory;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.DeliveryFailure;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamFailureHandler;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.Gate;
import dev.tributary.testkit.ManualTime;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Subscribing from a token: inside the cache it replays from the token inclusive; from an evicted
 * token the observer learns of the miss and live delivery goes on; on a provider that cannot rewind
 * a token is refused at once. After Orleans' QueueCacheMissTests.
 */
class RewindTest extends MemoryRuntimeTest {

  @Test
  void subscribeFromACachedToken_replaysFromItInclusive_thenGoesLive() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "replay");
    Gate anchor = h.gate();
    h.subscribe("anchor", s, anchor); // holds the first event, so the cache keeps the rest
    h.subscribe("live", s);
    h.produce(s, ints(0, 20));
    h.awaitCount("live", s, 20);
    anchor.awaitHeld(1, h.timeout());
    StreamSequenceToken seventh = h.tokens("live", s).get(7);
    h.subscribe("replay", s, seventh);
    h.awaitCount("replay", s, 13).assertExactly("replay", s, ints(7, 20));
    h.produce(s, ints(20, 25));
    h.awaitCount("replay", s, 18).awaitCount("live", s, 25);
    h.assertExactly("replay", s, ints(7, 25)).assertExactly("live", s, ints(0, 25));
    anchor.open();
    h.awaitCount("anchor", s, 25).assertInOrderNoDuplicates().assertNoErrors();
  }

  @Test
  void subscribeFromAnEvictedToken_reportsQueueCacheMiss_andDeliversLiveEvents() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "evicted");
    h.subscribe("live", s);
    h.produce(s, ints(0, 10));
    h.awaitCount("live", s, 10);
    h.awaitThat("the 10 events are evicted (acknowledged)", () -> memory.acknowledgedCount() == 10);
    StreamSequenceToken third = h.tokens("live", s).get(3);
    h.subscribe("late", s, third);
    List<Throwable> errors = h.errors("late", s);
    assertThat(errors).hasSize(1);
    assertThat(errors.get(0))
        .isInstanceOf(QueueCacheMissException.class)
        .hasMessageContaining(s.toString())
        .hasMessageContaining("cacheSize");
    assertThat(((QueueCacheMissException) errors.get(0)).requested()).isEqualTo(third);
    h.produce(s, ints(10, 15));
    h.awaitCount("late", s, 5).awaitCount("live", s, 15);
    h.assertExactly("late", s, ints(10, 15)).assertInOrderNoDuplicates();
    assertThat(h.errors("late", s)).hasSize(1);
    assertThat(h.counter("tributary.cache.misses", "provider", MEM)).isEqualTo(1.0);
  }

  @Test
  void subscribeFromAnEvictedToken_tellsTheFailureHandlerOnce() {
    List<DeliveryFailure> failures = new CopyOnWriteArrayList<>();
    StreamFailureHandler handler =
        new StreamFailureHandler() {
          @Override
          public boolean shouldFaultSubscriptionOnError() {
            return false;
          }

          @Override
          public CompletionStage<Void> onSubscriptionFailure(DeliveryFailure failure) {
            failures.add(failure);
            return CompletableFuture.completedFuture(null);
          }
        };
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(1).failureHandler(handler).build(),
            o -> {},
            (x, b) -> {});
    StreamId s = StreamId.of("orders", "evicted-handler");
    h.subscribe("live", s);
    h.produce(s, ints(0, 10));
    h.awaitCount("live", s, 10);
    h.awaitThat("the 10 events are evicted (acknowledged)", () -> memory.acknowledgedCount() == 10);
    StreamSequenceToken third = h.tokens("live", s).get(3);

    StreamSubscriptionHandle<Integer> late = h.subscribe("late", s, third);

    assertThat(failures).hasSize(1);
    DeliveryFailure failure = failures.get(0);
    assertThat(failure.subscriptionId()).isEqualTo(late.subscriptionId());
    assertThat(failure.streamId()).isEqualTo(s);
    assertThat(failure.token()).isEqualTo(third);
    assertThat(failure.cause()).isInstanceOf(QueueCacheMissException.class);
    h.produce(s, ints(10, 12));
    h.awaitCount("late", s, 2).assertExactly("late", s, ints(10, 12));
    assertThat(failures).hasSize(1);
  }

  @Test
  void subscribeFromAFutureToken_waitsForIt() {
    DeliveryHarness h =
        start(MemoryQueueAdapterFactory.builder().queueCount(1).build(), o -> {}, (x, b) -> {});
    StreamId s = StreamId.of("orders", "future");
    h.subscribe("live", s);
    h.produce(s, ints(0, 3));
    h.awaitCount("live", s, 3);
    long last = h.tokens("live", s).get(2).sequenceNumber();
    h.subscribe("future", s, new EventSequenceToken(last + 3));
    h.produce(s, ints(3, 8)); // sequence numbers last+1 .. last+5 on the only queue
    h.awaitCount("live", s, 8).awaitCount("future", s, 3);
    h.assertExactly("future", s, ints(5, 8)).assertInOrderNoDuplicates().assertNoErrors();
  }

  @Test
  void tokenOnANonRewindableProvider_isRejectedAtOnce() {
    DeliveryHarness h = invariants.newHarness();
    h.start(
        h.runtimeBuilder()
            .addProvider(
                "gen", GeneratorAdapterFactory.builder().streamCount(2).eventsPerStream(5).build())
            .implicitSubscription("gen", "generated", h.observerFactory()));
    StreamId s = StreamId.of("generated", "0");
    h.awaitCount(DeliveryHarness.IMPLICIT, 10);
    AsyncStream<Object> stream = h.stream(s);
    assertThat(stream.isRewindable()).isFalse();
    assertThatThrownBy(() -> stream.subscribe(h.recorder("x", s), new EventSequenceToken(0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not rewindable")
        .hasMessageContaining("gen");
    StreamSubscriptionHandle<Object> handle = h.subscribe("y", s);
    assertThatThrownBy(() -> handle.resume(h.recorder("y", s), new EventSequenceToken(0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not rewindable");
  }

  @Test
  void subscribeFromATokenInsideABatch_startsAtThatEvent() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "mid-batch");
    Gate anchor = h.gate();
    h.subscribe("anchor", s, anchor);
    h.subscribe("live", s);
    h.produceBatch(s, strings("b", 0, 5));
    h.awaitCount("live", s, 5);
    StreamSequenceToken third = h.tokens("live", s).get(2);
    assertThat(third.eventIndex()).isEqualTo(2);
    h.subscribe("from-third", s, third);
    h.awaitCount("from-third", s, 3).assertExactly("from-third", s, strings("b", 2, 5));
    assertThat(h.tokens("from-third", s)).isEqualTo(h.tokens("live", s).subList(2, 5));
    anchor.open();
  }

  /**
   * A rewinding subscribe whose stream is new to the agent, while the agent is busy: the stream's
   * next batch is read before the subscription's attach task runs. The subscription must still
   * start at its token, not at that batch.
   */
  @Test
  void subscribeFromAToken_whileTheAgentIsBusy_stillStartsAtTheToken() throws Exception {
    DeliveryHarness h =
        start(MemoryQueueAdapterFactory.builder().queueCount(1).build(), o -> {}, (x, b) -> {});
    StreamId anchorStream = StreamId.of("orders", "anchor");
    StreamId blocker = StreamId.of("orders", "blocker");
    StreamId s = StreamId.of("orders", "rewound");
    Gate anchor = h.gate();
    h.subscribe("anchor", anchorStream, anchor);
    h.produce(anchorStream, "x0"); // sequence 0, held: everything after it stays cached
    anchor.awaitHeld(1, h.timeout());
    h.produce(s, strings("s", 0, 5)); // sequences 1..5; nobody subscribes to s yet
    h.awaitThat("s0..s4 read", () -> memory.unreadCount(queueOf(s)) == 0);

    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    StreamObserver<Object> blocking =
        (item, token) -> {
          entered.countDown();
          try {
            release.await(10, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          return CompletableFuture.completedFuture(null);
        };
    h.join(h.stream(blocker).subscribe(blocking), "subscribe the blocker");
    h.produce(blocker, "y0"); // the agent's thread now waits in the blocking observer
    assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
    h.produce(s, "s5"); // sequence 7
    AsyncStream<Object> stream = h.stream(s);
    CompletionStage<StreamSubscriptionHandle<Object>> subscribed =
        stream.subscribe(h.recorder("rewind", s), new EventSequenceToken(2)); // s1
    release.countDown();
    h.join(subscribed, "subscribe from s1");
    h.awaitCount("rewind", s, 5);
    h.assertExactly("rewind", s, strings("s", 1, 6)).assertInOrderNoDuplicates();
    anchor.open();
  }

  /**
   * Resuming from a token after the agent dropped the idle stream (streamInactivityPeriod) must
   * still restart delivery at the token. On manual time: the stream goes idle only when the test
   * moves the time past the period.
   */
  @Test
  void resumeFromAToken_afterTheAgentDroppedTheIdleStream_restartsAtTheToken() {
    ManualTime time = new ManualTime();
    Duration inactivity = Duration.ofMinutes(1);
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(1).build(),
            o ->
                o.streamInactivityPeriod(inactivity)
                    .getQueueMessagesTimerPeriod(Duration.ofSeconds(1)),
            (x, b) -> b.time(time));
    StreamId anchorStream = StreamId.of("orders", "busy-anchor");
    StreamId s = StreamId.of("orders", "idle");
    QueueId q = queueOf(s);
    Gate anchor = h.gate();
    h.subscribe("anchor", anchorStream, anchor);
    h.produce(anchorStream, "x0"); // held, so never idle, and it keeps later batches cached
    anchor.awaitHeld(1, h.timeout());
    StreamSubscriptionHandle<Object> handle = h.subscribe("sub", s);
    h.produce(s, ints(0, 10));
    h.awaitCount("sub", s, 10);
    assertThat(h.gaugeMax("tributary.subscriptions.active", "provider", MEM, "queue", q.toString()))
        .as("both streams tracked while the clock stands still")
        .isEqualTo(2.0);
    // The agent's pumps read the clock on the agent's thread, so a pump can run while advance is
    // still on its way and see an earlier instant; with the clock then standing still no later pump
    // would come. One more read tick per poll lets a pass see the stream idle for the period.
    time.advance(inactivity);
    h.awaitThat(
        "the idle stream is dropped by the agent",
        () -> {
          time.advance(Duration.ofSeconds(1));
          return h.gaugeMax(
                  "tributary.subscriptions.active", "provider", MEM, "queue", q.toString())
              == 1.0;
        });
    StreamSequenceToken fourth = h.tokens("sub", s).get(3);
    h.join(handle.resume(h.recorder("again", s), fourth), "resume from a token");
    h.awaitCount("again", s, 7).assertExactly("again", s, ints(3, 10));
    anchor.open();
  }

  @Test
  void rejectedResume_leavesTheHandleUsable() {
    DeliveryHarness h = invariants.newHarness();
    h.start(
        h.runtimeBuilder()
            .addProvider("gen", GeneratorAdapterFactory.builder().streamCount(1).build()));
    StreamId s = StreamId.of("generated", "0");
    StreamSubscriptionHandle<Object> handle = h.subscribe("y", s);
    assertThatThrownBy(() -> handle.resume(h.recorder("y", s), new EventSequenceToken(0)))
        .isInstanceOf(IllegalArgumentException.class);
    h.unsubscribe(handle); // a refused call must not use the handle up
  }
}
