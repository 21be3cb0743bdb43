package dev.tributary.internal.runtime;

import dev.tributary.spi.RuntimeTime;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;

/**
 * The runtime's default time: a clock, and one timer thread of the runtime's own that it stops when
 * it closes. Cancelled tasks leave the timer's queue at once.
 */
final class TimerThreadTime implements RuntimeTime {
  private final Clock clock;
  private final ScheduledThreadPoolExecutor timer;

  TimerThreadTime(Clock clock, ThreadFactory threads) {
    this.clock = clock;
    this.timer = new ScheduledThreadPoolExecutor(1, threads);
    this.timer.setRemoveOnCancelPolicy(true);
  }

  @Override
  public Clock clock() {
    return clock;
  }

  @Override
  public Cancellable schedule(Duration delay, Runnable task) {
    ScheduledFuture<?> f = timer.schedule(task, nanos(delay), TimeUnit.NANOSECONDS);
    return () -> f.cancel(false);
  }

  /** Starts the timer thread now instead of on the first schedule. */
  void prestart() {
    timer.prestartCoreThread();
  }

  /** Stops the timer thread; pending tasks never run. */
  void shutdown() {
    timer.shutdownNow();
  }

  private static long nanos(Duration delay) {
    // TimeUnit.convert saturates where Duration.toNanos would overflow.
    return Math.max(0, TimeUnit.NANOSECONDS.convert(delay));
  }

  @Override
  public String toString() {
    return "timer thread over " + clock;
  }
}
