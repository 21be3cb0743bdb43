package dev.tributary.testkit;

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
 * A {@link RuntimeTime} that stands still until the test moves it: give it to {@code
 * StreamRuntime.Builder.time(...)} and step through a backoff, a deadline or a time-out instead of
 * waiting for it (Kafka's {@code MockTime}, Caffeine's {@code FakeTicker}).
 *
 * <pre>{@code
 * ManualTime time = new ManualTime();
 * StreamRuntime rt = StreamRuntime.builder().time(time).addProvider(...).build();
 * ...
 * time.awaitScheduled(Duration.ofSeconds(30)); // the runtime armed its 30 s time-out
 * time.advance(Duration.ofSeconds(30));        // and it fires, now
 * }</pre>
 *
 * <h2>How tasks run</h2>
 *
 * <p>{@link #advance(Duration)} runs every task that falls due up to the new instant <em>on the
 * calling thread</em>, in due order (tasks due at the same instant in the order they were
 * scheduled), each with the clock reading its due instant; a task scheduled by a task runs in the
 * same call if it falls due in time (a fixed-delay tick runs once per period). Then the clock reads
 * the new instant. The runtime's tasks only hand work to an agent's executor, so running them on
 * the test's thread is safe; what they start happens on the runtime's threads after they return, so
 * wait for its effects as usual. A task due at once (a delay of zero or less) runs at the next
 * {@code advance}, {@code advance(Duration.ZERO)} included, never inside {@link #schedule}. A task
 * that throws ends the call: the exception propagates and the clock stays at that task's instant.
 *
 * <h2>Waiting for a timer to be armed</h2>
 *
 * <p>The runtime arms its timers on its own threads, some time after the call that causes them, and
 * advancing before a timer is armed does not fire it. {@link #awaitScheduled(Duration)} waits (on
 * real time, up to 10 s) until a task of exactly that delay was scheduled at the present instant;
 * advancing after that is deterministic. While the clock stands still nothing falls due, so what a
 * test sees between two calls to {@code advance} cannot depend on how fast the machine is.
 *
 * <p>Thread-safe: any thread may read the clock, schedule and cancel. Calls to {@code advance} from
 * different threads take turns; a call from inside a task is refused.
 */
public final class ManualTime implements RuntimeTime {

  /** Where a {@code ManualTime} starts unless told otherwise: 2026-01-01T00:00:00Z. */
  public static final Instant DEFAULT_START = Instant.parse("2026-01-01T00:00:00Z");

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
  public ManualTime() {
    this(DEFAULT_START);
  }

  /** Starts at {@code start}. */
  public ManualTime(Instant start) {
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
  public Instant now() {
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
  public void advance(Duration d) {
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
  public List<Duration> pendingDelays() {
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
  public int pendingCount() {
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
  public void awaitScheduled(Duration delay) {
    awaitScheduled(delay, 1);
  }

  /**
   * Like {@link #awaitScheduled(Duration)}, until at least {@code count} such tasks are pending.
   */
  public void awaitScheduled(Duration delay, int count) {
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
