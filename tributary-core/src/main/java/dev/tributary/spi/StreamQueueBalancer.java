package dev.tributary.spi;

import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * Decides which queues this node's pulling agents own.
 *
 * <p>The pulling manager calls {@link #start} once and then follows the listener. Listeners may be
 * called from any thread; the balancer should wait for the returned stage before it hands a
 * released queue to another node (Kafka's revoke callback does).
 */
public interface StreamQueueBalancer extends AutoCloseable {

  /** Receives ownership changes. */
  @FunctionalInterface
  interface Listener {
    /**
     * The set of queues this node owns is now {@code ownedQueues}. The stage completes when agents
     * of released queues have stopped and flushed their delivered progress.
     */
    CompletionStage<Void> queueDistributionChanged(Set<QueueId> ownedQueues);
  }

  /** Starts balancing the queues of {@code mapper}; ownership arrives through {@code listener}. */
  void start(StreamQueueMapper mapper, Listener listener);

  /** The queues this node owns now. */
  Set<QueueId> myQueues();

  /** Stops balancing; called after the agents stopped. */
  @Override
  default void close() {}
}
