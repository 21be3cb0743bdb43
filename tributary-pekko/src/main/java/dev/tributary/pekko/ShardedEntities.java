package dev.tributary.pekko;

import dev.tributary.EventMetadata;
import dev.tributary.Incubating;
import dev.tributary.MetadataStreamObserver;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamRuntime;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.kafka.PartitionOwnershipListener;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Utils;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.external.ExternalShardAllocation;
import org.apache.pekko.cluster.sharding.external.ExternalShardAllocationStrategy;
import org.apache.pekko.cluster.sharding.external.javadsl.ExternalShardAllocationClient;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.sharding.typed.ShardingMessageExtractor;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.pattern.StatusReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One typed actor per stream key behind Pekko Cluster Sharding, co-located with the Kafka partition
 * that feeds it: the observer factory of an implicit subscription and the Kafka provider's {@link
 * PartitionOwnershipListener} at once.
 *
 * <pre>{@code
 * ShardedEntities<Order, CustomerActor.Command> customers =
 *     ShardedEntities.builder(system, CustomerActor.Command.class, "orders-service")
 *         .topic("orders", 8)
 *         .behavior(entity -> CustomerActor.create(entity.getEntityId()))
 *         .messageAdapter((order, ctx, replyTo) -> new CustomerActor.Placed(order, ctx.token(), replyTo))
 *         .build();
 * KafkaQueueAdapterFactory kafka = KafkaQueueAdapterFactory.builder()
 *     .consumerGroupId("orders-service")
 *     .partitionOwnershipListener(customers)
 *     ...
 * StreamRuntime.builder().addProvider("kafka", kafka).implicitSubscription("kafka", "orders", customers)
 * }</pre>
 *
 * <p>The entity type key is named after the consumer group, and the shard of a key is its Kafka
 * partition ({@link #shardId}: Kafka's default partitioner, so it agrees with the provider's mapper
 * and with any Kafka producer). The shards are placed by Pekko's {@link
 * ExternalShardAllocationStrategy}: when the group assigns partitions to this node, {@link
 * #onAssigned} sets their shards' location to this node and completes only once no other node hosts
 * them any more and the location is what a majority of the cluster reads (bounded by {@link
 * Builder#allocationTimeout}); the Kafka provider holds the partitions' delivery back until then,
 * so the entities are created here and each event is a local ask. On revoke the provider drains the
 * partition and commits before the next owner is told, so the next owner starts where this node
 * stopped.
 *
 * <p>Delivery is an ask to the entity through the shard region ({@code EntityRef.ask}); the entity
 * acknowledges by replying {@code StatusReply.ack()}. One event per entity in flight, in stream
 * order; an error reply or no reply within {@link Builder#askTimeout} fails the delivery, which the
 * runtime retries with its delivery backoff. Passivation is Pekko's (its idle passivation, or
 * {@code ClusterSharding.Passivate}): a message to a passivated entity starts it again.
 *
 * <p>Configure the coordinator's {@code pekko.cluster.sharding.rebalance-interval} short (a few
 * seconds at most): a shard that an old owner still hosts moves at the coordinator's next
 * rebalance, and {@link #onAssigned} waits for that. Messages may cross the network when the wait
 * times out; correctness never depends on locality. Thread-safe.
 *
 * @param <T> the event type
 * @param <M> the entity's message type
 */
@Incubating
public final class ShardedEntities<T, M>
    implements Function<StreamId, StreamObserver<T>>, PartitionOwnershipListener {
  private static final Logger log = LoggerFactory.getLogger(ShardedEntities.class);

  /** Default {@link Builder#askTimeout}: 10 seconds. */
  public static final Duration DEFAULT_ASK_TIMEOUT = Duration.ofSeconds(10);

  /** Default {@link Builder#allocationTimeout}: 20 seconds. */
  public static final Duration DEFAULT_ALLOCATION_TIMEOUT = Duration.ofSeconds(20);

  private static final Duration POLL_INTERVAL = Duration.ofMillis(100);

  private final ActorSystem<?> system;
  private final EntityTypeKey<M> typeKey;
  private final String topic;
  private final int partitions;
  private final MessageAdapter<T, M> adapter;
  private final Duration askTimeout;
  private final Duration allocationTimeout;
  private final ClusterSharding sharding;
  private final ExternalShardAllocationClient allocation;

  private ShardedEntities(Builder<T, M> b) {
    this.system = b.system;
    this.typeKey = EntityTypeKey.create(b.messageType, b.typeKeyName);
    this.topic = b.topic;
    this.partitions = b.partitions;
    this.adapter = b.adapter;
    this.askTimeout = b.askTimeout != null ? b.askTimeout : DEFAULT_ASK_TIMEOUT;
    this.allocationTimeout =
        b.allocationTimeout != null ? b.allocationTimeout : DEFAULT_ALLOCATION_TIMEOUT;
    this.sharding = ClusterSharding.get(system);
    this.allocation = ExternalShardAllocation.get(system).getClient(typeKey.name());
    Entity<M, ShardingEnvelope<M>> entity =
        Entity.of(typeKey, ctx -> b.behavior.apply(ctx))
            .withAllocationStrategy(
                ExternalShardAllocationStrategy.create(system, typeKey.name(), askTimeout));
    if (b.stopMessage != null) {
      entity = entity.withStopMessage(b.stopMessage);
    }
    sharding.init(entity.withMessageExtractor(new PartitionExtractor<>(partitions)));
  }

  /**
   * Returns a builder of sharded entities for the consumer group {@code consumerGroup} (the entity
   * type key's name), with messages of type {@code messageType}.
   */
  public static <T, M> Builder<T, M> builder(
      ActorSystem<?> system, Class<M> messageType, String consumerGroup) {
    return new Builder<>(system, messageType, consumerGroup);
  }

  /** The entity type key: named after the consumer group. */
  public EntityTypeKey<M> typeKey() {
    return typeKey;
  }

  /** The shard of {@code key}: its Kafka partition, as a decimal string. */
  public String shardId(String key) {
    return Integer.toString(partitionOf(key, partitions));
  }

  /** The entity of {@code key}, wherever it lives; for messages of the application's own. */
  public EntityRef<M> entityRefFor(String key) {
    return sharding.entityRefFor(typeKey, key);
  }

  /**
   * The observer of stream {@code streamId}: asks the stream's entity, through the shard region,
   * for each event.
   *
   * @throws IllegalArgumentException when the stream is not of this topic
   */
  @Override
  public StreamObserver<T> apply(StreamId streamId) {
    Objects.requireNonNull(streamId, "streamId was null but it must be set");
    if (!streamId.namespace().equals(topic)) {
      throw new IllegalArgumentException(
          "stream "
              + streamId
              + " is not of topic '"
              + topic
              + "': subscribe these entities to namespace '"
              + topic
              + "' only");
    }
    return new ShardedObserver<>(streamId, entityRefFor(streamId.key()), adapter, askTimeout);
  }

  /**
   * Sets the location of the shards of {@code partitions} (those of this topic) to this node and
   * completes when no other node hosts them and a majority reads the new location, or after {@link
   * Builder#allocationTimeout}. Called on a Kafka consumer thread; returns at once.
   */
  @Override
  public CompletionStage<Void> onAssigned(Set<TopicPartition> assigned) {
    Set<String> shards = new TreeSet<>();
    for (TopicPartition tp : assigned) {
      if (tp.topic().equals(topic)) {
        if (tp.partition() >= partitions) {
          log.error(
              "{}: partition {} was assigned but these entities were built for {} partitions of"
                  + " '{}'; its keys map to other shards. Rebuild with the topic's partition count",
              typeKey.name(),
              tp,
              partitions,
              topic);
        }
        shards.add(Integer.toString(tp.partition()));
      }
    }
    if (shards.isEmpty()) {
      return CompletableFuture.completedFuture(null);
    }
    Address self = Cluster.get(system).selfMember().address();
    Map<String, Address> locations = new TreeMap<>();
    shards.forEach(s -> locations.put(s, self));
    long deadline = System.nanoTime() + allocationTimeout.toNanos();
    CompletableFuture<Void> home = new CompletableFuture<>();
    allocation
        .setShardLocations(locations)
        .whenComplete(
            (done, e) -> {
              if (e != null) {
                log.warn(
                    "{}: setting the location of shards {} to {} failed; delivering anyway",
                    typeKey.name(),
                    shards,
                    self,
                    e);
                home.complete(null);
              } else {
                awaitHome(shards, self, deadline, home);
              }
            });
    return home;
  }

  /** Completes {@code home} once {@code shards} are where they belong, or at {@code deadline}. */
  private void awaitHome(
      Set<String> shards, Address self, long deadline, CompletableFuture<Void> home) {
    CompletionStage<ShardRegion.ClusterShardingStats> stats =
        AskPattern.ask(
            sharding.shardState(),
            replyTo -> new GetClusterShardingStats(typeKey, POLL_INTERVAL.multipliedBy(5), replyTo),
            POLL_INTERVAL.multipliedBy(10),
            system.scheduler());
    stats
        .thenCombine(
            allocation.getShardLocations(),
            (s, locations) -> elsewhere(shards, self, s, locations.getShardLocations()))
        .whenComplete(
            (away, e) -> {
              if (e == null && away.isEmpty()) {
                log.debug("{}: shards {} are at home on {}", typeKey.name(), shards, self);
                home.complete(null);
              } else if (System.nanoTime() - deadline >= 0) {
                log.warn(
                    "{}: shards {} still not (only) on {} after allocationTimeout {} ({}); delivering"
                        + " anyway, through the network until the coordinator's next rebalance",
                    typeKey.name(),
                    shards,
                    self,
                    allocationTimeout,
                    e != null ? e.toString() : "elsewhere: " + away);
                home.complete(null);
              } else {
                system
                    .scheduler()
                    .scheduleOnce(
                        POLL_INTERVAL,
                        () -> awaitHome(shards, self, deadline, home),
                        system.executionContext());
              }
            });
  }

  /** Those of {@code shards} hosted by another node or not located at {@code self} yet. */
  private static Map<String, String> elsewhere(
      Set<String> shards,
      Address self,
      ShardRegion.ClusterShardingStats stats,
      Map<String, ExternalShardAllocationStrategy.ShardLocation> locations) {
    Map<String, String> away = new TreeMap<>();
    for (String shard : shards) {
      ExternalShardAllocationStrategy.ShardLocation l = locations.get(shard);
      if (l == null || !l.address().equals(self)) {
        away.put(shard, "located at " + (l == null ? "none" : l.address()));
      }
    }
    stats
        .getRegions()
        .forEach(
            (address, region) -> {
              if (!address.equals(self)) {
                for (String shard : region.getStats().keySet()) {
                  if (shards.contains(shard)) {
                    away.put(shard, "hosted by " + address);
                  }
                }
              }
            });
    return away;
  }

  /** Nothing to do: the next owner moves the shards when it is assigned the partitions. */
  @Override
  public void onRevoked(Set<TopicPartition> partitions) {
    log.debug("{}: released {}", typeKey.name(), partitions);
  }

  /** Kafka's default partitioner for a non-null key: the provider's mapper agrees. */
  static int partitionOf(String key, int partitionCount) {
    return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitionCount;
  }

  @Override
  public String toString() {
    return "ShardedEntities{typeKey="
        + typeKey.name()
        + ", topic="
        + topic
        + ", partitions="
        + partitions
        + "}";
  }

  /** Entity id = stream key; shard id = the key's Kafka partition. */
  private static final class PartitionExtractor<M>
      extends ShardingMessageExtractor<ShardingEnvelope<M>, M> {
    private final int partitions;

    PartitionExtractor(int partitions) {
      this.partitions = partitions;
    }

    @Override
    public String entityId(ShardingEnvelope<M> envelope) {
      return envelope.entityId();
    }

    @Override
    public String shardId(String entityId) {
      return Integer.toString(partitionOf(entityId, partitions));
    }

    @Override
    public M unwrapMessage(ShardingEnvelope<M> envelope) {
      return envelope.message();
    }
  }

  /** The observer of one stream: asks its entity, through the shard region, for each event. */
  private record ShardedObserver<T, M>(
      StreamId streamId, EntityRef<M> entity, MessageAdapter<T, M> adapter, Duration timeout)
      implements MetadataStreamObserver<T> {
    @Override
    public CompletionStage<Void> onNext(T item, EventMetadata metadata) {
      EventContext context = EventContext.of(streamId, metadata);
      CompletionStage<StatusReply<Done>> reply =
          entity.ask(replyTo -> adapter.toMessage(item, context, replyTo), timeout);
      return Replies.map(
          reply,
          r -> {
            if (r.isError()) {
              throw new java.util.concurrent.CompletionException(r.getError());
            }
            return null;
          });
    }
  }

  /**
   * Builds {@link ShardedEntities}. {@link #topic}, {@link #behavior} and {@link #messageAdapter}
   * are required; each option may be set once.
   *
   * @param <T> the event type
   * @param <M> the entity's message type
   */
  public static final class Builder<T, M> {
    private final ActorSystem<?> system;
    private final Class<M> messageType;
    private final String typeKeyName;
    private String topic;
    private int partitions;
    private Function<org.apache.pekko.cluster.sharding.typed.javadsl.EntityContext<M>, Behavior<M>>
        behavior;
    private MessageAdapter<T, M> adapter;
    private Duration askTimeout;
    private Duration allocationTimeout;
    private M stopMessage;

    private Builder(ActorSystem<?> system, Class<M> messageType, String consumerGroup) {
      this.system = Objects.requireNonNull(system, "system was null but it must be set");
      this.messageType =
          Objects.requireNonNull(messageType, "messageType was null but it must be set");
      if (consumerGroup == null || consumerGroup.isBlank()) {
        throw new IllegalArgumentException(
            "consumerGroup was '" + consumerGroup + "' but it must be the Kafka consumer group");
      }
      this.typeKeyName = consumerGroup;
    }

    /**
     * Sets the topic whose keys are the entities and its partition count, which must be the
     * topic's: the shard of a key is its partition.
     */
    public Builder<T, M> topic(String name, int partitionCount) {
      if (topic != null) {
        throw new IllegalStateException("topic was already set to " + topic);
      }
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("topic was '" + name + "' but it must be a topic name");
      }
      if (partitionCount < 1) {
        throw new IllegalArgumentException(
            "partitionCount was " + partitionCount + " but it must be at least 1");
      }
      topic = name;
      partitions = partitionCount;
      return this;
    }

    /** Sets how an entity is created, from Pekko's entity context (its id is the stream key). */
    public Builder<T, M> behavior(
        Function<org.apache.pekko.cluster.sharding.typed.javadsl.EntityContext<M>, Behavior<M>>
            factory) {
      if (behavior != null) {
        throw new IllegalStateException("behavior was already set");
      }
      behavior = Objects.requireNonNull(factory, "behavior was null but it must be set");
      return this;
    }

    /** Sets how an event becomes the entity's message. */
    public Builder<T, M> messageAdapter(MessageAdapter<T, M> messageAdapter) {
      if (adapter != null) {
        throw new IllegalStateException("messageAdapter was already set");
      }
      adapter =
          Objects.requireNonNull(messageAdapter, "messageAdapter was null but it must be set");
      return this;
    }

    /** Sets how long an entity may take to reply before the delivery fails [10 s]; >= 1 ms. */
    public Builder<T, M> askTimeout(Duration timeout) {
      if (askTimeout != null) {
        throw new IllegalStateException("askTimeout was already set to " + askTimeout);
      }
      askTimeout = atLeast("askTimeout", timeout, Duration.ofMillis(1));
      return this;
    }

    /**
     * Sets how long {@link ShardedEntities#onAssigned} waits at most for the shards of newly
     * assigned partitions to be located here and hosted nowhere else [20 s]; at least 10 ms. Keep
     * the Kafka provider's {@link KafkaQueueAdapterFactory.Builder#partitionOwnershipTimeout} above
     * it.
     */
    public Builder<T, M> allocationTimeout(Duration timeout) {
      if (allocationTimeout != null) {
        throw new IllegalStateException(
            "allocationTimeout was already set to " + allocationTimeout);
      }
      allocationTimeout = atLeast("allocationTimeout", timeout, Duration.ofMillis(10));
      return this;
    }

    /** Sets the message that sharding sends an entity to stop it (passivation, hand-off) [none]. */
    public Builder<T, M> stopMessage(M message) {
      if (stopMessage != null) {
        throw new IllegalStateException("stopMessage was already set to " + stopMessage);
      }
      stopMessage = Objects.requireNonNull(message, "stopMessage was null but it must be set");
      return this;
    }

    /**
     * Starts the shard region on this node and returns the entities: the observer factory for
     * {@link StreamRuntime.Builder#implicitSubscription} and the ownership listener for {@link
     * KafkaQueueAdapterFactory.Builder#partitionOwnershipListener}.
     *
     * @throws IllegalStateException when topic, behavior or messageAdapter was not set
     */
    public ShardedEntities<T, M> build() {
      StringBuilder missing = new StringBuilder();
      if (topic == null) {
        missing.append(" topic(name, partitions)");
      }
      if (behavior == null) {
        missing.append(" behavior(entity -> ...)");
      }
      if (adapter == null) {
        missing.append(" messageAdapter((event, ctx, replyTo) -> ...)");
      }
      if (missing.length() > 0) {
        throw new IllegalStateException(
            "ShardedEntities '" + typeKeyName + "' needs" + missing + " before build()");
      }
      return new ShardedEntities<>(this);
    }

    private static Duration atLeast(String option, Duration value, Duration min) {
      Objects.requireNonNull(value, () -> option + " was null but it must be a duration >= " + min);
      if (value.compareTo(min) < 0) {
        throw new IllegalArgumentException(
            option + " was " + value + " but it must be at least " + min);
      }
      return value;
    }
  }
}
