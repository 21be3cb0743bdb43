package dev.tributary.pekko;

import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import java.util.Objects;

/**
 * What an actor's message may carry besides the event: the stream it belongs to and its token.
 *
 * <p>A final class rather than a record so that it can grow (the record's timestamp and headers,
 * once the core hands them to observers) without breaking code that reads it. Immutable.
 */
public final class EventContext {
  private final StreamId streamId;
  private final StreamSequenceToken token;

  private EventContext(StreamId streamId, StreamSequenceToken token) {
    this.streamId = Objects.requireNonNull(streamId, "streamId was null but it must be set");
    this.token = Objects.requireNonNull(token, "token was null but it must be set");
  }

  /** The context of the event at {@code token} of stream {@code streamId}. */
  public static EventContext of(StreamId streamId, StreamSequenceToken token) {
    return new EventContext(streamId, token);
  }

  /** The event's stream. */
  public StreamId streamId() {
    return streamId;
  }

  /** The stream's key: for Kafka, the record key. */
  public String key() {
    return streamId.key();
  }

  /**
   * The event's position in its queue: for Kafka, the record's offset in its partition. Tokens of a
   * stream that lives in one queue only grow; {@link TokenWatermark} relies on that.
   */
  public StreamSequenceToken token() {
    return token;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EventContext other
        && streamId.equals(other.streamId)
        && token.equals(other.token);
  }

  @Override
  public int hashCode() {
    return streamId.hashCode() * 31 + token.hashCode();
  }

  @Override
  public String toString() {
    return "EventContext{streamId=" + streamId + ", token=" + token + "}";
  }
}
