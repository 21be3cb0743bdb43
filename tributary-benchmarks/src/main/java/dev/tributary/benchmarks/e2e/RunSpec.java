package dev.tributary.benchmarks.e2e;

/**
 * What one run consumes and checks.
 *
 * @param topic the topic to read from the beginning
 * @param partitions its partition count
 * @param keys how many distinct keys it holds
 * @param target how many records to count before the run is over
 * @param perKey how many records each key has, to check that every key's sequence is complete; null
 *     when the run reads only a prefix of the topic (then only the order is checked)
 * @param workNanos simulated observer work per record, 0 for none
 * @param latencySamples how many latencies to keep, 0 when latency is not measured
 * @param onReady run once the system owns every partition (latency mode starts producing then)
 * @param timeoutSeconds when to give up
 */
public record RunSpec(
    String topic,
    int partitions,
    int keys,
    long target,
    int[] perKey,
    long workNanos,
    int latencySamples,
    Runnable onReady,
    int timeoutSeconds) {

  /** A throughput run over all of {@code d}. */
  public static RunSpec all(BenchKafka.Dataset d, long workNanos, int timeoutSeconds) {
    return new RunSpec(
        d.topic(),
        d.partitions(),
        d.keys(),
        d.records(),
        d.perKey(),
        workNanos,
        0,
        () -> {},
        timeoutSeconds);
  }

  /** A throughput run over the first {@code limit} records of {@code d} (all when larger). */
  public static RunSpec prefix(BenchKafka.Dataset d, long limit, long workNanos, int timeout) {
    if (limit >= d.records()) {
      return all(d, workNanos, timeout);
    }
    return new RunSpec(
        d.topic(), d.partitions(), d.keys(), limit, null, workNanos, 0, () -> {}, timeout);
  }
}
