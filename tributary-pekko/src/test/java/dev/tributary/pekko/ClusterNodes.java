package dev.tributary.pekko;

import static org.awaitility.Awaitility.await;

import com.typesafe.config.ConfigFactory;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.pattern.StatusReply;

/**
 * Pekko cluster nodes on loopback for the sharding tests (several actor systems in one JVM, or one
 * per JVM), with fast failure detection and rebalancing, and the sharded test entity that records
 * every message it receives: which node sent it, which node ran the entity, repeats included.
 */
final class ClusterNodes {
  private ClusterNodes() {}

  /** Cluster, loopback, free port, Java serialization for the test messages, short intervals. */
  static final String CONFIG =
      PekkoTestSupport.CONFIG
          + """
          pekko.actor.provider = cluster
          pekko.actor.allow-java-serialization = on
          pekko.actor.warn-about-java-serializer-usage = off
          pekko.remote.artery.canonical.hostname = 127.0.0.1
          pekko.remote.artery.canonical.port = 0
          pekko.cluster.jmx.enabled = off
          pekko.cluster.log-info-verbose = off
          pekko.cluster.gossip-interval = 200ms
          pekko.cluster.leader-actions-interval = 200ms
          pekko.cluster.unreachable-nodes-reaper-interval = 250ms
          pekko.cluster.failure-detector.heartbeat-interval = 200ms
          pekko.cluster.failure-detector.acceptable-heartbeat-pause = 2s
          pekko.cluster.distributed-data.gossip-interval = 200ms
          pekko.cluster.distributed-data.notify-subscribers-interval = 50ms
          pekko.cluster.singleton.hand-over-retry-interval = 200ms
          pekko.cluster.sharding.rebalance-interval = 2s
          pekko.cluster.sharding.retry-interval = 200ms
          pekko.cluster.sharding.coordinator-failure-backoff = 500ms
          pekko.cluster.sharding.waiting-for-state-timeout = 1s
          pekko.cluster.sharding.updating-state-timeout = 2s
          pekko.cluster.sharding.distributed-data.majority-min-cap = 1
          pekko.cluster.sharding.coordinator-state.write-majority-plus = 0
          pekko.cluster.sharding.coordinator-state.read-majority-plus = 0
          pekko.loglevel = WARNING
          """;

  /**
   * Crashes: the split brain resolver downs a node that stays unreachable for a second, so that the
   * coordinator moves its shards. Keep-oldest without down-if-alone: of two nodes, the oldest (the
   * one that formed the cluster) survives the other's crash.
   */
  static final String DOWNING =
      """
      pekko.cluster.downing-provider-class = "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider"
      pekko.cluster.split-brain-resolver.active-strategy = keep-oldest
      pekko.cluster.split-brain-resolver.keep-oldest.down-if-alone = off
      pekko.cluster.split-brain-resolver.stable-after = 1s
      """;

  /** An actor system of the cluster named {@code name} ("tributary" for every node). */
  static ActorSystem<Void> node(String name) {
    return node(name, "");
  }

  /** An actor system of the cluster named {@code name}, with {@code extraConfig} on top. */
  static ActorSystem<Void> node(String name, String extraConfig) {
    return ActorSystem.create(
        Behaviors.empty(),
        "tributary",
        ConfigFactory.parseString("node-name = " + name + "\n" + CONFIG + extraConfig));
  }

  static Address address(ActorSystem<?> system) {
    return Cluster.get(system).selfMember().address();
  }

  /** Forms a cluster: the first node joins itself, the others join it; waits until all are Up. */
  static void form(List<ActorSystem<?>> nodes) {
    Address seed = address(nodes.get(0));
    for (ActorSystem<?> n : nodes) {
      Cluster.get(n).manager().tell(Join.create(seed));
    }
    await()
        .atMost(PekkoTestSupport.WAIT)
        .until(
            () ->
                nodes.stream()
                    .allMatch(
                        n -> {
                          int up = 0;
                          for (var m : Cluster.get(n).state().getMembers()) {
                            up += m.status() == MemberStatus.up() ? 1 : 0;
                          }
                          return up == nodes.size();
                        }));
  }

  /** The shards the region of {@code system} hosts now. */
  static Set<String> hostedShards(ActorSystem<?> system, EntityTypeKey<?> key) {
    try {
      ShardRegion.CurrentShardRegionState state =
          AskPattern
              .<org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery,
                  ShardRegion.CurrentShardRegionState>
                  ask(
                      ClusterSharding.get(system).shardState(),
                      replyTo -> new GetShardRegionState(key, replyTo),
                      Duration.ofSeconds(5),
                      system.scheduler())
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);
      Set<String> out = new TreeSet<>();
      state.getShards().forEach(s -> out.add(s.shardId()));
      return out;
    } catch (Exception e) {
      throw new AssertionError("region state of " + system.name(), e);
    }
  }

  /** The test entity's message: the event, the node whose runtime delivered it, the reply. */
  record Event(String value, long offset, String sentBy, ActorRef<StatusReply<Done>> replyTo)
      implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /** Every message the sharded test entities received, on every node. Thread-safe. */
  static final class Journal {
    private final Map<String, List<String>> received = new ConcurrentHashMap<>();
    private final Map<String, List<Long>> offsets = new ConcurrentHashMap<>();
    private final AtomicLong count = new AtomicLong();
    private final AtomicLong remote = new AtomicLong();
    private final Map<String, Set<String>> entitiesByNode = new ConcurrentHashMap<>();

    Behavior<Event> entity(String key, String node) {
      entitiesByNode.computeIfAbsent(node, n -> ConcurrentHashMap.newKeySet()).add(key);
      return Behaviors.receive(Event.class)
          .onMessage(
              Event.class,
              e -> {
                received
                    .computeIfAbsent(key, k -> Collections.synchronizedList(new ArrayList<>()))
                    .add(e.value());
                offsets
                    .computeIfAbsent(key, k -> Collections.synchronizedList(new ArrayList<>()))
                    .add(e.offset());
                count.incrementAndGet();
                if (!e.sentBy().equals(node)) {
                  remote.incrementAndGet();
                }
                e.replyTo().tell(StatusReply.ack());
                return Behaviors.same();
              })
          .build();
    }

    long count() {
      return count.get();
    }

    /** Messages that an entity received from another node's runtime. */
    long remote() {
      return remote.get();
    }

    long distinct() {
      long n = 0;
      for (List<String> l : received.values()) {
        synchronized (l) {
          n += l.stream().distinct().count();
        }
      }
      return n;
    }

    List<String> received(String key) {
      List<String> l = received.get(key);
      if (l == null) {
        return List.of();
      }
      synchronized (l) {
        return List.copyOf(l);
      }
    }

    List<Long> offsets(String key) {
      List<Long> l = offsets.get(key);
      if (l == null) {
        return List.of();
      }
      synchronized (l) {
        return List.copyOf(l);
      }
    }

    /** The keys whose entities were created on {@code node}. */
    Set<String> entitiesOn(String node) {
      return Set.copyOf(entitiesByNode.getOrDefault(node, Set.of()));
    }
  }
}
