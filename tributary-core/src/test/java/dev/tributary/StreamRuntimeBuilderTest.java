package dev.tributary;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.InMemoryPubSubStore;
import dev.tributary.spi.RuntimeTime;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link StreamRuntime.Builder}: setters validate at once naming option, value and rule, each is
 * single-assignment, and {@code build()} checks how the parts fit together.
 */
class StreamRuntimeBuilderTest {

  private static MemoryQueueAdapterFactory memory() {
    return MemoryQueueAdapterFactory.builder().queueCount(2).build();
  }

  private static StreamObserver<Object> ignore(StreamId id) {
    return (item, token) -> CompletableFuture.completedFuture(null);
  }

  @Test
  void build_withoutProvider_isRejected() {
    assertThatThrownBy(() -> StreamRuntime.builder().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no provider")
        .hasMessageContaining("addProvider");
  }

  @Test
  void build_withImplicitSubscriptionOfUnknownProvider_isRejectedNamingTheKnownOnes() {
    StreamRuntime.Builder builder =
        StreamRuntime.builder()
            .addProvider("mem", memory())
            .implicitSubscription("kafka", "orders", StreamRuntimeBuilderTest::ignore);
    assertThatThrownBy(builder::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'orders'")
        .hasMessageContaining("'kafka'")
        .hasMessageContaining("[mem]");
  }

  @Test
  void build_withBothClockAndTime_isRejectedNamingTheOneToKeep() {
    StreamRuntime.Builder builder =
        StreamRuntime.builder()
            .addProvider("mem", memory())
            .clock(Clock.systemUTC())
            .time(RuntimeTime.system());
    assertThatThrownBy(builder::build)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("both clock and time were set")
        .hasMessageContaining("set only time");
  }

  @Test
  void build_keepsProvidersInOrder_andNothingRunsBeforeStart() {
    try (StreamRuntime runtime =
        StreamRuntime.builder()
            .addProvider("b", memory())
            .addProvider("a", memory(), o -> o.cacheSize(32))
            .implicitSubscription("a", "orders", StreamRuntimeBuilderTest::ignore)
            .build()) {
      assertThat(runtime.providers()).extracting(StreamProvider::name).containsExactly("b", "a");
      assertThat(runtime.provider("a").name()).isEqualTo("a");
      assertThat(runtime.isRunning()).isFalse();
      assertThatThrownBy(() -> runtime.provider("c"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("'c'")
          .hasMessageContaining("[b, a]");
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"", " ", "\t"})
  void addProvider_withBlankName_isRejected(String name) {
    assertThatThrownBy(() -> StreamRuntime.builder().addProvider(name, memory()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("provider name was '" + name + "'")
        .hasMessageContaining("must be set");
  }

  @Test
  void addProvider_withNullName_isRejected() {
    assertThatThrownBy(() -> StreamRuntime.builder().addProvider(null, memory()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("provider name was 'null'")
        .hasMessageContaining("must be set");
  }

  @Test
  void addProvider_twiceWithTheSameName_isRejected() {
    StreamRuntime.Builder builder = StreamRuntime.builder().addProvider("mem", memory());
    assertThatThrownBy(() -> builder.addProvider("mem", memory()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'mem'")
        .hasMessageContaining("already added");
  }

  @Test
  void addProvider_reportsBadAgentOptionsAtOnce() {
    assertThatThrownBy(
            () -> StreamRuntime.builder().addProvider("mem", memory(), o -> o.cacheSize(8)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("cacheSize was 8 but it must be at least 16");
  }

  @Test
  void implicitSubscription_twiceForTheSameNamespace_isRejected() {
    StreamRuntime.Builder builder =
        StreamRuntime.builder()
            .addProvider("mem", memory())
            .implicitSubscription("mem", "orders", StreamRuntimeBuilderTest::ignore);
    assertThatThrownBy(
            () -> builder.implicitSubscription("mem", "orders", StreamRuntimeBuilderTest::ignore))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'orders'")
        .hasMessageContaining("'mem'")
        .hasMessageContaining("already added");
    // Another namespace, or the same namespace of another provider, is fine.
    builder.implicitSubscription("mem", "payments", StreamRuntimeBuilderTest::ignore);
    builder.implicitSubscription("other", "orders", StreamRuntimeBuilderTest::ignore);
  }

  @ParameterizedTest
  @ValueSource(ints = {0, -1, 1025})
  void threads_outOfRange_isRejected(int threads) {
    assertThatThrownBy(() -> StreamRuntime.builder().threads(threads))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("threads was " + threads)
        .hasMessageContaining("must be 1 to 1024");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "  "})
  void nodeName_blank_isRejected(String name) {
    assertThatThrownBy(() -> StreamRuntime.builder().nodeName(name))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nodeName was '" + name + "'")
        .hasMessageContaining("must be set");
  }

  @Test
  void rejectedValue_doesNotUseUpTheSingleAssignment() {
    StreamRuntime.Builder builder = StreamRuntime.builder();
    assertThatThrownBy(() -> builder.threads(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> builder.nodeName(" ")).isInstanceOf(IllegalArgumentException.class);
    builder.threads(1).nodeName("node-1");
  }

  static Stream<Arguments> singleAssignment() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    StreamFilter filter = (id, item, data) -> true;
    InMemoryPubSubStore store = new InMemoryPubSubStore();
    Clock clock = Clock.systemUTC();
    RuntimeTime time = RuntimeTime.system();
    return Stream.of(
        once("meterRegistry", registry, b -> b.meterRegistry(registry)),
        once("streamFilter", filter, b -> b.streamFilter(filter)),
        once("pubSubStore", store, b -> b.pubSubStore(store)),
        once("clock", clock, b -> b.clock(clock)),
        once("time", time, b -> b.time(time)),
        once("threads", 3, b -> b.threads(3)),
        once("nodeName", "n1", b -> b.nodeName("n1")));
  }

  private static Arguments once(String option, Object value, Consumer<StreamRuntime.Builder> call) {
    return Arguments.of(option, value, call);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("singleAssignment")
  void eachSetter_canBeCalledOnlyOnce(
      String option, Object value, Consumer<StreamRuntime.Builder> call) {
    StreamRuntime.Builder builder = StreamRuntime.builder();
    call.accept(builder);
    assertThatThrownBy(() -> call.accept(builder))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(option + " was already set to " + value);
  }

  static Stream<Arguments> nullArguments() {
    return Stream.of(
        nul("factory", b -> b.addProvider("mem", null)),
        nul("agents", b -> b.addProvider("mem", memory(), null)),
        nul("provider", b -> b.implicitSubscription(null, "ns", StreamRuntimeBuilderTest::ignore)),
        nul(
            "namespace",
            b -> b.implicitSubscription("mem", null, StreamRuntimeBuilderTest::ignore)),
        nul("factory", b -> b.implicitSubscription("mem", "ns", null)),
        nul("meterRegistry", b -> b.meterRegistry(null)),
        nul("streamFilter", b -> b.streamFilter(null)),
        nul("pubSubStore", b -> b.pubSubStore(null)),
        nul("clock", b -> b.clock(null)),
        nul("time", b -> b.time(null)));
  }

  private static Arguments nul(String option, Consumer<StreamRuntime.Builder> call) {
    return Arguments.of(option, call);
  }

  /**
   * A null is a configuration error like any other: the message names option, value and rule.
   * Checked for every setter in one test so that a failure lists every setter that falls short.
   */
  @Test
  void nullArguments_areRejectedNamingOptionValueAndRule() {
    SoftAssertions softly = new SoftAssertions();
    nullArguments()
        .forEach(
            args -> {
              String option = (String) args.get()[0];
              @SuppressWarnings("unchecked")
              Consumer<StreamRuntime.Builder> call =
                  (Consumer<StreamRuntime.Builder>) args.get()[1];
              softly
                  .assertThatThrownBy(() -> call.accept(StreamRuntime.builder()))
                  .as("%s = null", option)
                  .isInstanceOf(NullPointerException.class)
                  .hasMessageContaining(option)
                  .hasMessageContaining("null")
                  .hasMessageContaining("must");
            });
    softly.assertAll();
  }
}
