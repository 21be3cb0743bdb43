package dev.tributary.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.spi.RuntimeTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ManualTimeTest {
  private final ManualTime time = new ManualTime();

  @Test
  void clock_standsStill_untilAdvanced() {
    assertThat(time.clock().instant()).isEqualTo(ManualTime.DEFAULT_START);
    assertThat(time.clock()).isSameAs(time.clock());
    time.advance(Duration.ofMillis(1500));
    assertThat(time.clock().millis()).isEqualTo(ManualTime.DEFAULT_START.toEpochMilli() + 1500);
    assertThat(time.now()).isEqualTo(ManualTime.DEFAULT_START.plusMillis(1500));
    assertThat(new ManualTime(Instant.EPOCH).clock().millis()).isZero();
  }

  @Test
  void advance_runsDueTasksOnTheCallingThread_inDueOrder_eachAtItsInstant() {
    List<String> ran = new CopyOnWriteArrayList<>();
    Thread caller = Thread.currentThread();
    for (String name : List.of("c:3", "a:1", "b:2", "a2:1", "late:10")) {
      long seconds = Long.parseLong(name.substring(name.indexOf(':') + 1));
      time.schedule(
          Duration.ofSeconds(seconds),
          () -> {
            assertThat(Thread.currentThread()).isSameAs(caller);
            ran.add(name + "@" + (time.clock().millis() - ManualTime.DEFAULT_START.toEpochMilli()));
          });
    }
    time.advance(Duration.ofSeconds(5));
    assertThat(ran).containsExactly("a:1@1000", "a2:1@1000", "b:2@2000", "c:3@3000");
    assertThat(time.pendingDelays()).containsExactly(Duration.ofSeconds(5));
  }

  @Test
  void aTaskScheduledByATask_runsInTheSameAdvance_whenItFallsDue() {
    AtomicInteger ticks = new AtomicInteger();
    Runnable[] tick = new Runnable[1];
    tick[0] =
        () -> {
          ticks.incrementAndGet();
          time.schedule(Duration.ofSeconds(1), tick[0]);
        };
    time.schedule(Duration.ofSeconds(1), tick[0]);
    time.advance(Duration.ofMillis(3500));
    assertThat(ticks).hasValue(3);
    assertThat(time.pendingDelays()).containsExactly(Duration.ofMillis(500));
  }

  @Test
  void aTaskDueAtOnce_runsAtTheNextAdvance_neverInsideSchedule() {
    AtomicInteger ran = new AtomicInteger();
    time.schedule(Duration.ZERO, ran::incrementAndGet);
    time.schedule(Duration.ofSeconds(-1), ran::incrementAndGet);
    assertThat(ran).hasValue(0);
    time.advance(Duration.ZERO);
    assertThat(ran).hasValue(2);
  }

  @Test
  void cancel_stopsAPendingTask_once() {
    AtomicInteger ran = new AtomicInteger();
    RuntimeTime.Cancellable c = time.schedule(Duration.ofSeconds(1), ran::incrementAndGet);
    assertThat(time.pendingCount()).isOne();
    assertThat(c.cancel()).isTrue();
    assertThat(c.cancel()).isFalse();
    assertThat(time.pendingCount()).isZero();
    time.advance(Duration.ofSeconds(2));
    assertThat(ran).hasValue(0);

    RuntimeTime.Cancellable done = time.schedule(Duration.ZERO, ran::incrementAndGet);
    time.advance(Duration.ZERO);
    assertThat(done.cancel()).as("it already ran").isFalse();
  }

  @Test
  void advance_refusesNegativeDurations_andCallsFromATask() {
    assertThatThrownBy(() -> time.advance(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("only moves forward");
    AtomicReference<Throwable> inside = new AtomicReference<>();
    time.schedule(
        Duration.ofSeconds(1),
        () -> {
          try {
            time.advance(Duration.ofSeconds(1));
          } catch (Throwable t) {
            inside.set(t);
          }
        });
    time.advance(Duration.ofSeconds(1));
    assertThat(inside.get())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("from inside a task");
  }

  @Test
  void aThrowingTask_endsTheAdvanceAtItsInstant() {
    AtomicInteger ran = new AtomicInteger();
    time.schedule(
        Duration.ofSeconds(1),
        () -> {
          throw new IllegalStateException("boom");
        });
    time.schedule(Duration.ofSeconds(2), ran::incrementAndGet);
    assertThatThrownBy(() -> time.advance(Duration.ofSeconds(5))).hasMessage("boom");
    assertThat(time.now()).isEqualTo(ManualTime.DEFAULT_START.plusSeconds(1));
    time.advance(Duration.ofSeconds(4));
    assertThat(ran).hasValue(1);
  }

  @Test
  void awaitScheduled_returnsOnceAnotherThreadArmsATaskOfThatDelayNow() throws Exception {
    time.advance(Duration.ofSeconds(7));
    time.schedule(Duration.ofSeconds(30), () -> {}); // another delay: not the one awaited
    CompletableFuture<Void> armed =
        CompletableFuture.runAsync(
            () -> {
              time.schedule(Duration.ofSeconds(5), () -> {});
              time.schedule(Duration.ofSeconds(5), () -> {});
            },
            CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS));
    time.awaitScheduled(Duration.ofSeconds(5), 2);
    armed.get(10, TimeUnit.SECONDS);
    assertThat(time.pendingDelays())
        .containsExactly(Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(30));
  }

  @Test
  void concurrentSchedulers_loseNoTask() throws Exception {
    AtomicInteger ran = new AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<CompletableFuture<Void>> all = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        all.add(
            CompletableFuture.runAsync(
                () -> {
                  for (int i = 0; i < 1000; i++) {
                    time.schedule(Duration.ofMillis(i % 50), ran::incrementAndGet);
                  }
                },
                pool));
      }
      while (all.stream().anyMatch(f -> !f.isDone())) {
        time.advance(Duration.ofMillis(1));
      }
      time.advance(Duration.ofMillis(50));
      assertThat(ran).hasValue(4000);
      assertThat(time.pendingCount()).isZero();
    } finally {
      pool.shutdownNow();
    }
  }
}
