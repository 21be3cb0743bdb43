package dev.tributary.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.StreamId;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Single assignment of every {@link GeneratorAdapterFactory.Builder} option. */
class GeneratorAdapterFactoryBuilderTest {

  static Stream<Arguments> singleAssignment() {
    BiFunction<StreamId, Long, Object> payload = (id, i) -> id.key() + ":" + i;
    return Stream.of(
        once("namespace", "gen", b -> b.namespace("gen")),
        once("queueCount", 3, b -> b.queueCount(3)),
        once("streamCount", 7, b -> b.streamCount(7)),
        once("eventsPerStream", 11L, b -> b.eventsPerStream(11)),
        once("payload", payload, b -> b.payload(payload)));
  }

  private static Arguments once(
      String option, Object value, Consumer<GeneratorAdapterFactory.Builder> call) {
    return Arguments.of(option, value, call);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("singleAssignment")
  void eachSetter_canBeCalledOnlyOnce(
      String option, Object value, Consumer<GeneratorAdapterFactory.Builder> call) {
    GeneratorAdapterFactory.Builder builder = GeneratorAdapterFactory.builder();
    call.accept(builder);
    assertThatThrownBy(() -> call.accept(builder))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage(option + " was already set to " + value);
  }

  @Test
  void rejectedValue_doesNotUseUpTheSingleAssignment() {
    GeneratorAdapterFactory.Builder builder = GeneratorAdapterFactory.builder();
    assertThatThrownBy(() -> builder.streamCount(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> builder.eventsPerStream(0))
        .isInstanceOf(IllegalArgumentException.class);
    GeneratorAdapterFactory f = builder.streamCount(2).eventsPerStream(5).build();
    assertThat(f.totalEvents()).isEqualTo(10);
  }
}
