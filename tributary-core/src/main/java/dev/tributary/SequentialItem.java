package dev.tributary;

import java.util.Objects;

/**
 * One event with its token, as a {@link BatchStreamObserver} receives it.
 *
 * @param item the event
 * @param token the event's position in its queue
 * @param <T> the event type
 */
public record SequentialItem<T>(T item, StreamSequenceToken token) {
  /** Checks that the token is present; the item may be null when the queue carries nulls. */
  public SequentialItem {
    Objects.requireNonNull(token, "token");
  }
}
