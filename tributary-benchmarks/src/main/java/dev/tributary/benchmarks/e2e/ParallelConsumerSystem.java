package dev.tributary.benchmarks.e2e;

import io.confluent.parallelconsumer.ParallelConsumerOptions;
import io.confluent.parallelconsumer.ParallelConsumerOptions.ProcessingOrder;
import io.confluent.parallelconsumer.ParallelStreamProcessor;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;

/**
 * (c) Confluent Parallel Consumer with KEY ordering and its default options (maxConcurrency 16,
 * batchSize 1, periodic asynchronous commits), over a KafkaConsumer configured like the others.
 *
 * <p>Parallel Consumer 0.5.3.2 refused to start on kafka-clients 4 (its start-up check of
 * auto-commit reflects into the KafkaConsumer's delegate and did not know kafka-clients 4's {@code
 * ClassicKafkaConsumer}); 0.5.3.3 starts with default options, so it runs in this JVM on the same
 * kafka-clients as the others. Its throughput on kafka-clients 3.9.1 in a separate JVM was the same
 * within 3% (see docs/benchmarks.md).
 *
 * <p>Parallel Consumer's user function is synchronous and runs on its worker pool, so simulated
 * work blocks the worker ({@code parkNanos}) — the model it offers; its maxConcurrency workers
 * bound the throughput to 16 / work.
 */
public final class ParallelConsumerSystem implements SystemUnderTest {
  private final BenchKafka kafka;

  public ParallelConsumerSystem(BenchKafka kafka) {
    this.kafka = kafka;
  }

  @Override
  public String name() {
    return "pc";
  }

  @Override
  public String describe() {
    return "Confluent Parallel Consumer "
        + version()
        + ", ProcessingOrder.KEY, default options otherwise (maxConcurrency 16, batchSize 1,"
        + " periodic async commits)";
  }

  static String version() {
    String pom =
        "/META-INF/maven/io.confluent.parallelconsumer/parallel-consumer-core/pom.properties";
    try (java.io.InputStream in = ParallelStreamProcessor.class.getResourceAsStream(pom)) {
      if (in == null) {
        return "(version unknown)";
      }
      java.util.Properties p = new java.util.Properties();
      p.load(in);
      return p.getProperty("version", "(version unknown)");
    } catch (java.io.IOException e) {
      return "(version unknown)";
    }
  }

  @Override
  public RunResult run(RunSpec spec) {
    int[] perKey = spec.perKey();
    Tally tally =
        new Tally(
            spec.target(),
            spec.latencySamples(),
            perKey == null ? 0 : Tally.keysWithRecords(perKey));
    AtomicIntegerArray next = new AtomicIntegerArray(spec.keys());
    long start = System.nanoTime();
    KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(kafka.consumerProperties(BenchKafka.freshGroup(name())));
    ParallelConsumerOptions<byte[], byte[]> options =
        ParallelConsumerOptions.<byte[], byte[]>builder()
            .consumer(consumer)
            .ordering(ProcessingOrder.KEY)
            .build();
    ParallelStreamProcessor<byte[], byte[]> pc =
        ParallelStreamProcessor.createEosStreamProcessor(options);
    long last;
    String note = null;
    try {
      pc.subscribe(List.of(spec.topic()));
      long work = spec.workNanos();
      pc.poll(
          ctx -> {
            for (ConsumerRecord<byte[], byte[]> r : ctx.getConsumerRecordsFlattened()) {
              String key = new String(r.key(), StandardCharsets.UTF_8);
              byte[] v = r.value();
              int k = Records.keyIndex(v);
              int seq = Records.sequence(v);
              int expected = next.get(k);
              if (seq != expected || k != Records.keyIndex(key)) {
                tally.orderError("key " + k + ": expected " + expected + " got " + seq);
              }
              next.set(k, seq + 1);
              if (work > 0) {
                LockSupport.parkNanos(work);
              }
              tally.delivered(v);
              if (perKey != null && seq + 1 == perKey[k]) {
                tally.keyDone();
              }
            }
          });
      spec.onReady().run();
      last = tally.awaitTarget(spec.timeoutSeconds());
      if (last < 0) {
        note = "timeout after " + spec.timeoutSeconds() + " s with " + tally.progress();
        last = System.nanoTime();
      }
    } finally {
      pc.closeDontDrainFirst(Duration.ofSeconds(30));
    }
    long errors = tally.orderErrors();
    String firstError = tally.firstError();
    if (spec.perKey() != null) {
      for (int k = 0; k < spec.keys(); k++) {
        if (next.get(k) != spec.perKey()[k]) {
          errors++;
          if (firstError == null) {
            firstError = "key " + k + ": saw " + next.get(k) + " of " + spec.perKey()[k];
          }
        }
      }
    }
    if (note == null && firstError != null) {
      note = errors + " errors, first: " + firstError;
    }
    // Parallel Consumer may process a few records past the target before it stops; the rate is
    // taken over the target.
    return new RunResult(
        name(),
        Math.max(0, Math.min(tally.delivered(), spec.target())),
        last - tally.firstNanos(),
        last - start,
        errors,
        note,
        tally.latencies());
  }
}
