package dev.tributary.internal.runtime;

import dev.tributary.EventMetadata;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import java.util.Map;

/**
 * The metadata of one event as the agent delivers it: its token, the queue's name, and its batch
 * for the stream, write time and headers. Made only for observers that ask for metadata.
 */
final class DeliveredEvent implements EventMetadata {
  private final StreamSequenceToken token;
  private final String queue;
  private final BatchContainer batch;

  DeliveredEvent(StreamSequenceToken token, String queue, BatchContainer batch) {
    this.token = token;
    this.queue = queue;
    this.batch = batch;
  }

  @Override
  public StreamSequenceToken token() {
    return token;
  }

  @Override
  public StreamId streamId() {
    return batch.streamId();
  }

  @Override
  public String queue() {
    return queue;
  }

  @Override
  public long timestampMillis() {
    return batch.timestampMillis();
  }

  @Override
  public Map<String, byte[]> headers() {
    return batch.headers();
  }

  @Override
  public String toString() {
    return "EventMetadata{" + batch.streamId() + " " + token + " in " + queue + "}";
  }
}
