package dev.tributary.pekko;

import dev.tributary.StreamRuntime;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.pekko.actor.AddressFromURIString;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.pattern.StatusReply;

/**
 * A cluster node in a JVM of its own, for {@link ShardedEntitiesCrashTest}: it joins the cluster at
 * the seed's address, feeds sharded entities from the consumer group, and appends every message its
 * entities receive to a file, one flushed line {@code key value offset sentBy} before the reply, so
 * that what it delivered can be counted after it was killed. Also the settings both nodes of the
 * crash test share.
 *
 * <p>Arguments: {@code bootstrapServers group topic seedAddress deliveriesFile parentPid}. It halts
 * when the parent JVM exits, so a killed test leaves no node behind.
 */
final class CrashNode {
  static final String NAME = "node-b";
  static final int PARTITIONS = 8;

  private CrashNode() {}

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String group = args[1];
    String topic = args[2];
    String seed = args[3];
    Path file = Path.of(args[4]);
    ProcessHandle.of(Long.parseLong(args[5]))
        .ifPresentOrElse(
            parent -> parent.onExit().thenRun(() -> Runtime.getRuntime().halt(3)),
            () -> Runtime.getRuntime().halt(3));

    ActorSystem<Void> system = ClusterNodes.node(NAME, ClusterNodes.DOWNING);
    CompletableFuture<Void> up = new CompletableFuture<>();
    org.apache.pekko.cluster.Cluster.get(system.classicSystem())
        .registerOnMemberUp(() -> up.complete(null));
    Cluster.get(system).manager().tell(Join.create(AddressFromURIString.parse(seed)));
    up.join();

    Writer out =
        Files.newBufferedWriter(
            file, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    ShardedEntities<String, ClusterNodes.Event> entities =
        entities(system, group, topic, NAME, key -> fileEntity(key, out));
    KafkaQueueAdapterFactory kafka = kafka(bootstrap, group, topic, entities);
    PekkoRuntime.bind(system, runtime(kafka, topic, NAME, entities));
    System.out.println(NAME + " is up and feeding its entities");
    system.getWhenTerminated().toCompletableFuture().join();
  }

  /** The entity of {@code key}: writes each message to {@code out} and flushes, then replies. */
  static Behavior<ClusterNodes.Event> fileEntity(String key, Writer out) {
    return Behaviors.receive(ClusterNodes.Event.class)
        .onMessage(
            ClusterNodes.Event.class,
            e -> {
              synchronized (out) {
                out.write(key + " " + e.value() + " " + e.offset() + " " + e.sentBy() + "\n");
                out.flush();
              }
              e.replyTo().tell(StatusReply.ack());
              return Behaviors.same();
            })
        .build();
  }

  /** The sharded entities of node {@code node}: the message records the offset and the sender. */
  static ShardedEntities<String, ClusterNodes.Event> entities(
      ActorSystem<?> system,
      String group,
      String topic,
      String node,
      Function<String, Behavior<ClusterNodes.Event>> entity) {
    return ShardedEntities.<String, ClusterNodes.Event>builder(
            system, ClusterNodes.Event.class, group)
        .topic(topic, PARTITIONS)
        .behavior(ctx -> entity.apply(ctx.getEntityId()))
        .messageAdapter(
            (value, ctx, replyTo) ->
                new ClusterNodes.Event(value, ctx.token().sequenceNumber(), node, replyTo))
        .askTimeout(Duration.ofSeconds(5))
        .allocationTimeout(Duration.ofSeconds(20))
        .build();
  }

  /**
   * The group's Kafka provider: a 6 s session (the broker's minimum), so the group notices a dead
   * member soon after the cluster downed it.
   */
  static KafkaQueueAdapterFactory kafka(
      String bootstrap,
      String group,
      String topic,
      ShardedEntities<String, ClusterNodes.Event> entities) {
    return PekkoTestSupport.kafka(bootstrap, group, topic, PARTITIONS)
        .consumerProperty("heartbeat.interval.ms", "300")
        .consumerProperty("session.timeout.ms", "6000")
        .partitionOwnershipListener(entities)
        .partitionOwnershipTimeout(Duration.ofSeconds(30))
        .build();
  }

  static StreamRuntime runtime(
      KafkaQueueAdapterFactory kafka,
      String topic,
      String node,
      ShardedEntities<String, ClusterNodes.Event> entities) {
    return StreamRuntime.builder()
        .addProvider("kafka", kafka, o -> o.drainTimeout(Duration.ofSeconds(10)))
        .implicitSubscription("kafka", topic, entities)
        .nodeName(node)
        .threads(2)
        .build();
  }

  /** One line of a deliveries file. */
  record Delivery(String key, String value, long offset, String sentBy) {}

  /** The complete lines of a deliveries file (a line cut by the kill was never acknowledged). */
  static List<Delivery> read(Path file) {
    List<Delivery> out = new ArrayList<>();
    if (!Files.exists(file)) {
      return out;
    }
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int end = text.lastIndexOf('\n');
    if (end < 0) {
      return out;
    }
    for (String line : text.substring(0, end).split("\n")) {
      String[] f = line.split(" ");
      out.add(new Delivery(f[0], f[1], Long.parseLong(f[2]), f[3]));
    }
    return out;
  }
}
