package dev.tributary.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.tributary.AsyncStream;
import dev.tributary.EventSequenceToken;
import dev.tributary.StreamId;
import dev.tributary.StreamProviderOptions;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.QueueAdapterFactory;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamQueueMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The contract every queue adapter meets, proven through a real {@link
 * dev.tributary.StreamRuntime}: extend it, implement {@link #newFactory(String)}, override the
 * optional hooks your queue needs, and every test below runs against your adapter.
 *
 * <p>What it proves: events produced through {@link AsyncStream#onNext} reach explicit and implicit
 * subscriptions, each exactly once and in order; streams sharing a queue do not see each other's
 * events; a batch keeps its order; receivers are initialized when the runtime starts and shut down
 * once when it closes, and are never called outside that window or concurrently; a batch is
 * acknowledged ({@code messagesDelivered}) only after every subscription has passed it, in queue
 * order, and everything delivered is acknowledged by {@code close}; rewinding works exactly when
 * the adapter says it is rewindable; the stream-to-queue mapper is deterministic and total.
 *
 * <p>Every test builds its own runtime over a {@link RecordingQueueAdapterFactory} wrapping a fresh
 * factory, and uses stream keys unique to the test, so adapters whose queues outlive a runtime (a
 * Kafka topic) can share one namespace across tests. Events are {@code String}s ({@code
 * "<key>#<n>"}). The {@link RuntimeInvariantsExtension} closes every runtime and checks after each
 * test that no agent, thread, receiver or cache cursor was left behind, that no agent task failed
 * and that the SPI was never misused.
 */
public abstract class QueueAdapterContractTest {

  /**
   * Closes what a test leaves open and checks the runtime's invariants after each test; registered
   * here as well, so the checks run in adapter modules without auto-detection too.
   */
  @RegisterExtension
  protected final RuntimeInvariantsExtension invariants = new RuntimeInvariantsExtension();

  private final String run = UUID.randomUUID().toString().substring(0, 8);

  /** The harness of the running test, set by {@link #start}. */
  protected DeliveryHarness harness;

  /** The recording wrapper around this test's factory, set by {@link #start}. */
  protected RecordingQueueAdapterFactory spy;

  // ------------------------------------------------------------------ hooks

  /** A fresh factory for one provider called {@code providerName}; called once per test. */
  protected abstract QueueAdapterFactory newFactory(String providerName);

  /** The provider's name ["contract"]. */
  protected String providerName() {
    return "contract";
  }

  /** The namespace of every stream the tests use ["contract"]; the topic, for Kafka. */
  protected String namespace() {
    return "contract";
  }

  /**
   * True when {@link AsyncStream#onNext} writes to the queue [true]. Tests that need to produce are
   * skipped when false.
   */
  protected boolean supportsProduce() {
    return true;
  }

  /** How long an await may take before the test fails [10 s]; give slow brokers more. */
  protected Duration deliveryTimeout() {
    return Duration.ofSeconds(10);
  }

  /**
   * Adjusts the provider's options for every test [nothing]. The contract itself only sets {@code
   * getQueueMessagesTimerPeriod}, in {@link #dataAvailableSignal_wakesTheAgentWithoutTheTimer()};
   * don't set that one here.
   */
  protected void configureProvider(StreamProviderOptions.Builder options) {}

  /**
   * True when the events of one {@link AsyncStream#onNextBatch} share a sequence number, with event
   * indexes 0..n-1, as {@link AsyncStream#onNextBatch} documents [true].
   */
  protected boolean batchSharesSequenceNumber() {
    return true;
  }

  /**
   * True when the receiver signals arriving data so the agent reads at once [true]; when false the
   * test that waits an hour-long timer is skipped.
   */
  protected boolean signalsDataAvailable() {
    return true;
  }

  // ------------------------------------------------------------------ helpers

  /**
   * Builds and starts a runtime with one provider over a recording wrapper of {@link
   * #newFactory(String)}; with {@code implicit}, {@link #namespace()} gets a recording implicit
   * subscription (subscriber {@link DeliveryHarness#IMPLICIT}).
   */
  protected DeliveryHarness start(
      boolean implicit, Consumer<StreamProviderOptions.Builder> options) {
    spy = invariants.track(new RecordingQueueAdapterFactory(newFactory(providerName())));
    harness = invariants.newHarness().timeout(deliveryTimeout());
    var builder =
        harness
            .runtimeBuilder()
            .addProvider(
                providerName(),
                spy,
                o -> {
                  options.accept(o);
                  configureProvider(o);
                });
    if (implicit) {
      builder.implicitSubscription(providerName(), namespace(), harness.observerFactory());
    }
    return harness.start(builder);
  }

  /** A stream of {@link #namespace()} whose key is unique to this test. */
  protected StreamId streamId(String name) {
    return StreamId.of(namespace(), name + "-" + run);
  }

  /** Event {@code i} of stream {@code id}. */
  protected static String event(StreamId id, int i) {
    return id.key() + "#" + i;
  }

  /** Events {@code from .. to-1} of {@code id}. */
  protected static List<Object> events(StreamId id, int from, int to) {
    List<Object> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      out.add(event(id, i));
    }
    return out;
  }

  /**
   * {@code count} streams (including {@code first}) that the mapper puts on {@code first}'s queue.
   */
  protected List<StreamId> streamsOnOneQueue(StreamId first, int count) {
    StreamQueueMapper mapper = spy.streamQueueMapper();
    QueueId queue = mapper.queueForStream(first);
    List<StreamId> out = new ArrayList<>(List.of(first));
    for (int i = 0; out.size() < count && i < 100_000; i++) {
      StreamId candidate = streamId("peer" + i);
      if (mapper.queueForStream(candidate).equals(queue)) {
        out.add(candidate);
      }
    }
    assertThat(out).as("streams found on queue %s", queue).hasSize(count);
    return out;
  }

  private void requireProduce() {
    assumeTrue(supportsProduce(), "the adapter does not accept events through onNext");
  }

  // ------------------------------------------------------------------ delivery

  @Test
  void explicitSubscription_receivesEveryEventInOrder() {
    requireProduce();
    DeliveryHarness h = start(false, o -> {});
    StreamId s = streamId("explicit");
    h.subscribe("explicit", s);
    List<Object> events = events(s, 0, 100);
    h.produce(s, events);
    h.awaitCount("explicit", s, 100)
        .assertExactly("explicit", s, events)
        .assertInOrderNoDuplicates()
        .assertNoErrors();
  }

  @Test
  void implicitSubscription_receivesEveryStreamInOrder_withOneActivationPerStream() {
    requireProduce();
    DeliveryHarness h = start(true, o -> {});
    List<StreamId> streams = new ArrayList<>();
    for (int s = 0; s < 5; s++) {
      streams.add(streamId("implicit" + s));
    }
    for (int i = 0; i < 40; i++) {
      for (StreamId s : streams) {
        h.produce(s, event(s, i));
      }
    }
    for (StreamId s : streams) {
      h.awaitCount(DeliveryHarness.IMPLICIT, s, 40);
      h.assertExactly(DeliveryHarness.IMPLICIT, s, events(s, 0, 40));
      assertThat(h.activations(DeliveryHarness.IMPLICIT, s)).as("activations of %s", s).isOne();
    }
    h.assertInOrderNoDuplicates().assertNoErrors();
  }

  @Test
  void implicitAndExplicitSubscriptions_ofOneStream_eachReceiveEverything() {
    requireProduce();
    DeliveryHarness h = start(true, o -> {});
    StreamId s = streamId("both");
    h.subscribe("explicit", s);
    List<Object> events = events(s, 0, 50);
    h.produce(s, events);
    h.awaitCount("explicit", s, 50).awaitCount(DeliveryHarness.IMPLICIT, s, 50);
    h.assertExactly(s, events).assertInOrderNoDuplicates().assertNoErrors();
  }

  @Test
  void subscribe_afterEarlierEventsWereRead_receivesExactlyTheLaterOnes() {
    requireProduce();
    DeliveryHarness h = start(false, o -> {});
    StreamId s = streamId("late");
    h.subscribe("early", s);
    h.produce(s, events(s, 0, 10));
    h.awaitCount("early", s, 10);
    h.subscribe("late", s);
    h.produce(s, events(s, 10, 20));
    h.awaitCount("early", s, 20).awaitCount("late", s, 10);
    h.assertExactly("early", s, events(s, 0, 20))
        .assertExactly("late", s, events(s, 10, 20))
        .assertInOrderNoDuplicates();
  }

  @Test
  void manyStreamsOnOneQueue_explicitSubscriptionsReceiveOnlyTheirOwnEvents() {
    requireProduce();
    DeliveryHarness h = start(false, o -> {});
    List<StreamId> streams = streamsOnOneQueue(streamId("shared"), 6);
    for (StreamId s : streams) {
      h.subscribe("explicit", s);
    }
    for (int i = 0; i < 30; i++) {
      for (StreamId s : streams) {
        h.produce(s, event(s, i));
      }
    }
    for (StreamId s : streams) {
      h.awaitCount("explicit", s, 30).assertExactly("explicit", s, events(s, 0, 30));
    }
    h.assertInOrderNoDuplicates().assertNoErrors();
  }

  @Test
  void manyStreamsOnOneQueue_implicitSubscriptionsReceiveOnlyTheirOwnEvents() {
    requireProduce();
    DeliveryHarness h = start(true, o -> {});
    List<StreamId> streams = streamsOnOneQueue(streamId("shared"), 6);
    for (int i = 0; i < 30; i++) {
      for (StreamId s : streams) {
        h.produce(s, event(s, i));
      }
    }
    for (StreamId s : streams) {
      h.awaitCount(DeliveryHarness.IMPLICIT, s, 30)
          .assertExactly(DeliveryHarness.IMPLICIT, s, events(s, 0, 30));
      assertThat(h.activations(DeliveryHarness.IMPLICIT, s)).isOne();
    }
    assertThat(h.streams(DeliveryHarness.IMPLICIT)).containsExactlyInAnyOrderElementsOf(streams);
    h.assertInOrderNoDuplicates().assertNoErrors();
  }

  @Test
  void onNextBatch_deliversTheBatchInOrder() {
    requireProduce();
    DeliveryHarness h = start(false, o -> {});
    StreamId s = streamId("batch");
    h.subscribe("explicit", s);
    for (int b = 0; b < 10; b++) {
      h.produceBatch(s, events(s, b * 5, b * 5 + 5));
    }
    h.awaitCount("explicit", s, 50).assertExactly("explicit", s, events(s, 0, 50));
    h.assertInOrderNoDuplicates();
    if (batchSharesSequenceNumber()) {
      List<StreamSequenceToken> tokens = h.tokens("explicit", s);
      for (int b = 0; b < 10; b++) {
        long seq = tokens.get(b * 5).sequenceNumber();
        for (int k = 0; k < 5; k++) {
          assertThat(tokens.get(b * 5 + k))
              .as("token of event %d of batch %d", k, b)
              .isEqualTo(new EventSequenceToken(seq, k));
        }
      }
    }
  }

  @Test
  void dataAvailableSignal_wakesTheAgentWithoutTheTimer() {
    requireProduce();
    assumeTrue(signalsDataAvailable(), "the receiver does not signal arriving data");
    DeliveryHarness h = start(false, o -> o.getQueueMessagesTimerPeriod(Duration.ofHours(1)));
    StreamId s = streamId("signal");
    h.subscribe("explicit", s);
    for (int i = 0; i < 5; i++) {
      h.produce(s, event(s, i));
      h.awaitCount("explicit", s, i + 1);
    }
    h.assertExactly("explicit", s, events(s, 0, 5));
  }

  // ------------------------------------------------------------------ receiver lifecycle

  @Test
  void start_initializesEveryOwnedReceiver_andClose_shutsEachDownOnce() {
    DeliveryHarness h = start(false, o -> {});
    Set<QueueId> all = new HashSet<>(spy.streamQueueMapper().allQueues());
    h.awaitThat(
        "every queue's receiver initialized", () -> spy.initializedQueues().keySet().equals(all));
    h.close();
    assertThat(spy.shutDownQueues().keySet()).isEqualTo(spy.initializedQueues().keySet());
    assertThat(spy.shutDownQueues().values()).allMatch(n -> n == 1);
    assertThat(spy.initializedQueues().values()).allMatch(n -> n == 1);
    assertThat(spy.violations()).isEmpty();
  }

  @Test
  void messagesDelivered_onlyAfterEverySubscriptionPassedTheBatch() {
    requireProduce();
    DeliveryHarness h = start(false, o -> {});
    StreamId s = streamId("acked");
    StreamId probe = streamsOnOneQueue(s, 2).get(1);
    List<String> early = Collections.synchronizedList(new ArrayList<>());
    spy.onAcknowledged(
        b -> {
          if (!b.streamId().equals(s)) {
            return;
          }
          for (String sub : List.of("slow", "fast")) {
            for (int i = 0; i < b.eventCount(); i++) {
              if (!h.tokens(sub, s).contains(b.eventToken(i))) {
                early.add(b.eventToken(i) + " acknowledged before " + sub + " received it");
              }
            }
          }
        });
    Gate gate = h.gate();
    h.subscribe("slow", s, gate);
    h.subscribe("fast", s);
    h.subscribe("probe", probe);
    h.produce(s, events(s, 0, 20));
    h.awaitCount("fast", s, 20);
    gate.awaitHeld(1, deliveryTimeout());
    // A later read of the same queue implies a later purge attempt.
    h.produce(probe, event(probe, 0));
    h.awaitCount("probe", probe, 1);
    assertThat(spy.acknowledged(s))
        .as("batches of %s acknowledged while one subscription still holds the first", s)
        .isEmpty();
    gate.open();
    h.awaitCount("slow", s, 20);
    h.awaitThat("all 20 batches acknowledged", () -> spy.acknowledged(s).size() == 20);
    assertThat(early).isEmpty();
    assertThat(spy.violations()).isEmpty();
    h.assertExactly(s, events(s, 0, 20)).assertInOrderNoDuplicates();
  }

  @Test
  void close_acknowledgesEverythingDelivered_beforeShuttingReceiversDown() {
    requireProduce();
    DeliveryHarness h = start(false, o -> {});
    StreamId s = streamId("flush");
    h.subscribe("explicit", s);
    h.produce(s, events(s, 0, 30));
    h.awaitCount("explicit", s, 30);
    h.close();
    List<BatchContainer> acked = spy.acknowledged(s);
    int events = 0;
    for (BatchContainer b : acked) {
      events += b.eventCount();
    }
    assertThat(events).as("events of %s acknowledged by close", s).isEqualTo(30);
    assertThat(spy.violations())
        .as("SPI violations (e.g. an acknowledgement after shutdown)")
        .isEmpty();
  }

  // ------------------------------------------------------------------ rewind

  @Test
  void subscribeFromToken_onRewindableProvider_replaysFromTheTokenInclusive() {
    requireProduce();
    DeliveryHarness h = start(false, o -> {});
    StreamId s = streamId("rewind");
    assumeTrue(h.stream(s).isRewindable(), "the adapter is not rewindable");
    Gate anchor = h.gate();
    h.subscribe("anchor", s, anchor);
    h.subscribe("live", s);
    h.produce(s, events(s, 0, 10));
    h.awaitCount("live", s, 10);
    anchor.awaitHeld(1, deliveryTimeout());
    StreamSequenceToken third = h.tokens("live", s).get(3);
    h.subscribe("rewind", s, third);
    h.awaitCount("rewind", s, 7).assertExactly("rewind", s, events(s, 3, 10));
    h.produce(s, events(s, 10, 13));
    h.awaitCount("rewind", s, 10).assertExactly("rewind", s, events(s, 3, 13));
    anchor.open();
    h.awaitCount("anchor", s, 13).awaitCount("live", s, 13);
    h.assertExactly("anchor", s, events(s, 0, 13))
        .assertExactly("live", s, events(s, 0, 13))
        .assertInOrderNoDuplicates()
        .assertNoErrors();
  }

  @Test
  void subscribeFromToken_onNonRewindableProvider_isRejectedAtOnce() {
    DeliveryHarness h = start(false, o -> {});
    StreamId s = streamId("norewind");
    AsyncStream<Object> stream = h.stream(s);
    assumeFalse(stream.isRewindable(), "the adapter is rewindable");
    Recorder<Object> r = h.recorder("x", s);
    assertThatThrownBy(() -> stream.subscribe(r, new EventSequenceToken(0)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not rewindable")
        .hasMessageContaining(providerName());
  }

  // ------------------------------------------------------------------ mapping

  @Test
  void streamQueueMapper_isDeterministic_andMapsIntoAllQueues() {
    start(false, o -> {});
    StreamQueueMapper mapper = spy.streamQueueMapper();
    List<QueueId> all = mapper.allQueues();
    assertThat(all).isNotEmpty().doesNotHaveDuplicates().isEqualTo(mapper.allQueues());
    Set<QueueId> used = new HashSet<>();
    for (int i = 0; i < 500; i++) {
      StreamId id = StreamId.of(namespace(), "k" + i);
      QueueId q = mapper.queueForStream(id);
      assertThat(all).contains(q);
      assertThat(mapper.queueForStream(StreamId.of(namespace(), "k" + i))).isEqualTo(q);
      used.add(q);
    }
    if (all.size() > 1) {
      assertThat(used).as("queues used by 500 streams").hasSizeGreaterThan(1);
    }
  }
}
