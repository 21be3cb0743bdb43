package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.FaultedSubscriptionException;
import dev.tributary.StreamId;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.SubscriberAddress;
import dev.tributary.SubscriberGoneException;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.DeliveryFailure;
import dev.tributary.spi.InMemoryPubSubStore;
import dev.tributary.spi.PubSubStore;
import dev.tributary.spi.StreamFailureHandler;
import dev.tributary.spi.SubscriberResolver;
import dev.tributary.spi.SubscriptionRecord;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Cluster-wide subscriptions on one node: the handshake through the shared store (write, attach,
 * confirm), resume at a new address, unsubscribe, and the faults of subscribers that cannot be
 * reached. The cross-node cases run against Kafka in tributary-kafka and tributary-pekko; the
 * mechanism is the same on every node, this one included.
 */
class ClusterSubscriptionTest extends MemoryRuntimeTest {

  /** Addresses "rec:<name>" resolve to the harness's recorders of that name. */
  final class Resolver implements SubscriberResolver {
    final Map<String, Object> observers = new ConcurrentHashMap<>();
    final AtomicInteger calls = new AtomicInteger();

    SubscriberAddress add(DeliveryHarness h, String name, StreamId id, Behavior behavior) {
      observers.put("rec:" + name, h.recorder(name, id, behavior));
      return SubscriberAddress.of("rec:" + name);
    }

    @Override
    public Object resolve(SubscriberAddress address, SubscriptionRecord record) {
      calls.incrementAndGet();
      Object o = observers.get(address.value());
      if (o == null) {
        throw new SubscriberGoneException("no subscriber at " + address);
      }
      return o;
    }
  }

  final Resolver resolver = new Resolver();
  final InMemoryPubSubStore store = new InMemoryPubSubStore();
  final List<DeliveryFailure> subscriptionFailures = new CopyOnWriteArrayList<>();

  DeliveryHarness startCluster(StreamFailureHandler handler) {
    return start(
        MemoryQueueAdapterFactory.builder().queueCount(2).failureHandler(handler).build(),
        o ->
            o.deliveryBackoff(BackoffPolicy.fixed(Duration.ofMillis(1)))
                .maxEventDeliveryTime(Duration.ofMillis(20))
                .subscribeTimeout(Duration.ofSeconds(2)),
        (x, b) -> b.pubSubStore(store).subscriberResolver(resolver));
  }

  DeliveryHarness startCluster() {
    return startCluster(recordingHandler(false));
  }

  StreamFailureHandler recordingHandler(boolean fault) {
    return new StreamFailureHandler() {
      @Override
      public boolean shouldFaultSubscriptionOnError() {
        return fault;
      }

      @Override
      public CompletionStage<Void> onSubscriptionFailure(DeliveryFailure failure) {
        subscriptionFailures.add(failure);
        return CompletableFuture.completedFuture(null);
      }
    };
  }

  @Test
  void anAddressedSubscriptionReceivesEveryEventAfterSubscribe_inOrder_once() {
    DeliveryHarness h = startCluster();
    StreamId s = StreamId.of("orders", "c-1");
    h.subscribe("witness", s);
    h.produce(s, "before");
    h.awaitCount("witness", s, 1);
    SubscriberAddress a = resolver.add(h, "remote", s, Behavior.ACK);
    StreamSubscriptionHandle<Object> handle =
        h.join(h.<Object>stream(s).subscribe(a), "subscribe " + a);
    assertThat(handle.subscriber()).contains(a);
    h.produce(s, strings("e", 0, 50));
    h.awaitCount("remote", s, 50);
    h.assertExactly("remote", s, strings("e", 0, 50));

    // The store holds it as cluster-wide, confirmed, and a listing offers it for resume.
    SubscriptionRecord r =
        store.subscriptions(MEM, s).toCompletableFuture().join().stream()
            .filter(SubscriptionRecord::addressed)
            .findFirst()
            .orElseThrow();
    assertThat(r.subscriber()).isEqualTo(a);
    assertThat(r.revision()).isNotNull();
    List<StreamSubscriptionHandle<Object>> listed =
        h.join(h.<Object>stream(s).subscriptions(), "list");
    assertThat(listed)
        .hasSize(2)
        .filteredOn(l -> l.subscriber().isPresent())
        .singleElement()
        .satisfies(l -> assertThat(l.subscriber()).contains(a));
  }

  @Test
  void resumeAtANewAddress_movesDelivery_withoutLossOrDuplicate() {
    DeliveryHarness h = startCluster();
    StreamId s = StreamId.of("orders", "c-2");
    SubscriberAddress first = resolver.add(h, "first", s, Behavior.ACK);
    StreamSubscriptionHandle<Object> handle = h.join(h.<Object>stream(s).subscribe(first), "sub");
    h.produce(s, strings("a", 0, 20));
    h.awaitCount("first", s, 20);

    SubscriberAddress second = resolver.add(h, "second", s, Behavior.ACK);
    List<StreamSubscriptionHandle<Object>> listed =
        h.join(h.<Object>stream(s).subscriptions(), "list");
    StreamSubscriptionHandle<Object> resumed =
        h.join(listed.get(0).resume(second), "resume at " + second);
    assertThat(resumed.subscriptionId()).isEqualTo(handle.subscriptionId());
    assertThat(resumed.subscriber()).contains(second);
    h.produce(s, strings("b", 0, 20));
    h.awaitCount("second", s, 20);
    h.assertExactly("first", s, strings("a", 0, 20));
    h.assertExactly("second", s, strings("b", 0, 20));
  }

