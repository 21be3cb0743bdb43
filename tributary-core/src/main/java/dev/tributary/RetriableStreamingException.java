package dev.tributary;

/**
 * A transient fault of a queue or store: the same call may succeed later.
 *
 * <p>Adapters use it for broker outages, time-outs and full buffers, so that a caller of {@code
 * AsyncStream.onNext} can tell a failure worth retrying from one that is not. The runtime does not
 * look at the type: it retries every failure of a receiver (initialization and reads) with backoff,
 * retriable or not, and it never retries a caller's {@code onNext} on its own.
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
