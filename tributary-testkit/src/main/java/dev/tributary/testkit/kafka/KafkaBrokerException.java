package dev.tributary.testkit.kafka;

/**
 * An unchecked failure of the {@link KafkaBroker} fixture, such as a broker that did not come up.
 *
 * <p>Unchecked because a test can do nothing useful about it but fail; the message carries what is
 * needed to diagnose it (for a forked broker, the tail of its log).
 */
public class KafkaBrokerException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  /** Creates an exception with a message. */
  public KafkaBrokerException(String message) {
    super(message);
  }

  /** Creates an exception with a message and the failure that caused it. */
  public KafkaBrokerException(String message, Throwable cause) {
    super(message, cause);
  }
}
