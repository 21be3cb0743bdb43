package dev.tributary.pekko;

import dev.tributary.EventMetadata;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import java.util.Map;
import java.util.Objects;

/**
 * What an actor's message may carry besides the event: the stream it belongs to, its token, when it
 * was written and the headers written with it (for Kafka the record's timestamp and headers).
 *
 * <p>A final class rather than a record so that it can grow without breaking code that reads it.
 * Immutable.
 */
public final class EventContext {
  private final StreamId streamId;
  private final StreamSequenceToken token;
  private final long timestampMillis;
  private final Map<String, byte[]> headers;

  private EventContext(
      StreamId streamId,
      StreamSequenceToken token,
      long timestampMillis,
      Map<String, byte[]> headers) {
    this.streamId = Objects.requireNonNull(streamId, "streamId was null but it must be set");
    this.token = Objects.requireNonNull(token, "token was null but it must be set");
    this.timestampMillis = timestampMillis;
    this.headers = headers == null ? Map.of() : headers;
  }

  /**
   * The context of the event at {@code token} of stream {@code streamId}, without time or headers.
   */
  public static EventContext of(StreamId streamId, StreamSequenceToken token) {
    return new EventContext(streamId, token, -1, Map.of());
  }

  /** The context of a delivered event of stream {@code streamId}, from its metadata. */
  public static EventContext of(StreamId streamId, EventMetadata metadata) {
    return new EventContext(
        streamId, metadata.token(), metadata.timestampMillis(), metadata.headers());
  }

  /** The context as read back from the network ({@link StreamDeliverySerializer}). */
  static EventContext of(
      StreamId streamId,
      StreamSequenceToken token,
      long timestampMillis,
      Map<String, byte[]> headers) {
    return new EventContext(streamId, token, timestampMillis, headers);
  }

  /** When the event was written to its queue, in epoch millis, or -1 when unknown. */
  public long timestampMillis() {
    return timestampMillis;
  }

  /** The headers written with the event (Kafka: the record's, the last value per key). */
  public Map<String, byte[]> headers() {
    return headers;
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
