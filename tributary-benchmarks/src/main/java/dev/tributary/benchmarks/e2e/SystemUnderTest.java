package dev.tributary.benchmarks.e2e;

/**
 * One way of consuming the benchmark's records: raw consumer, Tributary, Parallel Consumer, Pekko
 * Connectors.
 */
public interface SystemUnderTest {

  /** The short name used in tables: raw, tributary, pc. */
  String name();

  /** A one-line description of how it is configured, for the report. */
  String describe();

  /** Consumes what {@code spec} says with a fresh consumer group, checks it and reports. */
  RunResult run(RunSpec spec) throws Exception;

  /** Starts what must exist before the first measured run (a forked peer's JVM). */
  default void prepare() throws Exception {}

  /**
   * Processes other than the harness JVM that do this system's client work (a peer in a JVM of its
   * own), whose CPU counts as the client's during its runs.
   */
  default java.util.List<ProcessHandle> clientProcesses() {
    return java.util.List.of();
  }
}
