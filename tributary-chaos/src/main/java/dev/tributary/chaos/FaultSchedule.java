package dev.tributary.chaos;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * The faults of a run and when they happen, drawn from a seeded {@link Random}: the same seed and
 * duration give the same schedule (the system's response to it, thread timing included, varies).
 */
record FaultSchedule(List<Entry> entries) {

  /** The kinds of fault. */
  enum Kind {
    /** SIGKILL the broker; it is restarted {@code durationMs} later. */
    BROKER_KILL,
    /** SIGKILL a node. */
    NODE_KILL,
    /** Close a node gracefully. */
    NODE_CLOSE,
    /** Start a node (it joins the group: a rebalance). */
    NODE_START,
    /** A node's observer takes {@code value} ms per event for {@code durationMs}. */
    SLOW,
    /** A node's observer fails every event for {@code durationMs}; the runtime retries. */
    THROW,
    /** A node's observer does not complete one event (and so its key) for {@code durationMs}. */
    HOLD,
    /** {@code value} poison records are produced. */
    POISON,
    /**
     * A node's network path to the brokers adds {@code value} ms each way for {@code durationMs}.
     */
    NET_LATENCY,
    /** Every connection of a node to the brokers is dropped at once. */
    NET_DROP,
    /**
     * A node is cut off from every broker for {@code durationMs}, longer than the session timeout:
     * the group expires it and the other nodes take its partitions over.
     */
    NET_PARTITION,
    /**
     * Every live node in turn is closed gracefully and replaced by a new one (same client link and,
     * with static membership, the same {@code group.instance.id}). Not drawn by default: the
     * failover measurement asks for it with {@code -only ROLLING_RESTART}.
     */
    ROLLING_RESTART
  }

  /** The kinds a run draws unless told otherwise: all but {@link Kind#ROLLING_RESTART}. */
  static Set<Kind> defaultKinds() {
    Set<Kind> kinds = java.util.EnumSet.allOf(Kind.class);
    kinds.remove(Kind.ROLLING_RESTART);
    return kinds;
  }

  /** One fault at {@code atMs} after the start of the run. */
  record Entry(long atMs, Kind kind, long value, long durationMs) {}

  /**
   * {@code perKind} faults of each kind in {@code kinds} at uniformly drawn instants between 10 %
   * and 85 % of the run, so that the run starts and ends calm. A network partition lasts 1-4 s
   * longer than {@code sessionTimeoutMs}. New kinds are drawn after the older ones, so a seed gives
   * the older kinds the same instants as before.
   */
  static FaultSchedule generate(
      long seed, long durationMs, int perKind, Set<Kind> kinds, long sessionTimeoutMs) {
    Random rnd = new Random(seed);
    List<Entry> entries = new ArrayList<>();
    for (Kind kind : Kind.values()) {
      if (!kinds.contains(kind)) {
        continue;
      }
      for (int i = 0; i < perKind; i++) {
        long at = (long) (durationMs * (0.10 + 0.75 * rnd.nextDouble()));
        entries.add(
            switch (kind) {
              case BROKER_KILL -> new Entry(at, kind, 0, 2_000 + rnd.nextInt(5_000));
              case SLOW -> new Entry(at, kind, 20 + rnd.nextInt(180), 2_000 + rnd.nextInt(6_000));
              case THROW -> new Entry(at, kind, 0, 1_000 + rnd.nextInt(3_000));
              case HOLD -> new Entry(at, kind, 0, 6_000 + rnd.nextInt(10_000));
              case POISON -> new Entry(at, kind, 1 + rnd.nextInt(5), 0);
              case NET_LATENCY ->
                  new Entry(at, kind, 50 + rnd.nextInt(350), 3_000 + rnd.nextInt(7_000));
              case NET_PARTITION ->
                  new Entry(at, kind, 0, sessionTimeoutMs + 1_000 + rnd.nextInt(3_000));
              default -> new Entry(at, kind, 0, 0);
            });
      }
    }
    entries.sort(Comparator.comparingLong(Entry::atMs));
    return new FaultSchedule(List.copyOf(entries));
  }
}
