package dev.tributary;

import java.util.UUID;

/** An event could not be delivered to a subscription within {@code maxEventDeliveryTime}. */
public class StreamEventDeliveryFailureException extends StreamingException {
  private static final long serialVersionUID = 1L;

  private final UUID subscriptionId;
  private final transient StreamId streamId;
  private final transient StreamSequenceToken token;

  /** Creates the exception; {@code cause} is the observer's last failure. */
  public StreamEventDeliveryFailureException(
      UUID subscriptionId,
      StreamId streamId,
      StreamSequenceToken token,
      int attempts,
      Throwable cause) {
    super(
        "Event "
            + token
            + " of stream "
            + streamId
            + " could not be delivered to subscription "
            + subscriptionId
            + " after "
            + attempts
            + " attempt(s) within maxEventDeliveryTime; last failure: "
            + cause,
        cause);
    this.subscriptionId = subscriptionId;
    this.streamId = streamId;
    this.token = token;
  }

  /** The subscription that failed. */
  public UUID subscriptionId() {
    return subscriptionId;
  }

  /** The stream of the event. */
  public StreamId streamId() {
    return streamId;
  }

  /** The token of the event that could not be delivered. */
  public StreamSequenceToken token() {
    return token;
  }
}
