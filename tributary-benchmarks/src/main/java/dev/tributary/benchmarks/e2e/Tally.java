package dev.tributary.benchmarks.e2e;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * Counts what a system under test delivered, from any number of threads: records, order errors, the
 * time of the first record and, in latency mode, each record's end-to-end latency.
 *
 * <p>Two ways to know that a run is complete. When every key's record count is known and the
 * consumer tracks each key's sequence anyway (Tributary's observers do), the consumer reports each
 * key once, when its last record arrived ({@link #keyDone()}): one atomic operation per key, not
 * per record, so that counting costs the system under test nothing measurable. Otherwise each
 * record is counted ({@link #delivered(byte[])} with counting on) in a {@link LongAdder}. Either
 * way a waiting thread polls every {@value #POLL_MICROS} us, so completion is seen at most that
 * late.
 */
public final class Tally {
  static final long POLL_MICROS = 1000;

  private final long target;
  private final int keysTarget;
  private final LongAdder delivered = new LongAdder();
  private final AtomicInteger keysDone = new AtomicInteger();
  private final LongAdder orderErrors = new LongAdder();
  private final AtomicLong firstNanos = new AtomicLong();
  private final long[] latencies;
  private final AtomicInteger latencyCount = new AtomicInteger();
  private volatile String firstError;

  /**
   * A tally that is done after {@code target} records, counted one by one; {@code latencySamples} 0
   * for none.
   */
  public Tally(long target, int latencySamples) {
    this(target, latencySamples, 0);
  }

  /**
   * A tally that is done when {@code keysTarget} keys reported their last record (when positive),
   * else after {@code target} counted records.
   */
  public Tally(long target, int latencySamples, int keysTarget) {
    this.target = target;
    this.keysTarget = keysTarget;
    this.latencies = latencySamples > 0 ? new long[latencySamples] : null;
  }

  /** How many keys of {@code perKey} have at least one record. */
  public static int keysWithRecords(int[] perKey) {
    int n = 0;
    for (int c : perKey) {
      if (c > 0) {
        n++;
      }
    }
    return n;
  }

  /** True when completion is counted per key rather than per record. */
  public boolean countsKeys() {
    return keysTarget > 0;
  }

  /**
   * Notes one delivered record whose value is {@code value}: the first record's time, its latency,
   * and, unless completion is counted per key, the record itself. Any thread.
   */
  public void delivered(byte[] value) {
    if (firstNanos.get() == 0) {
      firstNanos.compareAndSet(0, System.nanoTime());
    }
    counted(value);
  }

  /**
   * Like {@link #delivered} without noting the first record's time, for callers that know it
   * otherwise. The first-record test is a branch taken once per run: inlined into a system's
   * delivery path, it makes the JIT throw away and recompile that whole path at the start of every
   * run, which a long-lived application never pays.
   */
  public void counted(byte[] value) {
    if (latencies != null) {
      long sent = Records.sendNanos(value);
      if (sent != 0) {
        int i = latencyCount.getAndIncrement();
        if (i < latencies.length) {
          latencies[i] = System.nanoTime() - sent;
        }
      }
    }
    if (keysTarget == 0) {
      delivered.increment();
    }
  }

  /** One key received its last record; any thread. */
  public void keyDone() {
    keysDone.incrementAndGet();
  }

  /** Records an order or identity error; any thread. */
  public void orderError(String what) {
    orderErrors.increment();
    if (firstError == null) {
      firstError = what;
    }
  }

  /**
   * Waits until the target is reached or {@code timeoutSeconds} passed; returns the nanoTime when
   * the target was seen reached, or -1 on timeout.
   */
  public long awaitTarget(int timeoutSeconds) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    while (!done()) {
      if (System.nanoTime() - deadline > 0) {
        return -1;
      }
      LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(POLL_MICROS));
    }
    return System.nanoTime();
  }

  private boolean done() {
    return keysTarget > 0 ? keysDone.get() >= keysTarget : delivered.sum() >= target;
  }

  /** Records delivered: counted, or the target once every key completed. */
  public long delivered() {
    if (keysTarget > 0) {
      return keysDone.get() >= keysTarget ? target : -1;
    }
    return delivered.sum();
  }

  /** Keys completed, or records counted: a number that grows as the run progresses. */
  public long progressCount() {
    return keysTarget > 0 ? keysDone.get() : delivered.sum();
  }

  /** Progress for messages: records counted, or keys completed. */
  public String progress() {
    return keysTarget > 0
        ? keysDone.get() + " of " + keysTarget + " keys complete"
        : delivered.sum() + " of " + target + " records";
  }

  public long orderErrors() {
    return orderErrors.sum();
  }

  public String firstError() {
    return firstError;
  }

  public long firstNanos() {
    return firstNanos.get();
  }

  /** Notes {@code nanos} as the first record's time unless an earlier one was noted. */
  public void firstAt(long nanos) {
    firstNanos.accumulateAndGet(nanos, (a, b) -> a == 0 ? b : Math.min(a, b));
  }

  public long target() {
    return target;
  }

  /** The latencies recorded so far, in nanoseconds (a copy). */
  public long[] latencies() {
    if (latencies == null) {
      return new long[0];
    }
    int n = Math.min(latencyCount.get(), latencies.length);
    return java.util.Arrays.copyOf(latencies, n);
  }
}
