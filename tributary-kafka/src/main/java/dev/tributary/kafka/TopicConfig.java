package dev.tributary.kafka;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * How the adapter treats one topic: whether it creates it, with which topic configs, and how its
 * record values become events and back.
 *
 * <p>Immutable: every {@code with...} method returns a copy. Values are checked when the factory is
 * built, together with every other option, so that one error lists every problem. Keys are always
 * strings (the stream key, UTF-8); values default to {@code byte[]} as written.
 *
 * <pre>{@code
 * TopicConfig.autoCreate(12, (short) 3)
 *     .withConfig("retention.ms", "604800000")
 *     .withValueSerde(Serdes.String())
 * }</pre>
 *
 * <p>Serializers and deserializers are used as given: the adapter neither configures nor closes
 * them, and calls them from several threads (consumer threads deserialize, producer threads
 * serialize), so they must be thread-safe, as Kafka's own are.
 */
public final class TopicConfig {

  private final boolean autoCreate;
  private final int partitions;
  private final short replicationFactor;
  private final Map<String, String> configs;
  private final Deserializer<?> valueDeserializer;
  private final Serializer<?> valueSerializer;

  private TopicConfig(
      boolean autoCreate,
      int partitions,
      short replicationFactor,
      Map<String, String> configs,
      Deserializer<?> valueDeserializer,
      Serializer<?> valueSerializer) {
    this.autoCreate = autoCreate;
    this.partitions = partitions;
    this.replicationFactor = replicationFactor;
    this.configs = configs;
    this.valueDeserializer = valueDeserializer;
    this.valueSerializer = valueSerializer;
  }

  /**
   * A topic the adapter creates at start-up when it does not exist, with {@code partitions}
   * partitions (at least 1) and {@code replicationFactor} replicas (at least 1, or -1 for the
   * broker's default). An existing topic is used as it is, whatever its partition count.
   */
  public static TopicConfig autoCreate(int partitions, short replicationFactor) {
    return new TopicConfig(
        true,
        partitions,
        replicationFactor,
        Map.of(),
        new ByteArrayDeserializer(),
        new ByteArraySerializer());
  }

  /**
   * A topic that must already exist: start-up fails naming it when it does not, because creating
   * production topics is usually someone else's decision.
   */
  public static TopicConfig existing() {
    return new TopicConfig(
        false, -1, (short) -1, Map.of(), new ByteArrayDeserializer(), new ByteArraySerializer());
  }

  /** Adds a topic config (e.g. {@code cleanup.policy}) applied when the topic is created. */
  public TopicConfig withConfig(String key, String value) {
    Objects.requireNonNull(key, "topic config key");
    Objects.requireNonNull(value, () -> "value of topic config " + key);
    Map<String, String> copy = new LinkedHashMap<>(configs);
    copy.put(key, value);
    return new TopicConfig(
        autoCreate,
        partitions,
        replicationFactor,
        Map.copyOf(copy),
        valueDeserializer,
        valueSerializer);
  }

  /** Reads and writes values with {@code serde}. */
  public TopicConfig withValueSerde(Serde<?> serde) {
    Objects.requireNonNull(serde, "value serde");
    return new TopicConfig(
        autoCreate,
        partitions,
        replicationFactor,
        configs,
        serde.deserializer(),
        serde.serializer());
  }

  /** Reads values with {@code deserializer}; a value it rejects is a poison record. */
  public TopicConfig withValueDeserializer(Deserializer<?> deserializer) {
    Objects.requireNonNull(deserializer, "value deserializer");
    return new TopicConfig(
        autoCreate, partitions, replicationFactor, configs, deserializer, valueSerializer);
  }

  /** Writes values produced through {@code AsyncStream.onNext} with {@code serializer}. */
  public TopicConfig withValueSerializer(Serializer<?> serializer) {
    Objects.requireNonNull(serializer, "value serializer");
    return new TopicConfig(
        autoCreate, partitions, replicationFactor, configs, valueDeserializer, serializer);
  }

  /** True when the adapter creates the topic if it is missing. */
  public boolean isAutoCreate() {
    return autoCreate;
  }

  /** The partition count used when creating the topic; -1 for {@link #existing()} topics. */
  public int partitions() {
    return partitions;
  }

  /** The replication factor used when creating the topic; -1 means the broker's default. */
  public short replicationFactor() {
    return replicationFactor;
  }

  /** Topic configs applied at creation. */
  public Map<String, String> configs() {
    return configs;
  }

  /** The value deserializer. */
  public Deserializer<?> valueDeserializer() {
    return valueDeserializer;
  }

  /** The value serializer. */
  public Serializer<?> valueSerializer() {
    return valueSerializer;
  }

  @Override
  public String toString() {
    return autoCreate
        ? "TopicConfig.autoCreate("
            + partitions
            + ", "
            + replicationFactor
            + ")"
            + (configs.isEmpty() ? "" : " " + configs)
        : "TopicConfig.existing()";
  }
}
