package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.testkit.ManualTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The commit schedule on a manual clock: due exactly when the interval or the count is reached. */
class CommitScheduleTest {

  private static final Duration SECOND = Duration.ofSeconds(1);
  private static final Duration MS = Duration.ofMillis(1);

  private final ManualTime time = new ManualTime();

  @Test
  void due_onceTheIntervalElapsed_andAgainAnIntervalLater() {
    CommitSchedule s = new CommitSchedule(SECOND, 100, time.clock());
    assertThat(s.due(0)).isFalse();
    time.advance(SECOND.minus(MS));
    assertThat(s.due(0)).isFalse();
    time.advance(MS);
    assertThat(s.due(0)).isTrue();
    assertThat(s.due(0)).as("the interval starts over").isFalse();
    time.advance(SECOND.minus(MS));
    assertThat(s.due(0)).isFalse();
    time.advance(MS);
    assertThat(s.due(0)).isTrue();
  }

  @Test
  void due_onceEnoughRecordsWereDelivered_countedFromTheLastCommit() {
    CommitSchedule s = new CommitSchedule(Duration.ofHours(1), 100, time.clock());
    assertThat(s.due(99)).isFalse();
    assertThat(s.due(100)).isTrue();
    assertThat(s.due(199)).as("counted from 100, the last commit's count").isFalse();
    assertThat(s.due(200)).isTrue();
  }

  @Test
  void aCommitDueByCount_restartsTheInterval() {
    CommitSchedule s = new CommitSchedule(SECOND, 10, time.clock());
    time.advance(SECOND.dividedBy(2));
    assertThat(s.due(10)).isTrue();
    time.advance(SECOND.dividedBy(2));
    assertThat(s.due(10)).as("half an interval since the last commit").isFalse();
    time.advance(SECOND.dividedBy(2));
    assertThat(s.due(10)).isTrue();
  }

  @Test
  void aCommitDueByTime_restartsTheCount() {
    CommitSchedule s = new CommitSchedule(SECOND, 10, time.clock());
    time.advance(SECOND);
    assertThat(s.due(9)).isTrue();
    time.advance(MS);
    assertThat(s.due(18)).as("9 since the last commit").isFalse();
    assertThat(s.due(19)).isTrue();
  }

  @Test
  void aClockThatStepsBack_restartsTheIntervalInsteadOfHoldingCommitsBack() {
    AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-01-01T01:00:00Z"));
    Clock clock = new SettableClock(now);
    CommitSchedule s = new CommitSchedule(SECOND, 100, clock);
    now.set(now.get().minus(Duration.ofHours(1)));
    assertThat(s.due(0)).isFalse();
    now.set(now.get().plus(SECOND));
    assertThat(s.due(0)).as("an interval after the step back, not an hour").isTrue();
  }

  /** A clock a test sets, which may go back. */
  private static final class SettableClock extends Clock {
    private final AtomicReference<Instant> now;

    SettableClock(AtomicReference<Instant> now) {
      this.now = now;
    }

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Instant instant() {
      return now.get();
    }
  }
}
