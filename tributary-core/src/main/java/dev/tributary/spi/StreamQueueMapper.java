package dev.tributary.spi;

import dev.tributary.StreamId;
import java.util.List;

/**
 * Maps streams to queues. Must be deterministic across nodes: producers and agents on different
 * nodes must agree. Thread-safe.
 */
public interface StreamQueueMapper {

  /** Every queue of the provider, in a stable order. */
  List<QueueId> allQueues();

  /** The queue that carries {@code streamId}. */
  QueueId queueForStream(StreamId streamId);
}
