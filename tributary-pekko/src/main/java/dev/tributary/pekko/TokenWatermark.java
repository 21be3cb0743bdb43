package dev.tributary.pekko;

import dev.tributary.EventSequenceToken;
import dev.tributary.StreamSequenceToken;
import java.util.Objects;

/**
 * The newest token an entity has processed and stored with its state: with it, an entity drops the
 * events that at-least-once delivery repeats (after a crash, a rebalance, an ask timeout), and so
 * applies each event once.
 *
 * <p>Why it works: a stream lives in one queue (for Kafka: the key's partition), and the tokens of
 * one queue only grow, so every event at or below the stored token was processed already. Store the
 * watermark in the same write as the state it describes (one row, one document, one event of a
 * journal); an entity that stores state and watermark separately can lose one of them in a crash.
 *
 * <pre>{@code
 * // on each event: (event, ctx, replyTo)
 * if (!state.watermark().isNew(ctx.token())) {
 *   replyTo.tell(StatusReply.ack());            // a repeat: acknowledge, change nothing
 *   return this;
 * }
 * State next = state.apply(event).withWatermark(state.watermark().advance(ctx.token()));
 * store.save(key, next);                          // state and token in one write
 * replyTo.tell(StatusReply.ack());
 * }</pre>
 *
 * <p>The one case where tokens of a stream do not grow: a stream reachable from several queues
 * (Kafka keyless records funnelled into one stream, or a key that moved partition when a topic
 * grew). Then keep one watermark per queue, or avoid those setups for entities that persist.
 *
 * <p>Immutable; {@link #sequenceNumber()} and {@link #eventIndex()} are what to store.
 */
public final class TokenWatermark {

  /** The watermark of an entity that has processed nothing yet. */
  public static final TokenWatermark NONE = new TokenWatermark(null);

  private final StreamSequenceToken last;

  private TokenWatermark(StreamSequenceToken last) {
    this.last = last;
  }

  /** The watermark at {@code token}, the newest token processed. */
  public static TokenWatermark of(StreamSequenceToken token) {
    return new TokenWatermark(
        Objects.requireNonNull(token, "token was null but it must be set; use NONE for none"));
  }

  /**
   * The watermark read back from its stored {@link #sequenceNumber()} and {@link #eventIndex()}.
   */
  public static TokenWatermark of(long sequenceNumber, int eventIndex) {
    return new TokenWatermark(new EventSequenceToken(sequenceNumber, eventIndex));
  }

  /** True when {@code token} is newer than every token processed: an event to apply. */
  public boolean isNew(StreamSequenceToken token) {
    Objects.requireNonNull(token, "token was null but it must be set");
    return last == null || token.isNewerThan(last);
  }

  /**
   * Returns the watermark after {@code token} was processed.
   *
   * @throws IllegalArgumentException when {@code token} is not new: applying it would apply an
   *     event twice (check {@link #isNew} first)
   */
  public TokenWatermark advance(StreamSequenceToken token) {
    if (!isNew(token)) {
      throw new IllegalArgumentException(
          "token was " + token + " but it must be newer than the watermark " + last);
    }
    return new TokenWatermark(token);
  }

  /** True when nothing was processed yet. */
  public boolean isEmpty() {
    return last == null;
  }

  /** The newest token processed, or null when {@link #isEmpty()}. */
  public StreamSequenceToken last() {
    return last;
  }

  /** The sequence number to store (for Kafka: the offset); -1 when {@link #isEmpty()}. */
  public long sequenceNumber() {
    return last == null ? -1 : last.sequenceNumber();
  }

  /** The event index to store; 0 when {@link #isEmpty()}. */
  public int eventIndex() {
    return last == null ? 0 : last.eventIndex();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TokenWatermark other && Objects.equals(last, other.last);
  }

  @Override
  public int hashCode() {
    return Objects.hashCode(last);
  }

  @Override
  public String toString() {
    return last == null ? "TokenWatermark{none}" : "TokenWatermark{" + last + "}";
  }
}
