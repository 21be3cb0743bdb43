package dev.tributary.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.StreamId;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link HashRingStreamQueueMapper}: the hash is murmur3 x86_32 with seed 0 (checked against
 * published vectors), the ring maps deterministically and spreads streams evenly.
 */
class HashRingStreamQueueMapperTest {

  private static byte[] bytes(int... values) {
    byte[] b = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      b[i] = (byte) values[i];
    }
    return b;
  }

  /**
   * Published MurmurHash3_x86_32 vectors with seed 0 (the SMHasher reference implementation; the
   * same table circulates with every port). Each length 0..4 exercises a different tail branch.
   */
  @Test
  void murmur3_matchesPublishedSeedZeroVectors() {
    assertThat(HashRingStreamQueueMapper.murmur3(new byte[0])).isEqualTo(0);
    assertThat(HashRingStreamQueueMapper.murmur3(bytes(0x00))).isEqualTo(0x514E28B7);
    assertThat(HashRingStreamQueueMapper.murmur3(bytes(0x00, 0x00))).isEqualTo(0x30F4C306);
    assertThat(HashRingStreamQueueMapper.murmur3(bytes(0x00, 0x00, 0x00))).isEqualTo(0x85F0B427);
    assertThat(HashRingStreamQueueMapper.murmur3(bytes(0, 0, 0, 0))).isEqualTo(0x2362F9DE);
    assertThat(HashRingStreamQueueMapper.murmur3(bytes(0x21))).isEqualTo(0x72661CF4);
    assertThat(HashRingStreamQueueMapper.murmur3(bytes(0x21, 0x43))).isEqualTo(0xA0F7B07A);
    assertThat(HashRingStreamQueueMapper.murmur3(bytes(0x21, 0x43, 0x65))).isEqualTo(0x7E4A8634);
    assertThat(HashRingStreamQueueMapper.murmur3(bytes(0x21, 0x43, 0x65, 0x87)))
        .isEqualTo(0xF55B516B);
    assertThat(HashRingStreamQueueMapper.murmur3(bytes(0xFF, 0xFF, 0xFF, 0xFF)))
        .isEqualTo(0x76293B50);
    assertThat(
            HashRingStreamQueueMapper.murmur3(
                "The quick brown fox jumps over the lazy dog".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo(0x2E4FF723);
  }

  /** Bytes >= 0x80 in the tail must be read unsigned; values from the reference algorithm. */
  @Test
  void murmur3_readsTailBytesUnsigned() {
    assertThat(HashRingStreamQueueMapper.murmur3(bytes(0x80))).isEqualTo(0x0FEB9E1D);
    assertThat(HashRingStreamQueueMapper.murmur3(bytes(0xFF, 0xFE, 0x81))).isEqualTo(0xBD7F9BEF);
  }

  /**
   * The stream hash is murmur3 of "namespace\0key" in UTF-8; values from the reference algorithm.
   */
  @Test
  void hash_ofStreamId_isMurmur3OfNamespaceNulKeyInUtf8() {
    assertThat(HashRingStreamQueueMapper.hash(StreamId.of("orders", "customer-42")))
        .isEqualTo(0x90F7B6B7);
    assertThat(HashRingStreamQueueMapper.hash(StreamId.of("a", ""))).isEqualTo(0x6F49D11A);
    assertThat(HashRingStreamQueueMapper.hash(StreamId.of("ns", "ключ-€"))).isEqualTo(0x139ABE67);
  }

  /** Expected queues follow from the hashes above and ring positions (i+1)*floor(2^32/n)-1. */
  @ParameterizedTest(name = "{0}/{1} on {2} queues -> {3}")
  @CsvSource({
    "orders, customer-42, 1, 0",
    "orders, customer-42, 2, 1",
    "orders, customer-42, 4, 2",
    "orders, customer-42, 7, 3",
    "orders, customer-42, 8, 4",
    "a, '', 4, 1",
    "a, '', 7, 3",
    "sensors, device-7, 7, 5",
    "x, y, 8, 6",
  })
  void queueForStream_isTheFirstRingPositionAtOrAfterTheHash(
      String namespace, String key, int queueCount, int expectedIndex) {
    HashRingStreamQueueMapper mapper = new HashRingStreamQueueMapper("p", queueCount);
    assertThat(mapper.queueForStream(StreamId.of(namespace, key)))
        .isEqualTo(QueueId.of("p", expectedIndex));
  }

  @Test
  void sameStream_mapsToSameQueue_acrossInstances() {
    HashRingStreamQueueMapper one = new HashRingStreamQueueMapper("orders", 12);
    HashRingStreamQueueMapper two = new HashRingStreamQueueMapper("orders", 12);
    for (int i = 0; i < 10_000; i++) {
      StreamId id = StreamId.of("ns" + (i % 7), "key-" + i);
      assertThat(two.queueForStream(id)).isEqualTo(one.queueForStream(id));
      assertThat(one.queueForStream(id))
          .isEqualTo(one.queueForStream(StreamId.of(id.namespace(), id.key())));
    }
  }

  @ParameterizedTest(name = "{0} queues")
  @ValueSource(ints = {1, 3, 8, 13, 64})
  void manyStreams_useEveryQueue_roughlyEvenly(int queueCount) {
    HashRingStreamQueueMapper mapper = new HashRingStreamQueueMapper("q", queueCount);
    int perQueue = 5_000;
    int streams = perQueue * queueCount;
    Map<QueueId, Integer> counts = new HashMap<>();
    for (int i = 0; i < streams; i++) {
      QueueId q = mapper.queueForStream(StreamId.of("tenant-" + (i % 3), "customer-" + i));
      assertThat(mapper.allQueues()).contains(q);
      counts.merge(q, 1, Integer::sum);
    }
    assertThat(counts.keySet()).containsExactlyInAnyOrderElementsOf(mapper.allQueues());
    // A binomial count with mean 5000 has a standard deviation of at most ~71: 15% is > 10 sigma.
    for (Map.Entry<QueueId, Integer> e : counts.entrySet()) {
      assertThat(e.getValue()).as("streams on %s", e.getKey()).isBetween(4_250, 5_750);
    }
  }

  @Test
  void allQueues_areNamedByPrefixAndIndex_inOrder_andImmutable() {
    HashRingStreamQueueMapper mapper = new HashRingStreamQueueMapper("events", 3);
    assertThat(mapper.allQueues())
        .containsExactly(QueueId.of("events", 0), QueueId.of("events", 1), QueueId.of("events", 2));
    assertThatThrownBy(() -> mapper.allQueues().add(QueueId.of("events", 3)))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, -1, Integer.MIN_VALUE})
  void constructor_rejectsQueueCountBelowOne(int queueCount) {
    assertThatThrownBy(() -> new HashRingStreamQueueMapper("p", queueCount))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("queueCount")
        .hasMessageContaining(String.valueOf(queueCount))
        .hasMessageContaining("at least 1");
  }

  @Test
  void constructor_rejectsMissingPrefix() {
    assertThatThrownBy(() -> new HashRingStreamQueueMapper(null, 4))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("prefix");
    assertThatThrownBy(() -> new HashRingStreamQueueMapper("", 4))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("prefix");
  }
}
