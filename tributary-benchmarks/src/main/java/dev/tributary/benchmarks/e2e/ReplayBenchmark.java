package dev.tributary.benchmarks.e2e;

import dev.tributary.AsyncStream;
import dev.tributary.EventSequenceToken;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.kafka.TopicConfig;
import dev.tributary.spi.StreamProviderDirection;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Utils;

/**
 * Replay from the partition ("rewind beyond the cache"): a subscription from token 0 on a runtime
 * whose agents are caught up, against a raw {@link KafkaConsumer} doing assign + seek(0) + poll
 * over the same partition in the same run.
 *
 * <ul>
 *   <li>Scenario A, one stream: one key's subscription from offset 0, timed from {@code subscribe}
 *       until the stream's last pre-produced record arrived at the observer; the raw consumer is
 *       timed from its construction until it read that record, comparing raw key bytes. Both rates
 *       are the partition range up to and including that record divided by the time.
 *   <li>Scenario B, every stream of one partition: subscriptions from offset 0 to every key of the
 *       partition at once (Tributary reads the range once per replay, {@code maxConcurrentReplays}
 *       at a time), against one raw read of the partition that routes every record to its key.
 * </ul>
 *
 * <p>Tributary's runtimes live for the whole scenario (caught up once by an implicit subscription
 * that acknowledges everything, so the cache holds nothing of the past); each run subscribes,
 * waits, and unsubscribes. Runs alternate and rotate the order, after a full GC each.
 */
