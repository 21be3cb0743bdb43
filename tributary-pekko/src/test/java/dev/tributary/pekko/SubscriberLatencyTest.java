package dev.tributary.pekko;

import static dev.tributary.pekko.PekkoTestSupport.WAIT;
import static dev.tributary.pekko.PekkoTestSupport.terminate;
import static dev.tributary.pekko.PekkoTestSupport.unique;
import static dev.tributary.pekko.SubscriberNodes.PROVIDER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamRuntime;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.spi.InMemoryPubSubStore;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivery latency of cluster-wide subscriptions, from the producer's send to the subscriber
 * actor's receipt, at a fixed rate: the actor on the node that owns the stream's partition (the ask
 * stays in one actor system) beside an actor on another node (the ask and its reply cross the
 * network, serialized). Two actor systems of this JVM on loopback, so one clock measures both ends.
 * A measurement, not a check: it runs only when asked for.
 *
 * <pre>
 * mvn -B -o -pl tributary-pekko -am verify -Dtest=SubscriberLatencyTest \
 *     -Dsurefire.failIfNoSpecifiedTests=false -Dtributary.latency=true \
 *     [-Dtributary.latency.rate=1000] [-Dtributary.latency.seconds=20]
 * </pre>
 */
@EnabledIfSystemProperty(named = "tributary.latency", matches = "true")
class SubscriberLatencyTest {
  private static final Logger log = LoggerFactory.getLogger(SubscriberLatencyTest.class);
  static final KafkaBroker broker = KafkaBroker.shared();
  static final int RATE = Integer.getInteger("tributary.latency.rate", 1000);
  static final int SECONDS = Integer.getInteger("tributary.latency.seconds", 20);
  static final int WARM_UP_SECONDS = 5;

  @Test
  void sameNode_beside_crossNode() throws Exception {
    String topic = unique("latency");
    String group = unique("latency-group");
    broker.createTopic(topic, 1);
    InMemoryPubSubStore store = new InMemoryPubSubStore();
    SubscriberNodes.Failures failures = new SubscriberNodes.Failures();
    SubscriberNodes.Inbox inbox = new SubscriberNodes.Inbox();
    ActorSystem<Void> a = SubscriberNodes.node("node-a", "");
    ActorSystem<Void> c = SubscriberNodes.node("node-c", "");
    try {
      ClusterNodes.form(List.of(a, c));
      KafkaQueueAdapterFactory kafkaA =
          SubscriberNodes.kafka(broker.bootstrapServers(), group, topic, 1, true, failures);
      PekkoSubscribers subscribersA = SubscriberNodes.subscribers(a);
      StreamRuntime runtimeA = SubscriberNodes.runtime(a, "node-a", kafkaA, store, subscribersA);
      PekkoSubscribers subscribersC = SubscriberNodes.subscribers(c);
      StreamRuntime runtimeC =
          SubscriberNodes.runtime(
              c,
              "node-c",
              SubscriberNodes.kafka(broker.bootstrapServers(), group, topic, 1, false, failures),
              store,
              subscribersC);
      await().atMost(WAIT).until(() -> kafkaA.ownedPartitions().size() == 1);

      String same = "same-node";
      SubscriberNodes.join(
          subscribersA.subscribe(
              runtimeA.provider(PROVIDER).stream(topic, same), inbox.spawn(a, same)));
      String cross = "cross-node";
      SubscriberNodes.join(
          subscribersC.subscribe(
              runtimeC.provider(PROVIDER).stream(topic, cross), inbox.spawn(c, cross)));

      String sameFigures = measure(topic, same, inbox);
      String crossFigures = measure(topic, cross, inbox);
      log.info(
          "send -> actor receipt at {} events/s, {} s measured after {} s warm-up: same node {};"
              + " cross node {}",
          RATE,
          SECONDS,
          WARM_UP_SECONDS,
          sameFigures,
          crossFigures);
      System.out.println("LATENCY same-node " + sameFigures);
      System.out.println("LATENCY cross-node " + crossFigures);
    } finally {
      terminate(c);
      terminate(a);
    }
  }

  /** Produces to stream {@code key} at {@link #RATE}; returns the latency figures of its actor. */
  private static String measure(String topic, String key, SubscriberNodes.Inbox inbox)
      throws Exception {
    Properties p = broker.adminProperties();
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.ACKS_CONFIG, "1");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    int total = RATE * (SECONDS + WARM_UP_SECONDS);
    List<String> sent = new ArrayList<>(total);
    AtomicReference<Exception> failure = new AtomicReference<>();
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      producer.partitionsFor(topic);
      long periodNanos = 1_000_000_000L / RATE;
      timer.scheduleAtFixedRate(
          () -> {
            if (sent.size() >= total) {
              return;
            }
            String value = key + ":" + sent.size() + ":" + System.nanoTime();
            sent.add(value);
            producer.send(
                new ProducerRecord<>(topic, key, value),
                (md, e) -> {
                  if (e != null) {
                    failure.compareAndSet(null, e);
                  }
                });
          },
          0,
          periodNanos,
          TimeUnit.NANOSECONDS);
      await()
          .atMost(WAIT.plusSeconds(SECONDS + WARM_UP_SECONDS))
          .until(() -> inbox.count(key) >= total);
      timer.shutdown();
      assertThat(timer.awaitTermination(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
    } finally {
      timer.shutdownNow();
    }
    assertThat(failure.get()).isNull();
    List<String> expected;
    synchronized (sent) {
      expected = List.copyOf(sent);
    }
    inbox.assertExactly(key, expected);
    List<SubscriberNodes.Got> got = inbox.got(key);
    long[] micros =
        got.subList(RATE * WARM_UP_SECONDS, got.size()).stream()
            .mapToLong(
                g -> {
                  String v = g.value();
                  long sentNanos = Long.parseLong(v.substring(v.lastIndexOf(':') + 1));
                  return (g.receivedNanos() - sentNanos) / 1_000;
                })
            .sorted()
            .toArray();
    return String.format(
        "n=%d p50=%.2f ms p90=%.2f ms p99=%.2f ms p99.9=%.2f ms max=%.2f ms",
        micros.length,
        at(micros, 0.50),
        at(micros, 0.90),
        at(micros, 0.99),
        at(micros, 0.999),
        micros[micros.length - 1] / 1000.0);
  }

  private static double at(long[] sorted, double q) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1000.0;
  }
}
