package dev.tributary.benchmarks.e2e;

import java.time.Duration;

/**
 * CPU time used by this JVM and by its child processes (the local broker), from the operating
 * system's accounting, so that a run can report CPU per record next to its rate: on a small machine
 * a system that needs more CPU per record is slower for that reason alone.
 */
public final class CpuMeter {
  private final long selfStart;
  private final long childrenStart;

  private CpuMeter() {
    this.selfStart = self();
    this.childrenStart = children();
  }

  /** Starts measuring now. */
  public static CpuMeter start() {
    return new CpuMeter();
  }

  /** CPU nanoseconds this JVM used since start. */
  public long selfNanos() {
    return self() - selfStart;
  }

  /** CPU nanoseconds the child processes (the local broker) used since start; 0 if unknown. */
  public long childrenNanos() {
    return Math.max(0, children() - childrenStart);
  }

  private static long self() {
    return ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
  }

  private static long children() {
    return ProcessHandle.current()
        .descendants()
        .mapToLong(p -> p.info().totalCpuDuration().map(Duration::toNanos).orElse(0L))
        .sum();
  }
}
