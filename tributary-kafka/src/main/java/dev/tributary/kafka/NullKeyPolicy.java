package dev.tributary.kafka;

import java.util.Objects;
import java.util.OptionalInt;

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

  /**
   * The one partition whose keyless records make up the stream {@code streamKey}, when this policy
   * gives each partition a stream of its own; empty otherwise (the default). The stream queue
   * mapper uses it, so that subscribing to such a stream reaches the agent of that partition rather
   * than the one Kafka's partitioner would pick for the key.
   */
  default OptionalInt partitionOf(String topic, String streamKey) {
    return OptionalInt.empty();
  }

  /**
   * Every keyless record of a topic belongs to the stream with key {@code ""}. The stream is then
   * reachable from every partition: one agent at a time delivers it (docs/kafka.md), and its tokens
   * are offsets of several partitions.
   */
  static NullKeyPolicy emptyKey() {
    return (topic, partition) -> "";
  }

  /**
   * Keyless records belong to one stream per partition, keyed {@code "partition-N"}, which keeps
   * their order (Kafka orders only within a partition) without funnelling every partition's keyless
   * records into one stream: the default. Keys of that form are taken by the policy: the mapper
   * maps stream {@code "partition-N"} to partition N.
   */
  static NullKeyPolicy perPartition() {
    return new NullKeyPolicy() {
      private static final String PREFIX = "partition-";

      @Override
      public String streamKey(String topic, int partition) {
        return PREFIX + partition;
      }

      @Override
      public OptionalInt partitionOf(String topic, String streamKey) {
        if (!streamKey.startsWith(PREFIX) || streamKey.length() == PREFIX.length()) {
          return OptionalInt.empty();
        }
        try {
          int p = Integer.parseInt(streamKey.substring(PREFIX.length()));
          return p >= 0 && streamKey.equals(PREFIX + p) ? OptionalInt.of(p) : OptionalInt.empty();
        } catch (NumberFormatException notOurs) {
          return OptionalInt.empty();
        }
      }

      @Override
      public String toString() {
        return "NullKeyPolicy.perPartition()";
      }
    };
  }

  /** Every keyless record belongs to the stream with key {@code key}. */
  static NullKeyPolicy constant(String key) {
    Objects.requireNonNull(key, "key");
    return (topic, partition) -> key;
  }
}
