package dev.tributary.benchmarks.e2e;

import java.util.Arrays;
import java.util.List;

/** Medians and percentiles. */
public final class Stats {
  private Stats() {}

  /** The median of {@code values}; NaN when empty. */
  public static double median(List<Double> values) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    double[] v = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    int n = v.length;
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }

  public static double min(List<Double> values) {
    return values.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
  }

  public static double max(List<Double> values) {
    return values.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
  }

  /** The {@code p}-th percentile (0..100) of {@code sorted} (nearest rank); NaN when empty. */
  public static double percentile(long[] sorted, double p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  /** A sorted copy. */
  public static long[] sorted(long[] values) {
    long[] s = values.clone();
    Arrays.sort(s);
    return s;
  }
}
