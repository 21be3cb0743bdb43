package dev.tributary.benchmarks.e2e;

import dev.tributary.StreamObserver;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSequenceToken;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.kafka.TopicConfig;
import dev.tributary.spi.StreamProviderDirection;
import java.io.FileInputStream;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * One cold start, in a fresh JVM (see {@link StartupBenchmark}): a producer in this JVM sends
 * {@code rate} records per second to an empty topic from the moment the consumer starts, as a live
 * topic would, and the consumer, a raw {@link KafkaConsumer} or a Tributary runtime, joins a fresh
 * group with the harness's consumer settings. Prints one {@code STARTUP} line: time from start to
 * owning every partition, to the first delivery, and the latency (producer send to delivery) by
 * second of the run.
 *
 * <p>Arguments: {@code raw|tributary BOOTSTRAP TOPIC PARTITIONS KEYS RATE SECONDS PROPERTIES_FILE}.
 */
public final class StartupProbe {
  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  private final long t0;
  private final long[] deliveredAt;
  private final long[] latency;
  private final AtomicInteger count = new AtomicInteger();
  private final AtomicLong first = new AtomicLong();

  private StartupProbe(long t0, int capacity) {
    this.t0 = t0;
    this.deliveredAt = new long[capacity];
    this.latency = new long[capacity];
  }

  public static void main(String[] args) throws Exception {
    String system = args[0];
    String bootstrap = args[1];
    String topic = args[2];
    int partitions = Integer.parseInt(args[3]);
    int keys = Integer.parseInt(args[4]);
    int rate = Integer.parseInt(args[5]);
    int seconds = Integer.parseInt(args[6]);
    Properties p = new Properties();
    try (InputStream in = new FileInputStream(args[7])) {
      p.load(in);
    }
    Map<String, Object> consumerProps = new HashMap<>();
    p.stringPropertyNames().forEach(k -> consumerProps.put(k, p.getProperty(k)));
    consumerProps.put("group.id", BenchKafka.freshGroup(system));

    long jvmMillis = ManagementFactory.getRuntimeMXBean().getUptime();
    long t0 = System.nanoTime();
    StartupProbe probe = new StartupProbe(t0, rate * (seconds + 5));
    Thread producer = probe.producer(bootstrap, topic, keys, rate, seconds);
    long[] owned = {0};
    long startReturned;
    if (system.equals("raw")) {
      startReturned = probe.raw(consumerProps, topic, partitions, seconds, owned);
    } else {
      startReturned = probe.tributary(consumerProps, topic, partitions, seconds, owned);
    }
    producer.join();
    System.out.println("STARTUP " + probe.report(jvmMillis, startReturned, owned[0], seconds));
    System.exit(0);
  }

  /** Starts the producer thread: record i at t0 + i / rate, a late producer sends at once. */
  private Thread producer(String bootstrap, String topic, int keys, int rate, int seconds) {
    Thread t =
        new Thread(
            () -> {
              Map<String, Object> p = new HashMap<>();
              p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
              p.put(ProducerConfig.ACKS_CONFIG, "all");
              p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
              p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
              SplittableRandom random = new SplittableRandom(7);
              int[] next = new int[keys];
              byte[][] keyBytes = new byte[keys][];
              for (int k = 0; k < keys; k++) {
                keyBytes[k] = Records.key(k).getBytes(StandardCharsets.UTF_8);
              }
              long total = (long) rate * seconds;
              try (KafkaProducer<byte[], byte[]> producer =
                  new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
                for (long i = 0; i < total; i++) {
                  long due = t0 + i * 1_000_000_000L / rate;
                  long wait = due - System.nanoTime();
                  if (wait > 0) {
                    LockSupport.parkNanos(wait);
                  }
                  int k = random.nextInt(keys);
                  byte[] value = new byte[100];
                  Records.write(value, k, next[k]++, System.nanoTime());
                  producer.send(new ProducerRecord<>(topic, keyBytes[k], value));
                }
                producer.flush();
              }
            },
            "startup-producer");
    t.start();
    return t;
  }

