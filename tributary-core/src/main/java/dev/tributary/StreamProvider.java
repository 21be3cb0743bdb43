package dev.tributary;

/** A named source of streams backed by one queue adapter. */
public interface StreamProvider {

  /** The provider's name, as given to {@link StreamRuntime.Builder#addProvider}. */
  String name();

  /** True when subscriptions may start from a past token. */
  boolean isRewindable();

  /** Returns the stream {@code id} of this provider. The event type is the caller's to choose. */
  <T> AsyncStream<T> stream(StreamId id);

  /** Shorthand for {@code stream(StreamId.of(namespace, key))}. */
  default <T> AsyncStream<T> stream(String namespace, String key) {
    return stream(StreamId.of(namespace, key));
  }
}
