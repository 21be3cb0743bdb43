package dev.tributary.spi;

import dev.tributary.EventSequenceToken;
import dev.tributary.StreamId;
import java.util.List;

/** A plain batch for cache tests: one stream, one sequence number, {@code events} events. */
record TestBatch(StreamId streamId, EventSequenceToken sequenceToken, List<Object> events)
    implements BatchContainer {

  static TestBatch of(StreamId streamId, long sequenceNumber, int eventCount) {
    Object[] events = new Object[eventCount];
    for (int i = 0; i < eventCount; i++) {
      events[i] = streamId.key() + "@" + sequenceNumber + "." + i;
    }
    return new TestBatch(streamId, new EventSequenceToken(sequenceNumber), List.of(events));
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
    return streamId + sequenceToken.toString() + "x" + events.size();
  }
}
