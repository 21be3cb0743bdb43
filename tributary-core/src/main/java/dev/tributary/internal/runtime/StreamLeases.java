package dev.tributary.internal.runtime;

import dev.tributary.StreamId;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;

/**
 * Which agent of a provider delivers each stream now: one stream, one delivery at a time, even when
 * the stream is reachable from several queues.
 *
 * <p>An agent claims a stream when it starts tracking it. A claim that finds another holder makes
 * the claimant a waiter and tells the holder; the holder hands the lease on (releases it) as soon
 * as it has passed everything it cached of the stream and nothing is in flight (at once when it is
 * idle already), and every waiter is then told to claim again. Streams nobody waits for cost one
 * map entry while tracked and not parked (a parked stream gives its lease up). Thread-safe; agents
 * call it from their own threads and are told of a release through their executor.
 */
final class StreamLeases {
  private final ConcurrentHashMap<StreamId, PullingAgent> holders = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<StreamId, Set<PullingAgent>> waiters = new ConcurrentHashMap<>();
  private final AtomicInteger contended = new AtomicInteger();
  private final BiConsumer<PullingAgent, StreamId> onReleased;
  private final BiConsumer<PullingAgent, StreamId> onContended;

  /**
   * {@code onReleased} tells a waiting agent that the stream is free to claim again; {@code
   * onContended} tells the holder that an agent waits, so that an idle holder hands the lease on.
   */
  StreamLeases(
      BiConsumer<PullingAgent, StreamId> onReleased,
      BiConsumer<PullingAgent, StreamId> onContended) {
    this.onReleased = onReleased;
    this.onContended = onContended;
  }

  /** Claims {@code id} for {@code agent}; false when another agent holds it (then it waits). */
  boolean claim(StreamId id, PullingAgent agent) {
    while (true) {
      PullingAgent holder = holders.putIfAbsent(id, agent);
      if (holder == null || holder == agent) {
        return true;
      }
      Set<PullingAgent> set =
          waiters.computeIfAbsent(
              id,
              k -> {
                contended.incrementAndGet();
                return ConcurrentHashMap.newKeySet();
              });
      set.add(agent);
      if (holders.get(id) == holder) {
        onContended.accept(holder, id);
        return false;
      }
      // Released meanwhile: claim again rather than wait for a notice that was already sent.
    }
  }

  /** The agent that holds {@code id} now, or null. */
  PullingAgent holder(StreamId id) {
    return holders.get(id);
  }

  /** How many streams some agent holds now. */
  int heldCount() {
    return holders.size();
  }

  /** True when some agent waits for a stream: only then is a release worth checking for. */
  boolean anyContended() {
    return contended.get() > 0;
  }

  /** True when another agent waits for {@code id}. */
  boolean hasWaiters(StreamId id) {
    return contended.get() > 0 && waiters.containsKey(id);
  }

  /** Gives up {@code agent}'s lease on {@code id}, if it holds one, and wakes the waiters. */
  void release(StreamId id, PullingAgent agent) {
    if (!holders.remove(id, agent)) {
      return;
    }
    Set<PullingAgent> set = waiters.remove(id);
    if (set != null) {
      contended.decrementAndGet();
      for (PullingAgent w : set) {
        if (w != agent) {
          onReleased.accept(w, id);
        }
      }
    }
  }

  /** Forgets {@code agent} as a waiter of {@code id} (it dropped the stream). */
  void stopWaiting(StreamId id, PullingAgent agent) {
    waiters.computeIfPresent(
        id,
        (k, set) -> {
          set.remove(agent);
          if (set.isEmpty()) {
            contended.decrementAndGet();
            return null;
          }
          return set;
        });
  }
}
