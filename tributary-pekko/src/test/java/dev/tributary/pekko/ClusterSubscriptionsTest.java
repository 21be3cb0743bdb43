package dev.tributary.pekko;

import static dev.tributary.pekko.PekkoTestSupport.WAIT;
import static dev.tributary.pekko.PekkoTestSupport.terminate;
import static dev.tributary.pekko.PekkoTestSupport.unique;
import static dev.tributary.pekko.SubscriberNodes.PROVIDER;
import static dev.tributary.pekko.SubscriberNodes.join;
import static dev.tributary.pekko.SubscriberNodes.produce;
import static dev.tributary.pekko.SubscriberNodes.values;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.AsyncStream;
import dev.tributary.FaultedSubscriptionException;
import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.SubscriberAddress;
import dev.tributary.SubscriberGoneException;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.spi.InMemoryPubSubStore;
import dev.tributary.spi.SubscriptionRecord;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Cluster-wide subscriptions of actors on three nodes of one Pekko cluster (three actor systems of
 * this JVM on loopback, Java serialization off): only node A reads the topic, so A owns every
 * partition and delivers every event; the subscriber actors live on C and B, so every delivery is
 * an ask across the network with {@link StreamDeliverySerializer}. The nodes share one {@link
 * InMemoryPubSubStore} (the in-JVM shared store); the separate-JVM cases are in {@link
 * ClusterSubscriptionsCrashTest}.
 */
class ClusterSubscriptionsTest {
  static final KafkaBroker broker = KafkaBroker.shared();
  static final int PARTITIONS = 4;

  static final InMemoryPubSubStore store = new InMemoryPubSubStore();
  static final SubscriberNodes.Failures failures = new SubscriberNodes.Failures();
  static final SubscriberNodes.Inbox inbox = new SubscriberNodes.Inbox();
  static String topic;
  static ActorSystem<Void> a;
  static ActorSystem<Void> b;
  static ActorSystem<Void> c;
  static KafkaQueueAdapterFactory kafkaA;
  static StreamRuntime runtimeB;
  static StreamRuntime runtimeC;
  static PekkoSubscribers subscribersB;
  static PekkoSubscribers subscribersC;

  @BeforeAll
  static void startCluster() {
    topic = unique("subs");
    String group = unique("subs-group");
    broker.createTopic(topic, PARTITIONS);
    a = SubscriberNodes.node("node-a", "");
    b = SubscriberNodes.node("node-b", "");
    c = SubscriberNodes.node("node-c", "");
    ClusterNodes.form(List.of(a, b, c));
    String servers = broker.bootstrapServers();
    kafkaA = SubscriberNodes.kafka(servers, group, topic, PARTITIONS, true, failures);
    SubscriberNodes.runtime(a, "node-a", kafkaA, store, SubscriberNodes.subscribers(a));
    subscribersB = SubscriberNodes.subscribers(b);
    runtimeB =
        SubscriberNodes.runtime(
            b,
            "node-b",
            SubscriberNodes.kafka(servers, group, topic, PARTITIONS, false, failures),
            store,
            subscribersB);
    subscribersC = SubscriberNodes.subscribers(c);
    runtimeC =
        SubscriberNodes.runtime(
            c,
            "node-c",
            SubscriberNodes.kafka(servers, group, topic, PARTITIONS, false, failures),
            store,
            subscribersC);
    await().atMost(WAIT).until(() -> kafkaA.ownedPartitions().size() == PARTITIONS);
    // The producers start on first use: start them here, so no test is held to their threads.
    join(runtimeB.provider(PROVIDER).stream(topic, "warm-up").onNext("b"));
    join(runtimeC.provider(PROVIDER).stream(topic, "warm-up").onNext("c"));
  }

  @AfterAll
  static void stopCluster() {
    for (ActorSystem<?> s : new ActorSystem<?>[] {c, b, a}) {
      if (s != null) {
        terminate(s);
      }
    }
  }

