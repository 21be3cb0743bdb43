package dev.tributary.kafka;

import dev.tributary.StreamingException;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamQueueBalancer;
import dev.tributary.spi.StreamQueueMapper;
import java.util.ArrayDeque;
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
 * <p>Threading: ownership changes arrive from consumer threads (inside rebalance callbacks), from
 * the housekeeping thread (partition growth with static assignment) and from the thread that starts
 * the runtime. Each change updates the owned set under this object's monitor and queues a snapshot
 * of it there, so snapshots are queued in the order the changes happened. The runtime's listener is
 * called outside the monitor: whichever thread finds no delivery under way delivers the queued
 * snapshots one at a time, in queue order, including those other threads queued meanwhile (the
 * listener only records the set and submits work, so it is quick). The runtime therefore sees every
 * change in order and never while this object is locked, and waiting for the returned stage happens
 * outside the monitor too. A snapshot delivered after {@link #close()} is dropped, as a change
 * after close always was.
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

  /** Snapshots of the owned set not delivered to the listener yet, oldest first. */
  private final ArrayDeque<Change> pending = new ArrayDeque<>();

  private Listener listener;
  private boolean started;
  private boolean closed;

  /** True while a thread delivers the pending snapshots. */
  private boolean delivering;

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
  CompletionStage<Void> add(Collection<QueueId> queues, ConsumerLoop holder) {
    Change change;
    synchronized (this) {
      boolean added = false;
      for (QueueId q : queues) {
        added |= !owned.containsKey(q);
        owned.put(q, holder);
      }
      change = added ? queueChange() : null;
    }
    return deliver(change);
  }

  /**
   * Removes those of {@code queues} that {@code holder} still holds; a queue another loop holds now
   * stays. The stage completes when the agents of the removed queues stopped and flushed.
   */
  CompletionStage<Void> remove(Collection<QueueId> queues, ConsumerLoop holder) {
    Change change;
    synchronized (this) {
      boolean removed = false;
      for (QueueId q : queues) {
        if (owned.containsKey(q) && owned.get(q) == holder) {
          owned.remove(q);
          removed = true;
        }
      }
      change = removed ? queueChange() : null;
    }
    return deliver(change);
  }

  /** A snapshot of the owned set, queued for the listener; null when there is none to tell. */
  private Change queueChange() {
    assert Thread.holdsLock(this);
    if (listener == null || closed) {
      return null;
    }
    Change c = new Change(Set.copyOf(owned.keySet()), new CompletableFuture<>());
    pending.add(c);
    return c;
  }

  /**
   * Delivers the pending snapshots, {@code change} among them, unless another thread is doing so
   * already (it then delivers {@code change} too). Returns {@code change}'s stage: the listener's.
   */
  private CompletionStage<Void> deliver(Change change) {
    if (change == null) {
      return CompletableFuture.completedFuture(null);
    }
    synchronized (this) {
      if (delivering) {
        return change.done();
      }
      delivering = true;
    }
    while (true) {
      Change next;
      Listener l;
      synchronized (this) {
        next = pending.poll();
        if (next == null) {
          delivering = false;
          return change.done();
        }
        l = closed ? null : listener;
      }
      if (l == null) {
        next.done().complete(null);
        continue;
      }
      try {
        CompletionStage<Void> s = l.queueDistributionChanged(next.owned());
        if (s == null) {
          next.done().complete(null);
        } else {
          s.whenComplete(
              (v, e) -> {
                if (e == null) {
                  next.done().complete(null);
                } else {
                  next.done().completeExceptionally(e);
                }
              });
        }
      } catch (Throwable t) {
        log.error("Provider {}: the runtime rejected an ownership change", adapter.name(), t);
        next.done().completeExceptionally(t);
      }
    }
  }

  /** One snapshot of the owned set and the stage of the listener's reaction to it. */
  private record Change(Set<QueueId> owned, CompletableFuture<Void> done) {}

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
