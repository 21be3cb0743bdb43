package dev.tributary.testkit;

import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;

/**
 * One acknowledged delivery, as a {@link DeliveryHarness} recorded it.
 *
 * @param subscriber the label of the recording observer (one label per subscription)
 * @param streamId the stream the event belongs to
 * @param item the event
 * @param token the event's token
 */
public record Delivery(
    String subscriber, StreamId streamId, Object item, StreamSequenceToken token) {}
