package dev.tributary.benchmarks.e2e;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The default comparison and the three throughput sweeps. */
public final class ThroughputBenchmark {
  private static final int[] PARTITIONS = {1, 2, 4, 8, 16, 32, 64};
  private static final int[] STREAMS = {1, 10, 100, 1_000, 10_000, 100_000, 1_000_000};
  private static final long[] WORK_NANOS = {0, 100_000, 1_000_000};

  private final BenchKafka kafka;
  private final BenchOptions o;
  private final Report report;
  private final Harness harness;

  public ThroughputBenchmark(BenchKafka kafka, BenchOptions options, Report report) {
    this.kafka = kafka;
    this.o = options;
    this.report = report;
    this.harness = new Harness(options);
  }

  private RunSpec spec(SystemUnderTest s, BenchKafka.Dataset d, long work) {
    int timeout = o.timeoutSeconds;
    long limit = recordsPerRun(s.name(), d);
    return limit < d.records()
        ? RunSpec.prefix(d, limit, work, timeout)
        : RunSpec.all(d, work, timeout);
  }

  /** Parallel Consumer and the Pekko Connectors peers read a prefix of the topic. */
  private long recordsPerRun(String system, BenchKafka.Dataset d) {
    return switch (system) {
      case "pc" -> Math.min(o.pcRecords, d.records());
      case "pekko-partitioned", "pekko-ask" -> Math.min(o.peerRecords, d.records());
      default -> d.records();
    };
  }

  /** (a) vs (b) vs (c) on one pre-produced topic. */
  public void compare() throws Exception {
    BenchKafka.Dataset d = kafka.produce("bench", o.records, o.partitions, o.keys, o.valueSize);
    List<SystemUnderTest> systems = Harness.select(kafka, o);
    Map<String, List<RunResult>> results =
        harness.measure(systems, s -> spec(s, d, 0), o.warmups, o.runs, null);
    List<List<String>> rows = new ArrayList<>();
    for (SystemUnderTest s : systems) {
      List<RunResult> runs = results.get(s.name());
      List<Double> rates = Harness.okRates(runs);
      List<Double> wall = new ArrayList<>();
      List<Double> cpu = new ArrayList<>();
      List<Double> brokerCpu = new ArrayList<>();
      for (RunResult r : runs) {
        if (r.ok()) {
          wall.add(r.wallRate());
          cpu.add(r.cpuMicrosPerRecord());
          brokerCpu.add(r.brokerCpuMicrosPerRecord());
        }
      }
      rows.add(
          List.of(
              label(s.name()),
              Long.toString(recordsPerRun(s.name(), d)),
              Report.rate(Stats.median(rates)),
              Report.rate(Stats.min(rates)) + " - " + Report.rate(Stats.max(rates)),
              Report.rate(Stats.median(wall)),
              String.format(Locale.ROOT, "%.2f", Stats.median(cpu)),
              String.format(Locale.ROOT, "%.2f", Stats.median(brokerCpu)),
              rates.size() + "/" + runs.size()));
    }
    report.print("");
    report.print(
        String.format(
            Locale.ROOT,
            "### Throughput: %,d records, %d partitions, %,d keys, %d B values (median of %d"
                + " alternating runs after %d warm-up)",
            d.records(),
            d.partitions(),
            d.keys(),
            d.valueSize(),
            o.runs,
            o.warmups));
    report.print("");
    report.print(
        Report.table(
            List.of(
                "system",
                "records/run",
                "records/s (median)",
                "min - max",
                "incl. start-up",
                "CPU us/record",
                "broker CPU us/record",
                "correct runs"),
            rows));
    report.print("");
    ratioLine(results, "tributary", "raw", "b/a Tributary / raw consumer", 0.8, ">= 0.8x");
    ratioLine(results, "pekko", "tributary", "b'/b Pekko entities / raw Tributary", Double.NaN, "");
    ratioLine(results, "pekko", "raw", "b'/a Pekko entities / raw consumer", Double.NaN, "");
    ratioLine(results, "tributary", "pc", "b/c Tributary / Parallel Consumer", 10, ">= 10x");
    ratioLine(results, "raw", "pc", "a/c raw consumer / Parallel Consumer", Double.NaN, "");
    ratioLine(
        results,
        "tributary",
        "pekko-partitioned",
        "b/d Tributary / Pekko Connectors partitioned",
        Double.NaN,
        "");
    ratioLine(
        results, "tributary", "pekko-ask", "b/e Tributary / Pekko Connectors ask", Double.NaN, "");
    report.print("");
    report.print(peerTable(results, systems, "system"));
    report.print("");
    for (SystemUnderTest s : systems) {
      report.print("- " + label(s.name()) + ": " + s.describe());
    }
    kafka.deleteTopic(d.topic());
  }

