package dev.tributary.pekko;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.ConfigFactory;
import dev.tributary.AsyncStream;
import dev.tributary.StreamRuntime;
import dev.tributary.kafka.KafkaPubSubStore;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.DeliveryFailure;
import dev.tributary.spi.PubSubStore;
import dev.tributary.spi.StreamFailureHandler;
import dev.tributary.spi.StreamProviderDirection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Nodes of the cluster-wide subscription tests: actor systems of one Pekko cluster on loopback with
 * Java serialization off (so every {@link StreamDelivery} crosses with tributary-pekko's own
 * serializer), their runtimes, and the subscriber actors that record every delivery they receive,
 * repeats included.
 */
final class SubscriberNodes {
  private SubscriberNodes() {}

  /** Cluster settings of {@link ClusterNodes}, but without Java serialization. */
  static final String NO_JAVA_SERIALIZATION =
      """
      pekko.actor.allow-java-serialization = off
      pekko.actor.warn-about-java-serializer-usage = on
      """;

  static final String PROVIDER = "kafka";

  /**
   * The name of the test cluster's actor systems: not "tributary", whose dispatcher threads would
   * pass for runtime threads in the invariant checks of tests that share nodes started before them.
   */
  static final String SYSTEM = "subs";

  /** An actor system of the test cluster, Java serialization off. */
  static ActorSystem<Void> node(String name, String extra) {
    return ActorSystem.create(
        Behaviors.empty(),
        SYSTEM,
        ConfigFactory.parseString(
            "node-name = " + name + "\n" + ClusterNodes.CONFIG + NO_JAVA_SERIALIZATION + extra));
  }

  /**
   * The Kafka provider of one node: a member of {@code group} that reads {@code topic}, or one that
   * only writes to it.
   */
  static KafkaQueueAdapterFactory kafka(
      String bootstrap,
      String group,
      String topic,
      int partitions,
      boolean reads,
      StreamFailureHandler handler) {
    var kafka =
        PekkoTestSupport.kafka(bootstrap, group, topic, partitions)
            .consumerProperty("heartbeat.interval.ms", "300")
            .consumerProperty("session.timeout.ms", "6000")
            .failureHandler(handler);
    if (!reads) {
      kafka.direction(StreamProviderDirection.WRITE_ONLY);
    }
    return kafka.build();
  }

  /**
   * The runtime of one node, started and bound to its system: {@code kafka}, the shared {@code
   * store}, the node's {@code subscribers}, short delivery retries (3 s per event).
   */
  static StreamRuntime runtime(
      ActorSystem<?> system,
      String node,
      KafkaQueueAdapterFactory kafka,
      PubSubStore store,
      PekkoSubscribers subscribers) {
    return PekkoRuntime.bind(
        system,
        StreamRuntime.builder()
            .addProvider(
                PROVIDER,
                kafka,
                o ->
                    o.deliveryBackoff(BackoffPolicy.fixed(Duration.ofMillis(50)))
                        .maxEventDeliveryTime(Duration.ofSeconds(3))
                        .subscribeTimeout(Duration.ofSeconds(30))
                        .drainTimeout(Duration.ofSeconds(5)))
            .pubSubStore(store)
            .subscriberResolver(subscribers)
            .nodeName(node)
            .threads(2)
            .build());
  }

  /** A node's view of the shared subscription store, on topic {@code storeTopic}. */
  static KafkaPubSubStore store(String bootstrap, String storeTopic) {
    return KafkaPubSubStore.builder().bootstrapServers(bootstrap).topic(storeTopic).build();
  }

  /** The resolver of a node's actors: a 5 s ask timeout. */
  static PekkoSubscribers subscribers(ActorSystem<?> system) {
    return PekkoSubscribers.builder(system).askTimeout(Duration.ofSeconds(5)).build();
  }

  /**
   * A failure handler that skips failed events and records what it is told: events given up on,
   * subscriptions that could not start (an address that does not resolve).
   */
  static final class Failures implements StreamFailureHandler {
    final List<DeliveryFailure> deliveryFailures = new CopyOnWriteArrayList<>();
    final List<DeliveryFailure> subscriptionFailures = new CopyOnWriteArrayList<>();

