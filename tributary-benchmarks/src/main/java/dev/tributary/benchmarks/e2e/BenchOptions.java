package dev.tributary.benchmarks.e2e;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The options of the end-to-end harness, parsed from the command line. Every problem is reported at
 * once; {@link #usage()} lists every option with its default.
 */
public final class BenchOptions {

  /** What the harness measures. */
  public enum Mode {
    THROUGHPUT,
    LATENCY,
    MEMORY,
    REPLAY,
    STARTUP
  }

  /** Which curve a sweep draws. */
  public enum Sweep {
    NONE,
    PARTITIONS,
    STREAMS,
    WORK
  }

  public String bootstrapServers;
  public String brokerHeap = "1g";
  public Mode mode = Mode.THROUGHPUT;
  public Sweep sweep = Sweep.NONE;
  public long records = 2_000_000;
  public boolean recordsSet;
  public int valueSize = 100;
  public int partitions = 8;
  public int keys = 10_000;
  public int runs = 5;
  public boolean runsSet;
  public int warmups = 1;
  public Set<String> systems = new LinkedHashSet<>(List.of("raw", "tributary", "pc"));
  public boolean systemsSet;
  public long pcRecords = 200_000;
  public long peerRecords = 200_000;
  public int pekkoParallelism = 100;
  public int rate = 10_000;
  public int seconds = 30;
  public boolean secondsSet;
  public Path plotDir;
  public Path out;
  public Integer cacheSize;
  public Integer runtimeThreads;
  public Integer consumerThreads;
  public Integer maxBuffered;
  public Long maxBufferedBytes;
  public int nodes = 1;
  public Integer commitEvery;
  public Integer pollTimeoutMs;
  public int traceMs;
  public Map<String, String> consumerProperties = new LinkedHashMap<>();
  public int timeoutSeconds = 300;
  public Set<String> scenarios = new LinkedHashSet<>(List.of("a", "b"));
  public List<Integer> maxConcurrentReplays = new ArrayList<>();
  public int replayPartition;
  public int churnSeconds;

  private BenchOptions() {}

  /** The usage text. */
  public static String usage() {
    return String.join(
        "\n",
        "usage: java -jar tributary-benchmarks.jar e2e [options]",
        "",
        "Compares (a) a raw KafkaConsumer poll loop, (b) Tributary (one implicit observer per key,",
        "in order) and (c) Confluent Parallel Consumer (KEY order) on the same pre-produced records.",
        "",
        "  --bootstrap-servers H:P  use this broker instead of starting a local one",
        "  --broker-heap SIZE       heap of the local broker [1g]",
        "  --mode M                 throughput | latency | memory | replay | startup",
        "                           [throughput]; startup: cold start in a fresh JVM per run",
        "  --sweep S                partitions | streams | work (throughput curves)",
        "  --records N              records to pre-produce [2000000; sweeps and replay 1000000]",
        "  --value-size B           value bytes, at least " + Records.HEADER + " [100]",
        "  --partitions P           topic partitions [8]",
        "  --keys K                 distinct keys = streams [10000]",
        "  --runs N                 measured runs per system, alternating [5; sweeps and latency 3]",
        "  --warmups N              unmeasured runs per system first [1]",
        "  --systems LIST           any of raw,tributary,pekko,pc,pekko-partitioned,pekko-ask",
        "                           [raw,tributary,pc; latency raw,tributary]; pekko = Tributary +",
        "                           Pekko local entities; pekko-partitioned and pekko-ask = Pekko",
        "                           Connectors Kafka (forked JVM): committablePartitionedSource +",
        "                           mapAsync(1) per partition, and mapAsync(n) + ask per key",
        "  --pc-records N           records Parallel Consumer reads per run [200000]",
        "  --peer-records N         records each Pekko Connectors peer reads per run [200000]",
        "  --pekko-parallelism N    pekko-ask: mapAsync parallelism [100]",
        "  --rate R                 latency mode: records per second [10000]",
        "  --seconds S              latency mode: seconds of producing per run [30; startup 20]",
        "  --cache-size N           Tributary cacheSize per partition [its default, 4096]",
        "  --runtime-threads N      Tributary agent threads [its default, available processors]",
        "  --consumer-threads N     Tributary KafkaConsumers [its default, 1]",
        "  --max-buffered N         Tributary maxBufferedRecordsPerPartition [its default]",
        "  --max-buffered-bytes N   Tributary maxBufferedBytesPerPartition [its default]",
        "  --commit-every N         Tributary commitEveryRecords [its default, 100000]",
        "  --nodes N                Tributary nodes (runtimes) in this JVM sharing the partitions",
        "                           by static assignment [1]",
        "  --poll-timeout-ms N      Tributary pollTimeout [its default, 100]",
        "  --consumer-property K=V  consumer property for all three systems (repeatable)",
        "  --trace-ms N             print Tributary's pipeline state every N ms (diagnosis; adds a",
        "                           meter registry, which costs some throughput)",
        "  --plot-dir DIR           write PNG charts there (e.g. docs/img)",
        "  --out FILE               append the result tables (markdown) to FILE",
        "  --timeout-seconds N      give up on one run after N seconds [300]",
        "  --churn-seconds N        memory mode: instead of the other parts, N seconds of new keys",
        "                           (one record each, --rate per second) going idle, heap sampled",
        "  --scenarios LIST         replay mode: a (one stream from offset 0) and/or b (every",
        "                           stream of one partition from offset 0) [a,b]",
        "  --max-concurrent-replays LIST  replay mode, scenario b: Tributary's",
        "                           maxConcurrentReplays settings to measure, 1 to 256 [4 and",
        "                           the partition's key count capped at 256]; scenario a uses 4",
        "  --replay-partition N     replay mode: the partition replayed [0]",
        "  --help                   this text");
  }

  /**
   * Parses {@code args}.
   *
   * @throws IllegalArgumentException listing every problem
   */
  public static BenchOptions parse(String[] args) {
    BenchOptions o = new BenchOptions();
    List<String> problems = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      String value = null;
      int eq = a.indexOf('=');
      if (a.startsWith("--") && eq > 0 && !a.startsWith("--consumer-property")) {
        value = a.substring(eq + 1);
        a = a.substring(0, eq);
      }
      if (a.equals("--help") || a.equals("-h")) {
        throw new HelpRequested();
      }
      if (value == null) {
        if (i + 1 >= args.length) {
          problems.add(a + " needs a value");
          break;
        }
        value = args[++i];
      }
      try {
        switch (a) {
          case "--bootstrap-servers" -> o.bootstrapServers = value;
          case "--broker-heap" -> o.brokerHeap = value;
          case "--mode" -> o.mode = Mode.valueOf(value.toUpperCase(Locale.ROOT));
          case "--sweep" -> o.sweep = Sweep.valueOf(value.toUpperCase(Locale.ROOT));
          case "--records" -> {
            o.records = positive(a, Long.parseLong(value));
            o.recordsSet = true;
          }
          case "--value-size" -> o.valueSize = (int) atLeast(a, Integer.parseInt(value), 16);
          case "--partitions" -> o.partitions = (int) positive(a, Integer.parseInt(value));
          case "--keys" -> o.keys = (int) positive(a, Integer.parseInt(value));
          case "--runs" -> {
            o.runs = (int) positive(a, Integer.parseInt(value));
            o.runsSet = true;
          }
          case "--warmups" -> o.warmups = (int) atLeast(a, Integer.parseInt(value), 0);
          case "--systems" -> {
            o.systems = new LinkedHashSet<>();
            for (String s : value.split(",")) {
              String t = s.trim().toLowerCase(Locale.ROOT);
              if (!Set.of("raw", "tributary", "pekko", "pc", "pekko-partitioned", "pekko-ask")
                  .contains(t)) {
                throw new IllegalArgumentException(
                    "--systems: '"
                        + s
                        + "' is not one of raw, tributary, pekko, pc, pekko-partitioned,"
                        + " pekko-ask");
              }
              o.systems.add(t);
            }
            o.systemsSet = true;
          }
          case "--pc-records" -> o.pcRecords = positive(a, Long.parseLong(value));
          case "--peer-records" -> o.peerRecords = positive(a, Long.parseLong(value));
          case "--pekko-parallelism" ->
              o.pekkoParallelism = (int) positive(a, Integer.parseInt(value));
          case "--rate" -> o.rate = (int) positive(a, Integer.parseInt(value));
          case "--seconds" -> {
            o.seconds = (int) positive(a, Integer.parseInt(value));
            o.secondsSet = true;
          }
          case "--plot-dir" -> o.plotDir = Path.of(value);
          case "--out" -> o.out = Path.of(value);
          case "--cache-size" -> o.cacheSize = (int) atLeast(a, Integer.parseInt(value), 16);
          case "--runtime-threads" -> o.runtimeThreads = (int) positive(a, Integer.parseInt(value));
          case "--consumer-threads" ->
              o.consumerThreads = (int) positive(a, Integer.parseInt(value));
          case "--max-buffered" -> o.maxBuffered = (int) positive(a, Integer.parseInt(value));
          case "--max-buffered-bytes" -> o.maxBufferedBytes = positive(a, Long.parseLong(value));
          case "--nodes" -> o.nodes = (int) positive(a, Integer.parseInt(value));
          case "--commit-every" -> o.commitEvery = (int) positive(a, Integer.parseInt(value));
          case "--poll-timeout-ms" -> o.pollTimeoutMs = (int) positive(a, Integer.parseInt(value));
          case "--trace-ms" -> o.traceMs = (int) positive(a, Integer.parseInt(value));
          case "--consumer-property" -> {
            int at = value.indexOf('=');
            if (at <= 0) {
              throw new IllegalArgumentException(
                  "--consumer-property was '" + value + "' but it must be key=value");
            }
            o.consumerProperties.put(value.substring(0, at), value.substring(at + 1));
          }
          case "--timeout-seconds" -> o.timeoutSeconds = (int) positive(a, Integer.parseInt(value));
          case "--churn-seconds" -> o.churnSeconds = (int) positive(a, Integer.parseInt(value));
          case "--scenarios" -> {
            o.scenarios = new LinkedHashSet<>();
            for (String s : value.split(",")) {
              String t = s.trim().toLowerCase(Locale.ROOT);
              if (!Set.of("a", "b").contains(t)) {
                throw new IllegalArgumentException("--scenarios: '" + s + "' is not one of a, b");
              }
              o.scenarios.add(t);
            }
          }
          case "--max-concurrent-replays" -> {
            o.maxConcurrentReplays = new ArrayList<>();
            for (String s : value.split(",")) {
              int m = Integer.parseInt(s.trim());
              if (m < 1 || m > 256) {
                throw new IllegalArgumentException(
                    "--max-concurrent-replays: " + m + " is not 1 to 256");
              }
              o.maxConcurrentReplays.add(m);
            }
          }
          case "--replay-partition" ->
              o.replayPartition = (int) atLeast(a, Integer.parseInt(value), 0);
          default -> problems.add("unknown option " + a);
        }
      } catch (IllegalArgumentException e) {
        problems.add(
            e instanceof NumberFormatException
                ? a + " was '" + value + "' but it must be a number"
                : e.getMessage());
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("\n", problems) + "\n\n" + usage());
    }
    o.applyModeDefaults();
    if (o.mode != Mode.THROUGHPUT
        && (o.systems.contains("pekko-partitioned") || o.systems.contains("pekko-ask"))) {
      throw new IllegalArgumentException(
          "--systems pekko-partitioned and pekko-ask run in throughput mode (and its sweeps) only,"
              + " not in "
              + o.mode.name().toLowerCase(Locale.ROOT)
              + " mode\n\n"
              + usage());
    }
    if (o.mode == Mode.REPLAY && o.replayPartition >= o.partitions) {
      throw new IllegalArgumentException(
          "--replay-partition was "
              + o.replayPartition
              + " but the topic has "
              + o.partitions
              + " partitions\n\n"
              + usage());
    }
    return o;
  }

  private void applyModeDefaults() {
    if (mode == Mode.STARTUP && !secondsSet) {
      seconds = 20;
    }
    if (!systemsSet && mode == Mode.STARTUP) {
      systems = new LinkedHashSet<>(List.of("raw", "tributary"));
    }
    if (sweep != Sweep.NONE || mode == Mode.LATENCY) {
      if (!runsSet) {
        runs = 3;
      }
    }
    if (!recordsSet && (sweep == Sweep.PARTITIONS || sweep == Sweep.STREAMS)) {
      records = 1_000_000;
    }
    if (!recordsSet && mode == Mode.REPLAY) {
      records = 1_000_000;
    }
    if (!recordsSet && sweep == Sweep.WORK) {
      records = 1_000_000;
    }
    if (!systemsSet && (mode == Mode.LATENCY || sweep == Sweep.PARTITIONS)) {
      systems = new LinkedHashSet<>(List.of("raw", "tributary"));
    }
    if (!systemsSet && sweep == Sweep.STREAMS) {
      systems = new LinkedHashSet<>(List.of("raw", "tributary"));
    }
    if (!systemsSet && sweep == Sweep.WORK) {
      systems = new LinkedHashSet<>(List.of("tributary", "pc"));
    }
  }

  private static long positive(String option, long v) {
    return atLeast(option, v, 1);
  }

  private static long atLeast(String option, long v, long min) {
    if (v < min) {
      throw new IllegalArgumentException(option + " was " + v + " but it must be at least " + min);
    }
    return v;
  }

  /** Thrown by {@link #parse} for {@code --help}. */
  public static final class HelpRequested extends RuntimeException {
    private static final long serialVersionUID = 1L;

    HelpRequested() {
      super("help", null, false, false);
    }
  }

  @Override
  public String toString() {
    return "mode="
        + mode.name().toLowerCase(Locale.ROOT)
        + (sweep == Sweep.NONE ? "" : " sweep=" + sweep.name().toLowerCase(Locale.ROOT))
        + " records="
        + records
        + " value-size="
        + valueSize
        + " partitions="
        + partitions
        + " keys="
        + keys
        + " runs="
        + runs
        + " warmups="
        + warmups
        + (mode == Mode.REPLAY
            ? " scenarios="
                + String.join(",", scenarios)
                + " replay-partition="
                + replayPartition
                + (maxConcurrentReplays.isEmpty()
                    ? ""
                    : " max-concurrent-replays=" + maxConcurrentReplays)
            : " systems=" + String.join(",", systems))
        + (systems.contains("pc") && mode != Mode.REPLAY ? " pc-records=" + pcRecords : "")
        + (systems.contains("pekko-partitioned") || systems.contains("pekko-ask")
            ? " peer-records=" + peerRecords + " pekko-parallelism=" + pekkoParallelism
            : "")
        + (mode == Mode.LATENCY || mode == Mode.STARTUP
            ? " rate=" + rate + " seconds=" + seconds
            : "")
        + (cacheSize == null ? "" : " cache-size=" + cacheSize)
        + (runtimeThreads == null ? "" : " runtime-threads=" + runtimeThreads)
        + (consumerThreads == null ? "" : " consumer-threads=" + consumerThreads)
        + (maxBuffered == null ? "" : " max-buffered=" + maxBuffered)
        + (maxBufferedBytes == null ? "" : " max-buffered-bytes=" + maxBufferedBytes)
        + (nodes == 1 ? "" : " nodes=" + nodes)
        + (commitEvery == null ? "" : " commit-every=" + commitEvery)
        + (pollTimeoutMs == null ? "" : " poll-timeout-ms=" + pollTimeoutMs)
        + (consumerProperties.isEmpty() ? "" : " consumer-properties=" + consumerProperties);
  }
}