  private void ratioLine(
      Map<String, List<RunResult>> results,
      String b,
      String a,
      String label,
      double target,
      String targetText) {
    if (!results.containsKey(b) || !results.containsKey(a)) {
      return;
    }
    double ratio = Harness.medianRate(results, b) / Harness.medianRate(results, a);
    List<Double> pairs = Harness.pairRatios(results, b, a);
    String verdict =
        Double.isNaN(target)
            ? ""
            : (ratio >= target ? " (target " : " (NOT met; target ") + targetText + ")";
    report.print(
        String.format(
            Locale.ROOT,
            "- %s: **%s** (ratio of medians; run-by-run %s - %s)%s",
            label,
            Report.ratio(ratio),
            Report.ratio(Stats.min(pairs)),
            Report.ratio(Stats.max(pairs)),
            verdict));
  }

  static String label(String system) {
    return switch (system) {
      case "raw" -> "(a) raw KafkaConsumer";
      case "tributary" -> "(b) Tributary";
      case "pekko" -> "(b') Tributary + Pekko local entities";
      case "pc" -> "(c) Parallel Consumer";
      case "pekko-partitioned" -> "(d) Pekko Connectors partitioned";
      case "pekko-ask" -> "(e) Pekko Connectors ask per key";
      default -> system;
    };
  }

  /**
   * The peers' table: per system its median rate and range, client CPU per record (harness JVM plus
   * the system's own processes), Tributary's rate over its, and the reorders and overlaps its runs
   * counted (median).
   */
  private String peerTable(
      Map<String, List<RunResult>> results, List<SystemUnderTest> systems, String first) {
    List<List<String>> rows = new ArrayList<>();
    for (List<String> r : peerRows(results, systems, null)) {
      List<String> x = new ArrayList<>();
      x.add(r.get(1));
      x.addAll(r.subList(3, r.size()));
      rows.add(x);
    }
    return Report.table(
        List.of(
            first,
            "records/s (median)",
            "min - max",
            "client CPU us/record",
            "Tributary / this",
            "reorders (per run)",
            "overlaps (per run)",
            "correct runs"),
        rows);
  }

  /** Rows of {@link #peerTable}, with a first column {@code first} and records per run. */
  private List<List<String>> peerRows(
      Map<String, List<RunResult>> results, List<SystemUnderTest> systems, String first) {
    List<List<String>> rows = new ArrayList<>();
    double tributary = Harness.medianRate(results, "tributary");
    for (SystemUnderTest s : systems) {
      List<RunResult> runs = results.get(s.name());
      if (runs == null) {
        continue;
      }
      List<Double> rates = Harness.okRates(runs);
      List<Double> cpu = new ArrayList<>();
      List<Double> reorders = new ArrayList<>();
      List<Double> overlaps = new ArrayList<>();
      long records = 0;
      for (RunResult r : runs) {
        if (r.ok()) {
          cpu.add(r.cpuMicrosPerRecord());
          reorders.add((double) r.reorders());
          overlaps.add((double) r.overlaps());
          records = r.records();
        }
      }
      double median = Stats.median(rates);
      boolean peer = s.name().startsWith("pekko-");
      rows.add(
          List.of(
              first == null ? "" : first,
              label(s.name()),
              String.format(Locale.ROOT, "%,d", records),
              Report.rate(median),
              Report.rate(Stats.min(rates)) + " - " + Report.rate(Stats.max(rates)),
              String.format(Locale.ROOT, "%.2f", Stats.median(cpu)),
              s.name().equals("tributary") || Double.isNaN(tributary)
                  ? ""
                  : Report.ratio(tributary / median),
              peer ? String.format(Locale.ROOT, "%,.0f", Stats.median(reorders)) : "",
              peer ? String.format(Locale.ROOT, "%,.0f", Stats.median(overlaps)) : "",
              rates.size() + "/" + runs.size()));
    }
    return rows;
  }

