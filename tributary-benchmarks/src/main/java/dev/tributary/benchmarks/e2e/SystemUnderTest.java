package dev.tributary.benchmarks.e2e;

/** One way of consuming the benchmark's records: raw consumer, Tributary, Parallel Consumer. */
public interface SystemUnderTest {

  /** The short name used in tables: raw, tributary, pc. */
  String name();

  /** A one-line description of how it is configured, for the report. */
  String describe();

  /** Consumes what {@code spec} says with a fresh consumer group, checks it and reports. */
  RunResult run(RunSpec spec) throws Exception;
}
