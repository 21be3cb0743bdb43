package dev.tributary.internal.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** {@link Timers} over {@link ManualTime}: guarded tasks, fixed delay, time-outs, close. */
class TimersTest {
  private final ManualTime time = new ManualTime();
  private final Timers timers = new Timers(time, "test");

  @Test
  void clock_isTheTimesClock_readOnce() {
    assertThat(timers.clock()).isSameAs(time.clock());
    time.advance(Duration.ofSeconds(5));
    assertThat(timers.millis()).isEqualTo(ManualTime.DEFAULT_START.toEpochMilli() + 5_000);
  }

  @Test
  void aThrowingTask_isLogged_andTheTasksAfterItRun() {
    List<String> ran = new CopyOnWriteArrayList<>();
    timers.schedule(
        Duration.ofSeconds(1),
        () -> {
          throw new IllegalStateException("task fails on purpose");
        });
    timers.schedule(Duration.ofSeconds(2), () -> ran.add("second"));
    time.advance(Duration.ofSeconds(2));
    assertThat(ran).containsExactly("second");
    assertThat(timers.pendingCount()).isZero();
  }

  @Test
  void cancel_beforeItIsDue_stopsTheTask_once() {
    AtomicInteger ran = new AtomicInteger();
    var handle = timers.schedule(Duration.ofSeconds(1), ran::incrementAndGet);
    assertThat(handle.cancel()).isTrue();
    assertThat(handle.cancel()).isFalse();
    time.advance(Duration.ofSeconds(1));
    assertThat(ran).hasValue(0);
    assertThat(time.pendingCount()).isZero();
  }

  @Test
  void fixedDelay_runsOncePerPeriod_untilCancelled() {
    AtomicInteger ran = new AtomicInteger();
    var handle =
        timers.scheduleWithFixedDelay(
            ran::incrementAndGet, Duration.ofMillis(300), Duration.ofSeconds(1));
    time.advance(Duration.ofMillis(299));
    assertThat(ran).hasValue(0);
    time.advance(Duration.ofMillis(1));
    assertThat(ran).hasValue(1);
    time.advance(Duration.ofSeconds(3));
    assertThat(ran).as("at 1.3 s, 2.3 s, 3.3 s").hasValue(4);
    handle.cancel();
    time.advance(Duration.ofSeconds(3));
    assertThat(ran).hasValue(4);
    assertThat(time.pendingCount()).isZero();
  }

  @Test
  void within_failsExactlyAtTheTimeout_andLeavesTheStageAlone() {
    CompletableFuture<String> never = new CompletableFuture<>();
    CompletableFuture<String> bounded = timers.within(never, Duration.ofSeconds(10), () -> "work");
    time.advance(Duration.ofMillis(9_999));
    assertThat(bounded).isNotDone();
    time.advance(Duration.ofMillis(1));
    assertThat(bounded)
        .failsWithin(Duration.ZERO)
        .withThrowableOfType(java.util.concurrent.ExecutionException.class)
        .withCauseInstanceOf(TimeoutException.class)
        .withMessageContaining("work did not complete within PT10S");
    assertThat(never).isNotDone();
  }

  @Test
  void within_completesWithTheStage_andCancelsItsTimer() {
    CompletableFuture<String> stage = new CompletableFuture<>();
    CompletableFuture<String> bounded = timers.within(stage, Duration.ofSeconds(10), () -> "work");
    stage.complete("done");
    assertThat(bounded).isCompletedWithValue("done");
    assertThat(time.pendingCount()).isZero();
  }

  @Test
  void close_cancelsWhatIsPending_andLaterTasksNeverRun() {
    AtomicInteger ran = new AtomicInteger();
    timers.schedule(Duration.ofSeconds(1), ran::incrementAndGet);
    timers.scheduleWithFixedDelay(ran::incrementAndGet, Duration.ZERO, Duration.ofSeconds(1));
    timers.close();
    var late = timers.schedule(Duration.ZERO, ran::incrementAndGet);
    time.advance(Duration.ofSeconds(5));
    assertThat(ran).hasValue(0);
    assertThat(late.cancel()).as("already cancelled").isFalse();
    assertThat(time.pendingCount()).isZero();
  }
}
