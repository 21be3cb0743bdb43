package dev.tributary.memory;

import dev.tributary.RetriableStreamingException;

/**
 * A memory queue holds {@code queueCapacity} unread batches; the producer must wait or slow down.
 */
public class MemoryQueueFullException extends RetriableStreamingException {
  private static final long serialVersionUID = 1L;

  MemoryQueueFullException(String queue, int capacity, Object stream) {
    super(
        "memory queue "
            + queue
            + " is full: it holds "
            + capacity
            + " unread batches (queueCapacity) and rejected a batch of "
            + stream
            + ". Its consumers are behind; retry later, slow the producer or raise queueCapacity");
  }
}
