package dev.tributary.pekko;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.kafka.TopicConfig;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/** Helpers of the Pekko tests: names, actor systems, a Kafka provider, producing and offsets. */
final class PekkoTestSupport {
  static final Duration WAIT = Duration.ofSeconds(Long.getLong("wait", 60));
  private static final AtomicInteger SEQ = new AtomicInteger();

  /**
   * Test actor systems: no JVM shutdown hook, and a shutdown phase long enough for the runtime's
   * drain.
   */
  static final String CONFIG =
      """
      pekko.jvm-shutdown-hooks = off
      pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
      pekko.coordinated-shutdown.phases.service-requests-done.timeout = 40s
      pekko.log-dead-letters = 0
      pekko.loglevel = INFO
      """;

  private PekkoTestSupport() {}

  static String unique(String prefix) {
    return prefix + "-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
  }

  static ActorSystem<Void> system(String name) {
    return ActorSystem.create(
        Behaviors.empty(), name, com.typesafe.config.ConfigFactory.parseString(CONFIG));
  }

  static void terminate(ActorSystem<?> system) {
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("actor system " + system.name() + " did not terminate", e);
    }
  }

  /** A Kafka provider with test-friendly timings and string values. */
  static KafkaQueueAdapterFactory.Builder kafka(
      KafkaBroker broker, String group, String topic, int partitions) {
    return kafka(broker.bootstrapServers(), group, topic, partitions);
  }

  /**
   * A Kafka provider with test-friendly timings and string values, for a JVM without the broker.
   */
  static KafkaQueueAdapterFactory.Builder kafka(
      String bootstrapServers, String group, String topic, int partitions) {
    return KafkaQueueAdapterFactory.builder()
        .bootstrapServers(bootstrapServers)
        .consumerGroupId(group)
        .topic(topic, TopicConfig.autoCreate(partitions, (short) 1).withValueSerde(Serdes.String()))
        .commitInterval(Duration.ofMillis(100))
        .metadataRefreshInterval(Duration.ofSeconds(1))
        .startupTimeout(Duration.ofSeconds(20))
        .closeTimeout(Duration.ofSeconds(5));
  }

  /**
   * Writes {@code perKey} records "k<i>:<n>" for each of {@code keys} keys with a plain
   * KafkaProducer and waits for every ack; returns the values per key in production order.
   */
  static Map<String, List<String>> produce(
      KafkaBroker broker, String topic, int keys, int perKey, int start) {
    Properties p = broker.adminProperties();
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    Map<String, List<String>> expected = new HashMap<>();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      producer.partitionsFor(topic);
      List<Future<?>> acks = new ArrayList<>();
      for (int n = start; n < start + perKey; n++) {
        for (int k = 0; k < keys; k++) {
          String key = "k" + k;
          String value = key + ":" + n;
          acks.add(producer.send(new ProducerRecord<>(topic, key, value)));
          expected.computeIfAbsent(key, x -> new ArrayList<>()).add(value);
        }
      }
      for (Future<?> f : acks) {
        f.get();
      }
    } catch (Exception e) {
      throw new AssertionError("producing to " + topic + " failed", e);
    }
    return expected;
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** The group's committed offsets of {@code topic}, by partition. */
  static Map<Integer, Long> committed(KafkaBroker broker, String group, String topic) {
    try (Admin admin = broker.admin()) {
      Map<TopicPartition, OffsetAndMetadata> m =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      Map<Integer, Long> out = new HashMap<>();
      m.forEach(
          (tp, o) -> {
            if (tp.topic().equals(topic) && o != null) {
              out.put(tp.partition(), o.offset());
            }
          });
      return out;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /**
   * The group's commits of {@code topic}, by partition: the offset and what Tributary's metadata
   * says was delivered above it.
   */
  static Map<Integer, Commit> commits(KafkaBroker broker, String group, String topic) {
    try (Admin admin = broker.admin()) {
      Map<TopicPartition, OffsetAndMetadata> m =
          admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
      Map<Integer, Commit> out = new HashMap<>();
      m.forEach(
          (tp, o) -> {
            if (tp.topic().equals(topic) && o != null) {
              out.put(tp.partition(), Commit.of(o.offset(), o.metadata()));
            }
          });
      return out;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /**
   * A commit as Tributary writes it: the offset, and in the metadata ({@code "trb1:"} and the
   * URL-safe Base64 of a bit set whose bit i is offset {@code offset + 1 + i}) the offsets above it
   * that were delivered already. A record is done, never delivered again, when it is below the
   * offset or listed.
   */
  record Commit(long offset, java.util.BitSet above) {
    static Commit of(long offset, String metadata) {
      java.util.BitSet bits = new java.util.BitSet();
      if (metadata != null && metadata.startsWith("trb1:")) {
        bits =
            java.util.BitSet.valueOf(
                java.util.Base64.getUrlDecoder().decode(metadata.substring(5)));
      }
      return new Commit(offset, bits);
    }

    @Override
    public String toString() {
      return offset + (above.isEmpty() ? "" : "+" + above.cardinality() + " listed");
    }

    boolean done(long recordOffset) {
      long i = recordOffset - offset - 1;
      return recordOffset < offset || (i >= 0 && i < Integer.MAX_VALUE && above.get((int) i));
    }
  }

  /** The log-end offsets of {@code topic}, by partition. */
  static Map<Integer, Long> endOffsets(KafkaBroker broker, String topic, int partitions) {
    try (Admin admin = broker.admin()) {
      Map<TopicPartition, OffsetSpec> req = new HashMap<>();
      for (int p = 0; p < partitions; p++) {
        req.put(new TopicPartition(topic, p), OffsetSpec.latest());
      }
      Map<Integer, Long> out = new HashMap<>();
      admin.listOffsets(req).all().get().forEach((tp, r) -> out.put(tp.partition(), r.offset()));
      return out;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** Sets the group's committed offsets of {@code topic} (the group must have no member). */
  static void rewind(KafkaBroker broker, String group, String topic, Map<Integer, Long> offsets) {
    try (Admin admin = broker.admin()) {
      Map<TopicPartition, OffsetAndMetadata> m = new HashMap<>();
      offsets.forEach((p, o) -> m.put(new TopicPartition(topic, p), new OffsetAndMetadata(o)));
      admin.alterConsumerGroupOffsets(group, m).all().get();
    } catch (Exception e) {
      throw new AssertionError("rewinding group " + group + " failed", e);
    }
    assertThat(committed(broker, group, topic)).containsAllEntriesOf(offsets);
  }
}
