package dev.tributary.spi;

import dev.tributary.Incubating;
import dev.tributary.StreamId;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Keeps explicit subscriptions per stream, so that they survive restarts when the store is durable.
 * Thread-safe; called from producers' and agents' threads; should not block.
 *
 * <p>A <em>shared</em> store ({@link #isShared()}) is one every node of the cluster reads and
 * writes, such as tributary-kafka's {@code KafkaPubSubStore}: it tells each node of every change
 * ({@link #watch}), so that the node owning a stream's queue attaches the cluster-wide
 * subscriptions ({@link SubscriptionRecord#addressed()}) made on any node, and it carries the
 * owner's confirmations ({@link #confirm}) back to the node that subscribed. The runtime starts the
 * store before its providers and closes it after them.
 */
public interface PubSubStore {

  /** Adds or replaces a subscription; the stage completes once the write is durable. */
  CompletionStage<Void> put(SubscriptionRecord record);

  /**
   * Removes a subscription and its confirmation; removing an unknown one is not an error. The stage
   * completes once the removal is durable.
   */
  CompletionStage<Void> remove(String providerName, StreamId streamId, UUID subscriptionId);

  /** The subscriptions of a stream, faulted ones included. */
  CompletionStage<List<SubscriptionRecord>> subscriptions(String providerName, StreamId streamId);

  /**
   * True when every node of the cluster shares this store, so cluster-wide subscriptions work. The
   * default is false: records are seen by this node only.
   */
  @Incubating
  default boolean isShared() {
    return false;
  }

  /**
   * Loads the store (a durable store reads what it holds); the runtime calls it once, in {@code
   * start()}, before any provider starts, and waits for the stage.
   */
  @Incubating
  default CompletionStage<Void> start() {
    return CompletableFuture.completedFuture(null);
  }

  /** Releases the store's resources; called once by the runtime's {@code close()}. */
  @Incubating
  default void close() {}

  /**
   * Tells {@code listener} of the store's content and of every later change, by any node: first one
   * {@link Listener#onPut} per record and one {@link Listener#onConfirmed} per confirmation held
   * now, then each change in the order the store applied it. Calls come from one thread at a time
   * and must not block. Returns the handle that ends the registration.
   *
   * @throws UnsupportedOperationException when the store is not {@linkplain #isShared() shared}
   */
  @Incubating
  default AutoCloseable watch(Listener listener) {
    throw new UnsupportedOperationException(
        getClass().getName()
            + " is not a shared store: it cannot tell this node of other nodes'"
            + " subscriptions");
  }

  /**
   * Completes once every change that any node's write had made durable before this call was passed
   * to the listeners of this node. A node that takes over a queue waits for it before its agent
   * attaches the queue's subscriptions, so none made before the take-over is missed.
   */
  @Incubating
  default CompletionStage<Void> sync() {
    return CompletableFuture.completedFuture(null);
  }

  /**
   * Records that the owner of the subscription's queue applied {@code revision} of it. Durable once
   * the stage completes; a later {@link #remove} deletes it too.
   */
  @Incubating
  default CompletionStage<Void> confirm(
      String providerName, StreamId streamId, UUID subscriptionId, UUID revision) {
    return CompletableFuture.failedFuture(
        new UnsupportedOperationException(getClass().getName() + " is not a shared store"));
  }

  /** What a {@linkplain #watch watching} node is told. */
  @Incubating
  interface Listener {

    /** A subscription was added or replaced. */
    void onPut(SubscriptionRecord record);

    /** A subscription (and its confirmation) was deleted. */
    void onRemove(String providerName, StreamId streamId, UUID subscriptionId);

    /** The owner of the subscription's queue applied {@code revision}. */
    void onConfirmed(String providerName, StreamId streamId, UUID subscriptionId, UUID revision);
  }
}
