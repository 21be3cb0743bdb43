package dev.tributary.spi;

import dev.tributary.StreamId;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * Keeps explicit subscriptions per stream, so that they survive restarts when the store is durable.
 * Thread-safe; called from producers' and agents' threads; should not block.
 */
public interface PubSubStore {

  /** Adds or replaces a subscription. */
  CompletionStage<Void> put(SubscriptionRecord record);

  /** Removes a subscription; removing an unknown one is not an error. */
  CompletionStage<Void> remove(String providerName, StreamId streamId, UUID subscriptionId);

  /** The subscriptions of a stream, faulted ones included. */
  CompletionStage<List<SubscriptionRecord>> subscriptions(String providerName, StreamId streamId);
}
