package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class CommitScheduleTest {

  private static final long SECOND = Duration.ofSeconds(1).toNanos();

  @Test
  void due_onceTheIntervalElapsed_andAgainAnIntervalLater() {
    CommitSchedule s = new CommitSchedule(Duration.ofSeconds(1), 100, 0);
    assertThat(s.due(0, 0)).isFalse();
    assertThat(s.due(SECOND - 1, 0)).isFalse();
    assertThat(s.due(SECOND, 0)).isTrue();
    assertThat(s.due(SECOND, 0)).as("the interval starts over").isFalse();
    assertThat(s.due(2 * SECOND - 1, 0)).isFalse();
    assertThat(s.due(2 * SECOND, 0)).isTrue();
  }

  @Test
  void due_onceEnoughRecordsWereDelivered_countedFromTheLastCommit() {
    CommitSchedule s = new CommitSchedule(Duration.ofHours(1), 100, 0);
    assertThat(s.due(1, 99)).isFalse();
    assertThat(s.due(2, 100)).isTrue();
    assertThat(s.due(3, 199)).as("counted from 100, the last commit's count").isFalse();
    assertThat(s.due(4, 200)).isTrue();
  }

  @Test
  void aCommitDueByCount_restartsTheInterval() {
    CommitSchedule s = new CommitSchedule(Duration.ofSeconds(1), 10, 0);
    assertThat(s.due(SECOND / 2, 10)).isTrue();
    assertThat(s.due(SECOND, 10)).as("half an interval since the last commit").isFalse();
    assertThat(s.due(SECOND / 2 + SECOND, 10)).isTrue();
  }

  @Test
  void aCommitDueByTime_restartsTheCount() {
    CommitSchedule s = new CommitSchedule(Duration.ofSeconds(1), 10, 0);
    assertThat(s.due(SECOND, 9)).isTrue();
    assertThat(s.due(SECOND + 1, 18)).as("9 since the last commit").isFalse();
    assertThat(s.due(SECOND + 2, 19)).isTrue();
  }

  @Test
  void elapsedTime_survivesTheWrapOfNanoTime() {
    long start = Long.MAX_VALUE - SECOND / 2;
    CommitSchedule s = new CommitSchedule(Duration.ofSeconds(1), 100, start);
    assertThat(s.due(start + SECOND / 4, 0)).isFalse();
    assertThat(s.due(start + SECOND, 0)).as("start + 1 s overflows to a negative value").isTrue();
  }
}
