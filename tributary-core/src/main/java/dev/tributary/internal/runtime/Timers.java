package dev.tributary.internal.runtime;

import dev.tributary.spi.RuntimeTime;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every timer of one runtime, over its {@link RuntimeTime}: read ticks, backoffs and time-outs all
 * go through here, so one injected source drives them all. Adds what the runtime needs on top of
 * the SPI: a task that throws is logged, never propagated to the time's thread (Caffeine's {@code
 * GuardedScheduler}); fixed-delay repetition; time-outs of stages; and {@link #close()}, which
 * cancels whatever is still pending, as shutting a timer thread down would. Thread-safe.
 *
 * <p>It is a {@link RuntimeTime} itself: adapters get it as {@code ProviderContext.time()}, so
 * their timers are guarded and cancelled at close too.
 */
final class Timers implements RuntimeTime {
  private static final Logger log = LoggerFactory.getLogger(Timers.class);

  private final RuntimeTime time;
  private final Clock clock;
  private final String owner;
  private final Set<Once> pending = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  /** Reads {@code time.clock()} once; {@code owner} names the runtime in logs. */
  Timers(RuntimeTime time, String owner) {
    this.time = time;
    this.owner = owner;
    Clock c = time.clock();
    if (c == null) {
      throw new IllegalArgumentException("the clock of " + time + " was null");
    }
    this.clock = c;
  }

  @Override
  public Clock clock() {
    return clock;
  }

  /** Milliseconds on {@link #clock()}. */
  long millis() {
    return clock.millis();
  }

  @Override
  public Cancellable schedule(Duration delay, Runnable task) {
    Once once = new Once(task);
    pending.add(once);
    if (closed) {
      once.cancel();
      return once;
    }
    Cancellable inner;
    try {
      inner = time.schedule(delay, once);
    } catch (RuntimeException e) {
      pending.remove(once);
      throw e;
    }
    once.inner = inner;
    if (once.done.get()) {
      // Cancelled before the inner handle was known.
      inner.cancel();
    }
    return once;
  }

  /**
   * Runs {@code task} after {@code initial}, then again {@code period} after each run ends, until
   * the handle is cancelled.
   */
  Cancellable scheduleWithFixedDelay(Runnable task, Duration initial, Duration period) {
    Periodic p = new Periodic(task, period);
    p.arm(initial);
    return p;
  }

  /**
   * A stage that completes like {@code stage}, or fails with a {@link TimeoutException} when {@code
   * stage} has not completed {@code timeout} from now. {@code stage} itself is left alone.
   */
  <T> CompletableFuture<T> within(
      CompletionStage<T> stage, Duration timeout, Supplier<String> what) {
    CompletableFuture<T> result = new CompletableFuture<>();
    Cancellable timer =
        schedule(
            timeout,
            () ->
                result.completeExceptionally(
                    new TimeoutException(what.get() + " did not complete within " + timeout)));
    stage.whenComplete(
        (v, e) -> {
          timer.cancel();
          if (e != null) {
            result.completeExceptionally(e);
          } else {
            result.complete(v);
          }
        });
    return result;
  }

  /** Cancels every pending task; later ones never run. Idempotent. */
  void close() {
    closed = true;
    List<Once> left = new ArrayList<>(pending);
    for (Once o : left) {
      o.cancel();
    }
  }

  /** Tasks scheduled and neither run nor cancelled yet; for tests. */
  int pendingCount() {
    return pending.size();
  }

  @Override
  public String toString() {
    return "Timers[" + owner + " over " + time + "]";
  }

  /** One scheduled task: runs at most once, guarded; forgotten when it ran or was cancelled. */
  private final class Once implements Cancellable, Runnable {
    final Runnable task;
    final AtomicBoolean done = new AtomicBoolean();
    volatile Cancellable inner;

    Once(Runnable task) {
      this.task = task;
    }

    @Override
    public void run() {
      if (!done.compareAndSet(false, true)) {
        return;
      }
      pending.remove(this);
      try {
        task.run();
      } catch (Throwable t) {
        log.error("Runtime {}: a timer task failed", owner, t);
      }
    }

    @Override
    public boolean cancel() {
      if (!done.compareAndSet(false, true)) {
        return false;
      }
      pending.remove(this);
      Cancellable i = inner;
      if (i != null) {
        i.cancel();
      }
      return true;
    }
  }

  /** A task that re-arms itself after each run. */
  private final class Periodic implements Cancellable {
    final Runnable task;
    final Duration period;
    final AtomicBoolean cancelled = new AtomicBoolean();
    volatile Cancellable next;

    Periodic(Runnable task, Duration period) {
      this.task = task;
      this.period = period;
    }

    void arm(Duration delay) {
      Cancellable n = schedule(delay, this::fire);
      next = n;
      if (cancelled.get()) {
        n.cancel();
      }
    }

    private void fire() {
      if (cancelled.get()) {
        return;
      }
      try {
        task.run();
      } finally {
        if (!cancelled.get()) {
          arm(period);
        }
      }
    }

    @Override
    public boolean cancel() {
      if (!cancelled.compareAndSet(false, true)) {
        return false;
      }
      Cancellable n = next;
      if (n != null) {
        n.cancel();
      }
      return true;
    }
  }
}
