package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.StreamId;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Implicit subscriptions: every stream of a namespace gets one observer, created by the factory on
 * the stream's first event (the actor activation hook), once per stream key. After Orleans'
 * ImplicitSubscriptionTests.
 */
class ImplicitSubscriptionTest extends MemoryRuntimeTest {

  @Test
  void everyStreamKey_isActivatedOnce_andReceivesItsEventsInOrder() {
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(4).build(),
            o -> {},
            (x, b) -> b.implicitSubscription(MEM, "actors", x.observerFactory()));
    List<StreamId> keys = new ArrayList<>();
    for (int k = 0; k < 25; k++) {
      keys.add(StreamId.of("actors", "actor-" + k));
    }
    for (int i = 0; i < 20; i++) {
      for (StreamId s : keys) {
        h.produce(s, i);
      }
    }
    h.awaitCount(DeliveryHarness.IMPLICIT, 500);
    for (StreamId s : keys) {
      h.assertExactly(DeliveryHarness.IMPLICIT, s, ints(0, 20));
    }
    Map<StreamId, Integer> activations = h.activations(DeliveryHarness.IMPLICIT);
    assertThat(activations).hasSize(25).allSatisfy((id, n) -> assertThat(n).as("%s", id).isOne());
    h.assertInOrderNoDuplicates().assertNoErrors();
  }

  @Test
  void twoNamespaces_activateTheirOwnObserverPerKey_andNeverSeeEachOther() {
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(3).build(),
            o -> {},
            (x, b) ->
                b.implicitSubscription(MEM, "cats", x.observerFactory("cats"))
                    .implicitSubscription(MEM, "dogs", x.observerFactory("dogs")));
    for (int i = 0; i < 10; i++) {
      for (int k = 0; k < 5; k++) {
        h.produce(StreamId.of("cats", "k" + k), "cat" + k + ":" + i);
        h.produce(StreamId.of("dogs", "k" + k), "dog" + k + ":" + i);
      }
    }
    h.awaitCount("cats", 50).awaitCount("dogs", 50);
    for (int k = 0; k < 5; k++) {
      StreamId cat = StreamId.of("cats", "k" + k);
      StreamId dog = StreamId.of("dogs", "k" + k);
      h.assertExactly("cats", cat, strings("cat" + k + ":", 0, 10));
      h.assertExactly("dogs", dog, strings("dog" + k + ":", 0, 10));
      assertThat(h.activations("cats", cat)).isOne();
      assertThat(h.activations("dogs", dog)).isOne();
    }
    assertThat(h.streams("cats")).allMatch(id -> id.namespace().equals("cats"));
    assertThat(h.streams("dogs")).allMatch(id -> id.namespace().equals("dogs"));
    h.assertInOrderNoDuplicates().assertNoErrors();
  }

  @Test
  void namespaceWithoutImplicitSubscription_activatesNothing_andIsStillAcknowledged() {
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(2).build(),
            o -> {},
            (x, b) -> b.implicitSubscription(MEM, "actors", x.observerFactory()));
    h.produce(StreamId.of("unwatched", "k"), ints(0, 10));
    h.produce(StreamId.of("actors", "k"), ints(0, 10));
    h.awaitCount(DeliveryHarness.IMPLICIT, StreamId.of("actors", "k"), 10);
    h.awaitThat("all 20 batches acknowledged", () -> memory.acknowledgedCount() == 20);
    assertThat(h.activations(DeliveryHarness.IMPLICIT))
        .containsOnlyKeys(StreamId.of("actors", "k"));
  }

  /**
   * A stream that already has an explicit subscription when its first event arrives must still
   * activate its implicit subscription.
   */
  @Test
  void explicitSubscriptionFirst_implicitSubscriptionStillActivates() {
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(2).build(),
            o -> {},
            (x, b) -> b.implicitSubscription(MEM, "actors", x.observerFactory()));
    StreamId s = StreamId.of("actors", "watched");
    h.subscribe("explicit", s);
    h.produce(s, ints(0, 10));
    h.awaitCount("explicit", s, 10).awaitCount(DeliveryHarness.IMPLICIT, s, 10);
    h.assertExactly(s, ints(0, 10));
    assertThat(h.activations(DeliveryHarness.IMPLICIT, s)).isOne();
  }

  @Test
  void implicitBatchSubscription_receivesEveryEventInOrderInBatches() {
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(2).build(),
            o -> o.batchContainerBatchSize(8),
            (x, b) ->
                b.implicitBatchSubscription(
                    MEM, "actors", x.batchObserverFactory("batched", Behavior.ACK)));
    List<StreamId> keys = List.of(StreamId.of("actors", "a"), StreamId.of("actors", "b"));
    for (int i = 0; i < 100; i++) {
      for (StreamId s : keys) {
        h.produce(s, i);
      }
    }
    for (StreamId s : keys) {
      h.awaitCount("batched", s, 100).assertExactly("batched", s, ints(0, 100));
      assertThat(h.activations("batched", s)).isOne();
    }
    h.assertInOrderNoDuplicates();
  }
}
