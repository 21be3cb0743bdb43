package dev.tributary.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checker catches what it must: made-up ledgers with one of each problem. */
class CheckerTest {

  @TempDir Path dir;

  private static String d(String key, long seq, long offset, String node, int epoch, long t) {
    return Ledger.delivery(key, seq, 0, offset, node, "run", epoch, t, t);
  }

  @Test
  void check_countsLossDuplicatesOrderAndDeadLetters() throws IOException {
    Files.write(
        dir.resolve("produced.ledger"),
        List.of(
            Ledger.produced("a", 0, 0, 0, 1000, false),
            Ledger.produced("a", 1, 0, 1, 1000, false),
            Ledger.produced("a", 2, 0, 2, 1000, false),
            Ledger.produced("b", 0, 0, 3, 1000, false),
            Ledger.produced("b", 1, 0, 4, 1000, true), // poison, dead-lettered
            Ledger.produced("b", 2, 0, 5, 1000, false), // lost
            Ledger.produced("c", 0, 0, 6, 1000, false)));
    Files.write(
        dir.resolve("node-1.ledger"),
        List.of(
            Ledger.ownership('A', 0, 1000),
            d("a", 0, 0, "node-1", 1, 1100),
            d("a", 1, 1, "node-1", 1, 1200),
            d("b", 0, 3, "node-1", 1, 1300),
            d("c", 0, 6, "node-1", 1, 1400)));
    // node-1 is SIGKILLed at 2000, still owning the partition
    Files.write(
        dir.resolve("node-2.ledger"),
        List.of(
            Ledger.ownership('A', 0, 2100),
            d("a", 2, 2, "node-2", 1, 2200),
            d("a", 1, 1, "node-2", 1, 2300), // a duplicate (the crash) and an order violation
            d("c", 0, 6, "node-2", 1, 2400))); // a duplicate (the crash)
    // b#0 again before the kill, while node-1 still owned the partition: unexplained
    Files.write(dir.resolve("node-3.ledger"), List.of(d("b", 0, 3, "node-3", 1, 1500)));
    Files.write(
        dir.resolve("faults.ledger"),
        List.of(
            Ledger.fault(1000, "INITIAL_START", "node-1", ""),
            Ledger.fault(2000, "NODE_KILL", "node-1", "")));
    List<Checker.DeadLetter> dlt = List.of(new Checker.DeadLetter(0, 4, "poison", 1500));

    Report r = Checker.check(dir, dlt, 5000, 3000);

    assertThat(r.produced()).isEqualTo(7);
    assertThat(r.poison()).isEqualTo(1);
    assertThat(r.totalDeliveries()).isEqualTo(8);
    assertThat(r.deliveredUnique()).isEqualTo(5);
    assertThat(r.lost()).isEqualTo(1);
    assertThat(r.deadLettered()).isEqualTo(1);
    assertThat(r.duplicates()).isEqualTo(3);
    assertThat(r.duplicateReasons())
        .containsEntry("crash of the first node", 2)
        .containsEntry("unexplained", 1);
    assertThat(r.orderViolations()).isEqualTo(1);
    assertThat(r.passed()).isFalse();
  }

  @Test
  void check_aDuplicateAfterAGracefulHandOver_isUnexplained() throws IOException {
    Files.write(
        dir.resolve("produced.ledger"), List.of(Ledger.produced("a", 0, 0, 0, 1000, false)));
    Files.write(
        dir.resolve("node-1.ledger"),
        List.of(
            Ledger.ownership('A', 0, 1000),
            d("a", 0, 0, "node-1", 1, 1100),
            Ledger.ownership('R', 0, 1500)));
    Files.write(
        dir.resolve("node-2.ledger"),
        List.of(Ledger.ownership('A', 0, 1600), d("a", 0, 0, "node-2", 1, 1700)));

    Report r = Checker.check(dir, List.of(), 5000, 3000);

    assertThat(r.lost()).isZero();
    assertThat(r.duplicates()).isEqualTo(1);
    assertThat(r.unexplainedDuplicates()).isEqualTo(1);
    assertThat(r.passed()).isFalse();
  }

