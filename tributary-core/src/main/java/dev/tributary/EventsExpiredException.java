package dev.tributary;

/**
 * A subscription asked for events that its queue no longer holds: retention removed them before
 * they could be read again.
 *
 * <p>Delivered to the observer's {@code onError} (and to the failure handler) when a replay from
 * the queue starts below the queue's earliest retained event, or falls below it while it reads;
 * delivery then continues from {@link #earliest()}. Keep more history with the queue's retention
 * (for Kafka, the topic's {@code retention.ms} and {@code retention.bytes}).
 */
public class EventsExpiredException extends StreamingException {
  private static final long serialVersionUID = 1L;

  private final transient StreamId streamId;
  private final transient StreamSequenceToken requested;
  private final transient StreamSequenceToken earliest;

  /** Creates the exception for {@code streamId} in {@code queue}. */
  public EventsExpiredException(
      String queue,
      StreamId streamId,
      StreamSequenceToken requested,
      StreamSequenceToken earliest) {
    super(
        "Stream "
            + streamId
            + " in queue "
            + queue
            + " asked for events from token "
            + requested
            + " but the queue holds events only from "
            + earliest
            + ": retention removed the ones before. Delivery continues from "
            + earliest
            + ".");
    this.streamId = streamId;
    this.requested = requested;
    this.earliest = earliest;
  }

  /** The stream whose events expired. */
  public StreamId streamId() {
    return streamId;
  }

  /** The token the subscription (or its replay) needed next. */
  public StreamSequenceToken requested() {
    return requested;
  }

  /** The token of the oldest event the queue still holds, where delivery continues. */
  public StreamSequenceToken earliest() {
    return earliest;
  }
}
