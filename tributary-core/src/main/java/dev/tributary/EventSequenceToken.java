package dev.tributary;

/** The standard token: a sequence number and an event index within the batch. */
public final class EventSequenceToken extends StreamSequenceToken {

  private final long sequenceNumber;
  private final int eventIndex;

  /** Creates the token of event {@code eventIndex} in batch {@code sequenceNumber}. */
  public EventSequenceToken(long sequenceNumber, int eventIndex) {
    if (sequenceNumber < 0) {
      throw new IllegalArgumentException(
          "sequenceNumber was " + sequenceNumber + " but it must be at least 0");
    }
    if (eventIndex < 0) {
      throw new IllegalArgumentException(
          "eventIndex was " + eventIndex + " but it must be at least 0");
    }
    this.sequenceNumber = sequenceNumber;
    this.eventIndex = eventIndex;
  }

  /** Creates the token of the first event in batch {@code sequenceNumber}. */
  public EventSequenceToken(long sequenceNumber) {
    this(sequenceNumber, 0);
  }

  /** Returns the token of event {@code index} of the same batch. */
  public EventSequenceToken withEventIndex(int index) {
    return index == eventIndex ? this : new EventSequenceToken(sequenceNumber, index);
  }

  @Override
  public long sequenceNumber() {
    return sequenceNumber;
  }

  @Override
  public int eventIndex() {
    return eventIndex;
  }
}
