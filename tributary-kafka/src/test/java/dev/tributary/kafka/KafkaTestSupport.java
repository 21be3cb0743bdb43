package dev.tributary.kafka;

import static dev.tributary.testkit.DeliveryHarness.IMPLICIT;

import dev.tributary.StreamId;
import dev.tributary.testkit.Delivery;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;

/**
 * Helpers shared by the real-broker tests: unique names, producing, offsets, and checks over what a
 * {@link DeliveryHarness} recorded.
 */
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
   * Checks what every delivery test claims, for each key of {@code expected}: the implicit
   * subscription received exactly its values, in production order; and on every stream it recorded
   * no event arrived twice or out of offset order.
   */
  static void assertComplete(
      DeliveryHarness rec, String topic, Map<String, List<String>> expected) {
    for (Map.Entry<String, List<String>> e : expected.entrySet()) {
      rec.assertExactly(IMPLICIT, StreamId.of(topic, e.getKey()), e.getValue());
    }
    rec.assertInOrderNoDuplicates();
  }

  /**
   * At-least-once: for each key of {@code expected}, the implicit subscription received every value
   * and its first deliveries came in production and offset order; replays are allowed (count them
   * with {@link DeliveryHarness#duplicates()}).
   */
  static void assertCompleteWithReplays(
      DeliveryHarness rec, String topic, Map<String, List<String>> expected) {
    for (Map.Entry<String, List<String>> e : expected.entrySet()) {
      rec.assertDeliveredAtLeastOnce(IMPLICIT, StreamId.of(topic, e.getKey()), e.getValue());
    }
  }

  /** The offsets the implicit subscription received, over every stream. */
  static List<Long> offsets(DeliveryHarness rec) {
    List<Long> out = new ArrayList<>();
    for (Delivery d : rec.deliveries(IMPLICIT)) {
      out.add(d.token().sequenceNumber());
    }
    return out;
  }
}
