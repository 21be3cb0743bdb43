package dev.tributary.benchmarks;

import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import dev.tributary.benchmarks.e2e.BenchKafka;
import dev.tributary.benchmarks.e2e.BenchOptions;
import dev.tributary.benchmarks.e2e.LatencyBenchmark;
import dev.tributary.benchmarks.e2e.MemoryBenchmark;
import dev.tributary.benchmarks.e2e.ReplayBenchmark;
import dev.tributary.benchmarks.e2e.Report;
import dev.tributary.benchmarks.e2e.StartupBenchmark;
import dev.tributary.benchmarks.e2e.ThroughputBenchmark;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The end-to-end harness: Tributary against a raw {@code KafkaConsumer} and Confluent Parallel
 * Consumer on a real broker (the testkit's local KRaft broker unless {@code --bootstrap-servers} is
 * given). See {@code docs/benchmarks.md} for the method and the results.
 *
 * <pre>
 * mvn -B -q -pl tributary-benchmarks -am package -DskipTests
 * java -Xms4g -Xmx4g -Xmn2g -jar tributary-benchmarks/target/tributary-benchmarks.jar e2e
 * java -jar tributary-benchmarks/target/tributary-benchmarks.jar e2e --mode latency
 * java -Xms4g -Xmx4g -Xmn2g -jar tributary-benchmarks/target/tributary-benchmarks.jar e2e --mode memory
 * java -jar tributary-benchmarks/target/tributary-benchmarks.jar e2e --help
 * </pre>
 */
public final class EndToEndBenchmark {
  /**
   * The heap flags of the documented commands. A fixed heap and young generation make runs
   * comparable: with the JVM's default sizing, a run that follows an allocation-heavy one (Parallel
   * Consumer) finds a larger heap and measures up to a quarter faster.
   */
  static final String PINNED_HEAP = "-Xms4g -Xmx4g -Xmn2g";

  private EndToEndBenchmark() {}

  public static void main(String[] args) throws Exception {
    // Kafka clients log every configuration at INFO; keep the output to the results.
    setIfAbsent("org.slf4j.simpleLogger.defaultLogLevel", "warn");
    setIfAbsent("org.slf4j.simpleLogger.log.org.apache.kafka", "error");
    setIfAbsent("org.slf4j.simpleLogger.log.io.confluent.parallelconsumer", "error");
    BenchOptions options;
    try {
      options = BenchOptions.parse(args);
    } catch (BenchOptions.HelpRequested e) {
      System.out.println(BenchOptions.usage());
      return;
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    Report report = new Report(options.out);
    long began = System.nanoTime();
    try (BenchKafka kafka = BenchKafka.open(options)) {
      report.print("");
      report.print("## e2e " + options.mode.name().toLowerCase(Locale.ROOT) + " " + Instant.now());
      report.print("");
      for (String line : environment(kafka, options)) {
        report.print("- " + line);
      }
      switch (options.mode) {
        case THROUGHPUT -> {
          ThroughputBenchmark t = new ThroughputBenchmark(kafka, options, report);
          if (options.sweep == BenchOptions.Sweep.NONE) {
            t.compare();
          } else {
            t.sweep();
          }
        }
        case LATENCY -> new LatencyBenchmark(kafka, options, report).run();
        case MEMORY -> new MemoryBenchmark(kafka, options, report).run();
        case REPLAY -> new ReplayBenchmark(kafka, options, report).run();
        case STARTUP -> new StartupBenchmark(kafka, options, report).run();
      }
    }
    report.print("");
    report.print(
        String.format(
            Locale.ROOT,
            "(whole command: %.0f s, load average now %.2f)",
            (System.nanoTime() - began) / 1e9,
            ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
    // Parallel Consumer and Kafka leave non-daemon threads behind on some paths.
    System.exit(0);
  }

  private static void setIfAbsent(String key, String value) {
    if (System.getProperty(key) == null) {
      System.setProperty(key, value);
    }
  }

  private static List<String> environment(BenchKafka kafka, BenchOptions options) {
    List<String> lines = new ArrayList<>();
    Runtime rt = Runtime.getRuntime();
    List<String> gcs = new ArrayList<>();
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      gcs.add(gc.getName());
    }
    lines.add(
        String.format(
            Locale.ROOT,
            "machine: %d processors, %s memory, %s; load average at start %.2f",
            rt.availableProcessors(),
            memTotal(),
            System.getProperty("os.name") + " " + System.getProperty("os.arch"),
            ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage()));
    long initialHeap = vmOptionBytes("InitialHeapSize");
    long maxHeap = vmOptionBytes("MaxHeapSize");
    String young = explicitlySet("NewSize") ? mib(vmOptionBytes("NewSize")) : "adaptive";
    lines.add(
        String.format(
            Locale.ROOT,
            "JVM: %s %s, heap %s initial / %s max / %s young, GC %s, flags %s",
            System.getProperty("java.vm.name"),
            System.getProperty("java.runtime.version"),
            mib(initialHeap),
            mib(maxHeap),
            young,
            String.join(" + ", gcs),
            ManagementFactory.getRuntimeMXBean().getInputArguments()));
    if (initialHeap > 0 && initialHeap != maxHeap) {
      lines.add(
          "WARNING: the heap is not pinned (-Xms differs from -Xmx), so each system's rate depends"
              + " on how far the heap grew during earlier runs; docs/benchmarks.md measures throughput with "
              + PINNED_HEAP);
    }
    lines.add(
        "broker: "
            + kafka.describe()
            + (options.bootstrapServers == null ? ", heap " + options.brokerHeap : ""));
    lines.add("options: " + options);
    return lines;
  }

  /** A HotSpot flag, or null where the JVM does not report it. */
  private static VMOption vmOption(String name) {
    try {
      return ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).getVMOption(name);
    } catch (RuntimeException e) {
      return null;
    }
  }

  /** A HotSpot flag in bytes, or -1 where the JVM does not report it. */
  private static long vmOptionBytes(String name) {
    VMOption option = vmOption(name);
    return option == null ? -1 : Long.parseLong(option.getValue());
  }

  private static boolean explicitlySet(String name) {
    VMOption option = vmOption(name);
    return option != null && option.getOrigin() == VMOption.Origin.VM_CREATION;
  }

  private static String mib(long bytes) {
    return bytes < 0 ? "?" : String.format(Locale.ROOT, "%,d MiB", bytes >> 20);
  }

  private static String memTotal() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
          return String.format(Locale.ROOT, "%.1f GiB", kb / 1024.0 / 1024.0);
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    return "unknown";
  }
}
