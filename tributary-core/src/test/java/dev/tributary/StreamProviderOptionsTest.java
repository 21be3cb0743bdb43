package dev.tributary;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.StaticQueueBalancer;
import dev.tributary.spi.StreamQueueBalancer;
import java.time.Duration;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.assertj.core.api.SoftAssertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link StreamProviderOptions.Builder}: every setter validates at once and names the option, the
 * value and the rule; each option is set at most once; unset options take the documented defaults.
 */
class StreamProviderOptionsTest {

  private static Arguments bad(
      String option, Object value, String rule, Consumer<StreamProviderOptions.Builder> call) {
    return Arguments.of(option + "(" + value + ")", option, String.valueOf(value), rule, call);
  }

  static Stream<Arguments> badValues() {
    return Stream.of(
        bad(
            "getQueueMessagesTimerPeriod",
            Duration.ZERO,
            "at least PT0.001S",
            b -> b.getQueueMessagesTimerPeriod(Duration.ZERO)),
        bad(
            "getQueueMessagesTimerPeriod",
            Duration.ofMillis(-5),
            "at least PT0.001S",
            b -> b.getQueueMessagesTimerPeriod(Duration.ofMillis(-5))),
        bad("cacheSize", 15, "at least 16", b -> b.cacheSize(15)),
        bad("cacheSize", 0, "at least 16", b -> b.cacheSize(0)),
        bad("cacheSize", -1, "at least 16", b -> b.cacheSize(-1)),
        bad("batchContainerBatchSize", 0, "between 1 and 10000", b -> b.batchContainerBatchSize(0)),
        bad(
            "batchContainerBatchSize",
            10_001,
            "between 1 and 10000",
            b -> b.batchContainerBatchSize(10_001)),
        bad(
            "maxEventDeliveryTime",
            Duration.ofMillis(-1),
            "at least PT0S",
            b -> b.maxEventDeliveryTime(Duration.ofMillis(-1))),
        bad(
            "streamInactivityPeriod",
            Duration.ZERO,
            "at least PT0.001S",
            b -> b.streamInactivityPeriod(Duration.ZERO)),
        bad(
            "initQueueTimeout",
            Duration.ZERO,
            "at least PT0.001S",
            b -> b.initQueueTimeout(Duration.ZERO)),
        bad(
            "subscribeTimeout",
            Duration.ZERO,
            "at least PT0.001S",
            b -> b.subscribeTimeout(Duration.ZERO)),
        bad(
            "drainTimeout",
            Duration.ofSeconds(-1),
            "at least PT0S",
            b -> b.drainTimeout(Duration.ofSeconds(-1))),
        bad("maxReadAttempts", 0, "between 1 and 100", b -> b.maxReadAttempts(0)),
        bad("maxReadAttempts", 101, "between 1 and 100", b -> b.maxReadAttempts(101)));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badValues")
  void badValue_isRejectedNamingOptionValueAndRule(
      String name,
      String option,
      String value,
      String rule,
      Consumer<StreamProviderOptions.Builder> call) {
    StreamProviderOptions.Builder builder = StreamProviderOptions.builder();
    assertThatThrownBy(() -> call.accept(builder))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(option + " was " + value)
        .hasMessageContaining(rule);
  }

  static Stream<Arguments> nullValues() {
    return Stream.<Arguments>of(
        Arguments.of(
            "getQueueMessagesTimerPeriod",
            (Consumer<StreamProviderOptions.Builder>) b -> b.getQueueMessagesTimerPeriod(null)),
        Arguments.of(
            "maxEventDeliveryTime",
            (Consumer<StreamProviderOptions.Builder>) b -> b.maxEventDeliveryTime(null)),
        Arguments.of(
            "streamInactivityPeriod",
            (Consumer<StreamProviderOptions.Builder>) b -> b.streamInactivityPeriod(null)),
        Arguments.of(
            "initQueueTimeout",
            (Consumer<StreamProviderOptions.Builder>) b -> b.initQueueTimeout(null)),
        Arguments.of(
            "subscribeTimeout",
            (Consumer<StreamProviderOptions.Builder>) b -> b.subscribeTimeout(null)),
        Arguments.of(
            "drainTimeout", (Consumer<StreamProviderOptions.Builder>) b -> b.drainTimeout(null)),
        Arguments.of(
            "deliveryBackoff",
            (Consumer<StreamProviderOptions.Builder>) b -> b.deliveryBackoff(null)),
        Arguments.of(
            "readBackoff", (Consumer<StreamProviderOptions.Builder>) b -> b.readBackoff(null)),
        Arguments.of("balancer", (Consumer<StreamProviderOptions.Builder>) b -> b.balancer(null)));
  }

  /**
   * A null is a configuration error like any other: the message names option, value and rule.
   * Checked for every setter in one test so that a failure lists every setter that falls short.
   */
  @Test
  void nullValues_areRejectedNamingOptionValueAndRule() {
    SoftAssertions softly = new SoftAssertions();
    nullValues()
        .forEach(
            args -> {
              String option = (String) args.get()[0];
              @SuppressWarnings("unchecked")
              Consumer<StreamProviderOptions.Builder> call =
                  (Consumer<StreamProviderOptions.Builder>) args.get()[1];
              softly
                  .assertThatThrownBy(() -> call.accept(StreamProviderOptions.builder()))
                  .as("%s(null)", option)
                  .isInstanceOf(NullPointerException.class)
                  .hasMessageContaining(option + " was null")
                  .hasMessageContaining("must");
            });
    softly.assertAll();
  }

  static Stream<Arguments> validValues() {
    StreamQueueBalancer balancer = StaticQueueBalancer.allQueues();
    Supplier<StreamQueueBalancer> supplier = () -> balancer;
    BackoffPolicy backoff = BackoffPolicy.fixed(Duration.ofMillis(3));
    return Stream.of(
        valid(
            "getQueueMessagesTimerPeriod",
            Duration.ofMillis(1),
            b -> b.getQueueMessagesTimerPeriod(Duration.ofMillis(1)),
            StreamProviderOptions::getQueueMessagesTimerPeriod),
        valid("cacheSize", 16, b -> b.cacheSize(16), StreamProviderOptions::cacheSize),
        valid(
            "batchContainerBatchSize",
            1,
            b -> b.batchContainerBatchSize(1),
            StreamProviderOptions::batchContainerBatchSize),
        valid(
            "batchContainerBatchSize",
            10_000,
            b -> b.batchContainerBatchSize(10_000),
            StreamProviderOptions::batchContainerBatchSize),
        valid(
            "maxEventDeliveryTime",
            Duration.ZERO,
            b -> b.maxEventDeliveryTime(Duration.ZERO),
            StreamProviderOptions::maxEventDeliveryTime),
        valid(
            "streamInactivityPeriod",
            Duration.ofMillis(1),
            b -> b.streamInactivityPeriod(Duration.ofMillis(1)),
            StreamProviderOptions::streamInactivityPeriod),
        valid(
            "initQueueTimeout",
            Duration.ofMillis(1),
            b -> b.initQueueTimeout(Duration.ofMillis(1)),
            StreamProviderOptions::initQueueTimeout),
        valid(
            "subscribeTimeout",
            Duration.ofMillis(1),
            b -> b.subscribeTimeout(Duration.ofMillis(1)),
            StreamProviderOptions::subscribeTimeout),
        valid(
            "drainTimeout",
            Duration.ZERO,
            b -> b.drainTimeout(Duration.ZERO),
            StreamProviderOptions::drainTimeout),
        valid(
            "maxReadAttempts",
            1,
            b -> b.maxReadAttempts(1),
            StreamProviderOptions::maxReadAttempts),
        valid(
            "maxReadAttempts",
            100,
            b -> b.maxReadAttempts(100),
            StreamProviderOptions::maxReadAttempts),
        valid(
            "deliveryBackoff",
            backoff,
            b -> b.deliveryBackoff(backoff),
            StreamProviderOptions::deliveryBackoff),
        valid(
            "readBackoff",
            backoff,
            b -> b.readBackoff(backoff),
            StreamProviderOptions::readBackoff),
        valid("balancer", supplier, b -> b.balancer(supplier), StreamProviderOptions::balancer));
  }

  private static Arguments valid(
      String option,
      Object value,
      Consumer<StreamProviderOptions.Builder> call,
      java.util.function.Function<StreamProviderOptions, Object> getter) {
    return Arguments.of(option + "(" + value + ")", option, value, call, getter);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("validValues")
  void boundaryValue_isKept(
      String name,
      String option,
      Object value,
      Consumer<StreamProviderOptions.Builder> call,
      java.util.function.Function<StreamProviderOptions, Object> getter) {
    StreamProviderOptions.Builder builder = StreamProviderOptions.builder();
    call.accept(builder);
    assertThat(getter.apply(builder.build())).isEqualTo(value);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("validValues")
  void eachOption_canBeSetOnlyOnce(
      String name,
      String option,
      Object value,
      Consumer<StreamProviderOptions.Builder> call,
      java.util.function.Function<StreamProviderOptions, Object> getter) {
    StreamProviderOptions.Builder builder = StreamProviderOptions.builder();
    call.accept(builder);
    assertThatThrownBy(() -> call.accept(builder))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(option + " was already set to " + value);
  }

  @Test
  void rejectedValue_doesNotUseUpTheSingleAssignment() {
    StreamProviderOptions.Builder builder = StreamProviderOptions.builder();
    assertThatThrownBy(() -> builder.cacheSize(1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> builder.drainTimeout(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class);
    StreamProviderOptions options =
        builder.cacheSize(32).drainTimeout(Duration.ofSeconds(2)).build();
    assertThat(options.cacheSize()).isEqualTo(32);
    assertThat(options.drainTimeout()).isEqualTo(Duration.ofSeconds(2));
  }

  @Test
  void unsetOptions_takeTheDocumentedDefaults() {
    StreamProviderOptions options = StreamProviderOptions.defaults();
    assertThat(options.getQueueMessagesTimerPeriod()).isEqualTo(Duration.ofMillis(100));
    assertThat(options.cacheSize()).isEqualTo(4096);
    assertThat(options.batchContainerBatchSize()).isEqualTo(1);
    assertThat(options.maxEventDeliveryTime()).isEqualTo(Duration.ofMinutes(1));
    assertThat(options.streamInactivityPeriod()).isEqualTo(Duration.ofMinutes(30));
    assertThat(options.initQueueTimeout()).isEqualTo(Duration.ofSeconds(5));
    assertThat(options.subscribeTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(options.drainTimeout()).isEqualTo(Duration.ofSeconds(30));
    assertThat(options.maxReadAttempts()).isEqualTo(6);
    assertThat(options.balancer()).isNull();
    // Delivery backoff: exponential 1 s .. 30 s with jitter.
    assertThat(options.deliveryBackoff().delay(1))
        .isBetween(Duration.ofMillis(500), Duration.ofSeconds(1));
    assertThat(options.deliveryBackoff().delay(100))
        .isBetween(Duration.ofSeconds(15), Duration.ofSeconds(30));
    // Read backoff: exponential 100 ms .. 5 s with jitter.
    assertThat(options.readBackoff().delay(1))
        .isBetween(Duration.ofMillis(50), Duration.ofMillis(100));
    assertThat(options.readBackoff().delay(100))
        .isBetween(Duration.ofMillis(2500), Duration.ofSeconds(5));
  }

  @Test
  void builtOptions_areIndependentOfLaterBuilderUse() {
    StreamProviderOptions.Builder builder = StreamProviderOptions.builder().cacheSize(64);
    StreamProviderOptions first = builder.build();
    builder.maxReadAttempts(3);
    assertThat(first.maxReadAttempts()).isEqualTo(6);
    assertThat(builder.build().maxReadAttempts()).isEqualTo(3);
    assertThat(first.toString()).contains("cacheSize=64");
  }
}
