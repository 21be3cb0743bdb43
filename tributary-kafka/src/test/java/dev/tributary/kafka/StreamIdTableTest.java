package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.StreamId;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StreamIdTableTest {

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void sameKey_givesTheSameInstance_fromDistinctArrays() {
    StreamIdTable table = new StreamIdTable("orders");
    StreamId first = table.idOf(bytes("customer-7"));
    assertThat(first).isEqualTo(StreamId.of("orders", "customer-7"));
    assertThat(table.idOf(bytes("customer-7"))).isSameAs(first);
    assertThat(table.idOf(bytes("customer-8"))).isNotEqualTo(first);
    assertThat(table.idOf(new byte[0])).isEqualTo(StreamId.of("orders", ""));
    assertThat(table.idOf(bytes("é"))).isEqualTo(StreamId.of("orders", "é"));
  }

  @Test
  void manyKeys_growTheTable_andEveryIdStaysCorrect() {
    StreamIdTable table = new StreamIdTable("t");
    Map<String, StreamId> seen = new HashMap<>();
    for (int round = 0; round < 2; round++) {
      for (int k = 0; k < 5000; k++) {
        String key = "k" + k;
        StreamId id = table.idOf(bytes(key));
        assertThat(id).isEqualTo(StreamId.of("t", key));
        StreamId before = seen.putIfAbsent(key, id);
        if (before != null) {
          assertThat(id).isSameAs(before);
        }
      }
    }
    assertThat(table.size()).isEqualTo(5000);
  }

  @Test
  void moreKeysThanTheBound_startsAfresh_andStaysCorrect() {
    StreamIdTable table = new StreamIdTable("t");
    int n = StreamIdTable.MAX_KEYS * 3 + 17;
    for (int k = 0; k < n; k++) {
      assertThat(table.idOf(bytes("key-" + k))).isEqualTo(StreamId.of("t", "key-" + k));
      assertThat(table.size()).isLessThanOrEqualTo(StreamIdTable.MAX_KEYS);
    }
    for (int k = n - 100; k < n; k++) {
      assertThat(table.idOf(bytes("key-" + k))).isEqualTo(StreamId.of("t", "key-" + k));
    }
    assertThat(table.size()).isGreaterThan(0);
  }
}
