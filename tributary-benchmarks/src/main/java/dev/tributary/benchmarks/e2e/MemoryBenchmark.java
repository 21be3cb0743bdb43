package dev.tributary.benchmarks.e2e;

import dev.tributary.StreamObserver;
import dev.tributary.StreamRuntime;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.kafka.TopicConfig;
import dev.tributary.spi.StreamProviderDirection;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Heap per cached event, and heap after many streams went idle.
 *
 * <p>Bytes per cached event: every observer holds its stream's first event (returns a stage that
 * does not complete), so each agent's cache fills until it is under pressure and reading stops;
 * then the used heap is measured after full GCs. That is done with two cache sizes, everything else
 * equal (partition buffer fixed at 1000 records), and the difference in heap divided by the
 * difference in cached events is the marginal cost of one cached event: the record's value and key,
 * its batch container, token and stream id, and the cache's entry. The naive figure (heap over the
 * pre-start baseline, divided by everything buffered) also carries fixed costs: consumer fetch
 * buffers, threads, observers.
 *
 * <p>Idle streams: 1M distinct streams (or {@code --keys} when larger), one record each unless
 * {@code --records} says otherwise, are delivered with streamInactivityPeriod 20 s; the heap is
 * measured right after delivery, once the idle streams were parked (cursor and cache entry released
 * after a tenth of the period) and again after the inactivity cleanup.
 *
 * <p>Churn ({@code --churn-seconds N}, instead of the parts above): a producer in this JVM writes
 * {@code --rate} records per second for N seconds, each with a key never used before, while a
 * runtime with streamInactivityPeriod 20 s delivers them; the heap after full GCs and the streams
 * tracked are sampled every 30 s. Bounded heap means the samples stay flat while keys keep coming.
 */
public final class MemoryBenchmark {
  private static final int[] CACHE_SIZES = {4096, 65536};
  private static final int INACTIVITY_SECONDS = 20;

  private final BenchKafka kafka;
  private final BenchOptions o;
  private final Report report;

  public MemoryBenchmark(BenchKafka kafka, BenchOptions options, Report report) {
    this.kafka = kafka;
    this.o = options;
    this.report = report;
  }

  public void run() throws Exception {
    if (o.churnSeconds > 0) {
      churn();
      return;
    }
    cachedEvents();
    idleStreams();
  }

  private void churn() throws Exception {
    String topic = "churn-" + System.currentTimeMillis();
    kafka.createTopic(topic, o.partitions);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    AtomicLong delivered = new AtomicLong();
    StreamRuntime runtime =
        StreamRuntime.builder()
            .addProvider(
                "kafka",
                churnFactory(topic),
                agents -> agents.streamInactivityPeriod(Duration.ofSeconds(INACTIVITY_SECONDS)))
            .implicitSubscription(
                "kafka",
                topic,
                id ->
                    (StreamObserver<byte[]>)
                        (value, token) -> {
                          delivered.incrementAndGet();
                          return CompletableFuture.completedFuture(null);
                        })
            .meterRegistry(registry)
            .build();
    runtime.start();
    AtomicLong produced = new AtomicLong();
    AtomicBoolean producing = new AtomicBoolean(true);
    Thread producer =
        new Thread(
            () -> {
              byte[] value = new byte[o.valueSize];
              long start = System.nanoTime();
              try (KafkaProducer<byte[], byte[]> p = kafka.bulkProducer()) {
                while (producing.get()) {
                  long k = produced.get();
                  long due = start + k * 1_000_000_000L / o.rate;
                  long wait = due - System.nanoTime();
                  if (wait > 0) {
                    LockSupport.parkNanos(wait);
                    continue;
                  }
                  byte[] key = ("c" + k).getBytes(StandardCharsets.UTF_8);
                  p.send(new ProducerRecord<>(topic, key, value));
                  produced.incrementAndGet();
                }
              }
            },
            "bench-churn-producer");
    List<List<String>> rows = new ArrayList<>();
    long baseline = usedHeapAfterGc();
    rows.add(List.of("0", "0", "0", "0", mib(baseline)));
    long t0 = System.nanoTime();
    producer.start();
    try {
      for (int s = 30; s <= o.churnSeconds; s += 30) {
        long due = t0 + TimeUnit.SECONDS.toNanos(s);
        while (System.nanoTime() < due) {
          Thread.sleep(Math.max(1, TimeUnit.NANOSECONDS.toMillis(due - System.nanoTime())));
        }
        long heap = usedHeapAfterGc();
        List<String> row =
            List.of(
                Integer.toString(s),
                String.format(Locale.ROOT, "%,d", produced.get()),
                String.format(Locale.ROOT, "%,d", delivered.get()),
                String.format(Locale.ROOT, "%,d", sum(registry, "tributary.streams.active")),
                mib(heap));
        System.out.println("  churn " + row);
        rows.add(row);
      }
    } finally {
      producing.set(false);
      producer.join();
      runtime.close();
      kafka.deleteTopic(topic);
    }
    report.print("");
    report.print(
        String.format(
            Locale.ROOT,
            "### Churn: %,d new keys per second (one record each) for %d s, %d partitions,"
                + " streamInactivityPeriod %d s",
            o.rate,
            o.churnSeconds,
            o.partitions,
            INACTIVITY_SECONDS));
    report.print("");
    report.print(
        Report.table(
            List.of("s", "keys produced", "delivered", "streams tracked", "used heap after GC"),
            rows));
  }

