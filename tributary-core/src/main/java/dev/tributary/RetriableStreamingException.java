package dev.tributary;

/**
 * A transient fault of a queue or store: the same call may succeed later.
 *
 * <p>Adapters throw it for broker outages and time-outs; the runtime retries such failures with
 * backoff instead of giving up.
 */
public class RetriableStreamingException extends StreamingException {
  private static final long serialVersionUID = 1L;

  /** Creates the exception. */
  public RetriableStreamingException(String message) {
    super(message);
  }

  /** Creates the exception with its cause. */
  public RetriableStreamingException(String message, Throwable cause) {
    super(message, cause);
  }
}
