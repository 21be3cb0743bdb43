package dev.tributary.spi;

import dev.tributary.Incubating;
import dev.tributary.StreamSequenceToken;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * A reader of one stream's past batches straight from its queue, for a subscription whose start
 * token is older than what its agent's cache holds: the stream's batches from the start token on,
 * in queue order, skipping every other stream's. Opened by {@link QueueAdapter#openReplay}.
 *
 * <p>The agent reads until the reader's {@link #position()} reaches what the cache holds, then
 * closes it and goes on from the cache: the subscription sees every batch of its stream from its
 * token once, whatever was purged meanwhile. A replay neither holds the cache nor acknowledges
 * anything, so a slow replaying subscription never holds the queue's reading or its commits back.
 *
 * <p>Threading: called by the owning agent's logical thread, one call at a time; {@link #read}
 * never blocks (it returns a stage completed from the reader's own thread), and the agent never
 * calls {@link #position()} while a read is outstanding.
 */
@Incubating
public interface QueueReplay extends AutoCloseable {

  /**
   * Reads up to {@code maxCount} next batches of the stream, in queue order. Completes with an
   * empty list when the reader has reached the end of what the queue holds now (a later call may
   * return more), or when it read only other streams' batches this time (its {@link #position()}
   * moved on); a reader should return at the queue's end as it stood, found or not, so that the
   * agent can hand over to its cache while the queue keeps growing. Completes exceptionally with
   * {@link dev.tributary.EventsExpiredException} when the queue no longer holds events the replay
   * had still to read (retention removed them): the reader has moved on to the oldest event the
   * queue still has, and the next call continues there. Any other failure is taken as transient:
   * the agent calls again after its read backoff, and gives the replay up after {@code
   * maxReadAttempts} failures in a row.
   */
  CompletionStage<List<BatchContainer>> read(int maxCount);

  /**
   * The token from which the next {@link #read} continues: after the last batch returned and every
   * batch of other streams read past. Every batch of the stream before it was returned.
   */
  StreamSequenceToken position();

  /** Releases the reader; an outstanding read completes with an empty list. Idempotent. */
  @Override
  void close();
}
