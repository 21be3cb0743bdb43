package dev.tributary.benchmarks;

import java.util.Arrays;

/**
 * Entry point of the benchmark jar. Method, machine and results are in {@code docs/benchmarks.md}.
 *
 * <p>The default comparison (2M records, 8 partitions, 10k keys, 100-byte values; a raw
 * KafkaConsumer, Tributary and Confluent Parallel Consumer, 5 alternating runs after a warm-up, on
 * a local KRaft broker the harness starts; about 2 minutes on 2 cores):
 *
 * <pre>
 * mvn -B -q -pl tributary-benchmarks -am package -DskipTests &amp;&amp; java -jar tributary-benchmarks/target/tributary-benchmarks.jar e2e
 * </pre>
 *
 * <p>The other measurements:
 *
 * <pre>
 * java -jar tributary-benchmarks/target/tributary-benchmarks.jar e2e --mode latency --rate 10000 --seconds 30
 * java -jar tributary-benchmarks/target/tributary-benchmarks.jar e2e --mode memory
 * java -jar tributary-benchmarks/target/tributary-benchmarks.jar e2e --sweep partitions --plot-dir docs/img
 * java -jar tributary-benchmarks/target/tributary-benchmarks.jar e2e --sweep streams --plot-dir docs/img
 * java -jar tributary-benchmarks/target/tributary-benchmarks.jar e2e --sweep work --plot-dir docs/img
 * java -jar tributary-benchmarks/target/tributary-benchmarks.jar e2e --help
 * java -Xms2g -Xmx2g -jar tributary-benchmarks/target/tributary-benchmarks.jar replay
 * java -jar tributary-benchmarks/target/tributary-benchmarks.jar jmh [JMH options, e.g. QueueCache]
 * java -jar tributary-benchmarks/target/tributary-benchmarks.jar jfr recording.jfr [--threads REGEX]
 * </pre>
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    String mode = args.length == 0 ? "help" : args[0];
    String[] rest = Arrays.copyOfRange(args, Math.min(1, args.length), args.length);
    switch (mode) {
      case "jmh" -> org.openjdk.jmh.Main.main(rest);
      case "e2e" -> EndToEndBenchmark.main(rest);
      case "replay" -> {
        String[] withMode = new String[rest.length + 2];
        withMode[0] = "--mode";
        withMode[1] = "replay";
        System.arraycopy(rest, 0, withMode, 2, rest.length);
        EndToEndBenchmark.main(withMode);
      }
      case "jfr" -> JfrSummary.main(rest);
      default -> {
        System.out.println(
            "usage: java -jar tributary-benchmarks.jar (jmh [JMH options] | e2e [options] | replay"
                + " [options] | jfr FILE)");
        System.out.println(
            "  jmh  micro-benchmarks: QueueCache, HashRingMapper, DeliveryPath,"
                + " KafkaRecordConversion");
        System.out.println(
            "  e2e  Tributary vs raw KafkaConsumer vs Parallel Consumer on a real broker (e2e"
                + " --help)");
        System.out.println(
            "  replay  rewind beyond the cache vs raw assign+seek+read (= e2e --mode replay)");
        System.out.println("  jfr  summarize a JFR recording: hot methods, threads, allocations");
      }
    }
  }
}
