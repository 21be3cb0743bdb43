package dev.tributary.benchmarks.e2e;

import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamProviderOptions;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSequenceToken;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.kafka.TopicConfig;
import dev.tributary.spi.StaticQueueBalancer;
import dev.tributary.spi.StreamProviderDirection;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * (b) Tributary: the Kafka provider with its defaults (one consumer per node, cacheSize 4096, 100
 * ms timer plus data wake-up), read-only, and an implicit subscription on the topic whose factory
 * creates one observer per stream (= key). Each observer checks that its key's sequence numbers
 * arrive 0, 1, 2, ... and acknowledges at once, or after the simulated work.
 *
 * <p>Simulated work is asynchronous: the observer returns a stage that {@link WorkTimer} completes
 * {@code workNanos} later, so it costs the agent no CPU and no blocked thread, like an actor
 * awaiting I/O. The next event of that stream is delivered only after the stage completes.
 */
public final class TributarySystem implements SystemUnderTest {
  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  private final BenchKafka kafka;
  private final BenchOptions options;

  public TributarySystem(BenchKafka kafka, BenchOptions options) {
    this.kafka = kafka;
    this.options = options;
  }

  @Override
  public String name() {
    return "tributary";
  }

  @Override
  public String describe() {
    return "StreamRuntime + KafkaQueueAdapterFactory with defaults"
        + (options.cacheSize == null ? "" : " except cacheSize " + options.cacheSize)
        + (options.runtimeThreads == null ? "" : ", threads " + options.runtimeThreads)
        + (options.consumerThreads == null ? "" : ", consumerThreads " + options.consumerThreads)
        + (options.maxBuffered == null
            ? ""
            : ", maxBufferedRecordsPerPartition " + options.maxBuffered)
        + (options.maxBufferedBytes == null
            ? ""
            : ", maxBufferedBytesPerPartition " + options.maxBufferedBytes)
        + (options.pollTimeoutMs == null ? "" : ", pollTimeout " + options.pollTimeoutMs + " ms")
        + (options.commitEvery == null ? "" : ", commitEveryRecords " + options.commitEvery)
        + (options.nodes > 1
            ? "; " + options.nodes + " nodes in this JVM sharing the partitions (static assignment)"
            : "")
        + "; implicit subscription, one observer per key, per-key order checked";
  }

  @Override
  public RunResult run(RunSpec spec) {
    Tally tally =
        new Tally(
            spec.target(),
            spec.latencySamples(),
            // The tracer shows records as they arrive, so it needs them counted one by one.
            spec.perKey() == null || options.traceMs > 0
                ? 0
                : Tally.keysWithRecords(spec.perKey()));
    AtomicReferenceArray<KeyObserver> observers = new AtomicReferenceArray<>(spec.keys());
    long last;
    String note = null;
    io.micrometer.core.instrument.simple.SimpleMeterRegistry registry =
        options.traceMs > 0 ? new io.micrometer.core.instrument.simple.SimpleMeterRegistry() : null;
    ThreadCpu cpuBefore = ThreadCpu.snapshot();
    Started s = start(spec, tally, observers, registry, agents -> {}, null, options.nodes);
    Thread tracer = registry == null ? null : Tracer.start(registry, tally, options.traceMs);
    try {
      last = tally.awaitTarget(spec.timeoutSeconds());
      // Each key's observer is created just before its first record is delivered.
      for (int k = 0; k < spec.keys(); k++) {
        KeyObserver o = observers.get(k);
        if (o != null) {
          tally.firstAt(o.createdNanos);
        }
      }
      if (tracer != null) {
        tracer.interrupt();
      }
      if (last > 0) {
        System.out.println(
            "                " + ThreadCpu.snapshot().perRecordSince(cpuBefore, spec.target()));
      }
      if (last < 0) {
        note = "timeout after " + spec.timeoutSeconds() + " s with " + tally.progress();
        last = System.nanoTime();
      }
    } finally {
      // Joins the agents' pools: what the observers wrote is visible below.
      s.close();
    }
    long errors = tally.orderErrors();
    String firstError = tally.firstError();
    if (spec.perKey() != null) {
      for (int k = 0; k < spec.keys(); k++) {
        KeyObserver o = observers.get(k);
        int seen = o == null ? 0 : o.next;
        if (seen != spec.perKey()[k]) {
          errors++;
          if (firstError == null) {
            firstError = "key " + k + ": saw " + seen + " of " + spec.perKey()[k];
          }
        }
      }
    }
    if (note == null && firstError != null) {
      note = errors + " errors, first: " + firstError;
    }
    return new RunResult(
        name(),
        Math.max(0, tally.delivered()),
        last - tally.firstNanos(),
        last - s.startNanos(),
        errors,
        note,
        tally.latencies());
  }

  /** Started runtimes, one per node. */
  record Started(
      List<StreamRuntime> runtimes, List<KafkaQueueAdapterFactory> factories, long startNanos) {

    /** The first (for one node, the only) runtime. */
    StreamRuntime runtime() {
      return runtimes.get(0);
    }

    /** Closes every node, in parallel, as nodes of a cluster would stop. */
    void close() {
      runtimes.parallelStream().forEach(StreamRuntime::close);
    }
  }

  /**
   * {@link #start(RunSpec, Tally, AtomicReferenceArray, MeterRegistry, Consumer, Supplier, int)}
   * with one node.
   */
  Started start(
      RunSpec spec,
      Tally tally,
      AtomicReferenceArray<KeyObserver> observers,
      MeterRegistry registry,
      Consumer<StreamProviderOptions.Builder> extraAgentOptions,
      Supplier<CompletableFuture<Void>> hold) {
    return start(spec, tally, observers, registry, extraAgentOptions, hold, 1);
  }

