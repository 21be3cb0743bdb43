package dev.tributary;

/**
 * The subscriber behind a {@link SubscriberAddress} can never receive events again (its actor
 * stopped, its address no longer resolves). An observer made by a {@link
 * dev.tributary.spi.SubscriberResolver} fails a delivery with it; once the delivery policy's
 * attempts are used up the subscription is faulted, whatever the failure handler's {@code
 * shouldFaultSubscriptionOnError} says, and stays listed as faulted in the store.
 */
@Incubating
public class SubscriberGoneException extends StreamingException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception with a message that names the subscriber. */
  public SubscriberGoneException(String message) {
    super(message);
  }

  /** Creates the exception with a message and its cause. */
  public SubscriberGoneException(String message, Throwable cause) {
    super(message, cause);
  }
}
