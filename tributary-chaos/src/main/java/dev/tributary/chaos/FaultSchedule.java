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
    POISON
  }

  /** One fault at {@code atMs} after the start of the run. */
  record Entry(long atMs, Kind kind, long value, long durationMs) {}

  /**
   * {@code perKind} faults of each kind in {@code kinds} at uniformly drawn instants between 10 %
   * and 85 % of the run, so that the run starts and ends calm.
   */
  static FaultSchedule generate(long seed, long durationMs, int perKind, Set<Kind> kinds) {
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
              default -> new Entry(at, kind, 0, 0);
            });
      }
    }
    entries.sort(Comparator.comparingLong(Entry::atMs));
    return new FaultSchedule(List.copyOf(entries));
  }
}
