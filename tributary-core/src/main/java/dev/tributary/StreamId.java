package dev.tributary;

/**
 * The identity of one stream: a namespace and a key.
 *
 * <p>For Kafka the namespace is the topic and the key is the record key decoded as a string. A
 * stream id is a value: two ids with the same namespace and key are equal.
 *
 * @param namespace the stream's namespace, never null or empty
 * @param key the stream's key within the namespace, never null (may be empty)
 */
public record StreamId(String namespace, String key) implements Comparable<StreamId> {

  /** Validates both parts, naming the part that is wrong. */
  public StreamId {
    if (namespace == null) {
      throw new NullPointerException(
          "StreamId namespace was null but it must be a non-empty string");
    }
    if (namespace.isEmpty()) {
      throw new IllegalArgumentException(
          "StreamId namespace was empty but it must be a non-empty string");
    }
    if (key == null) {
      throw new NullPointerException(
          "StreamId key was null (namespace '" + namespace + "'); use \"\" for the keyless stream");
    }
  }

  /** Returns the stream id of {@code key} in {@code namespace}. */
  public static StreamId of(String namespace, String key) {
    return new StreamId(namespace, key);
  }

  @Override
  public int compareTo(StreamId other) {
    int c = namespace.compareTo(other.namespace);
    return c != 0 ? c : key.compareTo(other.key);
  }

  @Override
  public int hashCode() {
    return 31 * namespace.hashCode() + key.hashCode();
  }

  @Override
  public boolean equals(Object o) {
    return this == o
        || o instanceof StreamId other
            && key.equals(other.key)
            && namespace.equals(other.namespace);
  }

  @Override
  public String toString() {
    return namespace + "/" + key;
  }
}
