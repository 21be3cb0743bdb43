package dev.tributary.kafka;

import dev.tributary.Incubating;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.common.TopicPartition;

/**
 * Told when this node gains and loses partitions, so that something placed by partition (actors
 * sharded by partition, a cache, a lease) can follow the consumer group: set it with {@link
 * KafkaQueueAdapterFactory.Builder#partitionOwnershipListener}.
 *
 * <p>{@link #onAssigned} may hold the new partitions' delivery back: their agents start, their
 * records are fetched and buffered (up to the buffer bound, then the partition pauses), but nothing
 * is delivered until the returned stage completes, or {@link
 * KafkaQueueAdapterFactory.Builder#partitionOwnershipTimeout} passed. {@link #onRevoked} comes
 * after the partitions' agents drained and what they delivered was committed, so whoever is told
 * next about the partition starts where this node stopped.
 *
 * <p>Threading: both methods are called on the Kafka consumer thread that owns the partitions,
 * inside {@code poll} (or, with {@link KafkaQueueAdapterFactory.Builder#staticAssignment()}, in the
 * consumer thread's task that assigns or releases a partition), one call at a time per consumer and
 * in the order the changes happen. They must be quick and must never block: {@link #onAssigned}
 * returns a stage that any other thread completes later. The consumer thread never waits for that
 * stage (it only registers what to do when it completes), so a stage completed by work that itself
 * waits for Kafka cannot deadlock it. A method that throws is logged; a thrown or failed {@link
 * #onAssigned} lets the partitions deliver at once.
 */
@Incubating
public interface PartitionOwnershipListener {

  /** The listener that does nothing: partitions deliver as soon as they are assigned. */
  PartitionOwnershipListener NONE = new PartitionOwnershipListener() {};

  /**
   * This node now reads {@code partitions}, at their committed offsets (or as the consume mode
   * says). Delivery from them waits until the returned stage completes (normally or not) or the
   * ownership timeout passed, whichever comes first.
   */
  default CompletionStage<Void> onAssigned(Set<TopicPartition> partitions) {
    return CompletableFuture.completedFuture(null);
  }

  /**
   * This node no longer reads {@code partitions}: their agents stopped (deliveries in flight
   * drained, bounded by {@code revokeTimeout}) and what they delivered was committed (or the commit
   * failed, which is logged). Also called at close for the partitions still owned then.
   */
  default void onRevoked(Set<TopicPartition> partitions) {}

  /**
   * The group took {@code partitions} away without a revoke (this member was fenced): their agents
   * stopped and nothing was committed, because another member already owns them. Defaults to {@link
   * #onRevoked}.
   */
  default void onLost(Set<TopicPartition> partitions) {
    onRevoked(partitions);
  }
}
