package dev.tributary.chaos;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the checker found in one run.
 *
 * @param produced records the producer saw acknowledged (poison included)
 * @param poison of those, poison records
 * @param failedSends sends the producer saw fail (not expected anywhere)
 * @param totalDeliveries every processed event in every node's ledger, duplicates included
 * @param deliveredUnique produced non-poison records processed at least once
 * @param lost produced records neither processed nor dead-lettered (must be 0)
 * @param duplicates processed events beyond the first of their record
 * @param duplicateReasons why each duplicate happened ("unexplained" must be absent)
 * @param orderViolations a key's sequence not increasing within one delivery run (must be 0)
 * @param deadLettered produced records found in the dead-letter topic
 * @param deadLetterDuplicates dead letters written more than once
 * @param poisonDelivered poison records an observer saw (must be 0)
 * @param unexpected processed events of records the producer never saw acknowledged
 * @param longestStallMs the longest time one partition had unresolved records and no progress
 * @param longestStallPartition its partition
 * @param longestStallStart when it began
 * @param watchdog whether the stall watchdog reported it
 * @param failoversMs per node SIGKILL, the longest time one of its partitions went undelivered
 * @param partitionFailoversMs per network partition of a node, the same
 * @param rollingAssignments partition assignments after a rolling restart began (-1: none)
 * @param rollingMoves of those, assignments to another node slot than the previous owner's
 * @param nodes node processes the run started
 * @param faults the faults applied
 * @param examples a few offending records per problem
 */
