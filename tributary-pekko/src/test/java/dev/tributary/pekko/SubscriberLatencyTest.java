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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
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
 * network, serialized), both streams at once so that both meet the same load. Two actor systems of
 * this JVM on loopback, so one clock measures both ends. A measurement, not a check: it runs only
 * when asked for.
 *
 * <pre>
 * mvn -B -o -pl tributary-pekko -am verify -Dtest=SubscriberLatencyTest \
 *     -Dsurefire.failIfNoSpecifiedTests=false -Dtributary.latency=true \
 *     [-Dtributary.latency.rate=1000] [-Dtributary.latency.seconds=20] [-Dtributary.latency.warmup=5]
 * </pre>
 */
@EnabledIfSystemProperty(named = "tributary.latency", matches = "true")
class SubscriberLatencyTest {
  private static final Logger log = LoggerFactory.getLogger(SubscriberLatencyTest.class);
  static final KafkaBroker broker = KafkaBroker.shared();
  static final int RATE = Integer.getInteger("tributary.latency.rate", 1000);
  static final int SECONDS = Integer.getInteger("tributary.latency.seconds", 20);
  static final int WARM_UP_SECONDS = Integer.getInteger("tributary.latency.warmup", 5);

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

      Map<String, String> figures = measure(topic, List.of(same, cross), inbox);
      log.info(
          "send -> actor receipt at {} events/s per stream, both at once, {} s measured after {} s"
              + " warm-up: same node {}; cross node {}",
          RATE,
          SECONDS,
          WARM_UP_SECONDS,
          figures.get(same),
          figures.get(cross));
      String sameFigures = figures.get(same);
      String crossFigures = figures.get(cross);
      System.out.println("LATENCY same-node " + sameFigures);
      System.out.println("LATENCY cross-node " + crossFigures);
    } finally {
      terminate(c);
      terminate(a);
    }
  }

  /**
   * Produces to each stream of {@code keys} at {@link #RATE}, the streams interleaved so that every
   * one meets the same load; returns the latency figures of each stream's actor.
   */
  private static Map<String, String> measure(
      String topic, List<String> keys, SubscriberNodes.Inbox inbox) throws Exception {
    Properties p = broker.adminProperties();
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.ACKS_CONFIG, "1");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    int total = RATE * (SECONDS + WARM_UP_SECONDS);
    Map<String, List<String>> sent = new LinkedHashMap<>();
    keys.forEach(k -> sent.put(k, new ArrayList<>(total)));
    AtomicInteger ticks = new AtomicInteger();
    AtomicReference<Exception> failure = new AtomicReference<>();
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      producer.partitionsFor(topic);
      long periodNanos = 1_000_000_000L / RATE;
      timer.scheduleAtFixedRate(
          () -> {
            int n = ticks.get();
            if (n >= total) {
              return;
            }
            for (String key : keys) {
              String value = key + ":" + n + ":" + System.nanoTime();
              sent.get(key).add(value);
              producer.send(
                  new ProducerRecord<>(topic, key, value),
                  (md, e) -> {
                    if (e != null) {
                      failure.compareAndSet(null, e);
                    }
                  });
            }
            ticks.incrementAndGet();
          },
          0,
          periodNanos,
          TimeUnit.NANOSECONDS);
      await()
          .atMost(WAIT.plusSeconds(SECONDS + WARM_UP_SECONDS))
          .until(() -> keys.stream().allMatch(k -> inbox.count(k) >= total));
      timer.shutdown();
      assertThat(timer.awaitTermination(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
    } finally {
      timer.shutdownNow();
    }
    assertThat(failure.get()).isNull();
    Map<String, String> out = new LinkedHashMap<>();
    for (String key : keys) {
      inbox.assertExactly(key, sent.get(key));
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
      List<SubscriberNodes.Got> measured = got.subList(RATE * WARM_UP_SECONDS, got.size());
      double seconds =
          (measured.get(measured.size() - 1).receivedNanos() - measured.get(0).receivedNanos())
              / 1e9;
      out.put(
          key,
          String.format(
              "n=%d received at %.0f/s p50=%.2f ms p90=%.2f ms p99=%.2f ms p99.9=%.2f ms"
                  + " max=%.2f ms",
              micros.length,
              (measured.size() - 1) / seconds,
              at(micros, 0.50),
              at(micros, 0.90),
              at(micros, 0.99),
              at(micros, 0.999),
              micros[micros.length - 1] / 1000.0));
    }
    return out;
  }

  private static double at(long[] sorted, double q) {
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1000.0;
  }
}
