package dev.tributary.spi;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * {@link RuntimeTime#system()}: a clock of the caller's choice, and delays on the JVM's shared
 * delay thread. A cancelled task stays queued there until its time comes, then does nothing.
 */
final class SystemRuntimeTime implements RuntimeTime {
  static final SystemRuntimeTime UTC = new SystemRuntimeTime(Clock.systemUTC());

  private static final Executor SAME_THREAD = Runnable::run;

  private final Clock clock;

  SystemRuntimeTime(Clock clock) {
    this.clock = clock;
  }

  @Override
  public Clock clock() {
    return clock;
  }

  @Override
  public Cancellable schedule(Duration delay, Runnable task) {
    long nanos = nanos(delay);
    CompletableFuture<Void> run =
        CompletableFuture.runAsync(
            task, CompletableFuture.delayedExecutor(nanos, TimeUnit.NANOSECONDS, SAME_THREAD));
    return () -> run.cancel(false);
  }

  /**
   * {@code delay} in nanoseconds, at least 0; a delay too long to count in nanoseconds saturates.
   */
  static long nanos(Duration delay) {
    // TimeUnit.convert saturates where Duration.toNanos would overflow.
    return Math.max(0, TimeUnit.NANOSECONDS.convert(delay));
  }

  @Override
  public String toString() {
    return "RuntimeTime.system(" + clock + ")";
  }
}