  private KafkaQueueAdapterFactory churnFactory(String topic) {
    KafkaQueueAdapterFactory.Builder kb =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers(kafka.bootstrapServers())
            .consumerGroupId(BenchKafka.freshGroup("churn"))
            .topic(topic, TopicConfig.existing())
            .direction(StreamProviderDirection.READ_ONLY);
    for (java.util.Map.Entry<String, String> e : kafka.extraConsumerProperties().entrySet()) {
      kb.consumerProperty(e.getKey(), e.getValue());
    }
    return kb.build();
  }

  private void cachedEvents() throws Exception {
    long needed = (long) (o.partitions * (long) CACHE_SIZES[CACHE_SIZES.length - 1] * 1.3) + 20_000;
    long records = Math.max(needed, o.recordsSet ? o.records : 0);
    BenchKafka.Dataset d = kafka.produce("memory", records, o.partitions, o.keys, o.valueSize);
    TributarySystem tributary = new TributarySystem(kafka, o);
    List<long[]> points = new ArrayList<>();
    for (int cacheSize : CACHE_SIZES) {
      points.add(fill(tributary, d, cacheSize));
    }
    kafka.deleteTopic(d.topic());
    List<List<String>> rows = new ArrayList<>();
    for (int i = 0; i < CACHE_SIZES.length; i++) {
      long[] p = points.get(i);
      long held = p[2] + p[3];
      rows.add(
          List.of(
              Integer.toString(CACHE_SIZES[i]),
              String.format(Locale.ROOT, "%,d", p[2]),
              String.format(Locale.ROOT, "%,d", p[3]),
              mib(p[0]),
              mib(p[1]),
              String.format(Locale.ROOT, "%,.0f", (p[1] - p[0]) / (double) Math.max(1, held))));
    }
    long[] small = points.get(0);
    long[] large = points.get(points.size() - 1);
    double marginal =
        (large[1] - small[1]) / (double) Math.max(1, (large[2] + large[3]) - (small[2] + small[3]));
    report.print("");
    report.print(
        String.format(
            Locale.ROOT,
            "### Heap per cached event: %d partitions, %,d keys, %d B values (every observer holds"
                + " its first event; partition buffer 1000 records)",
            o.partitions,
            o.keys,
            o.valueSize));
    report.print("");
    report.print(
        Report.table(
            List.of(
                "cacheSize",
                "cached events",
                "buffered records",
                "heap before start",
                "heap with full caches",
                "naive bytes/event"),
            rows));
    report.print("");
    report.print(
        String.format(
            Locale.ROOT,
            "- marginal heap per cached event (difference between the two cache sizes): **%,.0f"
                + " bytes** for a %d-byte value",
            marginal,
            o.valueSize));
  }