  @Test
  void afterUnsubscribeCompletes_nothingMoreIsDelivered() {
    DeliveryHarness h = startCluster();
    StreamId s = StreamId.of("orders", "c-3");
    SubscriberAddress a = resolver.add(h, "leaving", s, Behavior.ACK);
    StreamSubscriptionHandle<Object> handle = h.join(h.<Object>stream(s).subscribe(a), "sub");
    h.subscribe("witness", s);
    h.produce(s, strings("a", 0, 10));
    h.awaitCount("leaving", s, 10);
    h.join(handle.unsubscribe(), "unsubscribe");
    assertThat(store.subscriptions(MEM, s).toCompletableFuture().join())
        .as("records left: only the witness's")
        .hasSize(1)
        .allSatisfy(r -> assertThat(r.addressed()).isFalse());
    h.produce(s, strings("b", 0, 10));
    h.awaitCount("witness", s, 20);
    h.assertExactly("leaving", s, strings("a", 0, 10));
    assertThat(h.join(h.<Object>stream(s).subscriptions(), "list")).hasSize(1);
  }

  @Test
  void anAddressThatDoesNotResolve_faultsThatSubscriptionOnly() {
    DeliveryHarness h = startCluster();
    StreamId s = StreamId.of("orders", "c-4");
    SubscriberAddress good = resolver.add(h, "good", s, Behavior.ACK);
    h.join(h.<Object>stream(s).subscribe(good), "subscribe good");
    SubscriberAddress nowhere = SubscriberAddress.of("rec:nobody");
    assertThatThrownBy(() -> h.join(h.<Object>stream(s).subscribe(nowhere), "subscribe nowhere"))
        .isInstanceOf(FaultedSubscriptionException.class);
    assertThat(subscriptionFailures)
        .singleElement()
        .satisfies(f -> assertThat(f.cause()).isInstanceOf(SubscriberGoneException.class));
    h.produce(s, strings("e", 0, 10));
    h.awaitCount("good", s, 10);
    h.assertExactly("good", s, strings("e", 0, 10));
    // The faulted one stays in the store, marked faulted; the listing offers only the good one.
    assertThat(store.subscriptions(MEM, s).toCompletableFuture().join())
        .filteredOn(SubscriptionRecord::faulted)
        .singleElement()
        .satisfies(r -> assertThat(r.subscriber()).isEqualTo(nowhere));
    assertThat(h.join(h.<Object>stream(s).subscriptions(), "list"))
        .singleElement()
        .satisfies(l -> assertThat(l.subscriber()).contains(good));
  }

  @Test
  void aSubscriberGoneForGood_isFaultedAfterTheDeliveryPolicy_evenWhenTheHandlerSkips() {
    DeliveryHarness h = startCluster(recordingHandler(false));
    StreamId s = StreamId.of("orders", "c-5");
    AtomicInteger calls = new AtomicInteger();
    Behavior gone =
        (id, item, token, attempt) -> {
          calls.incrementAndGet();
          return CompletableFuture.failedFuture(new SubscriberGoneException("actor stopped"));
        };
    SubscriberAddress a = resolver.add(h, "gone", s, gone);
    h.join(h.<Object>stream(s).subscribe(a), "subscribe");
    h.produce(s, "e0");
    h.awaitThat(
        "the store marks it faulted",
        () ->
            store.subscriptions(MEM, s).toCompletableFuture().join().stream()
                .anyMatch(SubscriptionRecord::faulted));
    assertThat(calls.get()).as("attempts before the fault").isGreaterThan(1);
    int attempts = calls.get();
    h.produce(s, "e1", "e2");
    h.subscribe("witness", s);
    h.produce(s, "e3");
    h.awaitCount("witness", s, 1);
    assertThat(calls.get()).as("calls after the fault").isEqualTo(attempts);
    assertThat(h.errors("gone", s)).last().isInstanceOf(FaultedSubscriptionException.class);
  }

  @Test
  void withoutAResolverOrASharedStore_subscribingByAddressIsAClearError() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "c-6");
    assertThatThrownBy(() -> h.<Object>stream(s).subscribe(SubscriberAddress.of("rec:x")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("subscriberResolver");
  }

  @Test
  void aStoreThatIsNotShared_refusesAddressedSubscriptions() {
    PubSubStore local =
        new PubSubStore() {
          final InMemoryPubSubStore d = new InMemoryPubSubStore();

          @Override
          public CompletionStage<Void> put(SubscriptionRecord record) {
            return d.put(record);
          }

          @Override
          public CompletionStage<Void> remove(String p, StreamId s, UUID id) {
            return d.remove(p, s, id);
          }

          @Override
          public CompletionStage<List<SubscriptionRecord>> subscriptions(String p, StreamId s) {
            return d.subscriptions(p, s);
          }
        };
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(1).build(),
            o -> {},
            (x, b) -> b.pubSubStore(local).subscriberResolver(resolver));
    assertThatThrownBy(
            () -> h.<Object>stream(StreamId.of("o", "k")).subscribe(SubscriberAddress.of("rec:x")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not shared");
  }

  @Test
  void aLocalHandleCannotResumeAtAnAddress_andAnAddressedOneNotWithAnObserver() {
    DeliveryHarness h = startCluster();
    StreamId s = StreamId.of("orders", "c-7");
    StreamSubscriptionHandle<Object> local = h.subscribe("local", s);
    assertThatThrownBy(() -> local.resume(SubscriberAddress.of("rec:x")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("observer of one JVM");
    SubscriberAddress a = resolver.add(h, "addressed", s, Behavior.ACK);
    StreamSubscriptionHandle<Object> addressed = h.join(h.<Object>stream(s).subscribe(a), "sub");
    assertThatThrownBy(() -> addressed.resume(h.recorder("other", s)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cluster-wide");
  }
}
