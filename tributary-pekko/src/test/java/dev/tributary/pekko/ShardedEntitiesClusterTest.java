package dev.tributary.pekko;

import static dev.tributary.pekko.PekkoTestSupport.WAIT;
import static dev.tributary.pekko.PekkoTestSupport.committed;
import static dev.tributary.pekko.PekkoTestSupport.endOffsets;
import static dev.tributary.pekko.PekkoTestSupport.kafka;
import static dev.tributary.pekko.PekkoTestSupport.produce;
import static dev.tributary.pekko.PekkoTestSupport.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.spi.QueueId;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sharded entities on a two-node Pekko cluster (two actor systems in this JVM, on loopback) fed by
 * one consumer group over an 8-partition topic: each shard lives on the node that owns its
 * partition, also after a rebalance, so every delivery is a local ask; a node that leaves
 * gracefully while records flow hands over without loss or repeat. Every message an entity receives
 * is counted, repeats included, with the node that sent it.
 */
class ShardedEntitiesClusterTest {
  private static final Logger log = LoggerFactory.getLogger(ShardedEntitiesClusterTest.class);
  static final KafkaBroker broker = KafkaBroker.shared();
  static final int PARTITIONS = 8;
  static final int KEYS = 100;

  /** The shards that hold at least one of the keys k0..k99 (keys "k<n>" rarely hit partition 7). */
  static final Set<String> USED = usedShards();

  private static Set<String> usedShards() {
    Set<String> out = new TreeSet<>();
    for (int k = 0; k < KEYS; k++) {
      out.add(Integer.toString(ShardedEntities.partitionOf("k" + k, PARTITIONS)));
    }
    return out;
  }

  private final List<ActorSystem<?>> systems = new ArrayList<>();

  @AfterEach
  void terminateAll() {
    for (ActorSystem<?> s : systems) {
      s.terminate();
    }
    for (ActorSystem<?> s : systems) {
      s.getWhenTerminated().toCompletableFuture().join();
    }
  }

  /** One node: actor system, sharded entities and the runtime that feeds them now. */
  static final class Node {
    final String name;
    final ActorSystem<Void> system;
    final ShardedEntities<String, ClusterNodes.Event> entities;
    final String group;
    final String topic;
    volatile KafkaQueueAdapterFactory kafka;
    volatile StreamRuntime runtime;

    Node(
        String name, ActorSystem<Void> system, String group, String topic, ClusterNodes.Journal j) {
      this.name = name;
      this.system = system;
      this.group = group;
      this.topic = topic;
      this.entities =
          ShardedEntities.<String, ClusterNodes.Event>builder(
                  system, ClusterNodes.Event.class, group)
              .topic(topic, PARTITIONS)
              .behavior(ctx -> j.entity(ctx.getEntityId(), name))
              .messageAdapter(
                  (value, ctx, replyTo) ->
                      new ClusterNodes.Event(value, ctx.token().sequenceNumber(), name, replyTo))
              .askTimeout(Duration.ofSeconds(5))
              .allocationTimeout(Duration.ofSeconds(20))
              .build();
    }

    /** Starts a runtime over the group, bound to the actor system, feeding the entities. */
    void startRuntime() {
      kafka =
          kafka(broker, group, topic, PARTITIONS)
              .consumerProperty("heartbeat.interval.ms", "300")
              .partitionOwnershipListener(entities)
              .partitionOwnershipTimeout(Duration.ofSeconds(30))
              .build();
      runtime =
          StreamRuntime.builder()
              .addProvider("kafka", kafka, o -> o.drainTimeout(Duration.ofSeconds(10)))
              .implicitSubscription("kafka", topic, entities)
              .nodeName(name)
              .threads(2)
              .build();
      PekkoRuntime.bind(system, runtime);
    }

    Set<String> ownedShards() {
      Set<String> out = new TreeSet<>();
      KafkaQueueAdapterFactory k = kafka;
      if (k != null) {
        for (QueueId q : k.ownedPartitions()) {
          out.add(Integer.toString(q.index()));
        }
      }
      return out;
    }

    Set<String> hostedShards() {
      return ClusterNodes.hostedShards(system, entities.typeKey());
    }
  }

  private Node node(String name, String group, String topic, ClusterNodes.Journal journal) {
    ActorSystem<Void> system = ClusterNodes.node(name);
    systems.add(system);
    return new Node(name, system, group, topic, journal);
  }

  static void merge(Map<String, List<String>> into, Map<String, List<String>> more) {
    more.forEach((k, v) -> into.computeIfAbsent(k, x -> new ArrayList<>()).addAll(v));
  }

  /** Every key received exactly its values, in production order, offsets growing; no repeat. */
  static void assertExactlyInOrder(
      ClusterNodes.Journal journal, Map<String, List<String>> expected) {
    long total = 0;
    for (Map.Entry<String, List<String>> e : expected.entrySet()) {
      assertThat(journal.received(e.getKey()))
          .as("messages of entity %s", e.getKey())
          .isEqualTo(e.getValue());
      List<Long> offsets = journal.offsets(e.getKey());
      for (int i = 1; i < offsets.size(); i++) {
        assertThat(offsets.get(i)).isGreaterThan(offsets.get(i - 1));
      }
      total += e.getValue().size();
    }
    assertThat(journal.count()).as("messages received in all, repeats included").isEqualTo(total);
  }

