package dev.tributary.testkit;

import dev.tributary.EventSequenceToken;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A minimal {@link BatchContainer} for cache and cursor tests: a stream, a sequence number and the
 * events, which get tokens {@code (sequenceNumber, 0..n-1)}.
 *
 * @param streamId the stream
 * @param sequenceNumber the batch's position in its queue
 * @param events the events, at least one
 */
public record TestBatch(StreamId streamId, long sequenceNumber, List<Object> events)
    implements BatchContainer {

  /** Validates the parts. */
  public TestBatch {
    Objects.requireNonNull(streamId, "streamId");
    if (events == null || events.isEmpty()) {
      throw new IllegalArgumentException("a TestBatch needs at least one event");
    }
    events = List.copyOf(events);
  }

  /** A batch of {@code events} at {@code sequenceNumber}. */
  public static TestBatch of(StreamId streamId, long sequenceNumber, Object... events) {
    return new TestBatch(streamId, sequenceNumber, Arrays.asList(events));
  }

  /** A one-event batch whose event is {@code "<key>@<sequenceNumber>"}. */
  public static TestBatch single(StreamId streamId, long sequenceNumber) {
    return of(streamId, sequenceNumber, streamId.key() + "@" + sequenceNumber);
  }

  /** The token of event 0 of batch {@code sequenceNumber}. */
  public static StreamSequenceToken token(long sequenceNumber) {
    return new EventSequenceToken(sequenceNumber);
  }

  @Override
  public StreamSequenceToken sequenceToken() {
    return new EventSequenceToken(sequenceNumber);
  }

  @Override
  public int eventCount() {
    return events.size();
  }

  @Override
  public Object event(int index) {
    return events.get(index);
  }

  @Override
  public String toString() {
    return "TestBatch{" + streamId + " @" + sequenceNumber + " x" + events.size() + "}";
  }
}
