package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.assertComplete;
import static dev.tributary.kafka.KafkaTestSupport.committed;
import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static dev.tributary.kafka.KafkaTestSupport.utf8;
import static dev.tributary.testkit.DeliveryHarness.IMPLICIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamRuntime;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.kafka.KafkaBroker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** Poison records and handlers that keep failing go to the dead-letter topic or are skipped. */
class KafkaFailurePolicyTest {
  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(60);

  /** Rejects values that start with "poison", like a schema-aware deserializer would. */
  static final class PickyDeserializer implements Deserializer<String> {
    @Override
    public String deserialize(String topic, byte[] data) {
      String s = new String(data, StandardCharsets.UTF_8);
      if (s.startsWith("poison")) {
        throw new SerializationException("cannot read '" + s + "'");
      }
      return s;
    }
  }

  private static TopicConfig picky() {
    return TopicConfig.autoCreate(1, (short) 1)
        .withValueDeserializer(new PickyDeserializer())
        .withValueSerializer(new StringSerializer());
  }

  /** Fails every event of key "bad"; acknowledges the rest. */
  private static final Behavior FAIL_BAD =
      (id, item, token, attempt) ->
          id.key().equals("bad")
              ? CompletableFuture.failedFuture(new IllegalStateException("handler rejects " + item))
              : CompletableFuture.completedFuture(null);