  @Test
  void check_aDuplicateOfAnEventInFlightAtTheRevoke_isExplained() throws IOException {
    Files.write(
        dir.resolve("produced.ledger"), List.of(Ledger.produced("a", 0, 0, 0, 1000, false)));
    Files.write(
        dir.resolve("node-1.ledger"),
        List.of(
            Ledger.ownership('A', 0, 1000),
            Ledger.ownership('R', 0, 1500),
            Ledger.delivery("a", 0, 0, 0, "node-1", "run", 1, 1100, 1800)));
    Files.write(
        dir.resolve("node-2.ledger"),
        List.of(Ledger.ownership('A', 0, 1600), d("a", 0, 0, "node-2", 1, 1900)));

    Report r = Checker.check(dir, List.of(), 5000, 3000);

    assertThat(r.duplicateReasons()).containsEntry("in flight at hand-over", 1);
    assertThat(r.passed()).isTrue();
  }

  /**
   * SIGKILL is asynchronous: the node may log an event a moment after the runner stamped the kill
   * (ChaosCiTest seed 23 did, 1 ms after); its repeat by the next owner is explained by the crash.
   */
  @Test
  void check_aLineTheKilledNodeWroteJustAfterTheKillWasStamped_isExplainedByTheCrash()
      throws IOException {
    Files.write(
        dir.resolve("produced.ledger"), List.of(Ledger.produced("a", 0, 0, 0, 1000, false)));
    Files.write(
        dir.resolve("node-1.ledger"),
        List.of(Ledger.ownership('A', 0, 1000), d("a", 0, 0, "node-1", 1, 2001)));
    Files.write(
        dir.resolve("node-2.ledger"),
        List.of(Ledger.ownership('A', 0, 2500), d("a", 0, 0, "node-2", 1, 2600)));
    Files.write(
        dir.resolve("faults.ledger"), List.of(Ledger.fault(2000, "NODE_KILL", "node-1", "")));

    Report r = Checker.check(dir, List.of(), 5000, 3000);

    assertThat(r.duplicates()).isEqualTo(1);
    assertThat(r.unexplainedDuplicates()).isZero();
    assertThat(r.duplicateReasons()).containsEntry("crash of the first node", 1);
  }

  /**
   * A node cut off from the brokers cannot commit: a close during the partition releases without a
   * commit, and its repeat by the next owner is explained; the same release with the network up is
   * not.
   */
  @Test
  void check_aReleaseDuringANetworkPartitionOfThatNode_isExplained_onlyThen() throws IOException {
    Files.write(
        dir.resolve("produced.ledger"),
        List.of(
            Ledger.produced("a", 0, 0, 0, 1000, false),
            Ledger.produced("b", 0, 0, 1, 1000, false)));
    Files.write(
        dir.resolve("node-1.ledger"),
        List.of(
            Ledger.ownership('A', 0, 1000),
            d("a", 0, 0, "node-1", 1, 1100),
            Ledger.ownership('R', 0, 2500)));
    Files.write(
        dir.resolve("node-2.ledger"),
        List.of(
            Ledger.ownership('A', 0, 1000),
            d("b", 0, 1, "node-2", 1, 1100),
            Ledger.ownership('R', 0, 2500)));
    Files.write(
        dir.resolve("node-3.ledger"),
        List.of(
            Ledger.ownership('A', 0, 2600),
            d("a", 0, 0, "node-3", 1, 2700),
            d("b", 0, 1, "node-3", 1, 2700)));
    Files.write(
        dir.resolve("faults.ledger"),
        List.of(
            Ledger.fault(2000, "NET_PARTITION", "node-1", "for 12000 ms"),
            Ledger.fault(14000, "NET_HEAL", "node-1", "")));

    Report r = Checker.check(dir, List.of(), 5000, 20000);

    assertThat(r.duplicates()).isEqualTo(2);
    assertThat(r.duplicateReasons())
        .containsEntry("released while its network was partitioned (its commit failed)", 1)
        .containsEntry("unexplained", 1);
    assertThat(r.passed()).isFalse();
  }

