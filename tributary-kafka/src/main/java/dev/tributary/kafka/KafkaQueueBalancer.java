package dev.tributary.kafka;

import dev.tributary.StreamingException;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamQueueBalancer;
import dev.tributary.spi.StreamQueueMapper;
import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka provider's queue balancer: this node owns what the consumer group assigned to its
 * consumers, or, with static assignment, every partition of the topics (growing with them).
 *
 * <p>Threading: ownership changes arrive from consumer threads (inside rebalance callbacks) and
 * from the metadata check; each change updates the owned set and calls the runtime's listener under
 * this object's lock, so the runtime sees changes in the order they happened, while waiting for the
 * returned stage happens outside the lock.
 */
final class KafkaQueueBalancer implements StreamQueueBalancer {
  private static final Logger log = LoggerFactory.getLogger(KafkaQueueBalancer.class);

  private final KafkaQueueAdapter adapter;
  private final TreeSet<QueueId> owned = new TreeSet<>();
  private Listener listener;
  private boolean started;
  private boolean closed;

  KafkaQueueBalancer(KafkaQueueAdapter adapter) {
    this.adapter = adapter;
  }

  @Override
  public void start(StreamQueueMapper mapper, Listener listener) {
    synchronized (this) {
      if (started) {
        throw new IllegalStateException(
            "the Kafka balancer of provider '" + adapter.name() + "' was already started");
      }
      started = true;
      this.listener = listener;
    }
    if (!adapter.settings().staticAssignment()) {
      adapter.startConsumers();
      return;
    }
    CompletionStage<Void> agents = add(mapper.allQueues());
    try {
      agents
          .toCompletableFuture()
          .get(adapter.settings().startupTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new StreamingException(
          "Kafka provider '" + adapter.name() + "': starting agents failed", e.getCause());
    } catch (TimeoutException e) {
      log.warn("Provider {}: agents did not start within startupTimeout", adapter.name());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** True once the runtime started this balancer. */
  synchronized boolean isStarted() {
    return started && !closed;
  }

  /** Adds queues to this node's share; the stage completes when their agents were started. */
  synchronized CompletionStage<Void> add(Collection<QueueId> queues) {
    return owned.addAll(queues) ? notifyLocked() : CompletableFuture.completedFuture(null);
  }

  /** Removes queues; the stage completes when their agents stopped and flushed. */
  synchronized CompletionStage<Void> remove(Collection<QueueId> queues) {
    return owned.removeAll(queues) ? notifyLocked() : CompletableFuture.completedFuture(null);
  }

  private CompletionStage<Void> notifyLocked() {
    if (listener == null || closed) {
      return CompletableFuture.completedFuture(null);
    }
    try {
      CompletionStage<Void> s = listener.queueDistributionChanged(Set.copyOf(owned));
      return s == null ? CompletableFuture.completedFuture(null) : s;
    } catch (Throwable t) {
      log.error("Provider {}: the runtime rejected an ownership change", adapter.name(), t);
      return CompletableFuture.failedFuture(t);
    }
  }

  @Override
  public synchronized Set<QueueId> myQueues() {
    return Set.copyOf(owned);
  }

  /** Stops the consumers after the runtime stopped the agents: final commits, leave the group. */
  @Override
  public void close() {
    synchronized (this) {
      closed = true;
    }
    adapter.stopConsumers();
  }
}