  @Test
  void aSubscriberOnC_ofAStreamOwnedByA_getsEveryLaterEventOnceInOrder_andOneOnB_independently() {
    String key = "order-1";
    AsyncStream<String> onC = runtimeC.provider(PROVIDER).stream(topic, key);
    ActorRef<StreamDelivery<String>> actorC = inbox.spawn(c, "t1-c");
    StreamSubscriptionHandle<String> handleC = join(subscribersC.subscribe(onC, actorC));
    assertThat(handleC.subscriber()).contains(subscribersC.address(actorC));
    AsyncStream<String> onB = runtimeB.provider(PROVIDER).stream(topic, key);
    StreamSubscriptionHandle<String> handleB =
        join(subscribersB.subscribe(onB, inbox.spawn(b, "t1-b")));
    assertThat(handleB.subscriptionId()).isNotEqualTo(handleC.subscriptionId());

    List<String> expected = produce(onC, key, 0, 300);
    inbox.awaitLast("t1-c", expected);
    inbox.awaitLast("t1-b", expected);
    inbox.assertExactly("t1-c", expected);
    inbox.assertExactly("t1-b", expected);
    String fromA = ClusterNodes.address(a).toString();
    assertThat(inbox.got("t1-c"))
        .as("every delivery was asked by node A")
        .allSatisfy(g -> assertThat(g.deliveredFrom()).isEqualTo(fromA))
        .allSatisfy(g -> assertThat(g.subscriptionId()).isEqualTo(handleC.subscriptionId()));
    assertThat(inbox.got("t1-b"))
        .allSatisfy(g -> assertThat(g.deliveredFrom()).isEqualTo(fromA))
        .allSatisfy(g -> assertThat(g.subscriptionId()).isEqualTo(handleB.subscriptionId()));
    assertThat(records(key))
        .hasSize(2)
        .allSatisfy(r -> assertThat(r.addressed() && !r.faulted() && !r.removed()).isTrue());
  }

