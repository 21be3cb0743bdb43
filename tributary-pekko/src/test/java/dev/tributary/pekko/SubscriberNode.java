package dev.tributary.pekko;

import static org.awaitility.Awaitility.await;

import dev.tributary.kafka.KafkaPubSubStore;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.actor.AddressFromURIString;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/**
 * A node that owns the partitions and delivers to subscriber actors elsewhere, in a JVM of its own,
 * for {@link ClusterSubscriptionsCrashTest}: it joins the cluster at the seed's address, starts a
 * runtime whose Kafka provider reads the topic with the shared {@link KafkaPubSubStore}, and prints
 * {@code READY} once it owns every partition.
 *
 * <p>Arguments: {@code bootstrapServers group topic partitions storeTopic seedAddress parentPid}.
 * It halts when the parent JVM exits, so a killed test leaves no node behind.
 */
final class SubscriberNode {
  static final String NAME = "node-a";

  private SubscriberNode() {}

  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String group = args[1];
    String topic = args[2];
    int partitions = Integer.parseInt(args[3]);
    String storeTopic = args[4];
    String seed = args[5];
    ProcessHandle.of(Long.parseLong(args[6]))
        .ifPresentOrElse(
            parent -> parent.onExit().thenRun(() -> Runtime.getRuntime().halt(3)),
            () -> Runtime.getRuntime().halt(3));

    ActorSystem<Void> system = SubscriberNodes.node(NAME, ClusterNodes.DOWNING);
    CompletableFuture<Void> up = new CompletableFuture<>();
    org.apache.pekko.cluster.Cluster.get(system.classicSystem())
        .registerOnMemberUp(() -> up.complete(null));
    Cluster.get(system).manager().tell(Join.create(AddressFromURIString.parse(seed)));
    up.join();

    KafkaQueueAdapterFactory kafka =
        SubscriberNodes.kafka(
            bootstrap, group, topic, partitions, true, new SubscriberNodes.Failures());
    SubscriberNodes.runtime(
        system,
        NAME,
        kafka,
        SubscriberNodes.store(bootstrap, storeTopic),
        SubscriberNodes.subscribers(system));
    await().atMost(PekkoTestSupport.WAIT).until(() -> kafka.ownedPartitions().size() == partitions);
    System.out.println("READY " + NAME + " owns " + kafka.ownedPartitions());
    system.getWhenTerminated().toCompletableFuture().join();
  }
}
