package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.StreamId;
import dev.tributary.spi.QueueId;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.junit.jupiter.api.Test;

/** The mapper must agree with the partitioner every Kafka producer uses for keyed records. */
class KafkaStreamQueueMapperTest {

  @Test
  void agreesWithKafkasBuiltInPartitioner() {
    Map<String, Integer> counts = new LinkedHashMap<>();
    counts.put("a", 1);
    counts.put("b", 7);
    counts.put("c", 64);
    KafkaStreamQueueMapper mapper = new KafkaStreamQueueMapper("p", counts);
    Random random = new Random(42);
    for (int i = 0; i < 20_000; i++) {
      StringBuilder key = new StringBuilder();
      int len = random.nextInt(20);
      for (int j = 0; j < len; j++) {
        key.append(
            (char) (random.nextBoolean() ? 'a' + random.nextInt(26) : 0x400 + random.nextInt(200)));
      }
      for (Map.Entry<String, Integer> e : counts.entrySet()) {
        byte[] bytes = key.toString().getBytes(StandardCharsets.UTF_8);
        int kafka = BuiltInPartitioner.partitionForKey(bytes, e.getValue());
        assertThat(mapper.queueForStream(StreamId.of(e.getKey(), key.toString())))
            .isEqualTo(QueueId.of(e.getKey(), kafka));
      }
    }
  }

  @Test
  void allQueues_listsEveryPartition_andGrowsButNeverShrinks() {
    KafkaStreamQueueMapper mapper = new KafkaStreamQueueMapper("p", Map.of("t", 2));
    assertThat(mapper.allQueues()).containsExactly(QueueId.of("t", 0), QueueId.of("t", 1));
    assertThat(mapper.grow(Map.of("t", 4))).containsExactly(QueueId.of("t", 2), QueueId.of("t", 3));
    assertThat(mapper.grow(Map.of("t", 3))).isEmpty();
    assertThat(mapper.allQueues()).hasSize(4);
  }

  /**
   * The default null-key policy gives each partition's keyless records a stream "partition-N": the
   * mapper sends that stream to partition N (where its records are), not where Kafka's partitioner
   * would put the key, so subscribing to it reaches the agent that reads it.
   */
  @Test
  void perPartitionKeylessStreams_mapToTheirOwnPartition() {
    KafkaStreamQueueMapper mapper =
        new KafkaStreamQueueMapper("p", Map.of("t", 8), NullKeyPolicy.perPartition());
    for (int p = 0; p < 8; p++) {
      assertThat(mapper.queueForStream(StreamId.of("t", "partition-" + p)))
          .isEqualTo(QueueId.of("t", p));
    }
    for (String key : new String[] {"partition-8", "partition-03", "partition-", "partition-x"}) {
      assertThat(mapper.queueForStream(StreamId.of("t", key)).index())
          .as("%s is an ordinary key", key)
          .isEqualTo(KafkaStreamQueueMapper.partitionFor(key, 8));
    }
    KafkaStreamQueueMapper plain =
        new KafkaStreamQueueMapper("p", Map.of("t", 8), NullKeyPolicy.emptyKey());
    assertThat(plain.queueForStream(StreamId.of("t", "partition-3")).index())
        .isEqualTo(KafkaStreamQueueMapper.partitionFor("partition-3", 8));
  }

  @Test
  void unknownTopic_isAClearError() {
    KafkaStreamQueueMapper mapper = new KafkaStreamQueueMapper("kafka", Map.of("orders", 2));
    assertThatThrownBy(() -> mapper.queueForStream(StreamId.of("ordres", "k")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("topic 'ordres' is not configured in Kafka provider 'kafka'")
        .hasMessageContaining("the configured topics are [orders]");
  }
}
