package dev.tributary.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The schedule: reproducible, network partitions longer than the session timeout. */
class FaultScheduleTest {

  @Test
  void sameSeed_sameSchedule() {
    assertThat(FaultSchedule.generate(7, 60_000, 3, FaultSchedule.defaultKinds(), 10_000))
        .isEqualTo(FaultSchedule.generate(7, 60_000, 3, FaultSchedule.defaultKinds(), 10_000));
  }

  @Test
  void networkPartitions_outlastTheSessionTimeout() {
    FaultSchedule s =
        FaultSchedule.generate(
            3, 600_000, 20, EnumSet.of(FaultSchedule.Kind.NET_PARTITION), 10_000);
    assertThat(s.entries()).hasSize(20);
    assertThat(s.entries()).allSatisfy(e -> assertThat(e.durationMs()).isGreaterThan(10_000));
  }

  /** The kinds added later are drawn last: an old seed keeps its old faults' instants. */
  @Test
  void newKinds_leaveTheOlderKindsInstantsAlone() {
    EnumSet<FaultSchedule.Kind> old =
        EnumSet.range(FaultSchedule.Kind.BROKER_KILL, FaultSchedule.Kind.POISON);
    List<FaultSchedule.Entry> before = FaultSchedule.generate(11, 30_000, 1, old, 10_000).entries();
    List<FaultSchedule.Entry> after =
        FaultSchedule.generate(11, 30_000, 1, FaultSchedule.defaultKinds(), 10_000).entries();
    assertThat(after).containsAll(before);
    assertThat(FaultSchedule.defaultKinds()).doesNotContain(FaultSchedule.Kind.ROLLING_RESTART);
  }
}
