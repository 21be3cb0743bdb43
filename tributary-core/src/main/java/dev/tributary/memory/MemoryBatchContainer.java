package dev.tributary.memory;

import dev.tributary.EventSequenceToken;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import java.util.List;
import java.util.Map;

/** A batch of a memory or generator queue: the events as produced, no serialization. */
final class MemoryBatchContainer implements BatchContainer {
  private final StreamId streamId;
  private final EventSequenceToken token;
  private final List<?> events;
  private final Map<String, byte[]> headers;
  private final long timestampMillis;

  MemoryBatchContainer(
      StreamId streamId,
      EventSequenceToken token,
      List<?> events,
      Map<String, byte[]> headers,
      long timestampMillis) {
    this.streamId = streamId;
    this.token = token;
    this.events = events;
    this.headers = headers;
    this.timestampMillis = timestampMillis;
  }

  @Override
  public StreamId streamId() {
    return streamId;
  }

  @Override
  public StreamSequenceToken sequenceToken() {
    return token;
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
  public StreamSequenceToken eventToken(int index) {
    return index == 0 ? token : token.withEventIndex(index);
  }

  @Override
  public Map<String, byte[]> headers() {
    return headers;
  }

  @Override
  public long timestampMillis() {
    return timestampMillis;
  }

  @Override
  public String toString() {
    return "MemoryBatch{" + streamId + " " + token + " x" + events.size() + "}";
  }
}
