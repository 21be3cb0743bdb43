package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamSequenceToken;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;

/** Helpers shared by the real-broker tests: unique names, producing, offsets, a recorder. */
final class KafkaTestSupport {
  private static final AtomicInteger SEQ = new AtomicInteger();

  private KafkaTestSupport() {}

  static String unique(String prefix) {
    return prefix + "-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
  }

  /** A builder with test-friendly timings; string values. */
  static KafkaQueueAdapterFactory.Builder factory(KafkaBroker broker, String group) {
    return KafkaQueueAdapterFactory.builder()
        .bootstrapServers(broker.bootstrapServers())
        .consumerGroupId(group)
        .commitInterval(Duration.ofMillis(100))
        .metadataRefreshInterval(Duration.ofSeconds(1))
        .startupTimeout(Duration.ofSeconds(20))
        .closeTimeout(Duration.ofSeconds(5));
  }

  static TopicConfig strings(int partitions) {
    return TopicConfig.autoCreate(partitions, (short) 1).withValueSerde(Serdes.String());
  }

  static KafkaProducer<byte[], byte[]> producer(KafkaBroker broker) {
    Properties p = broker.adminProperties();
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    return new KafkaProducer<>(p);
  }

  static byte[] utf8(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Writes {@code perKey} records for each of {@code keys} keys, values "key:i" in order, with a
   * plain KafkaProducer, and waits for every ack. Returns the expected values per key.
   */
  static Map<String, List<String>> produce(
      KafkaBroker broker, String topic, int keys, int perKey, int startIndex) {
    Map<String, List<String>> expected = new HashMap<>();
    try (KafkaProducer<byte[], byte[]> p = producer(broker)) {
      // Metadata first: a first batch sent to a stale leader of a just-created topic can leave the
      // idempotent producer retrying OUT_OF_ORDER_SEQUENCE on a loaded machine.
      p.partitionsFor(topic);
      List<java.util.concurrent.Future<?>> acks = new ArrayList<>();
      for (int i = startIndex; i < startIndex + perKey; i++) {
        for (int k = 0; k < keys; k++) {
          String key = "k" + k;
          String value = key + ":" + i;
          acks.add(p.send(new ProducerRecord<>(topic, utf8(key), utf8(value))));
          expected.computeIfAbsent(key, x -> new ArrayList<>()).add(value);
        }
      }
      for (var f : acks) {
        f.get();
      }
    } catch (Exception e) {
      throw new AssertionError("producing to " + topic + " failed", e);
    }
    return expected;
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

  /**
   * Records every delivery per stream: value, offset and the thread-free order in which it came.
   * Checks what every delivery test claims: all events arrived, per-stream offset order holds,
   * duplicates are counted.
   */
  static final class Recorder {
    final Map<StreamId, List<Long>> offsets = new ConcurrentHashMap<>();
    final Map<StreamId, List<Object>> values = new ConcurrentHashMap<>();
    final AtomicInteger total = new AtomicInteger();

    <T> StreamObserver<T> observer(StreamId id) {
      return (item, token) -> {
        record(id, item, token);
        return CompletableFuture.completedFuture(null);
      };
    }

    <T> Function<StreamId, StreamObserver<T>> factory() {
      return this::observer;
    }

    void record(StreamId id, Object item, StreamSequenceToken token) {
      offsets.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>()).add(token.sequenceNumber());
      values.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>()).add(item);
      total.incrementAndGet();
    }

    int total() {
      return total.get();
    }

    /** Distinct values received, over all streams. */
    int distinct() {
      int n = 0;
      for (List<Object> v : values.values()) {
        n += Set.copyOf(v).size();
      }
      return n;
    }

    int duplicates() {
      return total() - distinct();
    }

    /**
     * Every expected value arrived for its key in production order; per stream, offsets increase
     * except where a replay restarts from an earlier offset (at-least-once), and the first
     * occurrences of offsets are strictly increasing.
     */
    void assertComplete(String topic, Map<String, List<String>> expected, boolean allowReplays) {
      for (Map.Entry<String, List<String>> e : expected.entrySet()) {
        StreamId id = StreamId.of(topic, e.getKey());
        List<Object> got = values.getOrDefault(id, List.of());
        List<Object> firsts = new ArrayList<>(new java.util.LinkedHashSet<>(got));
        assertThat(firsts).as("values of %s in first-delivery order", id).isEqualTo(e.getValue());
        List<Long> offs = offsets.get(id);
        List<Long> firstOffsets = new ArrayList<>(new java.util.LinkedHashSet<>(offs));
        assertThat(firstOffsets).as("offsets of %s", id).isSorted();
        if (!allowReplays) {
          assertThat(offs).as("offsets of %s, without duplicates", id).doesNotHaveDuplicates();
        }
      }
    }
  }
}
