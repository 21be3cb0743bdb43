package dev.tributary.kafka;

import dev.tributary.StreamId;
import dev.tributary.spi.DeliveryFailure;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

/**
 * A record the adapter gave up on, as the {@link DeadLetterWriter} writes it: where it came from,
 * its raw key, value and headers (written unchanged), why, and, for an undeliverable event, the
 * subscription and stream that could not process it.
 *
 * <p>Built by the thread that gives up: the consumer thread for a poison record ({@link #poison}),
 * the agent's thread for an undeliverable event ({@link #undeliverable}). Nobody writes the arrays
 * afterwards, so it may be handed to the producer thread as it is.
 *
 * @param reason why the record is dead-lettered
 * @param originTopic the topic the record was read from
 * @param originPartition its partition
 * @param originOffset its offset
 * @param originTimestamp its timestamp; 0 or less when it had none, and the dead letter gets the
 *     producer's time
 * @param key the raw key, or null
 * @param value the raw value, or null
 * @param headers the record's headers, or null for none
 * @param cause what made the adapter give up, or null
 * @param subscriptionId the subscription that could not process it (undeliverable events only)
 * @param streamId its stream (undeliverable events only)
 */
record DeadLetter(
    Reason reason,
    String originTopic,
    int originPartition,
    long originOffset,
    long originTimestamp,
    byte[] key,
    byte[] value,
    Header[] headers,
    Throwable cause,
    UUID subscriptionId,
    StreamId streamId) {

  /** Why a record is dead-lettered; its tag is the header value and the metrics' reason tag. */
  enum Reason {
    /** The record could not be decoded. */
    POISON("poison"),
    /** No subscription could process the event within maxEventDeliveryTime. */
    UNDELIVERABLE("undeliverable");

    private final String tag;

    Reason(String tag) {
      this.tag = tag;
    }

    String tag() {
      return tag;
    }
  }

  /** A fetched record that could not be decoded; consumer thread. */
  static DeadLetter poison(ConsumerRecord<byte[], byte[]> r, Throwable cause) {
    return new DeadLetter(
        Reason.POISON,
        r.topic(),
        r.partition(),
        r.offset(),
        r.timestamp(),
        r.key(),
        r.value(),
        r.headers().toArray(),
        cause,
        null,
        null);
  }

  /** A cached event no subscription could process, from its raw bytes; agent's thread. */
  static DeadLetter undeliverable(KafkaBatchContainer k, DeliveryFailure failure) {
    return new DeadLetter(
        Reason.UNDELIVERABLE,
        k.topic(),
        k.partition(),
        k.offset(),
        k.timestampMillis(),
        k.rawKey(),
        k.rawValue(),
        k.rawHeaders(),
        failure.cause(),
        failure.subscriptionId(),
        k.streamId());
  }

  /** The partition the record came from. */
  TopicPartition originPartitionId() {
    return new TopicPartition(originTopic, originPartition);
  }

  /** {@code topic-partition@offset}, as the logs name the record. */
  @Override
  public String toString() {
    return originTopic + "-" + originPartition + "@" + originOffset;
  }
}