  /** Returns {baseline heap, full heap, cached events, buffered records}. */
  private long[] fill(TributarySystem tributary, BenchKafka.Dataset d, int cacheSize)
      throws Exception {
    long baseline = usedHeapAfterGc();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    ConcurrentLinkedQueue<CompletableFuture<Void>> held = new ConcurrentLinkedQueue<>();
    AtomicBoolean holding = new AtomicBoolean(true);
    CompletableFuture<Void> done = CompletableFuture.completedFuture(null);
    Tally tally = new Tally(d.records(), 0);
    TributarySystem.Started s =
        tributary.start(
            RunSpec.all(d, 0, o.timeoutSeconds),
            tally,
            null,
            registry,
            agents -> agents.cacheSize(cacheSize).drainTimeout(Duration.ofSeconds(5)),
            () -> {
              if (!holding.get()) {
                return done;
              }
              CompletableFuture<Void> f = new CompletableFuture<>();
              held.add(f);
              return f;
            });
    try {
      long last = -1;
      long stableSince = System.nanoTime();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < deadline) {
        Thread.sleep(250);
        long now =
            sum(registry, "tributary.cache.size")
                + sum(registry, "tributary.kafka.partition.buffered");
        if (now != last) {
          last = now;
          stableSince = System.nanoTime();
        } else if (System.nanoTime() - stableSince > TimeUnit.SECONDS.toNanos(3)) {
          break;
        }
      }
      long full = usedHeapAfterGc();
      long cached = sum(registry, "tributary.cache.size");
      long buffered = sum(registry, "tributary.kafka.partition.buffered");
      long pressure = sum(registry, "tributary.cache.pressure");
      System.out.printf(
          Locale.ROOT,
          "  cacheSize %,d: %,d cached + %,d buffered, %d of %d agents under pressure, heap %s ->"
              + " %s%n",
          cacheSize,
          cached,
          buffered,
          pressure,
          d.partitions(),
          mib(baseline),
          mib(full));
      return new long[] {baseline, full, cached, buffered};
    } finally {
      holding.set(false);
      CompletableFuture<Void> f;
      while ((f = held.poll()) != null) {
        f.complete(null);
      }
      s.runtime().close();
    }
  }

  private void idleStreams() throws Exception {
    int keys = o.keys >= 100_000 ? o.keys : 1_000_000;
    long records = o.recordsSet ? o.records : keys;
    BenchKafka.Dataset d = kafka.produce("idle", records, o.partitions, keys, o.valueSize);
    TributarySystem tributary = new TributarySystem(kafka, o);
    long baseline = usedHeapAfterGc();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    Tally tally = new Tally(d.records(), 0, Tally.keysWithRecords(d.perKey()));
    TributarySystem.Started s =
        tributary.start(
            RunSpec.all(d, 0, o.timeoutSeconds),
            tally,
            null,
            registry,
            agents -> agents.streamInactivityPeriod(Duration.ofSeconds(INACTIVITY_SECONDS)),
            null);
    try {
      if (tally.awaitTarget(o.timeoutSeconds) < 0) {
        report.print("- idle streams: timeout with " + tally.progress());
        return;
      }
      // Gauges are published when an agent pumps (at least every timer tick, 100 ms).
      Thread.sleep(500);
      long active = sum(registry, "tributary.streams.active");
      long afterDelivery = usedHeapAfterGc();
      // Parked once idle for more than a tenth of the period, at a cleanup pass (every tenth).
      Thread.sleep(TimeUnit.SECONDS.toMillis(INACTIVITY_SECONDS) * 3 / 10);
      long parkedStreams = sum(registry, "tributary.streams.active");
      long parked = usedHeapAfterGc();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(4L * INACTIVITY_SECONDS);
      long remaining = active;
      while (System.nanoTime() < deadline) {
        Thread.sleep(500);
        remaining = sum(registry, "tributary.streams.active");
        if (remaining == 0) {
          break;
        }
      }
      long afterCleanup = usedHeapAfterGc();
      report.print("");
      report.print(
          String.format(
              Locale.ROOT,
              "### Idle streams: %,d records with keys drawn from %,d (%,d distinct streams), %d"
                  + " partitions, streamInactivityPeriod %d s",
              d.records(),
              keys,
              Tally.keysWithRecords(d.perKey()),
              d.partitions(),
              INACTIVITY_SECONDS));
      report.print("");
      report.print(
          Report.table(
              List.of("moment", "streams tracked", "used heap"),
              List.of(
                  List.of("before start", "0", mib(baseline)),
                  List.of(
                      "all delivered",
                      String.format(Locale.ROOT, "%,d", active),
                      mib(afterDelivery)),
                  List.of(
                      "idle " + INACTIVITY_SECONDS * 3 / 10 + " s more (parked)",
                      String.format(Locale.ROOT, "%,d", parkedStreams),
                      mib(parked)),
                  List.of(
                      "after inactivity cleanup",
                      String.format(Locale.ROOT, "%,d", remaining),
                      mib(afterCleanup)))));
      report.print("");
      report.print(
          String.format(
              Locale.ROOT,
              "- heap per tracked idle stream (observer, subscription state, cursor): about %,.0f"
                  + " bytes; released by the cleanup: %s",
              (afterDelivery - afterCleanup) / (double) Math.max(1, active - remaining),
              remaining == 0 ? "yes" : "NO (" + remaining + " left)"));
      if (parkedStreams > remaining) {
        report.print(
            String.format(
                Locale.ROOT,
                "- heap per parked idle stream (state and observer; cursor and cache entry"
                    + " released): about %,.0f bytes",
                (parked - afterCleanup) / (double) (parkedStreams - remaining)));
      } else {
        report.print(
            "- heap per parked idle stream: not measured, the cleanup had dropped every stream"
                + " (delivery took longer than the inactivity period)");
      }
    } finally {
      s.runtime().close();
      kafka.deleteTopic(d.topic());
    }
  }

  private static long sum(SimpleMeterRegistry registry, String name) {
    long total = 0;
    for (Gauge g : registry.find(name).gauges()) {
      total += (long) g.value();
    }
    return total;
  }

  static long usedHeapAfterGc() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static String mib(long bytes) {
    return String.format(Locale.ROOT, "%,.1f MiB", bytes / (1024.0 * 1024.0));
  }
}
