package dev.tributary.kafka;

import java.util.Objects;

/**
 * Chooses the stream key of a record that has no key.
 *
 * <p>Kafka allows records without a key (producers that only append, like log shippers); a stream
 * needs one. A policy never drops such a record. If it throws, the record is handled like a poison
 * record, so a broken policy cannot stall the partition either. Called on a consumer thread; must
 * be fast and thread-safe.
 */
@FunctionalInterface
public interface NullKeyPolicy {

  /** Returns the stream key for a keyless record of {@code topic} read from {@code partition}. */
  String streamKey(String topic, int partition);

  /** Every keyless record of a topic belongs to the stream with key {@code ""}: the default. */
  static NullKeyPolicy emptyKey() {
    return (topic, partition) -> "";
  }

  /**
   * Keyless records belong to one stream per partition, keyed {@code "partition-N"}, which keeps
   * their order (Kafka orders only within a partition) without funnelling every partition's keyless
   * records into one stream.
   */
  static NullKeyPolicy perPartition() {
    return (topic, partition) -> "partition-" + partition;
  }

  /** Every keyless record belongs to the stream with key {@code key}. */
  static NullKeyPolicy constant(String key) {
    Objects.requireNonNull(key, "key");
    return (topic, partition) -> key;
  }
}
