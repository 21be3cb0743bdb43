package dev.tributary.spi;

import dev.tributary.Incubating;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * The runtime's one source of time: the clock it measures deadlines, inactivity and latency with,
 * and the scheduler that runs its delays (read ticks, retry backoffs, time-outs). Both come from
 * one object so that a substitute (the test kit's {@code ManualTime}) moves every deadline and
 * every timer together, and a test steps through a time-out instead of waiting for it.
 *
 * <p>Set it with {@link dev.tributary.StreamRuntime.Builder#time}; adapters get the runtime's from
 * {@link ProviderContext#time()}. Without one the runtime reads {@link Clock#systemUTC()} and runs
 * its delays on a timer thread of its own.
 *
 * <p>Implementations are thread-safe: {@link #schedule} is called from any thread, from inside a
 * scheduled task too.
 */
@Incubating
public interface RuntimeTime {

  /**
   * The clock of deadlines, inactivity periods and latencies. The runtime reads it once, when it is
   * built, and keeps the instance.
   */
  Clock clock();

  /**
   * Runs {@code task} once, {@code delay} after now on {@link #clock()}'s time line (at once when
   * {@code delay} is zero or negative), on a thread of the implementation's choice. Never blocks
   * and never runs {@code task} on the calling thread before returning. The runtime's tasks are
   * quick: they hand work to an agent and return.
   *
   * @return a handle that stops the task if it has not started yet
   */
  Cancellable schedule(Duration delay, Runnable task);

  /** A task given to {@link #schedule}. */
  @FunctionalInterface
  interface Cancellable {
    /**
     * Stops the task if it has not started; any thread, idempotent.
     *
     * @return true when this call stopped it; false when it already ran, started or was cancelled
     */
    boolean cancel();
  }

  /**
   * Real time: {@link Clock#systemUTC()}, and delays run on the JVM's shared delay thread (the one
   * behind {@link java.util.concurrent.CompletableFuture#delayedExecutor}). For adapters and tests
   * that run outside a runtime; a runtime built without {@code time} uses a timer thread of its own
   * instead, stopped when it closes.
   */
  static RuntimeTime system() {
    return SystemRuntimeTime.UTC;
  }

  /** Like {@link #system()} with {@code clock} as the clock; delays still run on real time. */
  static RuntimeTime system(Clock clock) {
    Objects.requireNonNull(clock, "clock was null but it must be set");
    return clock.equals(Clock.systemUTC()) ? SystemRuntimeTime.UTC : new SystemRuntimeTime(clock);
  }
}
