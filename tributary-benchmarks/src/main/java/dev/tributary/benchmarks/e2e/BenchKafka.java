package dev.tributary.benchmarks.e2e;

import dev.tributary.testkit.kafka.KafkaBroker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The broker the harness measures against (a local one it starts, or an external one), and what
 * every system shares: topics, producers and the consumer configuration.
 */
public final class BenchKafka implements AutoCloseable {

  private final KafkaBroker broker;
  private final String bootstrap;
  private final Admin admin;
  private final Map<String, String> extraConsumerProperties;

  private BenchKafka(KafkaBroker broker, String bootstrap, Map<String, String> extra) {
    this.broker = broker;
    this.bootstrap = bootstrap;
    this.extraConsumerProperties = Map.copyOf(extra);
    Map<String, Object> p = new HashMap<>();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    this.admin = Admin.create(p);
  }

  /** Connects to {@code options.bootstrapServers}, or starts the testkit's local KRaft broker. */
  public static BenchKafka open(BenchOptions options) {
    if (options.bootstrapServers != null) {
      return new BenchKafka(null, options.bootstrapServers, options.consumerProperties);
    }
    KafkaBroker broker =
        KafkaBroker.builder().backend("local").heap(options.brokerHeap).build().start();
    return new BenchKafka(broker, broker.bootstrapServers(), options.consumerProperties);
  }

  public String bootstrapServers() {
    return bootstrap;
  }

  /** Where the local broker logs, or "external". */
  public String describe() {
    return broker == null
        ? "external broker " + bootstrap
        : "local KRaft broker " + bootstrap + " (" + broker.backend() + ")";
  }

  /** A fresh, unique consumer group name. */
  public static String freshGroup(String system) {
    return "bench-" + system + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  /**
   * The consumer configuration all three systems use: what Tributary's adapter sets on its own
   * consumers (no auto-commit, byte-array deserializers, classic protocol with the cooperative
   * sticky assignor, a fresh group reading from the earliest offset) and otherwise Kafka's defaults
   * (max.poll.records 500, fetch sizes), plus any {@code --consumer-property}.
   */
  public Map<String, Object> consumerProperties(String group) {
    Map<String, Object> p = new HashMap<>();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
    p.put(
        ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
        CooperativeStickyAssignor.class.getName());
    p.put(ConsumerConfig.METADATA_MAX_AGE_CONFIG, "30000");
    p.putAll(extraConsumerProperties);
    return p;
  }

  /**
   * Writes {@link #consumerProperties} without a group to a temporary file (deleted at exit), for a
   * JVM the harness forks.
   */
  public java.nio.file.Path consumerPropertiesFile() throws java.io.IOException {
    java.nio.file.Path file = java.nio.file.Files.createTempFile("bench-consumer", ".properties");
    java.util.Properties p = new java.util.Properties();
    for (Map.Entry<String, Object> e : consumerProperties("unused").entrySet()) {
      if (!e.getKey().equals(ConsumerConfig.GROUP_ID_CONFIG)) {
        p.setProperty(e.getKey(), String.valueOf(e.getValue()));
      }
    }
    try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(file)) {
      p.store(out, "consumer configuration shared by all systems");
    }
    file.toFile().deleteOnExit();
    return file;
  }

  /** The {@code --consumer-property} settings, to hand to Tributary's builder. */
  public Map<String, String> extraConsumerProperties() {
    return extraConsumerProperties;
  }

