package dev.tributary.spi;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/** How long to wait before retry number {@code attempt} (1 for the first retry). Thread-safe. */
@FunctionalInterface
public interface BackoffPolicy {

  /** The delay before retry {@code attempt}, at least 1. */
  Duration delay(int attempt);

  /** Always the same delay. */
  static BackoffPolicy fixed(Duration delay) {
    requirePositive("delay", delay);
    return attempt -> delay;
  }

  /**
   * Exponential backoff with jitter: {@code min * 2^(attempt-1)}, capped at {@code max}, then a
   * random value between half of it and all of it, so that many failing subscribers do not retry in
   * step.
   */
  static BackoffPolicy exponential(Duration min, Duration max) {
    requirePositive("min", min);
    requirePositive("max", max);
    if (max.compareTo(min) < 0) {
      throw new IllegalArgumentException(
          "backoff max was " + max + " but it must be at least min (" + min + ")");
    }
    long minNanos = min.toNanos();
    long maxNanos = max.toNanos();
    return attempt -> {
      int shift = Math.min(Math.max(attempt - 1, 0), 40);
      long ceiling =
          minNanos > (maxNanos >> shift) ? maxNanos : Math.min(maxNanos, minNanos << shift);
      long half = Math.max(1, ceiling / 2);
      return Duration.ofNanos(half + ThreadLocalRandom.current().nextLong(ceiling - half + 1));
    };
  }

  private static void requirePositive(String name, Duration d) {
    if (d == null || d.isZero() || d.isNegative()) {
      throw new IllegalArgumentException("backoff " + name + " was " + d + " but it must be > 0");
    }
  }
}
