package dev.tributary.benchmarks.e2e;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * End-to-end latency at a fixed rate: a producer in the same JVM sends {@code rate} records per
 * second for {@code seconds} seconds to a fresh topic that the system under test already owns; each
 * value carries {@code System.nanoTime()} taken just before {@code send}, and the consumer records
 * {@code nanoTime() - sent} when the record reaches the application (the poll loop, or the
 * observer's {@code onNext}). Producer and consumer share the JVM, so the clocks agree.
 *
 * <p>The send schedule is fixed in advance (record i at start + i / rate); a late producer sends at
 * once to catch up, so a stall shows up as latency rather than as fewer records.
 */
public final class LatencyBenchmark {
  private static final double[] PERCENTILES = {50, 90, 99, 99.9, 99.99};

  private final BenchKafka kafka;
  private final BenchOptions o;
  private final Report report;

  public LatencyBenchmark(BenchKafka kafka, BenchOptions options, Report report) {
    this.kafka = kafka;
    this.o = options;
    this.report = report;
  }

  public void run() throws Exception {
    List<SystemUnderTest> systems = Harness.select(kafka, o);
    Map<String, List<long[]>> samples = new LinkedHashMap<>();
    for (SystemUnderTest s : systems) {
      samples.put(s.name(), new ArrayList<>());
    }
    int warmSeconds = Math.min(10, o.seconds);
    for (int w = 0; w < o.warmups; w++) {
      for (SystemUnderTest s : systems) {
        once(s, warmSeconds, "warm-up " + (w + 1) + "/" + o.warmups);
      }
    }
    int n = systems.size();
    for (int r = 0; r < o.runs; r++) {
      for (int i = 0; i < n; i++) {
        SystemUnderTest s = systems.get((r + i) % n);
        RunResult result = once(s, o.seconds, "run " + (r + 1) + "/" + o.runs);
        if (result.ok()) {
          samples.get(s.name()).add(result.latencies());
        }
      }
    }
    List<List<String>> rows = new ArrayList<>();
    Map<String, double[]> pooled = new LinkedHashMap<>();
    for (SystemUnderTest s : systems) {
      List<long[]> runs = samples.get(s.name());
      long total = 0;
      for (long[] a : runs) {
        total += a.length;
      }
      long[] all = new long[(int) total];
      int at = 0;
      for (long[] a : runs) {
        System.arraycopy(a, 0, all, at, a.length);
        at += a.length;
      }
      long[] sorted = Stats.sorted(all);
      double[] p = new double[PERCENTILES.length];
      List<String> row = new ArrayList<>();
      row.add(ThroughputBenchmark.label(s.name()));
      for (int i = 0; i < PERCENTILES.length; i++) {
        p[i] = Stats.percentile(sorted, PERCENTILES[i]);
        List<Double> perRun = new ArrayList<>();
        for (long[] a : runs) {
          perRun.add(Stats.percentile(Stats.sorted(a), PERCENTILES[i]));
        }
        row.add(
            Report.ms(p[i])
                + " ("
                + Report.ms(Stats.min(perRun))
                + "-"
                + Report.ms(Stats.max(perRun))
                + ")");
      }
      row.add(Report.ms(sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1]));
      row.add(String.format(Locale.ROOT, "%,d", sorted.length));
      rows.add(row);
      pooled.put(s.name(), p);
    }
    report.print("");
    report.print(
        String.format(
            Locale.ROOT,
            "### Latency: %,d records/s for %d s, %d partitions, %,d keys, %d B values; ms,"
                + " pooled over %d runs per system (per-run min-max)",
            o.rate,
            o.seconds,
            o.partitions,
            o.keys,
            o.valueSize,
            o.runs));
    report.print("");
    List<String> header = new ArrayList<>();
    header.add("system");
    for (double p : PERCENTILES) {
      header.add("p" + Chart.human(p));
    }
    header.add("max");
    header.add("samples");
    report.print(Report.table(header, rows));
    if (pooled.containsKey("tributary") && pooled.containsKey("raw")) {
      double[] b = pooled.get("tributary");
      double[] a = pooled.get("raw");
      report.print("");
      report.print(
          String.format(
              Locale.ROOT,
              "- Tributary minus raw consumer: p50 %+.2f ms (target within 1 ms: %s), p99 %+.2f ms"
                  + " (target within 5 ms: %s), p99.9 %+.2f ms",
              (b[0] - a[0]) / 1e6,
              b[0] - a[0] <= 1e6 ? "met" : "NOT met",
              (b[2] - a[2]) / 1e6,
              b[2] - a[2] <= 5e6 ? "met" : "NOT met",
              (b[3] - a[3]) / 1e6));
    }
    if (o.plotDir != null) {
      List<String> labels = new ArrayList<>();
      double[] xs = new double[PERCENTILES.length];
      for (int i = 0; i < PERCENTILES.length; i++) {
        labels.add("p" + Chart.human(PERCENTILES[i]));
        xs[i] = i;
      }
      Chart c =
          new Chart(
                  "End-to-end latency at " + Chart.human(o.rate) + " records/s",
                  "percentile",
                  "producer send -> delivery (ms)")
              .logY()
              .categories(labels)
              .footnote(
                  String.format(
                      Locale.ROOT,
                      "%d partitions, %,d keys, %d B values, %d x %d s per system, linger.ms=0;"
                          + " producer, consumer and broker on one %d-core host",
                      o.partitions,
                      o.keys,
                      o.valueSize,
                      o.runs,
                      o.seconds,
                      Runtime.getRuntime().availableProcessors()));
      for (Map.Entry<String, double[]> e : pooled.entrySet()) {
        double[] ms = new double[e.getValue().length];
        for (int i = 0; i < ms.length; i++) {
          ms[i] = e.getValue()[i] / 1e6;
        }
        c.add(ThroughputBenchmark.label(e.getKey()), xs, ms);
      }
      c.write(o.plotDir.resolve("latency-percentiles.png"));
    }
  }

  private RunResult once(SystemUnderTest s, int seconds, String what) throws Exception {
    Harness.gc();
    String topic = "latency-" + UUID.randomUUID().toString().substring(0, 8);
    kafka.createTopic(topic, o.partitions);
    int count = (int) Math.min(Integer.MAX_VALUE - 8, (long) o.rate * seconds);
    int[] keyOf = new int[count];
    int[] perKey = new int[o.keys];
    SplittableRandom random = new SplittableRandom(7);
    for (int i = 0; i < count; i++) {
      keyOf[i] = random.nextInt(o.keys);
      perKey[keyOf[i]]++;
    }
    Pacer pacer = new Pacer(topic, keyOf, o.rate, o.valueSize);
    RunSpec spec =
        new RunSpec(
            topic, o.partitions, o.keys, count, perKey, 0, count, pacer::start, seconds + 120);
    RunResult r;
    try {
      r = s.run(spec);
    } finally {
      pacer.join();
      kafka.deleteTopic(topic);
    }
    long[] sorted = Stats.sorted(r.latencies());
    System.out.printf(
        Locale.ROOT,
        "  %-13s %-9s p50 %s ms  p99 %s ms  p99.9 %s ms  max %s ms  (%,d records, producer %s)%s%n",
        what,
        s.name(),
        Report.ms(Stats.percentile(sorted, 50)),
        Report.ms(Stats.percentile(sorted, 99)),
        Report.ms(Stats.percentile(sorted, 99.9)),
        Report.ms(sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1]),
        r.records(),
        pacer.summary(),
        r.ok() ? "" : "  ** " + r.note());
    return r;
  }

  /** Sends the planned records at the fixed rate on its own thread. */
  private final class Pacer {
    private final String topic;
    private final int[] keyOf;
    private final int rate;
    private final int valueSize;
    private final AtomicReference<Exception> failure = new AtomicReference<>();
    private Thread thread;
    private volatile long maxBehindNanos;

    Pacer(String topic, int[] keyOf, int rate, int valueSize) {
      this.topic = topic;
      this.keyOf = keyOf;
      this.rate = rate;
      this.valueSize = valueSize;
    }

    void start() {
      thread = new Thread(this::send, "bench-latency-producer");
      thread.setDaemon(true);
      thread.start();
    }

    private void send() {
      byte[][] keys = new byte[o.keys][];
      int[] seq = new int[o.keys];
      try (KafkaProducer<byte[], byte[]> producer = kafka.latencyProducer()) {
        // Loads the topic's metadata before the clock starts.
        producer.partitionsFor(topic);
        long period = TimeUnit.SECONDS.toNanos(1) / rate;
        long start = System.nanoTime();
        long behind = 0;
        for (int i = 0; i < keyOf.length; i++) {
          long due = start + i * period;
          long wait = due - System.nanoTime();
          if (wait > 50_000) {
            LockSupport.parkNanos(wait - 20_000);
          }
          while (System.nanoTime() - due < 0) {
            Thread.onSpinWait();
          }
          behind = Math.max(behind, System.nanoTime() - due);
          int k = keyOf[i];
          if (keys[k] == null) {
            keys[k] = Records.key(k).getBytes(StandardCharsets.UTF_8);
          }
          byte[] value = new byte[valueSize];
          Records.write(value, k, seq[k]++, System.nanoTime());
          producer.send(
              new ProducerRecord<>(topic, keys[k], value),
              (md, e) -> {
                if (e != null) {
                  failure.compareAndSet(null, e);
                }
              });
        }
        maxBehindNanos = behind;
        producer.flush();
      } catch (Exception e) {
        failure.compareAndSet(null, e);
      }
    }

    void join() throws InterruptedException {
      if (thread != null) {
        thread.join(TimeUnit.MINUTES.toMillis(2));
      }
    }

    String summary() {
      Exception e = failure.get();
      return e != null
          ? "FAILED: " + e
          : "max " + Report.ms(maxBehindNanos) + " ms behind schedule";
    }
  }
}
