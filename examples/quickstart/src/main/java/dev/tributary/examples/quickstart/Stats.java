package dev.tributary.examples.quickstart;

import dev.tributary.StreamId;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/** Live figures shared by the actors and the progress printer. Thread-safe. */
final class Stats {
  /** Latency histogram buckets: 0..(BUCKETS-1) tenths of a millisecond, last one open-ended. */
  private static final int BUCKETS = 100_000;

  private final LongAdder delivered = new LongAdder();
  private final LongAdder activations = new LongAdder();
  private final AtomicLong errors = new AtomicLong();
  private final AtomicLongArray latency = new AtomicLongArray(BUCKETS);
  private final AtomicLong firstDelivery = new AtomicLong();

  void delivered(long latencyNanos) {
    if (firstDelivery.get() == 0) {
      firstDelivery.compareAndSet(0, System.nanoTime());
    }
    delivered.increment();
    int bucket = (int) Math.min(BUCKETS - 1, Math.max(0, latencyNanos / 100_000));
    latency.incrementAndGet(bucket);
  }

  void activated() {
    activations.increment();
  }

  void error(StreamId customer, Throwable error) {
    errors.incrementAndGet();
    System.err.println("error on " + customer + ": " + error);
  }

  long delivered() {
    return delivered.sum();
  }

  /** When the first order reached its actor ({@code System.nanoTime()}), or 0. */
  long firstDeliveryNanos() {
    return firstDelivery.get();
  }

  long activations() {
    return activations.sum();
  }

  long errors() {
    return errors.get();
  }

  /** A copy of the latency histogram, for percentiles over the whole run or an interval. */
  long[] snapshot() {
    long[] snapshot = new long[BUCKETS];
    for (int i = 0; i < BUCKETS; i++) {
      snapshot[i] = latency.get(i);
    }
    return snapshot;
  }

  /** The latency percentile {@code p} (0..1) in milliseconds over the whole run. */
  double percentileMillis(double p) {
    return percentileMillis(p, snapshot(), new long[BUCKETS]);
  }

  /** The latency percentile {@code p} (0..1) of what {@code now} holds beyond {@code before}. */
  static double percentileMillis(double p, long[] now, long[] before) {
    long total = 0;
    long[] snapshot = new long[BUCKETS];
    for (int i = 0; i < BUCKETS; i++) {
      snapshot[i] = now[i] - before[i];
      total += snapshot[i];
    }
    if (total == 0) {
      return 0;
    }
    long rank = (long) Math.ceil(p * total);
    long seen = 0;
    for (int i = 0; i < BUCKETS; i++) {
      seen += snapshot[i];
      if (seen >= rank) {
        return (i + 1) / 10.0;
      }
    }
    return BUCKETS / 10.0;
  }
}
