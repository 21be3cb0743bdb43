package dev.tributary;

import java.util.Map;
import java.util.Objects;

/**
 * What the runtime knows about one delivered event besides its item: where it is (token, stream,
 * queue), when it was written and the headers written with it.
 *
 * <p>Given to a {@link MetadataStreamObserver} with each event, and to a {@link
 * MetadataBatchStreamObserver} through {@link SequentialItem#metadata()}; observers that do not ask
 * for it cost nothing extra. Immutable; safe to keep after the call.
 */
@Incubating
public interface EventMetadata {

  /** The event's position in its queue. */
  StreamSequenceToken token();

  /** The event's stream. */
  StreamId streamId();

  /**
   * The queue it was read from, as named in logs and metric tags (Kafka: {@code topic-partition}).
   */
  String queue();

  /** When the event was written to its queue, in epoch millis, or -1 when the queue cannot tell. */
  long timestampMillis();

  /** The headers written with the event (Kafka: the record's headers, the last value per key). */
  Map<String, byte[]> headers();

  /** Metadata with the given parts, for tests and for callers of observers outside the runtime. */
  static EventMetadata of(
      StreamId streamId,
      StreamSequenceToken token,
      String queue,
      long timestampMillis,
      Map<String, byte[]> headers) {
    Objects.requireNonNull(token, "token");
    // Kafka allows null header values: keep them (Map.copyOf would refuse them).
    Map<String, byte[]> h =
        headers == null
            ? Map.of()
            : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(headers));
    return new EventMetadata() {
      @Override
      public StreamSequenceToken token() {
        return token;
      }

      @Override
      public StreamId streamId() {
        return streamId;
      }

      @Override
      public String queue() {
        return queue;
      }

      @Override
      public long timestampMillis() {
        return timestampMillis;
      }

      @Override
      public Map<String, byte[]> headers() {
        return h;
      }

      @Override
      public String toString() {
        return "EventMetadata{" + streamId + " " + token + " in " + queue + "}";
      }
    };
  }
}
