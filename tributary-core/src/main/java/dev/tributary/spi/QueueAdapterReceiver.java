package dev.tributary.spi;

import dev.tributary.Incubating;
import dev.tributary.StreamSequenceToken;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Reads one queue for its pulling agent.
 *
 * <p>Threading: every method is called by the owning agent's logical thread, never two at once, and
 * must not block; return a stage and complete it from any thread. {@link
 * #setDataAvailableListener(Runnable)} is the exception: the listener it receives may be run from
 * any thread, at any time, as often as the receiver likes.
 */
public interface QueueAdapterReceiver {

  /** Prepares the receiver: connect, seek. The agent gives up on it after {@code timeout}. */
  CompletionStage<Void> initialize(Duration timeout);

  /**
   * Returns up to {@code maxCount} batches in queue order, or an empty list when nothing is there.
   * Never returns a batch twice, except after a failure that the receiver recovers from by
   * rereading (at-least-once).
   */
  CompletionStage<List<BatchContainer>> getQueueMessages(int maxCount);

  /**
   * Acknowledges batches that every subscription has passed, in queue order. Batches whose delivery
   * failed are never passed here. A Kafka receiver commits from this.
   */
  CompletionStage<Void> messagesDelivered(List<BatchContainer> messages);

  /** Releases the queue after the agent's last {@link #messagesDelivered(List)}. */
  CompletionStage<Void> shutdown(Duration timeout);

  /**
   * Gives the receiver a signal to run when data arrives, so the agent reads at once instead of at
   * its next timer tick. Receivers that cannot tell ignore it.
   */
  default void setDataAvailableListener(Runnable listener) {}

  /**
   * The token from which this receiver returns every batch of the queue that {@link
   * #getQueueMessages} will ever return, contiguously; null while unknown (before {@link
   * #initialize} completed, or always for receivers that cannot tell, the default). The agent needs
   * it to tell whether its cache sees everything of a stream from a token on: a {@link QueueReplay}
   * hands over to the cache only from a position at or after it.
   */
  @Incubating
  default StreamSequenceToken readStart() {
    return null;
  }

  /**
   * The agent stops reading for an operator ({@link dev.tributary.StreamProvider#stopAgents()}):
   * the queue stays owned by this node, and the agent keeps what it cached. The receiver may stop
   * fetching (Kafka pauses the partition and keeps polling, so the node stays in the group), and
   * should make the delivered progress durable (Kafka commits it synchronously) before the stage
   * completes. Called on the agent's thread, after the agent's last {@link #messagesDelivered}
   * before the stop; must not block. The default does nothing.
   */
  @Incubating
  default CompletionStage<Void> pauseReading() {
    return java.util.concurrent.CompletableFuture.completedFuture(null);
  }

  /**
   * Undoes {@link #pauseReading()} ({@link dev.tributary.StreamProvider#startAgents()}): fetching
   * goes on from where it stopped. Called on the agent's thread; must not block.
   */
  @Incubating
  default CompletionStage<Void> resumeReading() {
    return java.util.concurrent.CompletableFuture.completedFuture(null);
  }
}
