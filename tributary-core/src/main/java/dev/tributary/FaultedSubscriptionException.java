package dev.tributary;

import java.util.UUID;

/** A subscription was faulted after a delivery failure and receives nothing more. */
public class FaultedSubscriptionException extends StreamingException {
  private static final long serialVersionUID = 1L;

  private final UUID subscriptionId;
  private final transient StreamId streamId;

  /** Creates the exception for subscription {@code subscriptionId} of {@code streamId}. */
  public FaultedSubscriptionException(UUID subscriptionId, StreamId streamId, Throwable cause) {
    super(
        "Subscription "
            + subscriptionId
            + " to stream "
            + streamId
            + " is faulted: an event could not be delivered within maxEventDeliveryTime and the"
            + " failure handler faults subscriptions on error. Subscribe again to receive events.",
        cause);
    this.subscriptionId = subscriptionId;
    this.streamId = streamId;
  }

  /** The faulted subscription. */
  public UUID subscriptionId() {
    return subscriptionId;
  }

  /** Its stream. */
  public StreamId streamId() {
    return streamId;
  }
}
