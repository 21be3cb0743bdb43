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
}
