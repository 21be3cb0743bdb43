package dev.tributary.kafka;

import dev.tributary.StreamId;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns fetched records into batches: the stream id from the key (or the null-key policy), the
 * value through the topic's deserializer, and the size the record is reckoned to occupy. A record
 * that cannot be decoded is a poison record and goes to the poison policy: written to the
 * dead-letter topic or skipped, never thrown.
 *
 * <p>Threading: runs on the consumer threads ({@code tributary-<provider>-<n>-kafka-consumer-N}),
 * each decoding only the partitions its loop owns: the stream-id table of a partition is that
 * loop's alone. Holds no mutable state itself, so one instance serves every loop.
 */
final class RecordDecoder {
  private static final Logger log = LoggerFactory.getLogger(RecordDecoder.class);

  /**
   * The heap a buffered record is reckoned to cost beyond its key, value and header bytes: the
   * container, its token, array headers and the ring slot come to about 100 bytes with compressed
   * pointers (254 bytes per cached 100-byte event in docs/benchmarks.md, cache entry included); 200
   * leaves room for keys whose stream id is not shared.
   */
  static final int RECORD_OVERHEAD_BYTES = 200;

  private final String provider;
  private final KafkaSettings settings;
  private final KafkaMetrics metrics;
  private final DeadLetterWriter deadLetters;

  /** {@code deadLetters} is null without a dead-letter topic. */
  RecordDecoder(
      String provider, KafkaSettings settings, KafkaMetrics metrics, DeadLetterWriter deadLetters) {
    this.provider = provider;
    this.settings = settings;
    this.metrics = metrics;
    this.deadLetters = deadLetters;
  }

  /**
   * Turns a fetched record into a batch, or hands it to the poison policy and returns null. Never
   * throws.
   */
  KafkaBatchContainer decode(ConsumerRecord<byte[], byte[]> r, PartitionState state) {
    try {
      return decodeOrThrow(settings, r, state.tp.topic(), state.config, state.streamIds);
    } catch (Throwable t) {
      poison(r, state, t);
      return null;
    }
  }

  /**
   * Decodes {@code r} of {@code topic}, throwing what the null-key policy or the deserializer
   * threw: the one decoding path, behind {@link #decode} on the consumer threads and behind the
   * public {@link KafkaQueueAdapterFactory#recordDecoder} on its caller's thread.
   */
  static KafkaBatchContainer decodeOrThrow(
      KafkaSettings settings,
      ConsumerRecord<byte[], byte[]> r,
      String topic,
      TopicConfig config,
      StreamIdTable streamIds) {
    StreamId streamId;
    if (r.key() != null) {
      streamId = streamIds.idOf(r.key());
    } else {
      String key = settings.nullKeyPolicy().streamKey(r.topic(), r.partition());
      if (key == null) {
        throw new IllegalStateException("the nullKeyPolicy returned null");
      }
      streamId = StreamId.of(topic, key);
    }
    Object value = config.valueDeserializer().deserialize(r.topic(), r.headers(), r.value());
    return new KafkaBatchContainer(
        streamId,
        r.partition(),
        r.offset(),
        value,
        r.headers(),
        r.timestamp(),
        r.key(),
        r.value(),
        settings.undeliverableEvents() == FailureAction.DEAD_LETTER,
        sizeOf(r));
  }

  /**
   * What a decoded record is reckoned to occupy in memory: its serialized key, value and headers
   * plus {@link #RECORD_OVERHEAD_BYTES} for the container, its token and stream id. An estimate: a
   * deserializer may build a larger object than the bytes it read.
   */
  static int sizeOf(ConsumerRecord<byte[], byte[]> r) {
    long size =
        RECORD_OVERHEAD_BYTES
            + Math.max(0, r.serializedKeySize())
            + Math.max(0, r.serializedValueSize());
    for (Header h : r.headers().toArray()) {
      size += h.key().length() + (h.value() == null ? 0 : h.value().length) + 32;
    }
    return (int) Math.min(Integer.MAX_VALUE, size);
  }

  private void poison(ConsumerRecord<byte[], byte[]> r, PartitionState state, Throwable cause) {
    TopicPartition tp = state.tp;
    metrics.poison(tp);
    if (settings.poisonRecords() == FailureAction.DEAD_LETTER && deadLetters != null) {
      log.warn(
          "Provider {}: poison record {}@{} (value of {} bytes) could not be decoded; writing it to"
              + " dead-letter topic {}: {}",
          provider,
          tp,
          r.offset(),
          r.value() == null ? 0 : r.value().length,
          deadLetters.topic(),
          cause.toString());
      deadLetters.send(state, DeadLetter.poison(r, cause));
    } else {
      metrics.skipped(tp, "poison");
      log.error(
          "Provider {}: poison record {}@{} could not be decoded and is skipped (poisonRecords ="
              + " SKIP); set deadLetterTopic to keep such records",
          provider,
          tp,
          r.offset(),
          cause);
    }
  }
}
