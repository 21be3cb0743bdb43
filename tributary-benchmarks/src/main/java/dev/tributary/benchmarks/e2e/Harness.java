package dev.tributary.benchmarks.e2e;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * Runs systems against each other: warm-up runs first, then measured runs in alternating order (a b
 * c, b c a, c a b, ...) so that no system always runs right after the same one, with a full GC
 * before each run.
 */
public final class Harness {
  private final BenchOptions options;

  public Harness(BenchOptions options) {
    this.options = options;
  }

  /** The systems the options select, in a, b, b', c, d, e order. */
  public static List<SystemUnderTest> select(BenchKafka kafka, BenchOptions options) {
    List<SystemUnderTest> systems = new ArrayList<>();
    if (options.systems.contains("raw")) {
      systems.add(new RawConsumerSystem(kafka));
    }
    if (options.systems.contains("tributary")) {
      systems.add(new TributarySystem(kafka, options));
    }
    if (options.systems.contains("pekko")) {
      systems.add(new PekkoEntitiesSystem(kafka, options));
    }
    if (options.systems.contains("pc")) {
      systems.add(new ParallelConsumerSystem(kafka));
    }
    if (options.systems.contains("pekko-partitioned")) {
      systems.add(new ForkedPeerSystem(kafka, options, "partitioned"));
    }
    if (options.systems.contains("pekko-ask")) {
      systems.add(new ForkedPeerSystem(kafka, options, "ask"));
    }
    return systems;
  }

  /**
   * Runs every system {@code warmups} times unmeasured, then {@code runs} times measured, and
   * returns the measured results per system name.
   */
  public Map<String, List<RunResult>> measure(
      List<SystemUnderTest> systems,
      Function<SystemUnderTest, RunSpec> spec,
      int warmups,
      int runs,
      String label)
      throws Exception {
    Map<String, List<RunResult>> results = new LinkedHashMap<>();
    for (SystemUnderTest s : systems) {
      results.put(s.name(), new ArrayList<>());
    }
    for (SystemUnderTest s : systems) {
      s.prepare();
    }
    int n = systems.size();
    for (int w = 0; w < warmups; w++) {
      for (SystemUnderTest s : systems) {
        print(label, "warm-up " + (w + 1) + "/" + warmups, once(s, spec.apply(s)));
      }
    }
    for (int r = 0; r < runs; r++) {
      for (int i = 0; i < n; i++) {
        SystemUnderTest s = systems.get((r + i) % n);
        RunResult result = once(s, spec.apply(s));
        results.get(s.name()).add(result);
        print(label, "run " + (r + 1) + "/" + runs, result);
      }
    }
    return results;
  }

  private RunResult once(SystemUnderTest s, RunSpec spec) throws Exception {
    gc();
    try {
      CpuMeter cpu = CpuMeter.start(s.clientProcesses());
      RunResult r = s.run(spec);
      return r.withCpu(cpu.selfNanos(), cpu.childrenNanos());
    } catch (Exception | Error e) {
      e.printStackTrace();
      return new RunResult(s.name(), 0, 0, 0, 1, "failed: " + e, new long[0]);
    }
  }

  private static void print(String label, String what, RunResult r) {
    System.out.printf(
        Locale.ROOT,
        "  %s%-13s %-9s %,12.0f records/s  (%,d records, active %.2f s, wall %.2f s, CPU/record"
            + " %.2f us + broker %.2f us)%s%n",
        label == null ? "" : label + " ",
        what,
        r.system(),
        r.rate(),
        r.records(),
        r.activeNanos() / 1e9,
        r.wallNanos() / 1e9,
        r.cpuMicrosPerRecord(),
        r.brokerCpuMicrosPerRecord(),
        r.ok() ? "" : "  ** " + r.note());
  }

  /** The rates of the runs that completed correctly. */
  public static List<Double> okRates(List<RunResult> runs) {
    List<Double> out = new ArrayList<>();
    for (RunResult r : runs) {
      if (r.ok()) {
        out.add(r.rate());
      }
    }
    return out;
  }

  /** The median rate of the correct runs of {@code system}, NaN when none. */
  public static double medianRate(Map<String, List<RunResult>> results, String system) {
    List<RunResult> runs = results.get(system);
    return runs == null ? Double.NaN : Stats.median(okRates(runs));
  }

  /**
   * Median over runs of the pairwise ratio b_i / a_i (run i of both), which cancels slow drifts of
   * the machine's speed; NaN when a system is missing.
   */
  public static List<Double> pairRatios(Map<String, List<RunResult>> results, String b, String a) {
    List<Double> out = new ArrayList<>();
    List<RunResult> rb = results.get(b);
    List<RunResult> ra = results.get(a);
    if (rb == null || ra == null) {
      return out;
    }
    for (int i = 0; i < Math.min(rb.size(), ra.size()); i++) {
      if (rb.get(i).ok() && ra.get(i).ok()) {
        out.add(rb.get(i).rate() / ra.get(i).rate());
      }
    }
    return out;
  }

  /** A full GC, so that one run's garbage is not collected during the next. */
  public static void gc() {
    for (int i = 0; i < 2; i++) {
      System.gc();
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  public BenchOptions options() {
    return options;
  }
}
