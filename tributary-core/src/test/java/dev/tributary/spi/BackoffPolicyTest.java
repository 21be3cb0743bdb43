package dev.tributary.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link BackoffPolicy}: exponential ceilings, jitter in [ceiling/2, ceiling], the cap, bad input.
 */
class BackoffPolicyTest {
  private static final int SAMPLES = 2_000;

  /** Ceiling = min * 2^(attempt-1) capped at max; every delay lies in [ceiling/2, ceiling]. */
  @ParameterizedTest(name = "attempt {0} -> ceiling {1} ms")
  @CsvSource({
    "1, 100",
    "2, 200",
    "3, 400",
    "6, 3200",
    "7, 5000",
    "8, 5000",
    "41, 5000",
    "1000, 5000",
    "2147483647, 5000",
    // attempts below 1 are treated as the first
    "0, 100",
    "-5, 100",
  })
  void exponential_staysWithinHalfCeilingAndCeiling(int attempt, long ceilingMillis) {
    BackoffPolicy policy = BackoffPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(5));
    Duration ceiling = Duration.ofMillis(ceilingMillis);
    Duration floor = ceiling.dividedBy(2);
    Set<Duration> distinct = new HashSet<>();
    for (int i = 0; i < SAMPLES; i++) {
      Duration d = policy.delay(attempt);
      assertThat(d).isBetween(floor, ceiling);
      distinct.add(d);
    }
    // Jitter: a range of 50 million nanoseconds or more never yields one value 2000 times.
    assertThat(distinct).hasSizeGreaterThan(1);
  }

  @Test
  void exponential_largeMinNeverOverflows() {
    Duration max = Duration.ofDays(365 * 100);
    BackoffPolicy policy = BackoffPolicy.exponential(Duration.ofDays(365), max);
    for (int attempt = 1; attempt < 200; attempt++) {
      Duration d = policy.delay(attempt);
      assertThat(d).as("attempt %d", attempt).isPositive().isLessThanOrEqualTo(max);
    }
    assertThat(policy.delay(100)).isGreaterThanOrEqualTo(max.dividedBy(2));
  }

  @Test
  void exponential_withMinEqualToMax_isJitteredMax() {
    BackoffPolicy policy = BackoffPolicy.exponential(Duration.ofSeconds(1), Duration.ofSeconds(1));
    for (int attempt = 1; attempt < 50; attempt++) {
      assertThat(policy.delay(attempt)).isBetween(Duration.ofMillis(500), Duration.ofSeconds(1));
    }
  }

  /** The interface promises a delay of at least 1 (nanosecond): never a zero-delay retry. */
  @Test
  void exponential_neverReturnsAZeroDelay() {
    BackoffPolicy policy = BackoffPolicy.exponential(Duration.ofNanos(1), Duration.ofNanos(1));
    for (int i = 0; i < SAMPLES; i++) {
      assertThat(policy.delay(1)).isPositive();
    }
  }

  @Test
  void fixed_alwaysReturnsTheDelay() {
    BackoffPolicy policy = BackoffPolicy.fixed(Duration.ofMillis(250));
    for (int attempt = 1; attempt < 100; attempt++) {
      assertThat(policy.delay(attempt)).isEqualTo(Duration.ofMillis(250));
    }
  }

  @Test
  void exponential_rejectsMaxBelowMin() {
    assertThatThrownBy(
            () -> BackoffPolicy.exponential(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("max")
        .hasMessageContaining("PT1S")
        .hasMessageContaining("at least min")
        .hasMessageContaining("PT2S");
  }

  @Test
  void exponential_rejectsNonPositiveOrMissingBounds() {
    assertThatThrownBy(() -> BackoffPolicy.exponential(Duration.ZERO, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("min")
        .hasMessageContaining("PT0S")
        .hasMessageContaining("> 0");
    assertThatThrownBy(
            () -> BackoffPolicy.exponential(Duration.ofSeconds(1), Duration.ofSeconds(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("max")
        .hasMessageContaining("PT-1S")
        .hasMessageContaining("> 0");
    assertThatThrownBy(() -> BackoffPolicy.exponential(null, Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("min")
        .hasMessageContaining("null");
    assertThatThrownBy(() -> BackoffPolicy.exponential(Duration.ofSeconds(1), null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("max")
        .hasMessageContaining("null");
  }

  @Test
  void fixed_rejectsNonPositiveOrMissingDelay() {
    assertThatThrownBy(() -> BackoffPolicy.fixed(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("delay")
        .hasMessageContaining("> 0");
    assertThatThrownBy(() -> BackoffPolicy.fixed(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("delay");
    assertThatThrownBy(() -> BackoffPolicy.fixed(null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("delay")
        .hasMessageContaining("null");
  }
}
