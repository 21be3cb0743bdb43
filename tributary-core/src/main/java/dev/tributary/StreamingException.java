package dev.tributary;

/** The root of Tributary's own exceptions. */
public class StreamingException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Creates an exception with a message that says what happened and what to do. */
  public StreamingException(String message) {
    super(message);
  }

  /** Creates an exception with a message and its cause. */
  public StreamingException(String message, Throwable cause) {
    super(message, cause);
  }
}
