package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.AsyncStream;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.Gate;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Subscription handles: several subscriptions per consumer, unsubscribe, resume (same id, nothing
 * lost or repeated, also while events flow), one-use handles, and listing a stream's subscriptions.
 * After Orleans' SubscriptionMultiplicity and resume tests.
 */
class SubscriptionLifecycleTest extends MemoryRuntimeTest {

  @Test
  void oneObserverSubscribedTwice_receivesEveryEventOncePerSubscription() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "twice");
    Map<StreamSequenceToken, AtomicInteger> seen = new ConcurrentHashMap<>();
    List<Object> items = new CopyOnWriteArrayList<>();
    StreamObserver<Object> consumer =
        (item, token) -> {
          seen.computeIfAbsent(token, t -> new AtomicInteger()).incrementAndGet();
          items.add(item);
          return CompletableFuture.completedFuture(null);
        };
    AsyncStream<Object> stream = h.stream(s);
    StreamSubscriptionHandle<Object> first = h.join(stream.subscribe(consumer), "subscribe 1");
    StreamSubscriptionHandle<Object> second = h.join(stream.subscribe(consumer), "subscribe 2");
    assertThat(first.subscriptionId()).isNotEqualTo(second.subscriptionId());
    h.produce(s, ints(0, 50));
    h.awaitThat("100 deliveries", () -> items.size() == 100);
    assertThat(seen).hasSize(50);
    assertThat(seen.values()).allMatch(n -> n.get() == 2);
    assertThat(items.stream().distinct().toList()).containsExactlyInAnyOrderElementsOf(ints(0, 50));
  }

  @Test
  void twoSubscriptionsOfOneConsumer_eachGetEveryEventInOrder() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "two");
    h.subscribe("first", s);
    h.subscribe("second", s);
    h.produce(s, ints(0, 100));
    h.awaitCount("first", s, 100).awaitCount("second", s, 100);
    h.assertExactly(s, ints(0, 100)).assertInOrderNoDuplicates();
    assertThat(h.join(h.stream(s).subscriptions(), "list")).hasSize(2);
  }

  @Test
  void unsubscribe_stopsDelivery_whileOtherSubscriptionsGoOn() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "unsub");
    StreamSubscriptionHandle<Object> leaving = h.subscribe("leaving", s);
    h.subscribe("staying", s);
    h.produce(s, ints(0, 10));
    h.awaitCount("leaving", s, 10).awaitCount("staying", s, 10);
    h.unsubscribe(leaving);
    h.produce(s, ints(10, 30));
    h.awaitCount("staying", s, 30);
    h.assertExactly("leaving", s, ints(0, 10))
        .assertExactly("staying", s, ints(0, 30))
        .assertInOrderNoDuplicates();
    assertThat(h.join(h.stream(s).subscriptions(), "list")).hasSize(1);
  }

  @Test
  void unsubscribe_whileADeliveryIsInFlight_deliversNothingMore() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "unsub-inflight");
    Gate gate = h.gate();
    StreamSubscriptionHandle<Object> leaving = h.subscribe("leaving", s, gate);
    h.subscribe("staying", s);
    h.produce(s, ints(0, 10));
    gate.awaitHeld(1, h.timeout());
    h.unsubscribe(leaving);
    gate.open();
    h.produce(s, ints(10, 20));
    h.awaitCount("staying", s, 20);
    assertThat(h.items("leaving", s)).as("at most the event in flight").isSubsetOf(List.of(0));
    assertThat(gate.entered()).as("deliveries offered after unsubscribe").isEqualTo(1);
    h.awaitThat("everything acknowledged", () -> memory.acknowledgedCount() == 20);
  }

  @Test
  void resume_whileADeliveryIsInFlight_keepsTheIdAndLosesOrRepeatsNothing() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "resume");
    Gate gate = h.gate();
    StreamSubscriptionHandle<Object> before = h.subscribe("sub", s, gate);
    h.produce(s, ints(0, 10));
    gate.awaitHeld(1, h.timeout());
    StreamSubscriptionHandle<Object> after = h.resume(before, "sub", Behavior.ACK);
    assertThat(after.subscriptionId()).isEqualTo(before.subscriptionId());
    gate.open();
    h.produce(s, ints(10, 20));
    h.awaitCount("sub", s, 20);
    h.assertExactly("sub", s, ints(0, 20)).assertInOrderNoDuplicates();
    assertThat(h.join(h.stream(s).subscriptions(), "list"))
        .extracting(StreamSubscriptionHandle::subscriptionId)
        .containsExactly(before.subscriptionId());
  }

  @Test
  void resume_repeatedlyWhileAProducerRuns_losesOrRepeatsNothing() throws Exception {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "resume-flow");
    StreamSubscriptionHandle<Object> handle = h.subscribe("sub", s);
    UUID id = handle.subscriptionId();
    int total = 3000;
    ExecutorService producer = Executors.newSingleThreadExecutor();
    try {
      Future<?> producing = producer.submit(() -> h.produce(s, ints(0, total)));
      for (int i = 0; i < 20; i++) {
        handle = h.resume(handle, "sub", Behavior.ACK);
        assertThat(handle.subscriptionId()).isEqualTo(id);
      }
      producing.get(30, TimeUnit.SECONDS);
    } finally {
      producer.shutdown();
    }
    h.awaitCount("sub", s, total);
    h.assertExactly("sub", s, ints(0, total)).assertInOrderNoDuplicates();
  }

  /**
   * Resuming a single-event observer with a batch observer in the middle of a multi-event batch
   * must deliver the rest of that batch, not skip to the next one.
   */
  @Test
  void resume_withABatchObserver_inTheMiddleOfABatch_losesNothing() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "resume-batch");
    Gate gate = h.gate();
    Behavior holdSecond =
        (id, item, token, attempt) ->
            "b0-1".equals(item)
                ? gate.onNext(id, item, token, attempt)
                : CompletableFuture.completedFuture(null);
    StreamSubscriptionHandle<Object> before = h.subscribe("sub", s, holdSecond);
    h.produceBatch(s, strings("b0-", 0, 4));
    h.produceBatch(s, strings("b1-", 0, 4));
    gate.awaitHeld(1, h.timeout());
    StreamSubscriptionHandle<Object> after =
        h.join(
            before.resume(h.batchRecorder("sub", s, Behavior.ACK)), "resume with a batch observer");
    assertThat(after.subscriptionId()).isEqualTo(before.subscriptionId());
    gate.open();
    h.produceBatch(s, strings("b2-", 0, 4));
    h.awaitCount("sub", s, 12);
    List<Object> expected = new CopyOnWriteArrayList<>(strings("b0-", 0, 4));
    expected.addAll(strings("b1-", 0, 4));
    expected.addAll(strings("b2-", 0, 4));
    h.assertExactly("sub", s, expected).assertInOrderNoDuplicates();
  }

  @Test
  void resume_withAToken_restartsDeliveryThereInclusive() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "resume-token");
    Gate anchor = h.gate();
    h.subscribe("anchor", s, anchor);
    StreamSubscriptionHandle<Object> before = h.subscribe("sub", s);
    h.produce(s, ints(0, 10));
    h.awaitCount("sub", s, 10);
    anchor.awaitHeld(1, h.timeout());
    StreamSequenceToken fourth = h.tokens("sub", s).get(4);
    StreamSubscriptionHandle<Object> after =
        h.join(before.resume(h.recorder("sub-again", s), fourth), "resume from a token");
    assertThat(after.subscriptionId()).isEqualTo(before.subscriptionId());
    h.awaitCount("sub-again", s, 6).assertExactly("sub-again", s, ints(4, 10));
    h.produce(s, ints(10, 15));
    h.awaitCount("sub-again", s, 11).assertExactly("sub-again", s, ints(4, 15));
    h.assertExactly("sub", s, ints(0, 10));
    anchor.open();
    h.awaitCount("anchor", s, 15).assertInOrderNoDuplicates();
  }

  @Test
  void usedHandles_areRejectedWithIllegalStateException() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "handles");
    StreamSubscriptionHandle<Object> first = h.subscribe("sub", s);
    StreamSubscriptionHandle<Object> resumed = h.resume(first, "sub", Behavior.ACK);
    assertThatThrownBy(() -> first.resume(h.recorder("sub", s)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already used")
        .hasMessageContaining(first.subscriptionId().toString());
    assertThatThrownBy(first::unsubscribe).isInstanceOf(IllegalStateException.class);
    h.unsubscribe(resumed);
    assertThatThrownBy(resumed::unsubscribe)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already used");
    assertThatThrownBy(() -> resumed.resume(h.recorder("sub", s)))
        .isInstanceOf(IllegalStateException.class);
    h.produce(s, ints(0, 5));
    h.subscribe("witness", s);
    h.produce(s, ints(5, 10));
    h.awaitCount("witness", s, 5);
    assertThat(h.count("sub", s)).as("an unsubscribed subscription receives nothing").isZero();
  }

  @Test
  void subscriptions_listsFreshHandles_thatCanResumeAndUnsubscribe() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "listed");
    StreamSubscriptionHandle<Object> a = h.subscribe("a", s);
    StreamSubscriptionHandle<Object> b = h.subscribe("b", s);
    List<StreamSubscriptionHandle<Object>> listed = h.join(h.stream(s).subscriptions(), "list");
    assertThat(listed)
        .extracting(StreamSubscriptionHandle::subscriptionId)
        .containsExactlyInAnyOrder(a.subscriptionId(), b.subscriptionId());
    StreamSubscriptionHandle<Object> freshA =
        listed.stream()
            .filter(x -> x.subscriptionId().equals(a.subscriptionId()))
            .findFirst()
            .orElseThrow();
    StreamSubscriptionHandle<Object> freshB =
        listed.stream()
            .filter(x -> x.subscriptionId().equals(b.subscriptionId()))
            .findFirst()
            .orElseThrow();
    h.resume(freshA, "a", Behavior.ACK);
    h.unsubscribe(freshB);
    h.produce(s, ints(0, 10));
    h.awaitCount("a", s, 10);
    h.assertExactly("a", s, ints(0, 10));
    assertThat(h.count("b", s)).isZero();
  }
}
