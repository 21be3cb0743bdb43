package dev.tributary.benchmarks.e2e;

import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;

/**
 * The one daemon thread that completes simulated observer work: an observer with work returns a
 * stage and this timer completes it {@code work} later. It stands for I/O the observer awaits, so
 * it uses no CPU while "working". Timer precision on Linux is tens of microseconds, so 100 us of
 * work is 100 us plus that.
 */
final class WorkTimer {
  private static final ScheduledExecutorService TIMER = create();

  private WorkTimer() {}

  static ScheduledExecutorService get() {
    return TIMER;
  }

  private static ScheduledExecutorService create() {
    ScheduledThreadPoolExecutor t =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread thread = new Thread(r, "bench-work-timer");
              thread.setDaemon(true);
              return thread;
            });
    t.setRemoveOnCancelPolicy(false);
    return t;
  }
}
