package dev.tributary.internal.runtime;

import dev.tributary.spi.RuntimeTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Core's own copy of the test kit's {@code dev.tributary.testkit.ManualTime} (core's tests cannot
 * use the test kit: a Maven cycle). A {@link RuntimeTime} that stands still until the test calls
 * {@link #advance(Duration)}, which runs the tasks that fall due on the calling thread, in due
 * order, each with the clock at its due instant. {@link #awaitScheduled(Duration)} waits (real
 * time, up to 10 s) until the runtime armed a timer of that delay at the present instant.
 * Thread-safe.
 */
final class ManualTime implements RuntimeTime {

  /** Where a {@code ManualTime} starts unless told otherwise: 2026-01-01T00:00:00Z. */
  static final Instant DEFAULT_START = Instant.parse("2026-01-01T00:00:00Z");

  private static final Duration WAIT = Duration.ofSeconds(10);

  private final Instant start;
  private final long startMillis;
  private final Clock clock;
  private final Object lock = new Object();
  private final ReentrantLock advancing = new ReentrantLock();
  private final PriorityQueue<Task> queue =
      new PriorityQueue<>(
          Comparator.comparingLong((Task t) -> t.due).thenComparingLong(t -> t.seq));

  /** Nanoseconds since {@link #start}; written under {@link #lock}. */
  private volatile long now;

  private long seq;

  /** Starts at {@link #DEFAULT_START}. */
  ManualTime() {
    this(DEFAULT_START);
  }

  /** Starts at {@code start}. */
  ManualTime(Instant start) {
    this.start = Objects.requireNonNull(start, "start was null but it must be set");
    this.startMillis = start.toEpochMilli();
    this.clock = new ManualClock(ZoneOffset.UTC);
  }

  /** A clock that reads this time, in UTC; always the same instance. */
  @Override
  public Clock clock() {
    return clock;
  }

  /** The present instant. */
  Instant now() {
    return start.plusNanos(now);
  }

  @Override
  public Cancellable schedule(Duration delay, Runnable task) {
    Objects.requireNonNull(delay, "delay was null but it must be set");
    Objects.requireNonNull(task, "task was null but it must be set");
    synchronized (lock) {
      long at = now;
      Task t = new Task(saturatedAdd(at, nanos(delay)), at, seq++, task);
      queue.add(t);
      lock.notifyAll();
      return t;
    }
  }

  /**
   * Moves the clock forward by {@code d}, running every task that falls due on the way, on this
   * thread, in due order.
   *
   * @throws IllegalArgumentException when {@code d} is negative
   * @throws IllegalStateException when called from inside one of this time's tasks
   */
  void advance(Duration d) {
    Objects.requireNonNull(d, "d was null but it must be set");
    if (d.isNegative()) {
      throw new IllegalArgumentException("d was " + d + " but time only moves forward");
    }
    if (advancing.isHeldByCurrentThread()) {
      throw new IllegalStateException("advance was called from inside a task of " + this);
    }
    advancing.lock();
    try {
      long target = saturatedAdd(now, nanos(d));
      while (true) {
        Task next;
        synchronized (lock) {
          next = queue.peek();
          if (next == null || next.due > target) {
            now = target;
            lock.notifyAll();
            return;
          }
          queue.poll();
          next.state = Task.STARTED;
          if (next.due > now) {
            now = next.due;
          }
          lock.notifyAll();
        }
        next.task.run();
      }
    } finally {
      advancing.unlock();
    }
  }

  /** How long until each pending task is due, soonest first. */
  List<Duration> pendingDelays() {
    synchronized (lock) {
      List<Task> tasks = new ArrayList<>(queue);
      tasks.sort(queue.comparator());
      List<Duration> out = new ArrayList<>(tasks.size());
      for (Task t : tasks) {
        out.add(Duration.ofNanos(t.due - now));
      }
      return out;
    }
  }

  /** How many tasks are scheduled and neither ran nor were cancelled. */
  int pendingCount() {
    synchronized (lock) {
      return queue.size();
    }
  }

  /**
   * Waits until a pending task was scheduled at the present instant to run {@code delay} later: the
   * runtime armed the timer the test is about to fire.
   *
   * @throws AssertionError naming the pending delays when none is armed within 10 s of real time
   */
  void awaitScheduled(Duration delay) {
    awaitScheduled(delay, 1);
  }

  /**
   * Like {@link #awaitScheduled(Duration)}, until at least {@code count} such tasks are pending.
   */
  void awaitScheduled(Duration delay, int count) {
    Objects.requireNonNull(delay, "delay was null but it must be set");
    long wanted = nanos(delay);
    long deadline = System.nanoTime() + WAIT.toNanos();
    synchronized (lock) {
      while (armedNow(wanted) < count) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError(
              "expected "
                  + count
                  + " task(s) scheduled at "
                  + now()
                  + " with a delay of "
                  + delay
                  + " within "
                  + WAIT
                  + "; pending delays: "
                  + pendingDelays());
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(lock, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError("interrupted while waiting for a task of " + delay, e);
        }
      }
    }
  }

  private int armedNow(long delayNanos) {
    int n = 0;
    for (Task t : queue) {
      if (t.scheduledAt == now && t.due - now == delayNanos) {
        n++;
      }
    }
    return n;
  }

  @Override
  public String toString() {
    return "ManualTime[" + now() + ", " + pendingCount() + " pending]";
  }

  private static long nanos(Duration d) {
    if (d.isNegative()) {
      return 0;
    }
    try {
      return d.toNanos();
    } catch (ArithmeticException tooLong) {
      return Long.MAX_VALUE;
    }
  }

  private static long saturatedAdd(long a, long b) {
    long sum = a + b;
    return sum < a ? Long.MAX_VALUE : sum;
  }

  /** One scheduled task. */
  private final class Task implements Cancellable {
    static final int PENDING = 0;
    static final int STARTED = 1;
    static final int CANCELLED = 2;

    final long due;
    final long scheduledAt;
    final long seq;
    final Runnable task;
    int state = PENDING; // guarded by lock

    Task(long due, long scheduledAt, long seq, Runnable task) {
      this.due = due;
      this.scheduledAt = scheduledAt;
      this.seq = seq;
      this.task = task;
    }

    @Override
    public boolean cancel() {
      synchronized (lock) {
        if (state != PENDING) {
          return false;
        }
        state = CANCELLED;
        queue.remove(this);
        lock.notifyAll();
        return true;
      }
    }
  }

  /** Reads this time; the zone only changes how it is shown. */
  private final class ManualClock extends Clock {
    private final ZoneId zone;

    ManualClock(ZoneId zone) {
      this.zone = zone;
    }

    @Override
    public ZoneId getZone() {
      return zone;
    }

    @Override
    public Clock withZone(ZoneId z) {
      return z.equals(zone) ? this : new ManualClock(z);
    }

    @Override
    public long millis() {
      return startMillis + now / 1_000_000;
    }

    @Override
    public Instant instant() {
      return now();
    }

    @Override
    public String toString() {
      return "ManualTime.clock[" + now() + "]";
    }
  }
}