  /** Runs the sweep the options ask for. */
  public void sweep() throws Exception {
    switch (o.sweep) {
      case PARTITIONS -> curve("partitions", PARTITIONS, true);
      case STREAMS -> curve("streams", STREAMS, false);
      case WORK -> work();
      default -> throw new IllegalStateException("no sweep");
    }
  }

  private void curve(String what, int[] points, boolean partitions) throws Exception {
    List<SystemUnderTest> systems = Harness.select(kafka, o);
    List<List<String>> rows = new ArrayList<>();
    double[] xs = new double[points.length];
    double[][] ys = new double[systems.size()][points.length];
    for (int i = 0; i < points.length; i++) {
      int p = partitions ? points[i] : o.partitions;
      int k = partitions ? o.keys : points[i];
      BenchKafka.Dataset d = kafka.produce("sweep", o.records, p, k, o.valueSize);
      Map<String, List<RunResult>> results =
          harness.measure(
              systems, s -> spec(s, d, 0), i == 0 ? o.warmups : 0, o.runs, what + "=" + points[i]);
      xs[i] = points[i];
      List<String> row = new ArrayList<>();
      row.add(String.format(Locale.ROOT, "%,d", points[i]));
      addRates(row, results, systems, ys, i, true);
      rows.add(row);
      kafka.deleteTopic(d.topic());
    }
    List<String> header = sweepHeader(what, systems, true);
    report.print("");
    report.print(
        String.format(
            Locale.ROOT,
            "### Sweep over %s: %,d records per point, %s, %d B values (median of %d runs)",
            what,
            o.records,
            partitions
                ? String.format(Locale.ROOT, "%,d keys", o.keys)
                : o.partitions + " partitions",
            o.valueSize,
            o.runs));
    report.print("");
    report.print(Report.table(header, rows));
    if (o.plotDir != null) {
      Chart c =
          new Chart(
                  "Throughput vs " + what,
                  partitions ? "partitions" : "distinct streams (keys)",
                  "records/s (median)")
              .logX()
              .footnote(
                  String.format(
                      Locale.ROOT,
                      "%,d records of %d B per point, %s; %d-core machine, broker on the same host",
                      o.records,
                      o.valueSize,
                      partitions
                          ? String.format(Locale.ROOT, "%,d keys", o.keys)
                          : o.partitions + " partitions",
                      Runtime.getRuntime().availableProcessors()));
      for (int s = 0; s < systems.size(); s++) {
        c.add(label(systems.get(s).name()), xs, ys[s]);
      }
      c.write(o.plotDir.resolve("throughput-vs-" + what + ".png"));
    }
  }

  /**
   * Appends a sweep point's median rate of each system (also kept in {@code ys[s][i]} for the
   * chart), then b/a when {@code withRaw}, and b/c; the columns of {@link #sweepHeader}.
   */
  private static void addRates(
      List<String> row,
      Map<String, List<RunResult>> results,
      List<SystemUnderTest> systems,
      double[][] ys,
      int i,
      boolean withRaw) {
    for (int s = 0; s < systems.size(); s++) {
      ys[s][i] = Harness.medianRate(results, systems.get(s).name());
      row.add(Report.rate(ys[s][i]));
    }
    if (withRaw && results.containsKey("tributary") && results.containsKey("raw")) {
      row.add(
          Report.ratio(
              Harness.medianRate(results, "tributary") / Harness.medianRate(results, "raw")));
    }
    if (results.containsKey("tributary") && results.containsKey("pc")) {
      row.add(
          Report.ratio(
              Harness.medianRate(results, "tributary") / Harness.medianRate(results, "pc")));
    }
  }