  /** The failover of a partitioned node: from the cut to the first delivery by another node. */
  @Test
  void check_measuresFailoverAfterANetworkPartition() throws IOException {
    Files.write(
        dir.resolve("produced.ledger"),
        List.of(
            Ledger.produced("a", 0, 0, 0, 1000, false),
            Ledger.produced("a", 1, 0, 1, 2500, false)));
    Files.write(
        dir.resolve("node-1.ledger"),
        List.of(Ledger.ownership('A', 0, 1000), d("a", 0, 0, "node-1", 1, 1100)));
    Files.write(
        dir.resolve("node-2.ledger"),
        List.of(Ledger.ownership('A', 0, 13000), d("a", 1, 1, "node-2", 1, 13500)));
    Files.write(
        dir.resolve("faults.ledger"),
        List.of(Ledger.fault(2000, "NET_PARTITION", "node-1", "for 12000 ms")));

    Report r = Checker.check(dir, List.of(), 5000, 20000);

    assertThat(r.partitionFailoversMs()).containsExactly(11500L);
    assertThat(r.failoversMs()).isEmpty();
  }

  /**
   * A partitioned node the group did not expire keeps its partition and delivers again once healed:
   * the failover ends there, not when another node first delivers (long run seed
   * 2669385335827030215 reported 280 s for a 11 s partition).
   */
  @Test
  void check_failoverAfterAPartition_endsWithTheHealedNodesOwnProgress() throws IOException {
    Files.write(
        dir.resolve("produced.ledger"),
        List.of(
            Ledger.produced("a", 0, 0, 0, 1000, false),
            Ledger.produced("a", 1, 0, 1, 2500, false),
            Ledger.produced("a", 2, 0, 2, 30000, false)));
    Files.write(
        dir.resolve("node-1.ledger"),
        List.of(
            Ledger.ownership('A', 0, 1000),
            d("a", 0, 0, "node-1", 1, 1100),
            d("a", 1, 1, "node-1", 1, 9000)));
    Files.write(
        dir.resolve("node-2.ledger"),
        List.of(Ledger.ownership('A', 0, 29000), d("a", 2, 2, "node-2", 1, 30100)));
    Files.write(
        dir.resolve("faults.ledger"),
        List.of(
            Ledger.fault(2000, "NET_PARTITION", "node-1", "for 6000 ms"),
            Ledger.fault(8000, "NET_HEAL", "node-1", "")));

    Report r = Checker.check(dir, List.of(), 5000, 40000);

    assertThat(r.partitionFailoversMs()).containsExactly(7000L);
  }

  /**
   * A rolling restart counts an assignment to the replacement on the same link as staying, and one
   * to another node's link as a move.
   */
  @Test
  void check_countsPartitionMovesOfARollingRestart() throws IOException {
    Files.write(
        dir.resolve("produced.ledger"), List.of(Ledger.produced("a", 0, 0, 0, 1000, false)));
    Files.write(
        dir.resolve("node-1.ledger"),
        List.of(Ledger.ownership('A', 0, 1000), Ledger.ownership('A', 1, 1000)));
    // node-3 replaces node-1 on link 0 and gets partition 0 back; node-2 takes partition 1
    Files.write(
        dir.resolve("node-3.ledger"),
        List.of(Ledger.ownership('A', 0, 3000), d("a", 0, 0, "node-3", 1, 3100)));
    Files.write(
        dir.resolve("node-2.ledger"),
        List.of(Ledger.ownership('A', 2, 1000), Ledger.ownership('A', 1, 3000)));
    Files.write(
        dir.resolve("faults.ledger"),
        List.of(
            Ledger.fault(900, "INITIAL_START", "node-1", "pid 1 link 0"),
            Ledger.fault(900, "INITIAL_START", "node-2", "pid 2 link 1"),
            Ledger.fault(2000, "ROLLING_RESTART", "all", "2 nodes"),
            Ledger.fault(2500, "ROLLING_START", "node-3", "pid 3 link 0")));

    Report r = Checker.check(dir, List.of(), 5000, 5000);

    assertThat(r.rollingAssignments()).isEqualTo(2);
    assertThat(r.rollingMoves()).isEqualTo(1);
  }

