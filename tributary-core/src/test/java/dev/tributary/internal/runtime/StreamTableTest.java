package dev.tributary.internal.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.StreamId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link StreamTable} against a {@link HashMap} doing the same operations. */
class StreamTableTest {

  private static StreamState state(StreamId id) {
    return new StreamState(id, () -> id);
  }

  /**
   * Keys "Aa" and "BB" have the same String hash, so ids built from them collide whatever the
   * table's size: runs of colliding states exercise the backward shift on removal.
   */
  private static StreamId colliding(int i) {
    StringBuilder b = new StringBuilder();
    for (int bit = 0; bit < 6; bit++) {
      b.append((i >> bit & 1) == 0 ? "Aa" : "BB");
    }
    return StreamId.of("ns", b.toString());
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void randomPutsRemovesAndIteratorRemoves_matchAHashMap(boolean collide) {
    Random random = new Random(42);
    StreamTable table = new StreamTable();
    Map<StreamId, StreamState> expected = new HashMap<>();
    for (int step = 0; step < 20_000; step++) {
      int k = random.nextInt(collide ? 64 : 3_000);
      StreamId id = collide ? colliding(k) : StreamId.of("ns", "k" + k);
      switch (random.nextInt(10)) {
        case 0, 1, 2, 3 -> {
          StreamState s = state(id);
          assertThat(table.put(id, s)).isSameAs(expected.put(id, s));
        }
        case 4, 5 -> assertThat(table.remove(id)).isSameAs(expected.remove(id));
        case 6 -> {
          if (random.nextInt(50) == 0) {
            // Removing while iterating, as the inactivity cleanup does.
            Iterator<StreamState> it = table.values().iterator();
            while (it.hasNext()) {
              StreamState s = it.next();
              if (random.nextBoolean()) {
                it.remove();
                expected.remove(s.id);
              }
            }
          }
        }
        default -> {
          // A different but equal id finds the same state.
          StreamId copy = StreamId.of(id.namespace(), new String(id.key()));
          assertThat(table.get(copy)).isSameAs(expected.get(id));
        }
      }
      assertThat(table.size()).isEqualTo(expected.size());
    }
    assertThat(table).isEqualTo(expected);
    List<StreamState> seen = new ArrayList<>(table.values());
    assertThat(seen).containsExactlyInAnyOrderElementsOf(expected.values());
  }

  @Test
  void growsWhenHalfFull_andShrinksOnceMostlyEmpty() {
    StreamTable table = new StreamTable();
    List<StreamId> ids = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      StreamId id = StreamId.of("ns", "k" + i);
      ids.add(id);
      table.put(id, state(id));
    }
    assertThat(table.capacity()).isGreaterThanOrEqualTo(2 * 10_000).isLessThanOrEqualTo(32_768);
    for (StreamId id : ids.subList(0, 9_990)) {
      assertThat(table.remove(id)).isNotNull();
    }
    assertThat(table.size()).isEqualTo(10);
    assertThat(table.capacity()).as("shrunk after the mass removal").isLessThanOrEqualTo(128);
    for (StreamId id : ids.subList(9_990, 10_000)) {
      assertThat(table.get(id)).isNotNull();
    }
    table.clear();
    assertThat(table).isEmpty();
    assertThat(table.get(ids.get(0))).isNull();
  }

  @Test
  void putOfAnotherStreamsState_isRejected() {
    StreamTable table = new StreamTable();
    StreamId a = StreamId.of("ns", "a");
    assertThatThrownBy(() -> table.put(a, state(StreamId.of("ns", "b"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("ns/a");
    assertThat(table.get("not an id")).isNull();
    assertThat(table.remove("not an id")).isNull();
  }
}