  private List<String> sweepHeader(String first, List<SystemUnderTest> systems, boolean withRaw) {
    List<String> header = new ArrayList<>();
    header.add(first);
    for (SystemUnderTest s : systems) {
      header.add(label(s.name()) + " records/s");
    }
    if (withRaw && o.systems.contains("tributary") && o.systems.contains("raw")) {
      header.add("b/a");
    }
    if (o.systems.contains("tributary") && o.systems.contains("pc")) {
      header.add("b/c");
    }
    return header;
  }

  private void work() throws Exception {
    List<SystemUnderTest> systems = Harness.select(kafka, o);
    BenchKafka.Dataset d = kafka.produce("work", o.records, o.partitions, o.keys, o.valueSize);
    List<List<String>> rows = new ArrayList<>();
    List<List<String>> detail = new ArrayList<>();
    double[] xs = new double[WORK_NANOS.length];
    double[][] ys = new double[systems.size()][WORK_NANOS.length];
    for (int i = 0; i < WORK_NANOS.length; i++) {
      long work = WORK_NANOS[i];
      List<SystemUnderTest> here = new ArrayList<>();
      for (SystemUnderTest s : systems) {
        if (work == 0 || !s.name().equals("raw")) {
          here.add(s);
        }
      }
      Map<String, List<RunResult>> results =
          harness.measure(
              here,
              s -> spec(s, d, work),
              i == 0 ? o.warmups : 0,
              o.runs,
              "work=" + work / 1000 + "us");
      xs[i] = i;
      List<String> row = new ArrayList<>();
      row.add(work == 0 ? "0" : work >= 1_000_000 ? work / 1_000_000 + " ms" : work / 1000 + " us");
      // The raw loop runs only without work, so the work sweep has no b/a column.
      addRates(row, results, systems, ys, i, false);
      rows.add(row);
      detail.addAll(peerRows(results, here, row.get(0)));
    }
    kafka.deleteTopic(d.topic());
    List<String> header = sweepHeader("observer work per record", systems, false);
    report.print("");
    report.print(
        String.format(
            Locale.ROOT,
            "### Sweep over observer work: %,d records, %d partitions, %,d keys (median of %d runs)",
            o.records,
            o.partitions,
            o.keys,
            o.runs));
    report.print("");
    report.print(Report.table(header, rows));
    report.print("");
    report.print(
        "Work is simulated as waiting, not CPU: Tributary's observer returns a stage that a"
            + " scheduled executor completes after the work time (the agent thread is free"
            + " meanwhile); Parallel Consumer's function parks its worker thread for the work time"
            + " (its model: up to maxConcurrency = 16 records in progress); the Pekko Connectors"
            + " peers complete their stage from the same kind of timer, in their own JVM.");
    report.print("");
    report.print(
        Report.table(
            List.of(
                "work",
                "system",
                "records/run",
                "records/s (median)",
                "min - max",
                "client CPU us/record",
                "Tributary / this",
                "reorders (per run)",
                "overlaps (per run)",
                "correct runs"),
            detail));
    if (o.plotDir != null) {
      Chart c =
          new Chart("Throughput vs observer work", "simulated work per record", "records/s")
              .logY()
              .categories(List.of("0", "100 us", "1 ms"))
              .footnote(
                  String.format(
                      Locale.ROOT,
                      "%,d records, %d partitions, %,d keys; work = asynchronous wait",
                      o.records,
                      o.partitions,
                      o.keys));
      for (int s = 0; s < systems.size(); s++) {
        c.add(label(systems.get(s).name()), xs, ys[s]);
      }
      c.write(o.plotDir.resolve("throughput-vs-work.png"));
    }
  }
}