public final class ReplayBenchmark {
  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);
  private static final String READ = "tributary.kafka.replay.records.read";
  private static final String DELIVERED = "tributary.kafka.replay.records.delivered";

  private final BenchKafka kafka;
  private final BenchOptions o;
  private final Report report;

  public ReplayBenchmark(BenchKafka kafka, BenchOptions options, Report report) {
    this.kafka = kafka;
    this.o = options;
    this.report = report;
  }

  /** Produces the topic, then runs the scenarios the options ask for. */
  public void run() throws Exception {
    BenchKafka.Dataset d = kafka.produce("replay", o.records, o.partitions, o.keys, o.valueSize);
    Layout l = Layout.scan(kafka, d, o.replayPartition);
    System.out.printf(
        Locale.ROOT,
        "partition %d: %,d records, %,d keys (%,d to %,d records each)%n",
        l.partition,
        l.end,
        l.keys.size(),
        l.keys.stream().mapToInt(k -> l.count[k]).min().orElse(0),
        l.keys.stream().mapToInt(k -> l.count[k]).max().orElse(0));
    try {
      if (o.scenarios.contains("a")) {
        scenarioA(d, l);
      }
      if (o.scenarios.contains("b")) {
        scenarioB(d, l);
      }
    } finally {
      kafka.deleteTopic(d.topic());
    }
  }

  // ------------------------------------------------------------------ scenario A

  private void scenarioA(BenchKafka.Dataset d, Layout l) throws Exception {
    int key = l.keys.get(0);
    long range = l.last[key] + 1;
    System.out.printf(
        Locale.ROOT,
        "scenario A: stream %s, %,d records, last at offset %,d of %,d%n",
        Records.key(key),
        l.count[key],
        l.last[key],
        l.end);
    Map<String, List<Run>> results = new LinkedHashMap<>();
    results.put("raw", new ArrayList<>());
    results.put("tributary", new ArrayList<>());
    try (Tributary t =
        Tributary.start(kafka, o, d, KafkaQueueAdapterFactory.DEFAULT_MAX_CONCURRENT_REPLAYS)) {
      List<Measured> systems =
          List.of(
              new Measured("raw", () -> rawOneStream(d, l, key)),
              new Measured("tributary", () -> t.replay(l, List.of(key), range)));
      alternate(systems, results, "A");
    }
    List<List<String>> rows = new ArrayList<>();
    for (Map.Entry<String, List<Run>> e : results.entrySet()) {
      rows.add(row(e.getKey(), e.getValue(), range));
    }
    report.print("");
    report.print(
        String.format(
            Locale.ROOT,
            "### Replay A, one stream from offset 0: %,d records, %d partitions, %,d keys, %d B"
                + " values; stream %s has %,d records, its last at offset %,d of partition %d"
                + " (%,d records); median of %d alternating runs after %d warm-up",
            d.records(),
            d.partitions(),
            d.keys(),
            d.valueSize(),
            Records.key(key),
            l.count[key],
            l.last[key],
            l.partition,
            l.end,
            o.runs,
            o.warmups));
    report.print("");
    report.print(Report.table(header(), rows));
    report.print("");
    ratio(
        results.get("tributary"), results.get("raw"), "Tributary replay / raw seek-and-read", 0.8);
    report.print(
        "- scanned range: offsets 0 to the stream's last record; both times run from subscribe"
            + " (raw: from constructing its KafkaConsumer) to that record at the observer. CPU is"
            + " the harness JVM's (all threads, GC, JIT) over that time, per record of the range.");
  }

  // ------------------------------------------------------------------ scenario B

  private void scenarioB(BenchKafka.Dataset d, Layout l) throws Exception {
    List<Integer> settings = new ArrayList<>(o.maxConcurrentReplays);
    if (settings.isEmpty()) {
      settings.add(KafkaQueueAdapterFactory.DEFAULT_MAX_CONCURRENT_REPLAYS);
      int high = Math.min(256, l.keys.size());
      if (high != settings.get(0)) {
        settings.add(high);
      }
    }
    long range = l.end;
    Map<String, List<Run>> results = new LinkedHashMap<>();
    results.put("raw", new ArrayList<>());
    List<Tributary> runtimes = new ArrayList<>();
    try {
      List<Measured> systems = new ArrayList<>();
      systems.add(new Measured("raw", () -> rawPartition(d, l)));
      for (int m : settings) {
        Tributary t = Tributary.start(kafka, o, d, m);
        runtimes.add(t);
        String name = "tributary, maxConcurrentReplays " + m;
        results.put(name, new ArrayList<>());
        systems.add(new Measured(name, () -> t.replay(l, l.keys, range)));
      }
      alternate(systems, results, "B");
    } finally {
      for (Tributary t : runtimes) {
        t.close();
      }
    }
    List<List<String>> rows = new ArrayList<>();
    for (Map.Entry<String, List<Run>> e : results.entrySet()) {
      rows.add(row(e.getKey(), e.getValue(), range));
    }
    report.print("");
    report.print(
        String.format(
            Locale.ROOT,
            "### Replay B, every stream of partition %d from offset 0: %,d streams, %,d records in"
                + " the partition (%,d records, %d partitions, %,d keys, %d B values); median of %d"
                + " alternating runs after %d warm-up",
            l.partition,
            l.keys.size(),
            l.end,
            d.records(),
            d.partitions(),
            d.keys(),
            d.valueSize(),
            o.runs,
            o.warmups));
    report.print("");
    report.print(Report.table(header(), rows));
    report.print("");
    List<Run> raw = results.get("raw");
    for (Map.Entry<String, List<Run>> e : results.entrySet()) {
      if (e.getKey().equals("raw")) {
        continue;
      }
      List<Run> t = e.getValue();
      double wallRatio = median(t, Run::wallNanos) / median(raw, Run::wallNanos);
      double readRate = median(t, r -> r.replayRead * 1e9 / r.wallNanos);
      int m = Integer.parseInt(e.getKey().replaceAll("\\D+", ""));
      int concurrent = Math.min(m, l.keys.size());
      report.print(
          String.format(
              Locale.ROOT,
              "- %s: wall time **%.1fx** the raw read's; records read by the replays %s per run"
                  + " (%.1fx the partition), %s records/s read in all, %s records/s per replay"
                  + " (%d at once) = %s of the raw read rate",
              e.getKey(),
              wallRatio,
              String.format(Locale.ROOT, "%,.0f", median(t, r -> (double) r.replayRead)),
              median(t, r -> (double) r.replayRead) / range,
              Report.rate(readRate),
              Report.rate(readRate / concurrent),
              concurrent,
              Report.ratio(readRate / concurrent / median(raw, r -> range * 1e9 / r.wallNanos))));
    }
    report.print(
        "- raw reads the partition once and routes every record to its key (key decoded to a"
            + " String, value header parsed, per-key sequence checked); each Tributary replay reads"
            + " the range from offset 0 to its stream's last record and skips the other keys'"
            + " records. records/s above is the partition's records over the wall time, the"
            + " streams' useful throughput; CPU is per record of the partition.");
  }

  // ------------------------------------------------------------------ measuring

  private record Measured(String name, Task task) {}

  @FunctionalInterface
  private interface Task {
    Run run() throws Exception;
  }

  private void alternate(List<Measured> systems, Map<String, List<Run>> results, String label)
      throws Exception {
    for (int w = 0; w < o.warmups; w++) {
      for (Measured m : systems) {
        print(label + " warm-up " + (w + 1) + "/" + o.warmups, m.name, once(m));
      }
    }
    int n = systems.size();
    for (int r = 0; r < o.runs; r++) {
      for (int i = 0; i < n; i++) {
        Measured m = systems.get((r + i) % n);
        Run run = once(m);
        results.get(m.name).add(run);
        print(label + " run " + (r + 1) + "/" + o.runs, m.name, run);
      }
    }
  }

  private static Run once(Measured m) {
    Harness.gc();
    try {
      return m.task.run();
    } catch (Exception | Error e) {
      e.printStackTrace();
      return Run.failed("failed: " + e);
    }
  }

  private static void print(String what, String system, Run r) {
    System.out.printf(
        Locale.ROOT,
        "  %-16s %-36s %8.1f ms (first %.1f ms)  %,7d delivered  replay read %,d delivered %,d  CPU %.1f ms +"
            + " broker %.1f ms%s%n",
        what,
        system,
        r.wallNanos / 1e6,
        r.firstNanos / 1e6,
        r.delivered,
        r.replayRead,
        r.replayDelivered,
        r.cpuNanos / 1e6,
        r.brokerCpuNanos / 1e6,
        r.error == null ? "" : "  ** " + r.error);
    if (r.threads != null) {
      System.out.println("                   " + r.threads);
    }
  }

  private static List<String> header() {
    return List.of(
        "system",
        "wall ms (median)",
        "min - max",
        "first record ms",
        "range records/s (median)",
        "stream records delivered",
        "replay records read",
        "CPU us/record",
        "broker CPU us/record",
        "correct runs");
  }

  private static List<String> row(String system, List<Run> all, long range) {
    List<Run> runs = ok(all);
    return List.of(
        system,
        String.format(Locale.ROOT, "%.1f", median(runs, r -> r.wallNanos / 1e6)),
        String.format(
            Locale.ROOT,
            "%.1f - %.1f",
            Stats.min(values(runs, r -> r.wallNanos / 1e6)),
            Stats.max(values(runs, r -> r.wallNanos / 1e6))),
        String.format(Locale.ROOT, "%.1f", median(runs, r -> r.firstNanos / 1e6)),
        Report.rate(median(runs, r -> range * 1e9 / r.wallNanos)),
        String.format(Locale.ROOT, "%,.0f", median(runs, r -> (double) r.delivered)),
        system.equals("raw")
            ? "-"
            : String.format(Locale.ROOT, "%,.0f", median(runs, r -> (double) r.replayRead)),
        String.format(Locale.ROOT, "%.3f", median(runs, r -> r.cpuNanos / 1e3 / range)),
        String.format(Locale.ROOT, "%.3f", median(runs, r -> r.brokerCpuNanos / 1e3 / range)),
        runs.size() + "/" + all.size());
  }

  private void ratio(List<Run> b, List<Run> a, String label, double target) {
    List<Run> rb = ok(b);
    List<Run> ra = ok(a);
    double ratio = median(ra, Run::wallNanos) / median(rb, Run::wallNanos);
    List<Double> pairs = new ArrayList<>();
    for (int i = 0; i < Math.min(b.size(), a.size()); i++) {
      if (b.get(i).error == null && a.get(i).error == null) {
        pairs.add((double) a.get(i).wallNanos / b.get(i).wallNanos);
      }
    }
    double cpuB = median(rb, r -> (double) r.cpuNanos);
    double cpuA = median(ra, r -> (double) r.cpuNanos);
    report.print(
        String.format(
            Locale.ROOT,
            "- %s: **%s** (ratio of median rates; run-by-run %s - %s)%s; CPU per record %.2fx"
                + " the raw loop's",
            label,
            Report.ratio(ratio),
            Report.ratio(Stats.min(pairs)),
            Report.ratio(Stats.max(pairs)),
            ratio >= target
                ? " (target >= " + target + "x met)"
                : " (NOT met; target >= " + target + "x)",
            cpuB / cpuA));
  }

  private static List<Run> ok(List<Run> runs) {
    List<Run> out = new ArrayList<>();
    for (Run r : runs) {
      if (r.error == null) {
        out.add(r);
      }
    }
    return out;
  }

  private static List<Double> values(List<Run> runs, java.util.function.ToDoubleFunction<Run> f) {
    List<Double> v = new ArrayList<>();
    for (Run r : runs) {
      v.add(f.applyAsDouble(r));
    }
    return v;
  }

  private static double median(List<Run> runs, java.util.function.ToDoubleFunction<Run> f) {
    return Stats.median(values(ok(runs), f));
  }

  /** One measured run. */
  record Run(
      long wallNanos,
      long firstNanos,
      long delivered,
      long replayRead,
      long replayDelivered,
      long cpuNanos,
      long brokerCpuNanos,
      String threads,
      String error) {
    static Run failed(String error) {
      return new Run(0, 0, 0, 0, 0, 0, 0, null, error);
    }
  }

  // ------------------------------------------------------------------ raw

  private TopicPartition tp(BenchKafka.Dataset d, Layout l) {
    return new TopicPartition(d.topic(), l.partition);
  }

  /**
   * The raw consumer's properties: the harness's, minus the group (assign only, like Tributary's
   * replay consumers), no offset reset.
   */
  private Map<String, Object> rawProperties() {
    Map<String, Object> p = kafka.consumerProperties(BenchKafka.freshGroup("raw-replay"));
    p.remove(ConsumerConfig.GROUP_ID_CONFIG);
    p.remove(ConsumerConfig.GROUP_PROTOCOL_CONFIG);
    p.remove(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG);
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
    return p;
  }

  /** Scenario A's raw side: assign + seek(0) + poll until the key's last record. */
  private Run rawOneStream(BenchKafka.Dataset d, Layout l, int keyIndex) {
    byte[] key = Records.key(keyIndex).getBytes(StandardCharsets.UTF_8);
    int expected = l.count[keyIndex];
    TopicPartition tp = tp(d, l);
    ThreadCpu threadsBefore = ThreadCpu.snapshot();
    CpuMeter cpu = CpuMeter.start();
    long start = System.nanoTime();
    long deadline = start + TimeUnit.SECONDS.toNanos(o.timeoutSeconds);
    long scanned = 0;
    int next = 0;
    long first = 0;
    String error = null;
    long end;
    long cpuNanos;
    long brokerNanos;
    String threads;
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(rawProperties())) {
      c.assign(List.of(tp));
      c.seek(tp, 0);
      outer:
      while (next < expected) {
        List<ConsumerRecord<byte[], byte[]>> records = c.poll(Duration.ofMillis(100)).records(tp);
        if (records.isEmpty() && System.nanoTime() - deadline > 0) {
          error = "timeout after " + o.timeoutSeconds + " s at " + next + " of " + expected;
          break;
        }
        for (int i = 0, n = records.size(); i < n; i++) {
          ConsumerRecord<byte[], byte[]> r = records.get(i);
          scanned++;
          if (Arrays.equals(r.key(), key)) {
            if (next == 0) {
              first = System.nanoTime();
            }
            int seq = Records.sequence(r.value());
            if (seq != next && error == null) {
              error = "expected #" + next + " got #" + seq;
            }
            next = seq + 1;
            if (next == expected) {
              break outer;
            }
          }
        }
      }
      end = System.nanoTime();
      cpuNanos = cpu.selfNanos();
      brokerNanos = cpu.childrenNanos();
      threads = ThreadCpu.snapshot().perRecordSince(threadsBefore, l.last[keyIndex] + 1);
    }
    if (error == null && scanned != l.last[keyIndex] + 1) {
      error = "scanned " + scanned + " records, expected " + (l.last[keyIndex] + 1);
    }
    return new Run(end - start, first - start, next, 0, 0, cpuNanos, brokerNanos, threads, error);
  }

  /** Scenario B's raw side: one read of the partition, every record routed to its key. */
  private Run rawPartition(BenchKafka.Dataset d, Layout l) {
    TopicPartition tp = tp(d, l);
    int[] next = new int[d.keys()];
    ThreadCpu threadsBefore = ThreadCpu.snapshot();
    CpuMeter cpu = CpuMeter.start();
    long start = System.nanoTime();
    long deadline = start + TimeUnit.SECONDS.toNanos(o.timeoutSeconds);
    long scanned = 0;
    long first = 0;
    long checksum = 0;
    String error = null;
    long end;
    long cpuNanos;
    long brokerNanos;
    String threads;
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(rawProperties())) {
      c.assign(List.of(tp));
      c.seek(tp, 0);
      while (scanned < l.end) {
        List<ConsumerRecord<byte[], byte[]>> records = c.poll(Duration.ofMillis(100)).records(tp);
        if (records.isEmpty() && System.nanoTime() - deadline > 0) {
          error = "timeout after " + o.timeoutSeconds + " s at " + scanned + " of " + l.end;
          break;
        }
        if (first == 0 && !records.isEmpty()) {
          first = System.nanoTime();
        }
        for (int i = 0, n = records.size(); i < n; i++) {
          ConsumerRecord<byte[], byte[]> r = records.get(i);
          scanned++;
          String key = new String(r.key(), StandardCharsets.UTF_8);
          checksum += key.hashCode();
          int k = Records.keyIndex(key);
          int seq = Records.sequence(r.value());
          if (seq != next[k] && error == null) {
            error = "key " + k + ": expected #" + next[k] + " got #" + seq;
          }
          next[k] = seq + 1;
        }
      }
      end = System.nanoTime();
      cpuNanos = cpu.selfNanos();
      brokerNanos = cpu.childrenNanos();
      threads = ThreadCpu.snapshot().perRecordSince(threadsBefore, l.end);
    }
    for (int k : l.keys) {
      if (next[k] != l.count[k] && error == null) {
        error = "key " + k + ": saw " + next[k] + " of " + l.count[k];
      }
    }
    if (checksum == 42) {
      System.out.print(""); // keeps the key decoding observable to the JIT
    }
    return new Run(
        end - start, first - start, scanned, 0, 0, cpuNanos, brokerNanos, threads, error);
  }

  // ------------------------------------------------------------------ Tributary

  /** A runtime whose agents have delivered every record, and its replay counters. */
  private static final class Tributary implements AutoCloseable {
    private final StreamRuntime runtime;
    private final SimpleMeterRegistry registry;
    private final String topic;
    private final BenchOptions o;

    private Tributary(
        StreamRuntime runtime, SimpleMeterRegistry registry, String topic, BenchOptions o) {
      this.runtime = runtime;
      this.registry = registry;
      this.topic = topic;
      this.o = o;
    }

    static Tributary start(BenchKafka kafka, BenchOptions o, BenchKafka.Dataset d, int replays) {
      KafkaQueueAdapterFactory.Builder kb =
          KafkaQueueAdapterFactory.builder()
              .bootstrapServers(kafka.bootstrapServers())
              .consumerGroupId(BenchKafka.freshGroup("tributary-replay"))
              .topic(d.topic(), TopicConfig.existing())
              .direction(StreamProviderDirection.READ_ONLY)
              .maxConcurrentReplays(replays);
      for (Map.Entry<String, String> e : kafka.extraConsumerProperties().entrySet()) {
        kb.consumerProperty(e.getKey(), e.getValue());
      }
      if (o.consumerThreads != null) {
        kb.consumerThreads(o.consumerThreads);
      }
      if (o.pollTimeoutMs != null) {
        kb.pollTimeout(Duration.ofMillis(o.pollTimeoutMs));
      }
      KafkaQueueAdapterFactory factory = kb.build();
      AtomicLong delivered = new AtomicLong();
      StreamObserver<byte[]> counting =
          (value, token) -> {
            delivered.incrementAndGet();
            return DONE;
          };
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      StreamRuntime.Builder rb =
          StreamRuntime.builder()
              .addProvider(
                  "kafka",
                  factory,
                  agents -> {
                    if (o.cacheSize != null) {
                      agents.cacheSize(o.cacheSize);
                    }
                  })
              .implicitSubscription("kafka", d.topic(), id -> counting)
              .meterRegistry(registry);
      if (o.runtimeThreads != null) {
        rb.threads(o.runtimeThreads);
      }
      StreamRuntime runtime = rb.build();
      long began = System.nanoTime();
      runtime.start();
      long deadline = began + TimeUnit.SECONDS.toNanos(o.timeoutSeconds);
      while (delivered.get() < d.records()) {
        if (System.nanoTime() - deadline > 0) {
          runtime.close();
          throw new IllegalStateException(
              "Tributary caught up with " + delivered.get() + " of " + d.records() + " records");
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
      }
      System.out.printf(
          Locale.ROOT,
          "Tributary (maxConcurrentReplays %d) caught up: %,d records delivered by its implicit"
              + " subscription in %.1f s, owns %d partitions%n",
          replays,
          delivered.get(),
          (System.nanoTime() - began) / 1e9,
          factory.ownedPartitions().size());
      return new Tributary(runtime, registry, d.topic(), o);
    }

    private double counter(String name) {
      return registry.find(name).counters().stream().mapToDouble(Counter::count).sum();
    }

    /**
     * Subscribes to every key of {@code keyIndexes} from token 0 at once and waits until each got
     * its last pre-produced record.
     */
    Run replay(Layout l, List<Integer> keyIndexes, long range) throws Exception {
      CountDownLatch done = new CountDownLatch(keyIndexes.size());
      AtomicReference<String> error = new AtomicReference<>();
      AtomicLong firstAt = new AtomicLong(Long.MAX_VALUE);
      AtomicLong lastAt = new AtomicLong();
      AtomicLong delivered = new AtomicLong();
      List<KeyWatch> watches = new ArrayList<>();
      for (int k : keyIndexes) {
        watches.add(new KeyWatch(k, l.count[k], done, error, firstAt, lastAt, delivered));
      }
      double readBefore = counter(READ);
      double deliveredBefore = counter(DELIVERED);
      ThreadCpu threadsBefore = ThreadCpu.snapshot();
      CpuMeter cpu = CpuMeter.start();
      long start = System.nanoTime();
      List<CompletableFuture<StreamSubscriptionHandle<byte[]>>> handles = new ArrayList<>();
      StreamSequenceToken zero = new EventSequenceToken(0);
      for (KeyWatch w : watches) {
        AsyncStream<byte[]> s =
            runtime.provider("kafka").stream(StreamId.of(topic, Records.key(w.keyIndex)));
        handles.add(s.subscribe(w, zero).toCompletableFuture());
      }
      boolean finished = done.await(o.timeoutSeconds, TimeUnit.SECONDS);
      long end = lastAt.get();
      long cpuNanos = cpu.selfNanos();
      long brokerNanos = cpu.childrenNanos();
      String threads = ThreadCpu.snapshot().perRecordSince(threadsBefore, range);
      long read = Math.round(counter(READ) - readBefore);
      long replayDelivered = Math.round(counter(DELIVERED) - deliveredBefore);
      for (CompletableFuture<StreamSubscriptionHandle<byte[]>> h : handles) {
        h.get(60, TimeUnit.SECONDS).unsubscribe().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
      String e = error.get();
      if (!finished && e == null) {
        e =
            "timeout after "
                + o.timeoutSeconds
                + " s with "
                + done.getCount()
                + " of "
                + keyIndexes.size()
                + " streams unfinished";
      }
      if (e == null && read == 0) {
        e = "no record read from the partition: served from the cache, not a replay";
      }
      return new Run(
          finished ? end - start : System.nanoTime() - start,
          finished ? firstAt.get() - start : 0,
          delivered.get(),
          read,
          replayDelivered,
          cpuNanos,
          brokerNanos,
          threads,
          e);
    }

    @Override
    public void close() {
      runtime.close();
    }
  }

  /** A rewound subscription's observer: checks the sequence, notes the last record's arrival. */
  private static final class KeyWatch implements StreamObserver<byte[]> {
    final int keyIndex;
    private final int expected;
    private final CountDownLatch done;
    private final AtomicReference<String> error;
    private final AtomicLong firstAt;
    private final AtomicLong lastAt;
    private final AtomicLong delivered;

    /** Confined to the agent (its serial executor). */
    private int next;

    KeyWatch(
        int keyIndex,
        int expected,
        CountDownLatch done,
        AtomicReference<String> error,
        AtomicLong firstAt,
        AtomicLong lastAt,
        AtomicLong delivered) {
      this.keyIndex = keyIndex;
      this.expected = expected;
      this.done = done;
      this.error = error;
      this.firstAt = firstAt;
      this.lastAt = lastAt;
      this.delivered = delivered;
    }

    @Override
    public CompletionStage<Void> onNext(byte[] value, StreamSequenceToken token) {
      int k = Records.keyIndex(value);
      int seq = Records.sequence(value);
      if (next == 0) {
        firstAt.accumulateAndGet(System.nanoTime(), Math::min);
      }
      if (k != keyIndex || seq != next) {
        error.compareAndSet(
            null,
            "stream k"
                + keyIndex
                + ": expected #"
                + next
                + " got k"
                + k
                + "#"
                + seq
                + " at "
                + token);
      }
      next = seq + 1;
      if (next == expected) {
        lastAt.accumulateAndGet(System.nanoTime(), Math::max);
        delivered.addAndGet(expected);
        done.countDown();
      }
      return DONE;
    }

    @Override
    public void onError(Throwable e) {
      error.compareAndSet(null, "stream k" + keyIndex + ": onError " + e);
    }
  }

  // ------------------------------------------------------------------ the partition's layout

  /** Which keys the replayed partition holds, how many records each and where the last is. */
  static final class Layout {
    final int partition;
    final long end;
    final int[] count;
    final long[] last;
    final List<Integer> keys;

    private Layout(int partition, long end, int[] count, long[] last, List<Integer> keys) {
      this.partition = partition;
      this.end = end;
      this.count = count;
      this.last = last;
      this.keys = keys;
    }

    /** Reads the partition once and checks that each key is where Kafka's partitioner put it. */
    static Layout scan(BenchKafka kafka, BenchKafka.Dataset d, int partition) {
      TopicPartition tp = new TopicPartition(d.topic(), partition);
      int[] count = new int[d.keys()];
      long[] last = new long[d.keys()];
      Arrays.fill(last, -1);
      Map<String, Object> p = kafka.consumerProperties(BenchKafka.freshGroup("layout"));
      p.remove(ConsumerConfig.GROUP_ID_CONFIG);
      long end;
      try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
        c.assign(List.of(tp));
        end = c.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
        c.seek(tp, 0);
        long n = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (n < end) {
          for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100)).records(tp)) {
            int k = Records.keyIndex(new String(r.key(), StandardCharsets.UTF_8));
            int expectedPartition = Utils.toPositive(Utils.murmur2(r.key())) % d.partitions();
            if (expectedPartition != partition || r.offset() != n) {
              throw new IllegalStateException(
                  "record " + r.offset() + " of key k" + k + " is not where it should be");
            }
            count[k]++;
            last[k] = r.offset();
            n++;
          }
          if (System.nanoTime() - deadline > 0) {
            throw new IllegalStateException("reading " + tp + " took more than 120 s");
          }
        }
      }
      List<Integer> keys = new ArrayList<>();
      for (int k = 0; k < d.keys(); k++) {
        if (count[k] > 0) {
          if (count[k] != d.perKey()[k]) {
            throw new IllegalStateException(
                "key k" + k + " has " + count[k] + " records in " + tp + " of " + d.perKey()[k]);
          }
          keys.add(k);
        }
      }
      if (keys.isEmpty()) {
        throw new IllegalStateException(tp + " holds no records");
      }
      return new Layout(partition, end, count, last, keys);
    }
  }
}
