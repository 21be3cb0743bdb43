package dev.tributary.spi;

import dev.tributary.StreamId;
import java.util.Objects;
import java.util.UUID;

/**
 * What a {@link PubSubStore} keeps of one explicit subscription.
 *
 * @param subscriptionId the subscription's id
 * @param providerName its provider
 * @param streamId its stream
 * @param filterData the data for the runtime's stream filter, or null
 * @param faulted true once the subscription was faulted; it then receives nothing
 */
public record SubscriptionRecord(
    UUID subscriptionId,
    String providerName,
    StreamId streamId,
    String filterData,
    boolean faulted) {

  /** Validates the required parts. */
  public SubscriptionRecord {
    Objects.requireNonNull(subscriptionId, "subscriptionId");
    Objects.requireNonNull(providerName, "providerName");
    Objects.requireNonNull(streamId, "streamId");
  }

  /** Returns a copy marked faulted. */
  public SubscriptionRecord asFaulted() {
    return new SubscriptionRecord(subscriptionId, providerName, streamId, filterData, true);
  }
}