  /**
   * ChaosCiTest seed 23: a node cut off longer than the session timeout comes back, delivers from a
   * fresh fetch the records the partition's new owner already delivered, and only then learns it
   * was fenced. Its repeats are explained; the same repeats from a run that did not end in a loss
   * are not.
   */
  @Test
  void check_aRepeatByAFencedMemberBeforeItNoticed_isExplained_onlyIfItsRunEndsInALoss()
      throws IOException {
    Files.write(
        dir.resolve("produced.ledger"),
        List.of(
            Ledger.produced("a", 0, 0, 0, 1000, false),
            Ledger.produced("b", 0, 1, 0, 1000, false)));
    Files.write(
        dir.resolve("node-3.ledger"),
        List.of(
            Ledger.ownership('A', 0, 500),
            Ledger.ownership('A', 1, 500),
            d("a", 0, 0, "node-3", 1, 3100),
            Ledger.delivery("b", 0, 1, 0, "node-3", "run", 1, 3100, 3100),
            Ledger.ownership('L', 0, 3200),
            Ledger.ownership('R', 1, 3200)));
    Files.write(
        dir.resolve("node-4.ledger"),
        List.of(
            Ledger.ownership('A', 0, 2000),
            Ledger.ownership('A', 1, 2000),
            d("a", 0, 0, "node-4", 1, 2100),
            Ledger.delivery("b", 0, 1, 0, "node-4", "run", 1, 2100, 2100)));
    Files.write(
        dir.resolve("faults.ledger"),
        List.of(
            Ledger.fault(1000, "NET_PARTITION", "node-3", "for 2000 ms"),
            Ledger.fault(3000, "NET_HEAL", "node-3", "")));

    Report r = Checker.check(dir, List.of(), 5000, 5000);

    assertThat(r.duplicates()).isEqualTo(2);
    assertThat(r.duplicateReasons())
        .containsEntry("repeated by a fenced member that had not yet noticed its loss", 1)
        .containsEntry("unexplained", 1);
  }

  /**
   * A node cut off from the brokers knows no lag beyond its last fetch, so its watchdog cannot
   * report the stall: the verdict says so instead of blaming the watchdog.
   */
  @Test
  void check_aStallWhileTheOwnerIsCutOff_getsItsOwnVerdict() throws IOException {
    Files.write(
        dir.resolve("produced.ledger"),
        List.of(
            Ledger.produced("a", 0, 0, 0, 1000, false),
            Ledger.produced("a", 1, 0, 1, 1100, false)));
    Files.write(
        dir.resolve("node-1.ledger"),
        List.of(
            Ledger.ownership('A', 0, 500),
            d("a", 0, 0, "node-1", 1, 1050),
            Ledger.ownership('L', 0, 14000)));
    Files.write(
        dir.resolve("node-2.ledger"),
        List.of(Ledger.ownership('A', 0, 12000), d("a", 1, 1, "node-2", 1, 12500)));
    Files.write(
        dir.resolve("faults.ledger"),
        List.of(
            Ledger.fault(1060, "NET_PARTITION", "node-1", "for 13000 ms"),
            Ledger.fault(14060, "NET_HEAL", "node-1", "")));

    Report r = Checker.check(dir, List.of(), 5000, 20000);

    assertThat(r.longestStallMs()).isEqualTo(11400);
    assertThat(r.watchdog()).startsWith("not reported: its owner was cut off");
  }
}