    @Override
    public CompletionStage<Void> onDeliveryFailure(DeliveryFailure failure) {
      deliveryFailures.add(failure);
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public boolean shouldFaultSubscriptionOnError() {
      return false;
    }

    @Override
    public CompletionStage<Void> onSubscriptionFailure(DeliveryFailure failure) {
      subscriptionFailures.add(failure);
      return CompletableFuture.completedFuture(null);
    }
  }

  /** One delivery a subscriber actor received. */
  record Got(
      String value, long offset, UUID subscriptionId, String deliveredFrom, long receivedNanos) {}

  /** Every delivery each named subscriber actor received, in arrival order. Thread-safe. */
  static final class Inbox {
    private final Map<String, List<Got>> got = new ConcurrentHashMap<>();

    /** A subscriber that records and acknowledges each delivery. */
    Behavior<StreamDelivery<String>> subscriber(String name) {
      return subscriber(name, null);
    }

    /**
     * A subscriber that records and acknowledges each delivery, but stops without acknowledging
     * when it receives {@code stopAt}.
     */
    Behavior<StreamDelivery<String>> subscriber(String name, String stopAt) {
      List<Got> list =
          got.computeIfAbsent(name, n -> Collections.synchronizedList(new ArrayList<>()));
      return Behaviors.receive(
          (ctx, d) -> {
            long now = System.nanoTime();
            list.add(
                new Got(
                    d.event(),
                    d.context().token().sequenceNumber(),
                    d.subscriptionId(),
                    d.replyTo().path().address().toString(),
                    now));
            if (d.event().equals(stopAt)) {
              return Behaviors.stopped();
            }
            d.ack();
            return Behaviors.same();
          });
    }

    /** Spawns subscriber {@code name} on {@code system}. */
    ActorRef<StreamDelivery<String>> spawn(ActorSystem<?> system, String name) {
      return system.systemActorOf(subscriber(name), name, Props.empty());
    }

    List<Got> got(String name) {
      List<Got> l = got.get(name);
      if (l == null) {
        return List.of();
      }
      synchronized (l) {
        return List.copyOf(l);
      }
    }

    List<String> values(String name) {
      return got(name).stream().map(Got::value).toList();
    }

    int count(String name) {
      return got(name).size();
    }

    /** Waits until {@code name}'s latest delivery is the last of {@code expected}. */
    void awaitLast(String name, List<String> expected) {
      String last = expected.get(expected.size() - 1);
      await()
          .atMost(PekkoTestSupport.WAIT)
          .until(
              () -> {
                List<Got> g = got(name);
                return !g.isEmpty() && g.get(g.size() - 1).value().equals(last);
              });
    }

    /** {@code name} received exactly {@code expected}, in order, each once, offsets growing. */
    void assertExactly(String name, List<String> expected) {
      List<Got> g = got(name);
      assertThat(g.stream().map(Got::value).toList())
          .as("what subscriber %s received (%d deliveries)", name, g.size())
          .isEqualTo(expected);
      for (int i = 1; i < g.size(); i++) {
        assertThat(g.get(i).offset()).isGreaterThan(g.get(i - 1).offset());
      }
    }
  }

  /** Produces {@code key:from} .. {@code key:(to-1)} through {@code stream}, waits for the acks. */
  static List<String> produce(AsyncStream<String> stream, String key, int from, int to) {
    List<String> values = values(key, from, to);
    List<CompletableFuture<Void>> acks = new ArrayList<>();
    for (String v : values) {
      acks.add(stream.onNext(v).toCompletableFuture());
    }
    join(CompletableFuture.allOf(acks.toArray(CompletableFuture[]::new)));
    return values;
  }

  static <X> X join(CompletionStage<X> stage) {
    try {
      return stage.toCompletableFuture().get(PekkoTestSupport.WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError(e.getCause());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Values {@code key:from} .. {@code key:(to-1)}. */
  static List<String> values(String key, int from, int to) {
    List<String> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      out.add(key + ":" + i);
    }
    return out;
  }
}
