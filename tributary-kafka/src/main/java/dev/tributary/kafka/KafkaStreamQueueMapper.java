package dev.tributary.kafka;

import dev.tributary.StreamId;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamQueueMapper;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.utils.Utils;

/**
 * Maps a stream to the partition Kafka's default partitioner puts its key in: {@code
 * toPositive(murmur2(utf8(key))) % partitionCount} of the stream's topic.
 *
 * <p>It has to agree with Kafka, not merely be deterministic: records written by any Kafka producer
 * with the default partitioner land in the partition this mapper names, so a subscription attaches
 * to the agent that actually reads its key. The partition counts grow at run time when the adapter
 * sees a topic gain partitions (Kafka's partitioner moves keys then too). Thread-safe: the counts
 * are an immutable snapshot swapped atomically.
 */
final class KafkaStreamQueueMapper implements StreamQueueMapper {

  private record Snapshot(Map<String, Integer> counts, List<QueueId> queues) {}

  private final String providerName;
  private final NullKeyPolicy nullKeys;
  private volatile Snapshot snapshot;

  KafkaStreamQueueMapper(String providerName, Map<String, Integer> partitionCounts) {
    this(providerName, partitionCounts, (topic, partition) -> "");
  }

  KafkaStreamQueueMapper(
      String providerName, Map<String, Integer> partitionCounts, NullKeyPolicy nullKeys) {
    this.providerName = providerName;
    this.snapshot = snapshotOf(partitionCounts);
    this.nullKeys = nullKeys;
  }

  private static Snapshot snapshotOf(Map<String, Integer> counts) {
    Map<String, Integer> copy = new LinkedHashMap<>(counts);
    List<QueueId> queues = new ArrayList<>();
    for (Map.Entry<String, Integer> e : copy.entrySet()) {
      for (int p = 0; p < e.getValue(); p++) {
        queues.add(QueueId.of(e.getKey(), p));
      }
    }
    return new Snapshot(java.util.Collections.unmodifiableMap(copy), List.copyOf(queues));
  }

  @Override
  public List<QueueId> allQueues() {
    return snapshot.queues();
  }

  @Override
  public QueueId queueForStream(StreamId streamId) {
    Snapshot s = snapshot;
    Integer count = s.counts().get(streamId.namespace());
    if (count == null) {
      throw new IllegalArgumentException(unknownTopic(providerName, streamId, s.counts().keySet()));
    }
    java.util.OptionalInt keyless = nullKeys.partitionOf(streamId.namespace(), streamId.key());
    if (keyless.isPresent() && keyless.getAsInt() < count) {
      // The stream of one partition's keyless records (NullKeyPolicy.perPartition()).
      return QueueId.of(streamId.namespace(), keyless.getAsInt());
    }
    return QueueId.of(streamId.namespace(), partitionFor(streamId.key(), count));
  }

  /** Kafka's default partitioner for a non-null key. */
  static int partitionFor(String key, int partitionCount) {
    byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
    return Utils.toPositive(Utils.murmur2(bytes)) % partitionCount;
  }

  static String unknownTopic(String provider, StreamId id, java.util.Collection<String> topics) {
    return "stream "
        + id
        + ": topic '"
        + id.namespace()
        + "' is not configured in Kafka provider '"
        + provider
        + "'; the configured topics are "
        + topics
        + ". Add .topic(\""
        + id.namespace()
        + "\", TopicConfig...) to KafkaQueueAdapterFactory.builder()";
  }

  /** The partition count of every configured topic. */
  Map<String, Integer> partitionCounts() {
    return snapshot.counts();
  }

  /**
   * Raises the partition counts to {@code counts} (a count never shrinks: Kafka cannot remove
   * partitions) and returns the queues that are new.
   */
  synchronized List<QueueId> grow(Map<String, Integer> counts) {
    Snapshot s = snapshot;
    Map<String, Integer> next = new LinkedHashMap<>(s.counts());
    List<QueueId> added = new ArrayList<>();
    for (Map.Entry<String, Integer> e : counts.entrySet()) {
      Integer old = next.get(e.getKey());
      if (old != null && e.getValue() > old) {
        next.put(e.getKey(), e.getValue());
        for (int p = old; p < e.getValue(); p++) {
          added.add(QueueId.of(e.getKey(), p));
        }
      }
    }
    if (!added.isEmpty()) {
      snapshot = snapshotOf(next);
    }
    return added;
  }
}
