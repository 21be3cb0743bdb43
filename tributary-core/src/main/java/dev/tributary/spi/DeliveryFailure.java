package dev.tributary.spi;

import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import java.util.UUID;

/**
 * An event that could not be delivered to a subscription, as reported to a {@link
 * StreamFailureHandler}.
 *
 * @param providerName the provider
 * @param queueId the queue the event came from
 * @param subscriptionId the subscription that failed
 * @param streamId the event's stream
 * @param token the event's token
 * @param batch the batch holding the event, for dead-lettering; null for a subscription failure
 * @param implicit true for implicit subscriptions, which are never faulted
 * @param cause the last failure
 */
public record DeliveryFailure(
    String providerName,
    QueueId queueId,
    UUID subscriptionId,
    StreamId streamId,
    StreamSequenceToken token,
    BatchContainer batch,
    boolean implicit,
    Throwable cause) {}