  private void delivered(byte[] value) {
    long now = System.nanoTime();
    if (first.get() == 0) {
      first.compareAndSet(0, now);
    }
    int i = count.getAndIncrement();
    if (i < latency.length) {
      long sent = Records.sendNanos(value);
      deliveredAt[i] = now - t0;
      latency[i] = now - sent;
    }
  }

  private long raw(
      Map<String, Object> props, String topic, int partitions, int seconds, long[] owned) {
    long end = t0 + TimeUnit.SECONDS.toNanos(seconds + 2);
    long startReturned;
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      consumer.subscribe(
          List.of(topic),
          new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> p) {}

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> p) {
              if (owned[0] == 0 && consumer.assignment().size() >= partitions) {
                owned[0] = System.nanoTime();
              }
            }
          });
      startReturned = System.nanoTime();
      while (System.nanoTime() < end) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          new String(r.key(), StandardCharsets.UTF_8).hashCode();
          delivered(r.value());
        }
      }
    }
    return startReturned;
  }

  private long tributary(
      Map<String, Object> props, String topic, int partitions, int seconds, long[] owned) {
    KafkaQueueAdapterFactory.Builder kb =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers((String) props.get("bootstrap.servers"))
            .consumerGroupId((String) props.get("group.id"))
            .topic(topic, TopicConfig.existing())
            .direction(StreamProviderDirection.READ_ONLY);
    KafkaQueueAdapterFactory factory = kb.build();
    StreamRuntime runtime =
        StreamRuntime.builder()
            .addProvider("kafka", factory)
            .implicitSubscription(
                "kafka",
                topic,
                id ->
                    new StreamObserver<byte[]>() {
                      @Override
                      public CompletionStage<Void> onNext(byte[] item, StreamSequenceToken token) {
                        delivered(item);
                        return DONE;
                      }
                    })
            .build();
    runtime.start();
    long startReturned = System.nanoTime();
    while (factory.ownedPartitions().size() < partitions
        && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(60)) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
    owned[0] = System.nanoTime();
    LockSupport.parkNanos(t0 + TimeUnit.SECONDS.toNanos(seconds + 2) - System.nanoTime());
    runtime.close();
    return startReturned;
  }

  /**
   * {@code jvm=MS start=MS owned=MS first=MS n=N s0=p50/p99/max,... steady=p50/p99}: milliseconds
   * from t0 (just before the consumer is built); s0..s9 the latency of what was delivered in each
   * second of the run; steady the rest of the run.
   */
  private String report(long jvmMillis, long startReturned, long owned, int seconds) {
    int n = Math.min(count.get(), latency.length);
    StringBuilder sb =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "jvm=%d start=%.1f owned=%.1f first=%.1f n=%d",
                jvmMillis,
                (startReturned - t0) / 1e6,
                owned == 0 ? Double.NaN : (owned - t0) / 1e6,
                first.get() == 0 ? Double.NaN : (first.get() - t0) / 1e6,
                n));
    for (int s = 0; s <= 10; s++) {
      long lo = TimeUnit.SECONDS.toNanos(s);
      long hi = s == 10 ? Long.MAX_VALUE : TimeUnit.SECONDS.toNanos(s + 1);
      long[] bucket = new long[n];
      int m = 0;
      for (int i = 0; i < n; i++) {
        if (deliveredAt[i] >= lo && deliveredAt[i] < hi) {
          bucket[m++] = latency[i];
        }
      }
      long[] b = Arrays.copyOf(bucket, m);
      Arrays.sort(b);
      sb.append(String.format(Locale.ROOT, " %s=%s", s == 10 ? "steady" : "s" + s, pct(b)));
    }
    return sb.toString();
  }

  private static String pct(long[] sorted) {
    if (sorted.length == 0) {
      return "-";
    }
    return String.format(
        Locale.ROOT,
        "%.2f/%.2f/%.2f/%d",
        sorted[(int) Math.min(sorted.length - 1, Math.ceil(0.50 * sorted.length) - 1)] / 1e6,
        sorted[(int) Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)] / 1e6,
        sorted[sorted.length - 1] / 1e6,
        sorted.length);
  }
}
