package dev.tributary.kafka;

import dev.tributary.EventSequenceToken;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/**
 * One Kafka record as a batch of one event: stream (topic, key), token (offset, 0), the
 * deserialized value, headers and timestamp.
 *
 * <p>When undeliverable events are dead-lettered the container also keeps the record's raw key and
 * value bytes, so that the dead-letter topic receives exactly what was read rather than a
 * re-serialization; otherwise it drops them to halve the cache's memory. Immutable, so it can be
 * read by the agent and by observers on any thread.
 */
public final class KafkaBatchContainer implements BatchContainer {

  private final StreamId streamId;
  private final EventSequenceToken token;
  private final int partition;
  private final Object value;
  private final Map<String, byte[]> headers;
  private final long timestampMillis;
  private final byte[] rawKey;
  private final byte[] rawValue;
  private final Header[] rawHeaders;
  private final int sizeBytes;

  KafkaBatchContainer(
      StreamId streamId,
      int partition,
      long offset,
      Object value,
      Headers recordHeaders,
      long timestampMillis,
      byte[] rawKey,
      byte[] rawValue,
      boolean keepRaw,
      int sizeBytes) {
    this.streamId = streamId;
    this.token = new EventSequenceToken(offset);
    this.partition = partition;
    this.value = value;
    this.headers = toMap(recordHeaders);
    this.timestampMillis = timestampMillis;
    this.rawKey = keepRaw ? rawKey : null;
    this.rawValue = keepRaw ? rawValue : null;
    this.rawHeaders = keepRaw && recordHeaders != null ? recordHeaders.toArray() : null;
    this.sizeBytes = sizeBytes;
  }

  private static Map<String, byte[]> toMap(Headers recordHeaders) {
    if (recordHeaders == null) {
      return Map.of();
    }
    Header[] all = recordHeaders.toArray();
    if (all.length == 0) {
      return Map.of();
    }
    // Kafka allows repeated header keys; the last one wins, as Headers.lastHeader does.
    Map<String, byte[]> m = new LinkedHashMap<>();
    for (Header h : all) {
      m.put(h.key(), h.value());
    }
    return Collections.unmodifiableMap(m);
  }

  @Override
  public StreamId streamId() {
    return streamId;
  }

  @Override
  public StreamSequenceToken sequenceToken() {
    return token;
  }

  @Override
  public int eventCount() {
    return 1;
  }

  @Override
  public Object event(int index) {
    if (index != 0) {
      throw new IndexOutOfBoundsException(
          "event index was " + index + " but a Kafka batch holds exactly one event (index 0)");
    }
    return value;
  }

  @Override
  public StreamSequenceToken eventToken(int index) {
    return index == 0 ? token : token.withEventIndex(index);
  }

  /** The record's headers; for repeated keys, the last value. */
  @Override
  public Map<String, byte[]> headers() {
    return headers;
  }

  /** The record's timestamp (create or log-append time, per topic config). */
  @Override
  public long timestampMillis() {
    return timestampMillis;
  }

  /** The record's topic. */
  public String topic() {
    return streamId.namespace();
  }

  /** The record's partition. */
  public int partition() {
    return partition;
  }

  /** The record's offset. */
  public long offset() {
    return token.sequenceNumber();
  }

  /** The record's topic and partition. */
  public TopicPartition topicPartition() {
    return new TopicPartition(streamId.namespace(), partition);
  }

  byte[] rawKey() {
    return rawKey;
  }

  byte[] rawValue() {
    return rawValue;
  }

  Header[] rawHeaders() {
    return rawHeaders;
  }

  /**
   * What this record is reckoned to occupy in a partition's buffer: its serialized key, value and
   * headers plus a fixed overhead; see {@link PartitionState}.
   */
  int sizeBytes() {
    return sizeBytes;
  }

  boolean hasRaw() {
    return rawHeaders != null;
  }

  @Override
  public String toString() {
    return "KafkaBatch{"
        + streamId
        + " "
        + streamId.namespace()
        + "-"
        + partition
        + "@"
        + offset()
        + "}";
  }
}
