package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.produce;
import static dev.tributary.kafka.KafkaTestSupport.strings;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.AgentState;
import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.SubscriberAddress;
import dev.tributary.SubscriberGoneException;
import dev.tributary.spi.InMemoryPubSubStore;
import dev.tributary.spi.SubscriberResolver;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * Cluster-wide subscriptions across two nodes of one consumer group, against a real broker: the
 * nodes share one subscription store (the in-memory one, shared within this JVM; across JVMs it is
 * {@code KafkaPubSubStore}) and one resolver. A subscription made on the node that does not own the
 * stream's partition is attached by the owner; when the partition moves, the new owner attaches it
 * and continues from the committed position. Every record is counted, duplicates included.
 */
class KafkaClusterSubscriptionHandOverTest {

  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(60);

  final InMemoryPubSubStore store = new InMemoryPubSubStore();

  /** The subscription store of one node: here the one store all nodes of this JVM share. */
  dev.tributary.spi.PubSubStore storeOf(String node) {
    return store;
  }

  final DeliveryHarness rec = DeliveryHarness.create();
  final Map<String, Object> observers = new ConcurrentHashMap<>();
  final SubscriberResolver resolver =
      (address, record) -> {
        Object o = observers.get(address.value());
        if (o == null) {
          throw new SubscriberGoneException("no subscriber at " + address);
        }
        return o;
      };

  SubscriberAddress subscriber(String name, StreamId id) {
    observers.put("rec:" + name, rec.recorder(name, id));
    return SubscriberAddress.of("rec:" + name);
  }

  StreamRuntime node(String name, String group, String topic, int partitions) {
    KafkaQueueAdapterFactory f =
        factory(broker, group)
            .topic(topic, strings(partitions))
            .consumerProperty("heartbeat.interval.ms", "300")
            .build();
    return StreamRuntime.builder()
        .addProvider("kafka", f, o -> o.subscribeTimeout(Duration.ofSeconds(30)))
        .pubSubStore(storeOf(name))
        .subscriberResolver(resolver)
        .nodeName(name)
        .threads(2)
        .build();
  }

  static boolean ownsAll(StreamRuntime rt, int partitions) {
    return rt.provider("kafka").status().queues().stream()
            .filter(q -> q.agentState() == AgentState.RUNNING)
            .count()
        == partitions;
  }

  static List<String> values(String key, int from, int to) {
    List<String> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      out.add(key + ":" + i);
    }
    return out;
  }

  @Test
  void aSubscriptionMadeOnTheOtherNode_isDeliveredByTheOwner_andFollowsThePartitionOnHandOver() {
    String topic = unique("cluster-sub");
    String group = unique("g");
    broker.createTopic(topic, 1);
    StreamId s = StreamId.of(topic, "k0");
    try (StreamRuntime b = node("sub-b", group, topic, 1)) {
      StreamRuntime a = node("sub-a", group, topic, 1);
      try {
        a.start();
        await().atMost(WAIT).until(() -> ownsAll(a, 1));
        b.start();
        // B has joined and owns nothing: the subscription it makes is the owner's (A's) to attach.
        SubscriberAddress c = subscriber("c", s);
        StreamSubscriptionHandle<Object> handle =
            rec.join(b.provider("kafka").stream(s).subscribe(c), "subscribe on b");
        assertThat(ownsAll(a, 1)).as("a still owns the partition").isTrue();
        assertThat(handle.subscriber()).contains(c);
        produce(broker, topic, 1, 100, 0);
        rec.awaitCount("c", s, 100);
      } finally {
        a.close(); // a graceful hand-over: commits, replays nothing
      }
      await().atMost(WAIT).until(() -> ownsAll(b, 1));
      produce(broker, topic, 1, 100, 100);
      rec.awaitCount("c", s, 200);
      rec.assertExactly("c", s, values("k0", 0, 200));
      assertThat(rec.duplicates()).as("records delivered twice").isZero();
    }
  }

  @Test
  void unsubscribeOnTheOtherNode_whileTheOwnerDelivers_endsDelivery() {
    String topic = unique("cluster-unsub");
    String group = unique("g");
    broker.createTopic(topic, 1);
    StreamId s = StreamId.of(topic, "k0");
    try (StreamRuntime a = node("unsub-a", group, topic, 1);
        StreamRuntime b = node("unsub-b", group, topic, 1)) {
      a.start();
      await().atMost(WAIT).until(() -> ownsAll(a, 1));
      b.start();
      StreamSubscriptionHandle<Object> leaving =
          rec.join(b.provider("kafka").stream(s).subscribe(subscriber("leaving", s)), "sub");
      rec.join(b.provider("kafka").stream(s).subscribe(subscriber("staying", s)), "sub 2");
      // Produces until told to stop: the unsubscribe lands mid-stream however long it takes.
      java.util.concurrent.atomic.AtomicInteger produced =
          new java.util.concurrent.atomic.AtomicInteger();
      java.util.concurrent.atomic.AtomicBoolean stop =
          new java.util.concurrent.atomic.AtomicBoolean();
      Thread producer =
          new Thread(
              () -> {
                while (!stop.get()) {
                  produce(broker, topic, 1, 10, produced.get());
                  produced.addAndGet(10);
                }
              },
              "producer-while-unsubscribing");
      producer.start();
      rec.awaitCount("leaving", s, 20);
      rec.join(leaving.unsubscribe(), "unsubscribe on b");
      int atUnsubscribe = rec.count("leaving", s);
      int target = produced.get() + 50;
      await().atMost(WAIT).until(() -> produced.get() >= target);
      stop.set(true);
      await().atMost(WAIT).until(() -> !producer.isAlive());
      int total = produced.get();
      rec.awaitCount("staying", s, total);
      assertThat(rec.count("leaving", s))
          .as("events delivered after unsubscribe completed")
          .isEqualTo(atUnsubscribe);
      assertThat(atUnsubscribe).as("unsubscribed mid-stream").isLessThan(total);
      rec.assertExactly("staying", s, values("k0", 0, total));
      rec.assertExactly("leaving", s, values("k0", 0, atUnsubscribe));
    }
  }
}
