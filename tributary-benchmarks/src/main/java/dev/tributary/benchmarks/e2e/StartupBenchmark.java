package dev.tributary.benchmarks.e2e;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;

/**
 * Start-up and warm-up: each run is a cold start in a fresh JVM ({@link StartupProbe}) of a raw
 * {@code KafkaConsumer} or a Tributary runtime, joining a fresh group with the same consumer
 * settings while a producer in that JVM sends {@code --rate} records per second to a new topic from
 * the moment the consumer starts. Runs alternate between the systems (raw, Tributary, Tributary,
 * raw, ...); the tables give medians over the runs: time to own every partition, to the first
 * delivery, and the latency of what was delivered in each of the first 10 seconds and after.
 */
public final class StartupBenchmark {
  private final BenchKafka kafka;
  private final BenchOptions o;
  private final Report report;

  public StartupBenchmark(BenchKafka kafka, BenchOptions options, Report report) {
    this.kafka = kafka;
    this.o = options;
    this.report = report;
  }

  public void run() throws Exception {
    List<String> systems = new ArrayList<>();
    for (String s : List.of("raw", "tributary")) {
      if (o.systems.contains(s)) {
        systems.add(s);
      }
    }
    Map<String, List<Map<String, String>>> results = new LinkedHashMap<>();
    systems.forEach(s -> results.put(s, new ArrayList<>()));
    Path props = kafka.consumerPropertiesFile();
    for (int r = 0; r < o.runs; r++) {
      List<String> order = new ArrayList<>(systems);
      if (r % 2 == 1) {
        java.util.Collections.reverse(order);
      }
      for (String s : order) {
        String topic = "startup-" + UUID.randomUUID().toString().substring(0, 8);
        kafka.createTopic(topic, o.partitions);
        Map<String, String> m = probe(s, topic, props);
        results.get(s).add(m);
        System.out.printf(
            Locale.ROOT,
            "  run %d/%d %-9s owned %s ms, first delivery %s ms, start() %s ms, JVM up %s ms before;"
                + " s0 %s s1 %s s2 %s steady %s (p50/p99/max ms/n)%n",
            r + 1,
            o.runs,
            s,
            m.get("owned"),
            m.get("first"),
            m.get("start"),
            m.get("jvm"),
            m.get("s0"),
            m.get("s1"),
            m.get("s2"),
            m.get("steady"));
        kafka.deleteTopic(topic);
      }
    }
    print(systems, results);
  }

  private Map<String, String> probe(String system, String topic, Path props) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(ForkedPeerSystem.heapFlags());
    cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
    cmd.add("-cp");
    cmd.add(
        Path.of(StartupProbe.class.getProtectionDomain().getCodeSource().getLocation().toURI())
            .toString());
    cmd.add(StartupProbe.class.getName());
    cmd.addAll(
        List.of(
            system,
            kafka.bootstrapServers(),
            topic,
            Integer.toString(o.partitions),
            Integer.toString(o.keys),
            Integer.toString(o.rate),
            Integer.toString(o.seconds),
            props.toString()));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    Map<String, String> m = new LinkedHashMap<>();
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.startsWith("STARTUP ")) {
          for (String kv : line.substring(8).split(" ")) {
            int eq = kv.indexOf('=');
            m.put(kv.substring(0, eq), kv.substring(eq + 1));
          }
        } else {
          System.out.println(line);
        }
      }
    }
    int exit = p.waitFor();
    if (m.isEmpty()) {
      throw new IllegalStateException("the start-up probe ended with " + exit + " and no result");
    }
    return m;
  }

  private void print(List<String> systems, Map<String, List<Map<String, String>>> results) {
    report.print("");
    report.print(
        String.format(
            Locale.ROOT,
            "### Start-up: a fresh JVM per run, %d partitions, %,d keys, %,d records/s from the"
                + " start, %d s per run (median of %d runs per system, alternating)",
            o.partitions,
            o.keys,
            o.rate,
            o.seconds,
            o.runs));
    report.print("");
    List<List<String>> rows = new ArrayList<>();
    for (String s : systems) {
      List<Map<String, String>> runs = results.get(s);
      rows.add(
          List.of(
              ThroughputBenchmark.label(s),
              median(runs, "jvm", 0),
              median(runs, "start", 0),
              median(runs, "owned", 0),
              median(runs, "first", 0),
              range(runs, "owned") + " / " + range(runs, "first")));
    }
    report.print(
        Report.table(
            List.of(
                "system",
                "JVM up before start (ms)",
                "start() returned (ms)",
                "owns every partition (ms)",
                "first delivery (ms)",
                "range: owned / first"),
            rows));
    report.print("");
    List<String> header = new ArrayList<>(List.of("second of the run", "metric"));
    systems.forEach(s -> header.add(ThroughputBenchmark.label(s)));
    List<List<String>> lat = new ArrayList<>();
    for (int sec = 0; sec <= 10; sec++) {
      String key = sec == 10 ? "steady" : "s" + sec;
      String label = sec == 10 ? "10-" + o.seconds : sec + "-" + (sec + 1);
      for (int metric = 0; metric < 2; metric++) {
        List<String> row = new ArrayList<>(List.of(label, metric == 0 ? "p50 ms" : "p99 ms"));
        for (String s : systems) {
          row.add(median(results.get(s), key, metric));
        }
        lat.add(row);
      }
    }
    report.print(Report.table(header, lat));
    report.print("");
    report.print(
        "Times are from just before the consumer (raw) or the runtime (Tributary) is built;"
            + " latency is producer send to delivery in that JVM, by the second of delivery;"
            + " medians over runs of each run's percentile.");
  }

  /** The median over runs of field {@code index} of {@code key}'s value (a/b/c/n or a number). */
  private static String median(List<Map<String, String>> runs, String key, int index) {
    List<Double> xs = new ArrayList<>();
    for (Map<String, String> m : runs) {
      String v = m.get(key);
      if (v == null || v.equals("-")) {
        continue;
      }
      double x = Double.parseDouble(v.split("/")[index]);
      if (!Double.isNaN(x)) {
        xs.add(x);
      }
    }
    return xs.isEmpty() ? "-" : String.format(Locale.ROOT, "%.1f", Stats.median(xs));
  }

  private static String range(List<Map<String, String>> runs, String key) {
    List<Double> xs = new ArrayList<>();
    for (Map<String, String> m : runs) {
      double x = Double.parseDouble(m.get(key));
      if (!Double.isNaN(x)) {
        xs.add(x);
      }
    }
    return xs.isEmpty()
        ? "-"
        : String.format(Locale.ROOT, "%.0f-%.0f", Stats.min(xs), Stats.max(xs));
  }
}
