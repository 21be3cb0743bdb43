package dev.tributary.kafka;

import dev.tributary.EventSequenceToken;
import dev.tributary.RetriableStreamingException;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.QueueAdapterReceiver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads one partition for its pulling agent, from the buffer its consumer thread fills.
 *
 * <p>Nothing here touches a KafkaConsumer or blocks: {@link #getQueueMessages} drains a local
 * buffer and returns a completed stage (an empty one while the partition ownership listener holds
 * the partition back), {@link #messagesDelivered} records the delivered watermark that the consumer
 * thread commits, and {@link #shutdown} only records the final watermark (with static assignment it
 * also asks the consumer thread to commit and unassign, and completes when it did). That is what
 * lets a revoke wait for the agent on the consumer thread without deadlocking. The data listener is
 * run by the consumer thread when the buffer goes from empty to non-empty, so the agent reads at
 * once instead of at its next timer tick.
 *
 * <p>Threading: called by the owning agent's logical thread, one call at a time, per the SPI.
 */
public final class KafkaAdapterReceiver implements QueueAdapterReceiver {

  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  private final KafkaQueueAdapter adapter;
  private final TopicPartition tp;
  private volatile PartitionState state;
  private volatile Runnable listener;

  /** Static assignment: the consumer thread's assignment of the partition, once asked for. */
  private volatile CompletableFuture<PartitionState> assigning;

  private volatile boolean shutDown;

  KafkaAdapterReceiver(KafkaQueueAdapter adapter, TopicPartition tp) {
    this.adapter = adapter;
    this.tp = tp;
  }

  /** The partition this receiver reads. */
  public TopicPartition topicPartition() {
    return tp;
  }

  @Override
  public CompletionStage<Void> initialize(Duration timeout) {
    if (adapter.settings().staticAssignment()) {
      CompletableFuture<PartitionState> a = adapter.loopFor(tp).assign(tp);
      assigning = a;
      return a.thenAccept(this::bind);
    }
    PartitionState s = adapter.state(tp);
    if (s == null || s.closed) {
      return CompletableFuture.failedFuture(
          new RetriableStreamingException(
              "partition "
                  + tp
                  + " of provider '"
                  + adapter.name()
                  + "' is not assigned to this node's consumers (any more); the consumer group"
                  + " decides which node reads it"));
    }
    bind(s);
    return DONE;
  }

  private void bind(PartitionState s) {
    state = s;
    if (shutDown) {
      // Stopped while the assignment was under way; shutdown() unassigns it.
      return;
    }
    Runnable l = listener;
    s.dataListener = l;
    if (l != null && s.bufferedCount > 0) {
      l.run();
    }
  }

  @Override
  public CompletionStage<List<BatchContainer>> getQueueMessages(int maxCount) {
    PartitionState s = state;
    if (s == null || s.closed || s.gated) {
      // Gated: the ownership listener's stage runs the data listener when it opens.
      return CompletableFuture.completedFuture(List.of());
    }
    return CompletableFuture.completedFuture(s.drain(maxCount));
  }

  @Override
  public CompletionStage<Void> messagesDelivered(List<BatchContainer> messages) {
    PartitionState s = state;
    if (s != null && !messages.isEmpty()) {
      s.delivered(messages);
    }
    return DONE;
  }

  @Override
  public CompletionStage<Void> shutdown(Duration timeout) {
    shutDown = true;
    PartitionState s = state;
    if (s != null) {
      s.dataListener = null;
    }
    if (!adapter.settings().staticAssignment()) {
      return DONE;
    }
    // An assignment still under way (the agent stopped during initialize) is undone once it is
    // made, so that the partition does not stay assigned and buffering with nobody reading it.
    CompletableFuture<PartitionState> a = assigning;
    CompletableFuture<PartitionState> bound =
        s != null
            ? CompletableFuture.completedFuture(s)
            : a == null ? CompletableFuture.completedFuture(null) : a.exceptionally(e -> null);
    return bound
        .thenCompose(
            st -> {
              if (st == null) {
                return DONE;
              }
              st.dataListener = null;
              return adapter.loopFor(tp).unassign(st);
            })
        .orTimeout(Math.max(1, timeout.toMillis()), TimeUnit.MILLISECONDS);
  }

  /** Pauses the partition (it stays assigned) and commits its delivered watermark; see SPI. */
  @Override
  public CompletionStage<Void> pauseReading() {
    PartitionState s = state;
    ConsumerLoop loop = s == null ? null : s.owner;
    if (s == null || s.closed || loop == null) {
      return DONE;
    }
    return loop.hold(s);
  }

  /** Resumes fetching the partition after {@link #pauseReading()}. */
  @Override
  public CompletionStage<Void> resumeReading() {
    PartitionState s = state;
    ConsumerLoop loop = s == null ? null : s.owner;
    if (s == null || s.closed || loop == null) {
      return DONE;
    }
    return loop.unhold(s);
  }

  @Override
  public void setDataAvailableListener(Runnable listener) {
    this.listener = listener;
    PartitionState s = state;
    if (s != null) {
      s.dataListener = listener;
    }
  }

  /** The offset from which this receiver returns every record, as a token; null until known. */
  @Override
  public StreamSequenceToken readStart() {
    PartitionState s = state;
    // A revoked partition returns nothing more: its reading no longer covers anything.
    long start = s == null || s.closed ? -1 : s.readStart();
    return start < 0 ? null : new EventSequenceToken(start);
  }

  @Override
  public String toString() {
    return "KafkaAdapterReceiver{" + tp + "}";
  }
}