  @Test
  void unsubscribeOnC_whileADelivers_noEventArrivesAfterItCompletes() throws Exception {
    String key = "order-2";
    AsyncStream<String> onC = runtimeC.provider(PROVIDER).stream(topic, key);
    StreamSubscriptionHandle<String> leaving =
        join(subscribersC.subscribe(onC, inbox.spawn(c, "t2-leaving")));
    join(
        subscribersB.subscribe(
            runtimeB.provider(PROVIDER).<String>stream(topic, key), inbox.spawn(b, "t2-witness")));

    List<String> expected = new ArrayList<>();
    List<CompletionStage<Void>> sent = new ArrayList<>();
    ScheduledExecutorService feed = Executors.newSingleThreadScheduledExecutor();
    AtomicInteger n = new AtomicInteger();
    feed.scheduleAtFixedRate(
        () -> {
          String v = key + ":" + n.getAndIncrement();
          synchronized (expected) {
            expected.add(v);
            sent.add(onC.onNext(v));
          }
        },
        0,
        2,
        TimeUnit.MILLISECONDS);
    int atUnsubscribe;
    try {
      await().atMost(WAIT).until(() -> inbox.count("t2-leaving") >= 100);
      join(leaving.unsubscribe());
      atUnsubscribe = inbox.count("t2-leaving");
      await().atMost(WAIT).until(() -> inbox.count("t2-witness") >= atUnsubscribe + 100);
    } finally {
      feed.shutdown();
      assertThat(feed.awaitTermination(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
    }
    List<String> all;
    synchronized (expected) {
      all = new ArrayList<>(expected);
      CompletableFuture.allOf(
              sent.stream()
                  .map(CompletionStage::toCompletableFuture)
                  .toArray(CompletableFuture[]::new))
          .get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }
    all.add(key + ":end");
    join(onC.onNext(key + ":end"));
    inbox.awaitLast("t2-witness", all);
    inbox.assertExactly("t2-witness", all);
    assertThat(inbox.count("t2-leaving"))
        .as("deliveries after unsubscribe completed")
        .isEqualTo(atUnsubscribe);
    inbox.assertExactly("t2-leaving", all.subList(0, atUnsubscribe));
    assertThat(records(key)).singleElement().satisfies(r -> assertThat(r.removed()).isFalse());
  }

  @Test
  void aStoppedActorOrAnUnresolvableAddress_faultsThatSubscriptionOnly() throws Exception {
    String key = "order-3";
    AsyncStream<String> onC = runtimeC.provider(PROVIDER).stream(topic, key);
    StreamSubscriptionHandle<String> good =
        join(subscribersC.subscribe(onC, inbox.spawn(c, "t3-good")));
    ActorRef<StreamDelivery<String>> doomedActor =
        c.systemActorOf(inbox.subscriber("t3-doomed", key + ":10"), "t3-doomed", Props.empty());
    StreamSubscriptionHandle<String> doomed = join(subscribersC.subscribe(onC, doomedActor));

    // Addresses that cannot be actors of this cluster are faulted when the owner resolves them.
    for (String nowhere :
        List.of(
            "pekko://" + SubscriberNodes.SYSTEM + "@127.0.0.1:notaport/system/x",
            "pekko://elsewhere@127.0.0.1:2552/user/x")) {
      assertThat(onC.subscribe(SubscriberAddress.of(nowhere)).toCompletableFuture())
          .as(nowhere)
          .failsWithin(WAIT)
          .withThrowableOfType(ExecutionException.class)
          .withCauseInstanceOf(FaultedSubscriptionException.class);
    }

    // The doomed actor stops on :10 without acknowledging it: DeathWatch fails that delivery and
    // every retry, and the owner faults the subscription after the delivery policy (3 s).
    List<String> expected = produce(onC, key, 0, 40);
    inbox.awaitLast("t3-good", expected);
    await()
        .atMost(WAIT)
        .until(
            () ->
                records(key).stream()
                    .anyMatch(
                        r -> r.subscriptionId().equals(doomed.subscriptionId()) && r.faulted()));
    inbox.assertExactly("t3-doomed", values(key, 0, 11));
    inbox.assertExactly("t3-good", expected);
    assertThat(failures.subscriptionFailures)
        .as("the unresolvable addresses")
        .filteredOn(f -> f.streamId().equals(StreamId.of(topic, key)))
        .hasSize(2)
        .allSatisfy(f -> assertThat(f.cause()).isInstanceOf(SubscriberGoneException.class));
    assertThat(failures.deliveryFailures)
        .as("the event the stopped actor never acknowledged, given up on")
        .filteredOn(f -> f.streamId().equals(StreamId.of(topic, key)))
        .singleElement()
        .satisfies(f -> assertThat(f.subscriptionId()).isEqualTo(doomed.subscriptionId()))
        .satisfies(
            f -> assertThat(Replies.unwrap(f.cause())).isInstanceOf(SubscriberGoneException.class));
    // The good one keeps receiving; only it is listed (faulted ones stay in the store, marked).
    List<String> more = produce(onC, key, 40, 60);
    inbox.awaitLast("t3-good", more);
    List<String> all = new ArrayList<>(expected);
    all.addAll(more);
    inbox.assertExactly("t3-good", all);
    inbox.assertExactly("t3-doomed", values(key, 0, 11));
    assertThat(join(onC.subscriptions()))
        .singleElement()
        .satisfies(h -> assertThat(h.subscriptionId()).isEqualTo(good.subscriptionId()));
    assertThat(records(key)).filteredOn(SubscriptionRecord::faulted).hasSize(3);
    assertThat(
            subscribersC
                .resume(onC, doomed.subscriptionId(), inbox.spawn(c, "t3-again"))
                .toCompletableFuture())
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(IllegalArgumentException.class);
  }

  List<SubscriptionRecord> records(String key) {
    return join(store.subscriptions(PROVIDER, StreamId.of(topic, key)));
  }
}
