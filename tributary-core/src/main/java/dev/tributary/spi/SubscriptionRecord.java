package dev.tributary.spi;

import dev.tributary.StreamId;
import dev.tributary.SubscriberAddress;
import java.util.Objects;
import java.util.UUID;

/**
 * What a {@link PubSubStore} keeps of one explicit subscription.
 *
 * <p>A record without a subscriber belongs to an observer object of one JVM: only the node that
 * made it delivers to it. A record with a {@link SubscriberAddress} is cluster-wide: the node that
 * owns the stream's queue delivers to it, and confirms every new {@code revision} with {@link
 * PubSubStore#confirm} once its agent applied it (attached, or re-pointed at a new subscriber); a
 * {@code removed} record it detaches and then deletes, and the deletion is the confirmation.
 *
 * @param subscriptionId the subscription's id
 * @param providerName its provider
 * @param streamId its stream
 * @param filterData the data for the runtime's stream filter, or null
 * @param faulted true once the subscription was faulted; it then receives nothing
 * @param subscriber where a cluster-wide subscription delivers, or null for one of this JVM
 * @param revision changes with every write that the queue's owner must apply; null for records
 *     without a subscriber
 * @param removed true once unsubscribed: the owner detaches it and then deletes the record
 */
public record SubscriptionRecord(
    UUID subscriptionId,
    String providerName,
    StreamId streamId,
    String filterData,
    boolean faulted,
    SubscriberAddress subscriber,
    UUID revision,
    boolean removed) {

  /** Validates the required parts. */
  public SubscriptionRecord {
    Objects.requireNonNull(subscriptionId, "subscriptionId");
    Objects.requireNonNull(providerName, "providerName");
    Objects.requireNonNull(streamId, "streamId");
    if (subscriber != null && revision == null) {
      throw new IllegalArgumentException(
          "a record with a subscriber needs a revision (subscription " + subscriptionId + ")");
    }
  }

  /** A record of a subscription whose observer lives in one JVM. */
  public SubscriptionRecord(
      UUID subscriptionId,
      String providerName,
      StreamId streamId,
      String filterData,
      boolean faulted) {
    this(subscriptionId, providerName, streamId, filterData, faulted, null, null, false);
  }

  /** True for a cluster-wide subscription: one with a {@link SubscriberAddress}. */
  public boolean addressed() {
    return subscriber != null;
  }

  /** Returns a copy marked faulted. */
  public SubscriptionRecord asFaulted() {
    return new SubscriptionRecord(
        subscriptionId, providerName, streamId, filterData, true, subscriber, revision, removed);
  }

  /** Returns a copy that delivers to {@code newSubscriber}, under a new revision. */
  public SubscriptionRecord withSubscriber(SubscriberAddress newSubscriber) {
    return new SubscriptionRecord(
        subscriptionId,
        providerName,
        streamId,
        filterData,
        faulted,
        Objects.requireNonNull(newSubscriber, "subscriber"),
        UUID.randomUUID(),
        false);
  }

  /** Returns a copy marked removed, under a new revision. */
  public SubscriptionRecord asRemoved() {
    return new SubscriptionRecord(
        subscriptionId,
        providerName,
        streamId,
        filterData,
        faulted,
        subscriber,
        subscriber == null ? null : UUID.randomUUID(),
        true);
  }
}
