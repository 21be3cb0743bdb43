package dev.tributary;

/**
 * The position of an event within its queue, used to order events and to rewind a subscription.
 *
 * <p>Tokens of one queue are totally ordered by {@link #sequenceNumber()} and then {@link
 * #eventIndex()}. For Kafka the sequence number is the record offset within its partition.
 */
public abstract class StreamSequenceToken implements Comparable<StreamSequenceToken> {

  /** For subclasses: queues with their own token types. */
  protected StreamSequenceToken() {}

  /** The position of the batch within its queue. */
  public abstract long sequenceNumber();

  /** The position of the event within its batch, 0 for the first. */
  public abstract int eventIndex();

  @Override
  public final int compareTo(StreamSequenceToken other) {
    int c = Long.compare(sequenceNumber(), other.sequenceNumber());
    return c != 0 ? c : Integer.compare(eventIndex(), other.eventIndex());
  }

  /** Returns true when this token is ordered before {@code other}. */
  public final boolean isOlderThan(StreamSequenceToken other) {
    return compareTo(other) < 0;
  }

  /** Returns true when this token is ordered after {@code other}. */
  public final boolean isNewerThan(StreamSequenceToken other) {
    return compareTo(other) > 0;
  }

  @Override
  public final boolean equals(Object o) {
    return o instanceof StreamSequenceToken other
        && sequenceNumber() == other.sequenceNumber()
        && eventIndex() == other.eventIndex();
  }

  @Override
  public final int hashCode() {
    return Long.hashCode(sequenceNumber()) * 31 + eventIndex();
  }

  @Override
  public String toString() {
    return "[" + sequenceNumber() + "," + eventIndex() + "]";
  }
}
