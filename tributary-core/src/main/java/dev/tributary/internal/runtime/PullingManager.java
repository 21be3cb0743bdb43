package dev.tributary.internal.runtime;

import dev.tributary.spi.QueueAdapterReceiver;
import dev.tributary.spi.QueueCache;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamFailureHandler;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one pulling agent per queue this node owns, following the balancer.
 *
 * <p>Reconciliation runs on its own serial executor and always aims at the newest ownership set:
 * changes that arrive while a reconciliation waits for agents to stop are folded into the next one.
 * A queue that was released at any point in between still gets its agent stopped and a fresh one
 * started, even when the newest set contains it again: the adapter let go of the queue meanwhile
 * (for Kafka, the partition state the old receiver read from is closed). Agents of released queues
 * stop (and flush) before agents of new queues start, so a queue never has two receivers at once.
 */
final class PullingManager {
  private static final Logger log = LoggerFactory.getLogger(PullingManager.class);

  private final PersistentStreamProvider provider;
  private final SerialExecutor exec;
  private final ConcurrentHashMap<QueueId, PullingAgent> agents = new ConcurrentHashMap<>();
  private volatile Set<QueueId> target = Set.of();

  /** Queues that left the target since the last reconciliation began; guarded by {@code this}. */
  private final Set<QueueId> released = new HashSet<>();

  private final List<CompletableFuture<Void>> waiting = new ArrayList<>();
  private boolean busy;
  private boolean rerun;
  private volatile boolean closed;

  /** True between stopReading and startReading; written on the manager's executor. */
  private volatile boolean suspended;

  /** When the agents were stopped by an operator, on the runtime's clock; -1 while running. */
  private volatile long suspendedSinceMillis = -1;

  PullingManager(PersistentStreamProvider provider) {
    this.provider = provider;
    this.exec = new SerialExecutor(provider.pool(), "pulling manager " + provider.name());
  }

  /** The balancer's listener: any thread. */
  CompletionStage<Void> queueDistributionChanged(Set<QueueId> owned) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (this) {
      Set<QueueId> next = closed ? Set.of() : Set.copyOf(owned);
      for (QueueId q : target) {
        if (!next.contains(q)) {
          released.add(q);
        }
      }
      // Once closed, late balancer callbacks (a rebalance during close) must not start agents.
      target = next;
    }
    exec.execute(
        () -> {
          waiting.add(done);
          reconcile();
        });
    return done;
  }

  private void reconcile() {
    if (busy) {
      rerun = true;
      return;
    }
    busy = true;
    Set<QueueId> goal;
    Set<QueueId> releasedMeanwhile;
    synchronized (this) {
      goal = target;
      releasedMeanwhile = Set.copyOf(released);
      released.clear();
    }
    List<CompletableFuture<Void>> covered = new ArrayList<>(waiting);
    waiting.clear();
    List<CompletableFuture<Void>> stops = new ArrayList<>();
    for (PullingAgent agent : agents.values()) {
      if (!goal.contains(agent.queueId()) || releasedMeanwhile.contains(agent.queueId())) {
        stops.add(agent.stop().whenComplete((v, e) -> agents.remove(agent.queueId(), agent)));
      }
    }
    CompletableFuture.allOf(stops.toArray(new CompletableFuture<?>[0]))
        .whenComplete(
            (v, e) ->
                exec.execute(
                    () -> {
                      for (QueueId q : goal) {
                        if (!agents.containsKey(q) && target.contains(q)) {
                          startAgent(q);
                        }
                      }
                      busy = false;
                      covered.forEach(f -> f.complete(null));
                      if (rerun) {
                        rerun = false;
                        reconcile();
                      }
                    }));
  }

  private void startAgent(QueueId queueId) {
    try {
      QueueAdapterReceiver receiver = provider.adapter().createReceiver(queueId);
      QueueCache cache = provider.cacheFactory().createQueueCache(queueId);
      StreamFailureHandler handler = provider.failureHandler(queueId);
      PullingAgent agent = new PullingAgent(provider, queueId, receiver, cache, handler);
      agents.put(queueId, agent);
      if (suspended) {
        // Submitted before start: the agent initializes, then stays suspended.
        agent.stopReading();
      }
      agent.start();
      log.debug("Provider {}: agent started for queue {}", provider.name(), queueId);
    } catch (Throwable t) {
      log.error(
          "Provider {}: could not start an agent for queue {}; it stays unread until the next"
              + " ownership change",
          provider.name(),
          queueId,
          t);
    }
  }

  /** The agent of {@code queueId} on this node, or null. */
  PullingAgent agent(QueueId queueId) {
    return agents.get(queueId);
  }

  /** Every running agent; for tests and close. */
  List<PullingAgent> agents() {
    return List.copyOf(agents.values());
  }

  /**
   * Operator stop: suspends every agent (and those started later) until {@link #startReading()}.
   * Any thread; completes once every agent drained and flushed.
   */
  CompletableFuture<Void> stopReading() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    exec.execute(
        () -> {
          if (!suspended) {
            suspended = true;
            suspendedSinceMillis = provider.timers().millis();
          }
          List<CompletableFuture<Void>> all = new ArrayList<>();
          for (PullingAgent a : agents.values()) {
            all.add(a.stopReading());
          }
          CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0]))
              .whenComplete((v, e) -> done.complete(null));
        });
    return done;
  }

  /** Undoes {@link #stopReading()}. Any thread; completes once every agent reads again. */
  CompletableFuture<Void> startReading() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    exec.execute(
        () -> {
          suspended = false;
          suspendedSinceMillis = -1;
          List<CompletableFuture<Void>> all = new ArrayList<>();
          for (PullingAgent a : agents.values()) {
            all.add(a.startReading());
          }
          CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0]))
              .whenComplete((v, e) -> done.complete(null));
        });
    return done;
  }

  /** True while an operator has the agents stopped. */
  boolean isSuspended() {
    return suspended;
  }

  /** Since when an operator has the agents stopped, on the runtime's clock; -1 while running. */
  long suspendedSinceMillis() {
    return suspendedSinceMillis;
  }

  /** Stops every agent, for good. */
  CompletionStage<Void> stopAll() {
    closed = true;
    return queueDistributionChanged(Set.of());
  }
}
