package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import dev.tributary.AsyncStream;
import dev.tributary.EventSequenceToken;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamProviderOptions;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamingException;
import dev.tributary.memory.GeneratorAdapterFactory;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.memory.MemoryQueueFullException;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.SimpleQueueAdapterCache;
import dev.tributary.spi.StaticQueueBalancer;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.Gate;
import dev.tributary.testkit.ManualTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bad input gets a clear error that names the problem (option, value, rule), at once, and the
 * runtime keeps working afterwards.
 */
class BadInputTest extends MemoryRuntimeTest {

  private static Arguments bad(
      String what, ThrowingCallable call, Class<? extends Throwable> type, String... fragments) {
    return arguments(what, call, type, fragments);
  }

  private static MemoryQueueAdapterFactory mem() {
    return MemoryQueueAdapterFactory.builder().build();
  }

  static Stream<Arguments> badConfiguration() {
    StreamObserver<Object> observer = (item, token) -> CompletableFuture.completedFuture(null);
    return Stream.of(
        bad(
            "cacheSize below 16",
            () -> StreamProviderOptions.builder().cacheSize(15),
            IllegalArgumentException.class,
            "cacheSize was 15",
            "at least 16"),
        bad(
            "batchContainerBatchSize 0",
            () -> StreamProviderOptions.builder().batchContainerBatchSize(0),
            IllegalArgumentException.class,
            "batchContainerBatchSize was 0",
            "between 1 and 10000"),
        bad(
            "zero timer period",
            () -> StreamProviderOptions.builder().getQueueMessagesTimerPeriod(Duration.ZERO),
            IllegalArgumentException.class,
            "getQueueMessagesTimerPeriod was PT0S",
            "at least"),
        bad(
            "negative maxEventDeliveryTime",
            () -> StreamProviderOptions.builder().maxEventDeliveryTime(Duration.ofMillis(-1)),
            IllegalArgumentException.class,
            "maxEventDeliveryTime was"),
        bad(
            "null subscribeTimeout",
            () -> StreamProviderOptions.builder().subscribeTimeout(null),
            NullPointerException.class,
            "subscribeTimeout was null"),
        bad(
            "maxReadAttempts 0",
            () -> StreamProviderOptions.builder().maxReadAttempts(0),
            IllegalArgumentException.class,
            "maxReadAttempts was 0",
            "between 1 and 100"),
        bad(
            "an option set twice",
            () -> StreamProviderOptions.builder().cacheSize(32).cacheSize(64),
            IllegalStateException.class,
            "cacheSize was already set to 32"),
        bad(
            "memory queueCount 0",
            () -> MemoryQueueAdapterFactory.builder().queueCount(0),
            IllegalArgumentException.class,
            "queueCount was 0"),
        bad(
            "memory queueCapacity 0",
            () -> MemoryQueueAdapterFactory.builder().queueCapacity(0),
            IllegalArgumentException.class,
            "queueCapacity was 0",
            "at least 1"),
        bad(
            "generator streamCount 0",
            () -> GeneratorAdapterFactory.builder().streamCount(0),
            IllegalArgumentException.class,
            "streamCount was 0"),
        bad(
            "zero fixed backoff",
            () -> BackoffPolicy.fixed(Duration.ZERO),
            IllegalArgumentException.class,
            "backoff delay was PT0S"),
        bad(
            "backoff max below min",
            () -> BackoffPolicy.exponential(Duration.ofSeconds(2), Duration.ofSeconds(1)),
            IllegalArgumentException.class,
            "backoff max was PT1S",
            "at least min"),
        bad(
            "SimpleQueueAdapterCache of 8",
            () -> new SimpleQueueAdapterCache(8),
            IllegalArgumentException.class,
            "cacheSize was 8"),
        bad(
            "balancer node index out of range",
            () -> StaticQueueBalancer.share(2, 2),
            IllegalArgumentException.class,
            "nodeIndex was 2"),
        bad(
            "runtime threads 0",
            () -> StreamRuntime.builder().threads(0),
            IllegalArgumentException.class,
            "threads was 0"),
        bad(
            "blank provider name",
            () -> StreamRuntime.builder().addProvider(" ", mem()),
            IllegalArgumentException.class,
            "provider name was ' '"),
        bad(
            "provider added twice",
            () -> StreamRuntime.builder().addProvider("a", mem()).addProvider("a", mem()),
            IllegalArgumentException.class,
            "provider 'a' was already added"),
        bad(
            "runtime without providers",
            () -> StreamRuntime.builder().build(),
            IllegalStateException.class,
            "no provider was added"),
        bad(
            "implicit subscription for an unknown provider",
            () ->
                StreamRuntime.builder()
                    .addProvider("a", mem())
                    .implicitSubscription("b", "ns", id -> observer)
                    .build(),
            IllegalStateException.class,
            "names provider 'b'",
            "[a]"),
        bad(
            "implicit subscription added twice",
            () ->
                StreamRuntime.builder()
                    .addProvider("a", mem())
                    .implicitSubscription("a", "ns", id -> observer)
                    .implicitSubscription("a", "ns", id -> observer),
            IllegalArgumentException.class,
            "namespace 'ns'",
            "already added"),
        bad(
            "stream id with null namespace",
            () -> StreamId.of(null, "k"),
            NullPointerException.class,
            "namespace was null"),
        bad(
            "stream id with empty namespace",
            () -> StreamId.of("", "k"),
            IllegalArgumentException.class,
            "namespace was empty"),
        bad(
            "stream id with null key",
            () -> StreamId.of("ns", null),
            NullPointerException.class,
            "key was null",
            "'ns'"),
        bad(
            "negative sequence number",
            () -> new EventSequenceToken(-1),
            IllegalArgumentException.class,
            "sequenceNumber was -1"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badConfiguration")
  void badConfiguration_isRejectedAtOnce_namingTheProblem(
      String what, ThrowingCallable call, Class<? extends Throwable> type, String[] fragments) {
    var thrown = assertThatThrownBy(call).as(what).isInstanceOf(type);
    for (String f : fragments) {
      thrown.hasMessageContaining(f);
    }
  }

  /** A subscription, an event and its delivery: the runtime still works. */
  private static void assertStillWorks(DeliveryHarness h, String tag) {
    StreamId s = StreamId.of("health", tag);
    h.subscribe("health-" + tag, s);
    h.produce(s, "ok-" + tag);
    h.awaitCount("health-" + tag, s, 1).assertExactly("health-" + tag, s, List.of("ok-" + tag));
  }

  @Test
  void badCallsOnARunningRuntime_failAtOnce_andTheRuntimeKeepsWorking() {
    DeliveryHarness h = start();
    StreamRuntime rt = h.runtime();
    assertThatThrownBy(() -> rt.provider("nope"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown provider 'nope'")
        .hasMessageContaining("[" + MEM + "]");
    assertThatThrownBy(() -> rt.provider(MEM).stream((StreamId) null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("stream id was null");
    AsyncStream<Object> stream = h.stream(StreamId.of("orders", "bad"));
    assertThatThrownBy(() -> stream.subscribe((StreamObserver<Object>) null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("observer");
    assertThatThrownBy(() -> stream.onNextBatch(List.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("items was empty");
    assertThatThrownBy(() -> stream.onNextBatch(null))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("items");
    assertThatThrownBy(rt::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("already started");
    assertStillWorks(h, "after-bad-calls");
  }

  @Test
  void producingBeforeStart_orAfterClose_failsNamingTheCause() {
    DeliveryHarness h = invariants.newHarness();
    StreamRuntime rt = h.runtimeBuilder().addProvider(MEM, mem()).build();
    h.wrap(rt);
    AsyncStream<Object> stream = h.stream(StreamId.of("orders", "lifecycle"));
    assertThatThrownBy(() -> stream.onNext("early"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("not started")
        .hasMessageContaining("StreamRuntime.start()");
    rt.start();
    assertStillWorks(h, "after-early-produce");
    rt.close();
    assertThat(rt.isRunning()).isFalse();
    assertThatThrownBy(() -> stream.onNext("late"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> stream.subscribe(h.recorder("late", stream.streamId())))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(rt::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    rt.close(); // idempotent
  }

  @Test
  void producingToAReadOnlyProvider_isRefused() {
    DeliveryHarness h = invariants.newHarness();
    h.start(
        h.runtimeBuilder()
            .addProvider("gen", GeneratorAdapterFactory.builder().streamCount(1).build())
            .addProvider(MEM, mem()));
    AsyncStream<Object> generated = h.stream("gen", StreamId.of("generated", "0"));
    assertThatThrownBy(() -> generated.onNext("x"))
        .isInstanceOf(UnsupportedOperationException.class)
        .hasMessageContaining("'gen'")
        .hasMessageContaining("read-only");
    h.defaultProvider(MEM);
    assertStillWorks(h, "after-read-only");
  }

  @Test
  void fullMemoryQueue_refusesTheProducerWithAClearError_andRecoversOnceConsumed() {
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(1).queueCapacity(5).build(),
            o -> o.cacheSize(16),
            (x, b) -> {});
    StreamId s = StreamId.of("orders", "flood");
    Gate gate = h.gate();
    h.subscribe("blocked", s, gate);
    AsyncStream<Object> stream = h.stream(s);
    List<Object> accepted = new ArrayList<>();
    RuntimeException refused = null;
    for (int i = 0; i < 100 && refused == null; i++) {
      try {
        h.join(stream.onNext(i), "produce " + i);
        accepted.add(i);
      } catch (MemoryQueueFullException e) {
        refused = e;
      }
    }
    assertThat(refused).as("a producer was refused").isNotNull();
    assertThat(refused)
        .hasMessageContaining("memory queue " + queueOf(s) + " is full")
        .hasMessageContaining("queueCapacity")
        .hasMessageContaining(s.toString());
    assertThat(refused).isInstanceOf(dev.tributary.RetriableStreamingException.class);
    assertThat(accepted.size()).isBetween(5, 16);
    gate.open();
    h.awaitCount("blocked", s, accepted.size()).assertExactly("blocked", s, accepted);
    h.produce(s, ints(100, 104)); // fewer than queueCapacity: accepted however fast the agent reads
    List<Object> all = new ArrayList<>(accepted);
    all.addAll(ints(100, 104));
    h.awaitCount("blocked", s, all.size())
        .assertExactly("blocked", s, all)
        .assertInOrderNoDuplicates();
  }

  /** On manual time: the subscribe fails exactly {@code subscribeTimeout} after it was made. */
  @Test
  void subscribingWhereNoAgentOwnsTheQueue_timesOutNamingTheQueueAndTheRemedy() {
    ManualTime time = new ManualTime();
    Duration subscribeTimeout = Duration.ofMinutes(2);
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(1).build(),
            o ->
                o.balancer(() -> StaticQueueBalancer.share(1, 2)) // node 1 of 2 owns no queue
                    .subscribeTimeout(subscribeTimeout),
            (x, b) -> b.time(time));
    StreamId s = StreamId.of("orders", "orphan");
    CompletableFuture<?> subscribed =
        h.stream(s).subscribe(h.recorder("orphan", s)).toCompletableFuture();
    time.awaitScheduled(subscribeTimeout);
    time.advance(subscribeTimeout.minusMillis(1));
    assertThat(subscribed).as("still waiting just before subscribeTimeout").isNotDone();
    time.advance(Duration.ofMillis(1));
    assertThatThrownBy(() -> h.join(subscribed, "subscribe orphan"))
        .isInstanceOf(StreamingException.class)
        .hasMessageContaining("timed out")
        .hasMessageContaining("no agent on this node owns queue " + queueOf(s))
        .hasMessageContaining("subscribeTimeout");
    h.produce(s, "still accepted");
  }

  @Test
  void closingTheRuntimeFromAnObserver_isRefusedWithAnExplanation() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "suicidal");
    List<Throwable> caught = new CopyOnWriteArrayList<>();
    StreamObserver<Object> closer =
        (item, token) -> {
          try {
            h.runtime().close();
          } catch (RuntimeException e) {
            caught.add(e);
          }
          return CompletableFuture.completedFuture(null);
        };
    h.join(h.stream(s).subscribe(closer), "subscribe");
    h.produce(s, "close please");
    h.awaitThat("the observer ran", () -> caught.size() == 1);
    assertThat(caught.get(0))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("runtime's own threads")
        .hasMessageContaining("Close from another thread");
    assertThat(h.runtime().isRunning()).isTrue();
    assertStillWorks(h, "after-close-from-observer");
  }
}