  /**
   * Builds and starts a runtime for {@code spec} and waits until it owns every partition. Observers
   * are registered in {@code observers} unless it is null. With {@code hold}, observers return the
   * stage it supplies instead of acknowledging (the memory benchmark keeps the cache full that
   * way). With {@code nodes} above 1, that many runtimes share the partitions by static assignment
   * (node i owns the partitions whose index modulo nodes is i), as separate nodes would; they share
   * this JVM and its cores.
   */
  Started start(
      RunSpec spec,
      Tally tally,
      AtomicReferenceArray<KeyObserver> observers,
      MeterRegistry registry,
      Consumer<StreamProviderOptions.Builder> extraAgentOptions,
      Supplier<CompletableFuture<Void>> hold,
      int nodes) {
    String group = BenchKafka.freshGroup(name());
    List<StreamRuntime> runtimes = new ArrayList<>();
    List<KafkaQueueAdapterFactory> factories = new ArrayList<>();
    long start = System.nanoTime();
    for (int node = 0; node < nodes; node++) {
      KafkaQueueAdapterFactory factory = factory(spec, group, hold, nodes > 1);
      int index = node;
      StreamRuntime.Builder rb =
          StreamRuntime.builder()
              .addProvider(
                  "kafka",
                  factory,
                  agents -> {
                    if (options.cacheSize != null) {
                      agents.cacheSize(options.cacheSize);
                    }
                    if (nodes > 1) {
                      agents.balancer(() -> StaticQueueBalancer.share(index, nodes));
                    }
                    extraAgentOptions.accept(agents);
                  })
              .implicitSubscription(
                  "kafka",
                  spec.topic(),
                  id -> {
                    KeyObserver o =
                        new KeyObserver(id, tally, spec.workNanos(), hold, spec.perKey());
                    if (observers != null && !observers.compareAndSet(o.keyIndex, null, o)) {
                      tally.orderError("a second observer was created for " + id);
                    }
                    return o;
                  });
      if (options.runtimeThreads != null) {
        rb.threads(options.runtimeThreads);
      }
      if (registry != null) {
        rb.meterRegistry(registry);
      }
      StreamRuntime runtime = rb.build();
      runtime.start();
      runtimes.add(runtime);
      factories.add(factory);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (factories.stream().mapToInt(f -> f.ownedPartitions().size()).sum() < spec.partitions()) {
      if (System.nanoTime() - deadline > 0) {
        System.err.println("warning: Tributary did not own every partition within 60 s");
        break;
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
    spec.onReady().run();
    return new Started(runtimes, factories, start);
  }

  KafkaQueueAdapterFactory factory(
      RunSpec spec, String group, Supplier<CompletableFuture<Void>> hold, boolean staticShare) {
    KafkaQueueAdapterFactory.Builder kb =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers(kafka.bootstrapServers())
            .consumerGroupId(group)
            .topic(spec.topic(), TopicConfig.existing())
            .direction(StreamProviderDirection.READ_ONLY);
    for (Map.Entry<String, String> e : kafka.extraConsumerProperties().entrySet()) {
      kb.consumerProperty(e.getKey(), e.getValue());
    }
    if (staticShare) {
      kb.staticAssignment();
    }
    if (options.consumerThreads != null) {
      kb.consumerThreads(options.consumerThreads);
    }
    if (hold != null) {
      kb.maxBufferedRecordsPerPartition(1000);
    } else if (options.maxBuffered != null) {
      kb.maxBufferedRecordsPerPartition(options.maxBuffered);
    }
    if (hold == null && options.maxBufferedBytes != null) {
      kb.maxBufferedBytesPerPartition(options.maxBufferedBytes);
    }
    if (options.pollTimeoutMs != null) {
      kb.pollTimeout(java.time.Duration.ofMillis(options.pollTimeoutMs));
    }
    if (options.commitEvery != null) {
      kb.commitEveryRecords(options.commitEvery);
    }
    return kb.build();
  }

  /** One stream's observer: checks the sequence, counts, acknowledges. */
  static final class KeyObserver implements StreamObserver<byte[]> {
    final int keyIndex;
    final long createdNanos = System.nanoTime();
    private final Tally tally;
    private final long workNanos;
    private final Supplier<CompletableFuture<Void>> hold;
    private final ScheduledExecutorService timer = WorkTimer.get();

    /** How many records this key has, or -1 when unknown (no per-key completion). */
    private final int expected;

    /** The next sequence number expected; confined to the agent (its serial executor). */
    int next;

    KeyObserver(
        StreamId id,
        Tally tally,
        long workNanos,
        Supplier<CompletableFuture<Void>> hold,
        int[] perKey) {
      this.keyIndex = Records.keyIndex(id.key());
      this.tally = tally;
      this.workNanos = workNanos;
      this.hold = hold;
      this.expected = perKey == null || !tally.countsKeys() ? -1 : perKey[keyIndex];
    }

    @Override
    public CompletionStage<Void> onNext(byte[] value, StreamSequenceToken token) {
      int k = Records.keyIndex(value);
      int seq = Records.sequence(value);
      if (k != keyIndex || seq != next) {
        tally.orderError(
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
      boolean last = next == expected;
      if (hold != null) {
        return hold.get();
      }
      if (workNanos == 0) {
        tally.counted(value);
        if (last) {
          tally.keyDone();
        }
        return DONE;
      }
      CompletableFuture<Void> done = new CompletableFuture<>();
      timer.schedule(
          () -> {
            tally.counted(value);
            if (last) {
              tally.keyDone();
            }
            done.complete(null);
          },
          workNanos,
          TimeUnit.NANOSECONDS);
      return done;
    }
  }
}