record Report(
    long produced,
    long poison,
    long failedSends,
    long totalDeliveries,
    long deliveredUnique,
    long lost,
    long duplicates,
    Map<String, Integer> duplicateReasons,
    long orderViolations,
    long deadLettered,
    long deadLetterDuplicates,
    long poisonDelivered,
    long unexpected,
    long longestStallMs,
    int longestStallPartition,
    long longestStallStart,
    String watchdog,
    List<Long> failoversMs,
    List<Long> partitionFailoversMs,
    int rollingAssignments,
    int rollingMoves,
    int nodes,
    List<Checker.Fault> faults,
    List<String> examples) {

  long unexplainedDuplicates() {
    return duplicateReasons.getOrDefault("unexplained", 0);
  }

  /** How many faults of a kind were applied. */
  long faultCount(String kind) {
    return faults.stream().filter(f -> f.kind().equals(kind)).count();
  }

  /** Whether the run kept every promise: nothing lost, order kept, every duplicate explained. */
  boolean passed() {
    return lost == 0
        && orderViolations == 0
        && unexplainedDuplicates() == 0
        && poisonDelivered == 0;
  }

  /** One row of the table in docs/reliability.md. */
  String tableRow(long seed, long durationSeconds) {
    return String.format(
        "| %d | %d s | %d / %d | %d / %d / %d | %d / %d / %d | %d | %d / %d / %d | %d | %d | %d"
            + " (%s) | %d | %d | %.1f s (p%d; %s) | %s | %s |",
        seed,
        durationSeconds,
        faultCount("BROKER_KILL"),
        faultCount("BROKER_RESTART"),
        faultCount("NODE_KILL"),
        faultCount("NODE_CLOSE"),
        faultCount("NODE_START"),
        faultCount("SLOW"),
        faultCount("THROW"),
        faultCount("HOLD"),
        faultCount("POISON"),
        faultCount("NET_LATENCY"),
        faultCount("NET_DROP"),
        faultCount("NET_PARTITION"),
        produced,
        lost,
        duplicates,
        duplicateReasons,
        orderViolations,
        deadLettered,
        longestStallMs / 1000.0,
        longestStallPartition,
        watchdog,
        worst(failoversMs),
        worst(partitionFailoversMs));
  }

  private static String worst(List<Long> ms) {
    return ms.isEmpty()
        ? "-"
        : ms.stream().mapToLong(Long::longValue).max().orElse(0) / 1000.0 + " s";
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder();
    b.append("produced            ").append(produced).append(" (poison ").append(poison);
    b.append(", failed sends ").append(failedSends).append(")\n");
    b.append("deliveries          ").append(totalDeliveries).append(" (every event counted)\n");
    b.append("delivered unique    ").append(deliveredUnique).append('\n');
    b.append("lost                ").append(lost).append('\n');
    b.append("duplicates          ").append(duplicates).append(' ').append(duplicateReasons);
    b.append('\n');
    b.append("order violations    ").append(orderViolations).append('\n');
    b.append("dead-lettered       ").append(deadLettered).append(" (written twice: ");
    b.append(deadLetterDuplicates).append(")\n");
    b.append("poison delivered    ").append(poisonDelivered).append('\n');
    b.append("unexpected          ").append(unexpected).append('\n');
    b.append("longest stall       ").append(longestStallMs).append(" ms on partition ");
    b.append(longestStallPartition)
        .append(" from ")
        .append(Instant.ofEpochMilli(longestStallStart));
    b.append("; watchdog: ").append(watchdog).append('\n');
    b.append("failover after kill ").append(failoversMs).append(" ms\n");
    b.append("failover after cut  ").append(partitionFailoversMs).append(" ms\n");
    if (rollingAssignments >= 0) {
      b.append("rolling restart     ").append(rollingAssignments).append(" assignments, ");
      b.append(rollingMoves).append(" moved to another node\n");
    }
    b.append("nodes started       ").append(nodes).append('\n');
    Map<String, Long> kinds = new TreeMap<>();
    for (Checker.Fault f : faults) {
      kinds.merge(f.kind(), 1L, Long::sum);
    }
    b.append("faults              ").append(kinds).append('\n');
    for (String e : examples) {
      b.append("  ").append(e).append('\n');
    }
    b.append(passed() ? "PASSED" : "FAILED");
    return b.toString();
  }

  /** Collects the figures while the checker walks the ledgers. */
  static final class Builder {
    long produced;
    long poison;
    long failedSends;
    long totalDeliveries;
    long deliveredUnique;
    long lost;
    long duplicates;
    final Map<String, Integer> duplicateReasons = new TreeMap<>();
    long orderViolations;
    long deadLettered;
    long deadLetterDuplicates;
    long poisonDelivered;
    long unexpected;
    long longestStallMs;
    int longestStallPartition = -1;
    long longestStallStart;
    String watchdog = "";
    final List<Long> failoversMs = new ArrayList<>();
    final List<Long> partitionFailoversMs = new ArrayList<>();
    int rollingAssignments = -1;
    int rollingMoves = -1;
    int nodes;
    List<Checker.Fault> faults = List.of();
    private final List<String> examples = new ArrayList<>();
    private int lostShown;
    private int unexplainedShown;
    private int orderShown;

    void lostExamples(String s) {
      if (lostShown++ < 5) {
        examples.add("lost: " + s);
      }
    }

    void unexplainedExamples(String s) {
      if (unexplainedShown++ < 5) {
        examples.add("unexplained duplicate: " + s);
      }
    }

    void orderExamples(String s) {
      if (orderShown++ < 5) {
        examples.add("order violation: " + s);
      }
    }

    Report build() {
      return new Report(
          produced,
          poison,
          failedSends,
          totalDeliveries,
          deliveredUnique,
          lost,
          duplicates,
          Map.copyOf(duplicateReasons),
          orderViolations,
          deadLettered,
          deadLetterDuplicates,
          poisonDelivered,
          unexpected,
          longestStallMs,
          longestStallPartition,
          longestStallStart,
          watchdog,
          List.copyOf(failoversMs),
          List.copyOf(partitionFailoversMs),
          rollingAssignments,
          rollingMoves,
          nodes,
          faults,
          List.copyOf(examples));
    }
  }
}
