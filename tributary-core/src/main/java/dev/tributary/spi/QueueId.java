package dev.tributary.spi;

import java.util.Objects;

/**
 * The identity of one queue of a provider: a Kafka partition, a memory queue.
 *
 * @param prefix what the queue belongs to: the topic for Kafka, the provider for memory queues
 * @param index the queue's number within its prefix: the partition for Kafka
 */
public record QueueId(String prefix, int index) implements Comparable<QueueId> {

  /** Validates both parts. */
  public QueueId {
    Objects.requireNonNull(prefix, "prefix");
    if (index < 0) {
      throw new IllegalArgumentException("queue index was " + index + " but it must be at least 0");
    }
  }

  /** Returns queue {@code index} of {@code prefix}. */
  public static QueueId of(String prefix, int index) {
    return new QueueId(prefix, index);
  }

  @Override
  public int compareTo(QueueId o) {
    int c = prefix.compareTo(o.prefix);
    return c != 0 ? c : Integer.compare(index, o.index);
  }

  @Override
  public String toString() {
    return prefix + "-" + index;
  }
}
