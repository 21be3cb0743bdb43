package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.EventSequenceToken;
import dev.tributary.StreamId;
import dev.tributary.StreamProviderOptions;
import dev.tributary.spi.ProviderContext;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The consumers' decoding (poison records go to the policy) and the public {@link
 * KafkaQueueAdapterFactory#recordDecoder}, which decodes the same way and throws instead.
 */
class RecordDecoderTest {
  private static final TopicPartition TP = new TopicPartition("t", 0);

  /** Strings, except the value "poison", which it refuses. */
  private static final Deserializer<String> PICKY =
      (topic, data) -> {
        String s = new String(data, StandardCharsets.UTF_8);
        if (s.equals("poison")) {
          throw new SerializationException("not a value: " + s);
        }
        return s;
      };

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private KafkaQueueAdapter adapter;

  @AfterEach
  void close() {
    if (adapter != null) {
      adapter.close();
    }
  }

  private KafkaQueueAdapterFactory factory() {
    return KafkaQueueAdapterFactory.builder()
        .bootstrapServers("localhost:9")
        .consumerGroupId("g")
        .topic("t", TopicConfig.existing().withValueDeserializer(PICKY))
        .nullKeyPolicy(NullKeyPolicy.constant("keyless"))
        .build();
  }

  private PartitionState consumerSide(KafkaQueueAdapterFactory f) {
    ProviderContext context =
        new ProviderContext("p", StreamProviderOptions.defaults(), registry, Clock.systemUTC());
    adapter =
        KafkaQueueAdapter.forTest(
            f.settings(),
            context,
            Map.of("t", 1),
            i -> {
              throw new UnsupportedOperationException("no consumer in this test");
            });
    return adapter.newState(TP, null);
  }

  private static ConsumerRecord<byte[], byte[]> record(
      String topic, long offset, String key, String value) {
    RecordHeaders headers = new RecordHeaders();
    headers.add("trace", "abc".getBytes(StandardCharsets.UTF_8));
    return new ConsumerRecord<>(
        topic,
        0,
        offset,
        1_700_000_000_000L,
        TimestampType.CREATE_TIME,
        key == null ? -1 : key.length(),
        value.length(),
        key == null ? null : key.getBytes(StandardCharsets.UTF_8),
        value.getBytes(StandardCharsets.UTF_8),
        headers,
        Optional.empty());
  }

  @Test
  void publicDecoder_decodesAsTheConsumersDo() {
    KafkaQueueAdapterFactory f = factory();
    Function<ConsumerRecord<byte[], byte[]>, KafkaBatchContainer> decoder = f.recordDecoder("t");
    PartitionState state = consumerSide(f);
    for (ConsumerRecord<byte[], byte[]> r :
        List.of(record("t", 7, "k", "v"), record("t", 8, null, "w"))) {
      KafkaBatchContainer viaPublic = decoder.apply(r);
      KafkaBatchContainer viaConsumer = adapter.decoder().decode(r, state);
      assertThat(viaPublic.streamId()).isEqualTo(viaConsumer.streamId());
      assertThat(viaPublic.sequenceToken()).isEqualTo(viaConsumer.sequenceToken());
      assertThat(viaPublic.event(0)).isEqualTo(viaConsumer.event(0));
      assertThat(viaPublic.timestampMillis()).isEqualTo(viaConsumer.timestampMillis());
      assertThat(viaPublic.headers()).containsOnlyKeys("trace");
      assertThat(viaPublic.sizeBytes()).isEqualTo(viaConsumer.sizeBytes());
    }
    assertThat(decoder.apply(record("t", 7, "k", "v")).streamId()).isEqualTo(StreamId.of("t", "k"));
    assertThat(decoder.apply(record("t", 8, null, "w")).streamId())
        .isEqualTo(StreamId.of("t", "keyless"));
    assertThat(decoder.apply(record("t", 9, "k", "x")).sequenceToken())
        .isEqualTo(new EventSequenceToken(9));
  }

  @Test
  void aPoisonRecord_goesToThePolicyOnTheConsumerSide_andIsThrownByThePublicDecoder() {
    KafkaQueueAdapterFactory f = factory();
    PartitionState state = consumerSide(f);
    ConsumerRecord<byte[], byte[]> poison = record("t", 3, "k", "poison");

    assertThat(adapter.decoder().decode(poison, state)).isNull();
    assertThat(registry.get(KafkaMetrics.POISON).counter().count()).isEqualTo(1);

    assertThatThrownBy(() -> f.recordDecoder("t").apply(poison))
        .isInstanceOf(SerializationException.class)
        .hasMessage("not a value: poison");
  }

  @Test
  void publicDecoder_refusesOtherTopics() {
    KafkaQueueAdapterFactory f = factory();
    assertThatThrownBy(() -> f.recordDecoder("other"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("topic 'other' is not a topic of this factory; its topics are [t]");
    assertThatThrownBy(() -> f.recordDecoder("t").apply(record("u", 0, "k", "v")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("a decoder of topic 't' was given a record of topic 'u'");
  }

  @Test
  void stringSerde_isUsedForValues() {
    KafkaQueueAdapterFactory f =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers("localhost:9")
            .consumerGroupId("g")
            .topic("t", TopicConfig.existing().withValueSerde(Serdes.String()))
            .build();
    assertThat(f.recordDecoder("t").apply(record("t", 0, "k", "hello")).event(0))
        .isEqualTo("hello");
  }
}
