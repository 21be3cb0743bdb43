package dev.tributary;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link StreamId} is a validated value ordered by namespace, then key. */
class StreamIdTest {

  @Test
  void equalIds_areEqualWithEqualHashCodes() {
    StreamId a = StreamId.of("orders", "customer-42");
    StreamId b = new StreamId(new String("orders"), new String("customer-42"));
    assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
    assertThat(a).isNotEqualTo(StreamId.of("orders", "customer-43"));
    assertThat(a).isNotEqualTo(StreamId.of("Orders", "customer-42"));
    assertThat(a).isNotEqualTo("orders/customer-42");
    assertThat(a.namespace()).isEqualTo("orders");
    assertThat(a.key()).isEqualTo("customer-42");
  }

  @Test
  void namespaceAndKey_doNotRunTogether() {
    assertThat(StreamId.of("ab", "c")).isNotEqualTo(StreamId.of("a", "bc"));
  }

  @Test
  void emptyKey_isTheKeylessStream() {
    StreamId keyless = StreamId.of("orders", "");
    assertThat(keyless.key()).isEmpty();
    assertThat(keyless).isEqualTo(StreamId.of("orders", ""));
    assertThat(keyless.toString()).isEqualTo("orders/");
  }

  @Test
  void compareTo_ordersByNamespaceThenKey_consistentWithEquals() {
    List<StreamId> ids =
        new ArrayList<>(
            List.of(
                StreamId.of("b", "a"),
                StreamId.of("a", "b"),
                StreamId.of("a", ""),
                StreamId.of("ab", "a"),
                StreamId.of("a", "a")));
    Collections.shuffle(ids, new java.util.Random(7));
    Collections.sort(ids);
    assertThat(ids)
        .containsExactly(
            StreamId.of("a", ""),
            StreamId.of("a", "a"),
            StreamId.of("a", "b"),
            StreamId.of("ab", "a"),
            StreamId.of("b", "a"));
    assertThat(StreamId.of("x", "y").compareTo(StreamId.of("x", "y"))).isZero();
  }

  @Test
  void toString_isNamespaceSlashKey() {
    assertThat(StreamId.of("orders", "customer-42")).hasToString("orders/customer-42");
  }

  @Test
  void validation_namesThePartAndTheRule() {
    assertThatThrownBy(() -> StreamId.of(null, "k"))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("namespace was null")
        .hasMessageContaining("must be");
    assertThatThrownBy(() -> StreamId.of("", "k"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("namespace was empty")
        .hasMessageContaining("must be");
    assertThatThrownBy(() -> StreamId.of("orders", null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("key was null")
        .hasMessageContaining("orders");
  }
}