  /** Each node's region hosts exactly the shards of the partitions its consumer owns. */
  private static void assertShardsFollowPartitions(List<Node> nodes) {
    Set<String> all = new TreeSet<>();
    for (Node n : nodes) {
      Set<String> owned = n.ownedShards();
      all.addAll(owned);
      owned.retainAll(USED);
      await()
          .atMost(WAIT)
          .untilAsserted(
              () -> assertThat(n.hostedShards()).as("shards on %s", n.name).isEqualTo(owned));
    }
    assertThat(all).as("every partition owned").hasSize(PARTITIONS);
  }

  /** Produces {@code batches} batches of one record per key from value {@code from} on, async. */
  static CompletableFuture<Map<String, List<String>>> flow(String topic, int from, int batches) {
    return CompletableFuture.supplyAsync(
        () -> {
          Map<String, List<String>> more = new HashMap<>();
          for (int batch = 0; batch < batches; batch++) {
            merge(more, produce(broker, topic, KEYS, 1, from + batch));
          }
          return more;
        });
  }

  @Test
  void shardsFollowPartitions_andAGracefulLeaveWhileRecordsFlow_losesAndRepeatsNothing() {
    String topic = unique("sharded");
    String group = unique("orders-group");
    broker.createTopic(topic, PARTITIONS);
    ClusterNodes.Journal journal = new ClusterNodes.Journal();
    Node a = node("node-a", group, topic, journal);
    Node b = node("node-b", group, topic, journal);
    ClusterNodes.form(List.of(a.system, b.system));
    assertThat(a.entities.typeKey().name()).isEqualTo(group);

    // a alone: every partition, every shard on a.
    a.startRuntime();
    Map<String, List<String>> expected = new HashMap<>();
    merge(expected, produce(broker, topic, KEYS, 10, 0));
    await().atMost(WAIT).until(() -> journal.distinct() >= KEYS * 10L);
    assertThat(a.hostedShards()).isEqualTo(USED);
    for (int k = 0; k < KEYS; k++) {
      StreamId id = StreamId.of(topic, "k" + k);
      assertThat(a.entities.shardId(id.key()))
          .as("shard of %s is its partition", id)
          .isEqualTo(Integer.toString(a.kafka.streamQueueMapper().queueForStream(id).index()));
    }

    // a's runtime stops (drained, committed), its actor system stays: the shards stay hosted by
    // a. A backlog accumulates; b's runtime starts and owns every partition. Its first deliveries
    // wait until the coordinator moved the shards (it rebalances every 2 s), so every one of them
    // is local: without the wait they would go to a.
    a.runtime.close();
    merge(expected, produce(broker, topic, KEYS, 10, 10));
    b.startRuntime();
    await().atMost(WAIT).until(() -> journal.distinct() >= KEYS * 20L);
    assertThat(b.ownedShards()).hasSize(PARTITIONS);
    assertShardsFollowPartitions(List.of(a, b));
    assertThat(journal.remote()).as("deliveries that crossed the network").isZero();

    // a's runtime starts again while records flow: half the partitions move back with their
    // shards.
    CompletableFuture<Map<String, List<String>>> joining = flow(topic, 20, 20);
    await().atMost(WAIT).until(() -> journal.distinct() >= KEYS * 22L);
    a.startRuntime();
    merge(expected, joining.join());
    await()
        .atMost(WAIT)
        .until(
            () ->
                !a.ownedShards().isEmpty()
                    && a.ownedShards().size() + b.ownedShards().size() == PARTITIONS);
    await().atMost(WAIT).until(() -> journal.distinct() >= KEYS * 40L);
    assertShardsFollowPartitions(List.of(a, b));
    for (String key : journal.entitiesOn("node-a")) {
      assertThat(USED).contains(a.entities.shardId(key));
    }
    assertThat(journal.remote()).as("deliveries that crossed the network").isZero();
    assertExactlyInOrder(journal, expected);

    // a leaves the cluster gracefully while records flow: its runtime drains and commits before
    // its shards hand off, b takes every partition over.
    CompletableFuture<Map<String, List<String>>> flowing = flow(topic, 40, 10);
    await().atMost(WAIT).until(() -> journal.distinct() >= KEYS * 42L);
    long beforeLeave = journal.count();
    a.system.terminate();
    a.system.getWhenTerminated().toCompletableFuture().join();
    merge(expected, flowing.join());
    long total = expected.values().stream().mapToLong(List::size).sum();
    await().atMost(WAIT).until(() -> journal.distinct() >= total);
    Map<Integer, Long> ends = endOffsets(broker, topic, PARTITIONS);
    await().atMost(WAIT).until(() -> committed(broker, group, topic).equals(ends));
    log.info(
        "sharded hand-over: {} messages ({} before the leave), {} distinct, {} remote",
        journal.count(),
        beforeLeave,
        journal.distinct(),
        journal.remote());
    assertThat(beforeLeave).as("a left while records flowed").isLessThan(total);
    assertThat(b.ownedShards()).hasSize(PARTITIONS);
    await().atMost(WAIT).untilAsserted(() -> assertThat(b.hostedShards()).isEqualTo(USED));
    assertExactlyInOrder(journal, expected);
    assertThat(journal.remote()).as("deliveries that crossed the network").isZero();
  }
}