  private static List<String> expectedGood() {
    List<String> expectedGood = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      if (i != 7) {
        expectedGood.add("good:" + i);
      }
    }
    return expectedGood;
  }

  private static void write(String topic, List<String[]> keyValues) throws Exception {
    try (KafkaProducer<byte[], byte[]> p = KafkaTestSupport.producer(broker)) {
      for (String[] kv : keyValues) {
        p.send(new ProducerRecord<>(topic, utf8(kv[0]), utf8(kv[1]))).get();
      }
    }
  }

  private static List<String[]> records() {
    List<String[]> out = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      out.add(new String[] {"good", i == 7 ? "poison-7" : "good:" + i});
      if (i % 5 == 0) {
        out.add(new String[] {"bad", "bad:" + i});
      }
    }
    return out;
  }

  @Test
  void poisonRecordAndAlwaysFailingHandler_goToTheDeadLetterTopicWithTheirOrigin()
      throws Exception {
    String topic = unique("policy");
    String dlt = topic + ".dlt";
    String group = unique("g");
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    DeliveryHarness rec = DeliveryHarness.create();
    KafkaQueueAdapterFactory f =
        factory(broker, group)
            .topic(topic, picky())
            .deadLetterTopic(dlt, TopicConfig.autoCreate(1, (short) 1))
            .build();
    try (StreamRuntime rt =
        StreamRuntime.builder()
            .addProvider(
                "kafka",
                f,
                o ->
                    o.maxEventDeliveryTime(Duration.ofMillis(300))
                        .deliveryBackoff(BackoffPolicy.fixed(Duration.ofMillis(50))))
            .implicitSubscription("kafka", topic, rec.observerFactory(IMPLICIT, FAIL_BAD))
            .meterRegistry(registry)
            .threads(2)
            .build()) {
      rt.start();
      write(topic, records());
      await().atMost(WAIT).until(() -> rec.count() >= 19);
      assertComplete(rec, topic, Map.of("good", expectedGood()));

      List<ConsumerRecord<byte[], byte[]>> letters = readAll(dlt, 5);
      Map<String, ConsumerRecord<byte[], byte[]>> byValue = new HashMap<>();
      for (ConsumerRecord<byte[], byte[]> r : letters) {
        byValue.put(new String(r.value(), StandardCharsets.UTF_8), r);
      }
      assertThat(byValue).containsOnlyKeys("poison-7", "bad:0", "bad:5", "bad:10", "bad:15");
      ConsumerRecord<byte[], byte[]> poison = byValue.get("poison-7");
      assertThat(header(poison, DeadLetterWriter.H_REASON)).isEqualTo("poison");
      assertThat(header(poison, DeadLetterWriter.H_TOPIC)).isEqualTo(topic);
      assertThat(header(poison, DeadLetterWriter.H_PARTITION)).isEqualTo("0");
      assertThat(header(poison, DeadLetterWriter.H_OFFSET)).isEqualTo("9");
      assertThat(header(poison, DeadLetterWriter.H_EXCEPTION_CLASS))
          .isEqualTo(SerializationException.class.getName());
      assertThat(header(poison, DeadLetterWriter.H_EXCEPTION_MESSAGE))
          .isEqualTo("cannot read 'poison-7'");
      assertThat(new String(poison.key(), StandardCharsets.UTF_8)).isEqualTo("good");
      ConsumerRecord<byte[], byte[]> bad = byValue.get("bad:5");
      assertThat(header(bad, DeadLetterWriter.H_REASON)).isEqualTo("undeliverable");
      assertThat(header(bad, DeadLetterWriter.H_EXCEPTION_MESSAGE))
          .isEqualTo("handler rejects bad:5");
      assertThat(header(bad, DeadLetterWriter.H_SUBSCRIPTION)).isNotBlank();
      assertThat(header(bad, DeadLetterWriter.H_STREAM_KEY)).isEqualTo("bad");

      // Everything is accounted for, so the commit reaches the log end (24 records).
      await().atMost(WAIT).until(() -> committed(broker, group, topic).getOrDefault(0, 0L) == 24L);
      assertThat(registry.get(KafkaMetrics.POISON).tag("topic", topic).counter().count())
          .isEqualTo(1);
      assertThat(
              registry
                  .get(KafkaMetrics.DEAD_LETTERED)
                  .tag("topic", topic)
                  .tag("reason", "undeliverable")
                  .counter()
                  .count())
          .isEqualTo(4);
    }
  }

  @Test
  void skipPolicy_logsCountsAndKeepsTheRecordsFlowing() throws Exception {
    String topic = unique("skip");
    String group = unique("g");
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    DeliveryHarness rec = DeliveryHarness.create();
    KafkaQueueAdapterFactory f = factory(broker, group).topic(topic, picky()).build();
    try (StreamRuntime rt =
        StreamRuntime.builder()
            .addProvider(
                "kafka",
                f,
                o ->
                    o.maxEventDeliveryTime(Duration.ofMillis(200))
                        .deliveryBackoff(BackoffPolicy.fixed(Duration.ofMillis(50))))
            .implicitSubscription("kafka", topic, rec.observerFactory(IMPLICIT, FAIL_BAD))
            .meterRegistry(registry)
            .threads(2)
            .build()) {
      rt.start();
      List<String[]> records = records();
      // A poison record last: the commit must still pass it once everything else is delivered.
      records.add(new String[] {"good", "poison-last"});
      write(topic, records);
      await().atMost(WAIT).until(() -> rec.count() >= 19);
      await().atMost(WAIT).until(() -> committed(broker, group, topic).getOrDefault(0, 0L) == 25L);
      assertComplete(rec, topic, Map.of("good", expectedGood()));
      assertThat(
              registry
                  .get(KafkaMetrics.SKIPPED)
                  .tag("topic", topic)
                  .tag("reason", "poison")
                  .counter()
                  .count())
          .isEqualTo(2);
      assertThat(
              registry
                  .get(KafkaMetrics.SKIPPED)
                  .tag("topic", topic)
                  .tag("reason", "undeliverable")
                  .counter()
                  .count())
          .isEqualTo(4);
    }
  }

  /**
   * Item 2 of the delivery-correctness issue: with {@code batchContainerBatchSize > 1} a batch
   * observer that keeps failing used to hand only the last record of a failed call to the policy;
   * the records in between were neither delivered nor dead-lettered, and the commit passed them.
   * Every record of a given-up call is dead-lettered now: delivered + dead-lettered = produced.
   */
  @Test
  void failedBatchCalls_deadLetterEveryRecordOfTheCall() throws Exception {
    String topic = unique("batch-dlt");
    String dlt = topic + ".dlt";
    String group = unique("g");
    DeliveryHarness rec = DeliveryHarness.create();
    AtomicInteger largestFailedCall = new AtomicInteger();
    Behavior failBadCalls =
        (id, items, token, attempt) -> {
          if (id.key().equals("bad")) {
            int size = ((List<?>) items).size();
            largestFailedCall.accumulateAndGet(size, Math::max);
            return CompletableFuture.failedFuture(new IllegalStateException("rejects " + size));
          }
          return CompletableFuture.completedFuture(null);
        };
    KafkaQueueAdapterFactory f =
        factory(broker, group)
            .topic(topic, picky())
            .deadLetterTopic(dlt, TopicConfig.autoCreate(1, (short) 1))
            .build();
    int good = 30;
    int bad = 24;
    try (StreamRuntime rt =
        StreamRuntime.builder()
            .addProvider(
                "kafka",
                f,
                o ->
                    o.batchContainerBatchSize(8)
                        .maxEventDeliveryTime(Duration.ofMillis(200))
                        .deliveryBackoff(BackoffPolicy.fixed(Duration.ofMillis(50))))
            .implicitBatchSubscription(
                "kafka", topic, rec.batchObserverFactory(IMPLICIT, failBadCalls))
            .threads(2)
            .build()) {
      rt.start();
      List<String[]> records = new ArrayList<>();
      for (int i = 0; i < Math.max(good, bad); i++) {
        if (i < bad) {
          records.add(new String[] {"bad", "bad:" + i});
        }
        if (i < good) {
          records.add(new String[] {"good", "good:" + i});
        }
      }
      write(topic, records);
      List<ConsumerRecord<byte[], byte[]>> letters = readAll(dlt, bad);
      await().atMost(WAIT).until(() -> rec.count() >= good);
      await()
          .atMost(WAIT)
          .until(() -> committed(broker, group, topic).getOrDefault(0, 0L) == good + bad);
      List<String> lettered = new ArrayList<>();
      for (ConsumerRecord<byte[], byte[]> r : letters) {
        lettered.add(new String(r.value(), StandardCharsets.UTF_8));
      }
      assertThat(largestFailedCall.get()).as("calls carried several records").isGreaterThan(1);
      assertThat(lettered)
          .as("every record of every failed call")
          .containsExactlyInAnyOrderElementsOf(
              records.stream().filter(kv -> kv[0].equals("bad")).map(kv -> kv[1]).toList());
      assertThat(rec.count() + lettered.size()).isEqualTo(good + bad);
      List<String> goodValues = new ArrayList<>();
      for (int i = 0; i < good; i++) {
        goodValues.add("good:" + i);
      }
      assertComplete(rec, topic, Map.of("good", goodValues));
    }
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static List<ConsumerRecord<byte[], byte[]>> readAll(String topic, int expected) {
    Properties p = broker.adminProperties();
    p.put(ConsumerConfig.GROUP_ID_CONFIG, unique("reader"));
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      c.subscribe(List.of(topic));
      await()
          .atMost(WAIT)
          .until(
              () -> {
                c.poll(Duration.ofMillis(200)).forEach(out::add);
                return out.size() >= expected;
              });
    }
    return out;
  }
}