  /**
   * Creates {@code topic} with {@code partitions} partitions, replication 1, and waits until every
   * partition has a leader.
   */
  public void createTopic(String topic, int partitions) {
    try {
      admin
          .createTopics(List.of(new NewTopic(topic, partitions, (short) 1)))
          .all()
          .get(60, TimeUnit.SECONDS);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (true) {
        try {
          TopicDescription d =
              admin
                  .describeTopics(Set.of(topic))
                  .allTopicNames()
                  .get(60, TimeUnit.SECONDS)
                  .get(topic);
          if (d.partitions().size() == partitions
              && d.partitions().stream()
                  .allMatch(p -> p.leader() != null && !p.leader().isEmpty())) {
            // The metadata says who leads before the leader has loaded the partition; a produce in
            // that window fails with NOT_LEADER_OR_FOLLOWER, and the idempotent producer's retry
            // can then be refused as out of order. ListOffsets is answered by the loaded leader.
            Map<TopicPartition, OffsetSpec> request = new HashMap<>();
            for (int i = 0; i < partitions; i++) {
              request.put(new TopicPartition(topic, i), OffsetSpec.latest());
            }
            admin.listOffsets(request).all().get(60, TimeUnit.SECONDS);
            return;
          }
        } catch (ExecutionException notYet) {
          // The metadata of a new topic propagates asynchronously; ask again.
        }
        if (System.nanoTime() - deadline > 0) {
          throw new IllegalStateException("partitions of " + topic + " have no leader after 60 s");
        }
        Thread.sleep(50);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topic " + topic, e);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("cannot create topic " + topic, e);
    }
  }

  /** Deletes {@code topic}, best effort: sweeps would otherwise fill the broker's disk. */
  public void deleteTopic(String topic) {
    try {
      admin.deleteTopics(Set.of(topic)).all().get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      System.err.println("warning: could not delete topic " + topic + ": " + e);
    }
  }

  /**
   * A producer for pre-producing: batched, idempotent (acks=all), so that a retry after a leader
   * change right after topic creation cannot reorder a key's records.
   */
  public KafkaProducer<byte[], byte[]> bulkProducer() {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "20");
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(256 * 1024));
    p.put(ProducerConfig.BUFFER_MEMORY_CONFIG, Long.toString(128L * 1024 * 1024));
    return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /**
   * A producer for latency runs: {@code linger.ms=0} (Kafka 4's default is 5 ms, which would add
   * the same delay to every system and hide the consumers' own latency), idempotent.
   */
  public KafkaProducer<byte[], byte[]> latencyProducer() {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /**
   * Creates a topic and writes {@code records} records to it, keys drawn uniformly (fixed seed)
   * from {@code keys} keys, and returns what was written.
   */
  public Dataset produce(String prefix, long records, int partitions, int keys, int valueSize) {
    String topic =
        prefix
            + "-"
            + partitions
            + "p-"
            + keys
            + "k-"
            + records
            + "-"
            + UUID.randomUUID().toString().substring(0, 6);
    createTopic(topic, partitions);
    int[] perKey = new int[keys];
    byte[][] keyBytes = new byte[keys][];
    for (int k = 0; k < keys; k++) {
      keyBytes[k] = Records.key(k).getBytes(StandardCharsets.UTF_8);
    }
    SplittableRandom random = new SplittableRandom(42);
    AtomicReference<Exception> failure = new AtomicReference<>();
    long began = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer = bulkProducer()) {
      for (long i = 0; i < records; i++) {
        int k = random.nextInt(keys);
        byte[] value = new byte[valueSize];
        Records.write(value, k, perKey[k]++, 0);
        producer.send(
            new ProducerRecord<>(topic, keyBytes[k], value),
            (md, e) -> {
              if (e != null) {
                failure.compareAndSet(null, e);
              }
            });
        if (failure.get() != null) {
          break;
        }
      }
      producer.flush();
    }
    if (failure.get() != null) {
      throw new IllegalStateException(
          "producing to " + topic + " failed; " + brokerState(), failure.get());
    }
    double secs = (System.nanoTime() - began) / 1e9;
    System.out.printf(
        "produced %,d records (%d B values, %,d keys) to %s in %.1f s (%,.0f records/s)%n",
        records, valueSize, keys, topic, secs, records / secs);
    return new Dataset(topic, partitions, keys, valueSize, records, perKey);
  }

  /** Whether the local broker runs, and the end of its log, for error messages. */
  public String brokerState() {
    if (broker == null) {
      return "external broker " + bootstrap;
    }
    StringBuilder sb = new StringBuilder("local broker running: " + broker.isRunning());
    broker
        .logFile()
        .ifPresent(
            log -> {
              try {
                List<String> lines = java.nio.file.Files.readAllLines(log);
                sb.append("; last lines of ").append(log).append(":\n");
                for (String l : lines.subList(Math.max(0, lines.size() - 40), lines.size())) {
                  sb.append(l).append('\n');
                }
              } catch (java.io.IOException | RuntimeException e) {
                sb.append("; cannot read ").append(log).append(": ").append(e);
              }
            });
    return sb.toString();
  }

  @Override
  public void close() {
    admin.close(Duration.ofSeconds(10));
    if (broker != null) {
      broker.close();
    }
  }

  /** What was pre-produced to a topic. */
  public record Dataset(
      String topic, int partitions, int keys, int valueSize, long records, int[] perKey) {}
}
