package dev.tributary.kafka;

import dev.tributary.StreamingException;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamQueueBalancer;
import dev.tributary.spi.StreamQueueMapper;
import java.util.Collection;
import java.util.Set;
import java.util.TreeMap;
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
 *
 * <p>Each owned queue remembers the consumer loop that holds it (null with static assignment). With
 * several consumers per node the group can move a partition from one of them to another, and the
 * new holder can be assigned it before the old one hears that it lost it: the old holder's late
 * release must then not take the queue away from the new one.
 */
final class KafkaQueueBalancer implements StreamQueueBalancer {
  private static final Logger log = LoggerFactory.getLogger(KafkaQueueBalancer.class);

  private final KafkaQueueAdapter adapter;

  /** Owned queues and the consumer loop that holds each (null with static assignment). */
  private final TreeMap<QueueId, ConsumerLoop> owned = new TreeMap<>();

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

  /** Static assignment: adds queues to this node's share, held by no consumer loop. */
  CompletionStage<Void> add(Collection<QueueId> queues) {
    return add(queues, null);
  }

  /**
   * Adds queues to this node's share, held by {@code holder} from now on (also those another loop
   * held); the stage completes when the agents of the queues that were not owned yet were started.
   */
  synchronized CompletionStage<Void> add(Collection<QueueId> queues, ConsumerLoop holder) {
    boolean added = false;
    for (QueueId q : queues) {
      added |= !owned.containsKey(q);
      owned.put(q, holder);
    }
    return added ? notifyLocked() : CompletableFuture.completedFuture(null);
  }

  /**
   * Removes those of {@code queues} that {@code holder} still holds; a queue another loop holds now
   * stays. The stage completes when the agents of the removed queues stopped and flushed.
   */
  synchronized CompletionStage<Void> remove(Collection<QueueId> queues, ConsumerLoop holder) {
    boolean removed = false;
    for (QueueId q : queues) {
      if (owned.containsKey(q) && owned.get(q) == holder) {
        owned.remove(q);
        removed = true;
      }
    }
    return removed ? notifyLocked() : CompletableFuture.completedFuture(null);
  }

  private CompletionStage<Void> notifyLocked() {
    if (listener == null || closed) {
      return CompletableFuture.completedFuture(null);
    }
    try {
      CompletionStage<Void> s = listener.queueDistributionChanged(Set.copyOf(owned.keySet()));
      return s == null ? CompletableFuture.completedFuture(null) : s;
    } catch (Throwable t) {
      log.error("Provider {}: the runtime rejected an ownership change", adapter.name(), t);
      return CompletableFuture.failedFuture(t);
    }
  }

  @Override
  public synchronized Set<QueueId> myQueues() {
    return Set.copyOf(owned.keySet());
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
