package dev.tributary.benchmarks.e2e;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * (a) The ceiling: one {@link KafkaConsumer} on one thread, polling and touching every record the
 * way an application routing by key would (key decoded to a String, value header parsed, per-key
 * sequence checked in an array). No commits, no hand-off to other threads.
 */
public final class RawConsumerSystem implements SystemUnderTest {
  private final BenchKafka kafka;

  public RawConsumerSystem(BenchKafka kafka) {
    this.kafka = kafka;
  }

  @Override
  public String name() {
    return "raw";
  }

  @Override
  public String describe() {
    return "KafkaConsumer poll loop on one thread: key decoded to String, value header parsed,"
        + " per-key sequence checked; no commits";
  }

  @Override
  public RunResult run(RunSpec spec) {
    ThreadCpu cpuBefore = ThreadCpu.snapshot();
    long start = System.nanoTime();
    long deadline = start + TimeUnit.SECONDS.toNanos(spec.timeoutSeconds());
    int[] next = new int[spec.keys()];
    long[] latencies = new long[spec.latencySamples()];
    int latencyCount = 0;
    long n = 0;
    long errors = 0;
    String firstError = null;
    long checksum = 0;
    long first = 0;
    long last;
    String note = null;
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(kafka.consumerProperties(BenchKafka.freshGroup(name())))) {
      consumer.subscribe(List.of(spec.topic()), new ReadySignal(consumer, spec));
      while (n < spec.target()) {
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(100));
        if (records.isEmpty()) {
          if (System.nanoTime() - deadline > 0) {
            note = "timeout after " + spec.timeoutSeconds() + " s";
            break;
          }
          continue;
        }
        if (first == 0) {
          first = System.nanoTime();
        }
        for (ConsumerRecord<byte[], byte[]> r : records) {
          String key = new String(r.key(), StandardCharsets.UTF_8);
          checksum += key.hashCode();
          byte[] v = r.value();
          int k = Records.keyIndex(v);
          int seq = Records.sequence(v);
          if (seq != next[k]) {
            errors++;
            if (firstError == null) {
              firstError = "key " + k + ": expected " + next[k] + " got " + seq;
            }
          }
          next[k] = seq + 1;
          if (latencyCount < latencies.length) {
            long sent = Records.sendNanos(v);
            if (sent != 0) {
              latencies[latencyCount++] = System.nanoTime() - sent;
            }
          }
          n++;
        }
      }
      last = System.nanoTime();
      if (n > 0) {
        System.out.println("                " + ThreadCpu.snapshot().perRecordSince(cpuBefore, n));
      }
    }
    if (spec.perKey() != null) {
      for (int k = 0; k < spec.keys(); k++) {
        if (next[k] != spec.perKey()[k]) {
          errors++;
          if (firstError == null) {
            firstError = "key " + k + ": saw " + next[k] + " of " + spec.perKey()[k];
          }
        }
      }
    }
    if (checksum == 42) {
      System.out.print(""); // keeps the key decoding observable to the JIT
    }
    if (note == null && firstError != null) {
      note = errors + " errors, first: " + firstError;
    }
    return new RunResult(
        name(),
        n,
        last - first,
        last - start,
        errors,
        note,
        java.util.Arrays.copyOf(latencies, latencyCount));
  }

  /** Runs the spec's ready callback once every partition is assigned. */
  private static final class ReadySignal implements ConsumerRebalanceListener {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final RunSpec spec;
    private boolean fired;

    ReadySignal(KafkaConsumer<byte[], byte[]> consumer, RunSpec spec) {
      this.consumer = consumer;
      this.spec = spec;
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {}

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      if (!fired && consumer.assignment().size() >= spec.partitions()) {
        fired = true;
        spec.onReady().run();
      }
    }
  }
}
