package dev.tributary.benchmarks.e2e;

/**
 * One measured run of one system.
 *
 * @param system the system's short name (raw, tributary, pc)
 * @param records records counted
 * @param activeNanos from the first record delivered to the last
 * @param wallNanos from start (subscribe) to the last record
 * @param errors order, count or identity errors found
 * @param note what went wrong, or null
 * @param latencies end-to-end latencies in ns (latency mode), else empty
 * @param cpuNanos CPU time of the harness JVM during the run (all its threads), or 0
 * @param brokerCpuNanos CPU time of the local broker during the run, or 0
 * @param reorders records applied after a later record of their key, for a system that does not
 *     keep a key's order (then not an error)
 * @param overlaps records that reached their key's handler while an earlier one of that key was
 *     still in progress
 */
public record RunResult(
    String system,
    long records,
    long activeNanos,
    long wallNanos,
    long errors,
    String note,
    long[] latencies,
    long cpuNanos,
    long brokerCpuNanos,
    long reorders,
    long overlaps) {

  /** A result without CPU figures. */
  public RunResult(
      String system,
      long records,
      long activeNanos,
      long wallNanos,
      long errors,
      String note,
      long[] latencies) {
    this(system, records, activeNanos, wallNanos, errors, note, latencies, 0, 0, 0, 0);
  }

  /** A result with CPU figures and no reorders. */
  public RunResult(
      String system,
      long records,
      long activeNanos,
      long wallNanos,
      long errors,
      String note,
      long[] latencies,
      long cpuNanos,
      long brokerCpuNanos) {
    this(
        system,
        records,
        activeNanos,
        wallNanos,
        errors,
        note,
        latencies,
        cpuNanos,
        brokerCpuNanos,
        0,
        0);
  }

  /** The same result with CPU figures. */
  public RunResult withCpu(long cpu, long brokerCpu) {
    return new RunResult(
        system,
        records,
        activeNanos,
        wallNanos,
        errors,
        note,
        latencies,
        cpu,
        brokerCpu,
        reorders,
        overlaps);
  }

  /** Harness CPU microseconds per record (all threads, whole run incl. start-up and close). */
  public double cpuMicrosPerRecord() {
    return records == 0 ? Double.NaN : cpuNanos / 1e3 / records;
  }

  /** Broker CPU microseconds per record. */
  public double brokerCpuMicrosPerRecord() {
    return records == 0 ? Double.NaN : brokerCpuNanos / 1e3 / records;
  }

  /** Records per second from first to last record. */
  public double rate() {
    return activeNanos <= 0 ? 0 : records * 1e9 / activeNanos;
  }

  /** Records per second including start-up (group join, first fetch). */
  public double wallRate() {
    return wallNanos <= 0 ? 0 : records * 1e9 / wallNanos;
  }

  /** True when every record was seen, in order, before the timeout. */
  public boolean ok() {
    return errors == 0 && note == null;
  }
}
