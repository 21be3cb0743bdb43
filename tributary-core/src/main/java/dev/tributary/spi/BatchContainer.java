package dev.tributary.spi;

import dev.tributary.EventSequenceToken;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import java.util.Map;

/**
 * One batch read from a queue: the events of one stream that share a sequence number.
 *
 * <p>Immutable once built; read by the agent's thread and by observers' callbacks.
 */
public interface BatchContainer {

  /** The stream the events belong to. */
  StreamId streamId();

  /** The token of the first event. */
  StreamSequenceToken sequenceToken();

  /** How many events the batch holds, at least 1. */
  int eventCount();

  /** Event {@code index}, 0-based; may be null when the queue carries nulls. */
  Object event(int index);

  /** The token of event {@code index}: the batch's sequence number with that event index. */
  default StreamSequenceToken eventToken(int index) {
    StreamSequenceToken first = sequenceToken();
    if (index == 0) {
      return first;
    }
    return new EventSequenceToken(first.sequenceNumber(), first.eventIndex() + index);
  }

  /** Metadata that travels with the batch (Kafka record headers); empty by default. */
  default Map<String, byte[]> headers() {
    return Map.of();
  }

  /** When the batch was written to the queue, in epoch millis, or -1 when unknown. */
  default long timestampMillis() {
    return -1;
  }
}
