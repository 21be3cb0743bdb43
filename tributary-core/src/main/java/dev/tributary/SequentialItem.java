package dev.tributary;

import java.util.Objects;

/**
 * One event with its token, as a {@link BatchStreamObserver} receives it.
 *
 * @param item the event
 * @param token the event's position in its queue
 * @param metadata the event's metadata for a {@link MetadataBatchStreamObserver}; null otherwise
 * @param <T> the event type
 */
public record SequentialItem<T>(T item, StreamSequenceToken token, EventMetadata metadata) {
  /** Checks that the token is present; the item may be null when the queue carries nulls. */
  public SequentialItem {
    Objects.requireNonNull(token, "token");
  }

  /** An item without metadata. */
  public SequentialItem(T item, StreamSequenceToken token) {
    this(item, token, null);
  }

  /** Equal when item and token are: the metadata describes the event, it is not part of it. */
  @Override
  public boolean equals(Object o) {
    return o instanceof SequentialItem<?> other
        && Objects.equals(item, other.item)
        && token.equals(other.token);
  }

  @Override
  public int hashCode() {
    return Objects.hashCode(item) * 31 + token.hashCode();
  }

  @Override
  public String toString() {
    return "SequentialItem[item=" + item + ", token=" + token + "]";
  }
}
