package dev.tributary.chaos;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Writes the run's records at a steady rate on a thread of its own: keys {@code k0..k(K-1)} in
 * turn, each with its own sequence 0, 1, 2, ..., with {@code acks=all} and the idempotent producer,
 * and appends every acknowledged record (with its partition and offset) or failed send to {@code
 * produced.ledger}. {@link #injectPoison(int)} makes the next records undecodable.
 */
final class ChaosProducer implements AutoCloseable {

  private final KafkaProducer<byte[], byte[]> producer;
  private final LedgerWriter ledger;
  private final String topic;
  private final int keys;
  private final int ratePerSecond;
  private final long[] sequences;
  private final AtomicInteger poison = new AtomicInteger();
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong acked = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final Thread thread;
  private volatile boolean running = true;

  ChaosProducer(String bootstrap, String topic, int keys, int ratePerSecond, Path dir) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    p.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "500");
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "300000");
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "chaos-producer");
    this.producer = new KafkaProducer<>(p);
    this.ledger = new LedgerWriter(dir.resolve("produced.ledger"));
    this.topic = topic;
    this.keys = keys;
    this.ratePerSecond = ratePerSecond;
    this.sequences = new long[keys];
    this.thread = new Thread(this::run, "chaos-producer");
  }

  void start() {
    producer.partitionsFor(topic);
    thread.start();
  }

  /** The next {@code count} records are poison (a value the nodes' deserializer rejects). */
  void injectPoison(int count) {
    poison.addAndGet(count);
  }

  long sent() {
    return sent.get();
  }

  long acked() {
    return acked.get();
  }

  long failed() {
    return failed.get();
  }

  private void run() {
    long intervalNanos = TimeUnit.SECONDS.toNanos(1) / ratePerSecond;
    long next = System.nanoTime();
    int key = 0;
    while (running) {
      // Pacing to a fixed rate: waiting for the next send instant, not for an outcome.
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
        continue;
      }
      next += intervalNanos;
      String k = "k" + key;
      long seq = sequences[key]++;
      key = (key + 1) % keys;
      boolean isPoison = poison.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0;
      byte[] value = ChaosValues.value(k, seq, isPoison).getBytes(StandardCharsets.UTF_8);
      sent.incrementAndGet();
      producer.send(
          new ProducerRecord<>(topic, k.getBytes(StandardCharsets.UTF_8), value),
          (md, e) -> {
            long now = System.currentTimeMillis();
            if (e == null) {
              acked.incrementAndGet();
              ledger.append(Ledger.produced(k, seq, md.partition(), md.offset(), now, isPoison));
            } else {
              failed.incrementAndGet();
              ledger.append(Ledger.failed(k, seq, now, e.toString()));
            }
          });
    }
  }

  /** Stops sending and waits until every record sent was acknowledged or failed. */
  void stop() {
    running = false;
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producer.flush();
  }

  @Override
  public void close() {
    stop();
    producer.close();
    ledger.close();
  }
}
