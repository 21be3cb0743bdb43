package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.QueueId;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.Gate;
import dev.tributary.testkit.ManualTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Acknowledgement ({@code messagesDelivered}, observed through the memory adapter's {@code
 * acknowledgedCount} and {@code acknowledgementListener}): a batch is acknowledged only after every
 * subscription of its stream has passed it, never when its delivery failed, and always in queue
 * order.
 */
class AcknowledgementTest extends MemoryRuntimeTest {

  private final AtomicReference<DeliveryHarness> harness = new AtomicReference<>();
  private final List<BatchContainer> acked = Collections.synchronizedList(new ArrayList<>());
  private final List<String> early = Collections.synchronizedList(new ArrayList<>());

  /**
   * A memory factory whose acknowledgement listener checks, at acknowledgement time, that each of
   * {@code subscribers} already received every event of the batch (when the batch is of {@code
   * stream}).
   */
  private MemoryQueueAdapterFactory checkedFactory(
      int queueCount, StreamId stream, List<String> subscribers) {
    return MemoryQueueAdapterFactory.builder()
        .queueCount(queueCount)
        .acknowledgementListener(
            b -> {
              acked.add(b);
              DeliveryHarness h = harness.get();
              if (h == null || !b.streamId().equals(stream)) {
                return;
              }
              for (String sub : subscribers) {
                List<StreamSequenceToken> got = h.tokens(sub, stream);
                for (int i = 0; i < b.eventCount(); i++) {
                  if (!got.contains(b.eventToken(i))) {
                    early.add(b.eventToken(i) + " acknowledged before " + sub + " received it");
                  }
                }
              }
            })
        .build();
  }

  @Test
  void batchesAreAcknowledgedOnlyAfterEverySubscriptionPassedThem() {
    StreamId s = StreamId.of("orders", "acked");
    DeliveryHarness h = start(checkedFactory(1, s, List.of("slow", "fast")), o -> {}, (x, b) -> {});
    harness.set(h);
    StreamId probe = StreamId.of("orders", "probe");
    Gate gate = h.gate();
    h.subscribe("slow", s, gate);
    h.subscribe("fast", s);
    h.subscribe("probe", probe);
    h.produce(s, ints(0, 20));
    h.awaitCount("fast", s, 20);
    gate.awaitHeld(1, h.timeout());
    h.produce(probe, "ping"); // its read comes with a purge attempt
    h.awaitCount("probe", probe, 1);
    // Exact: the probe's batch, which nobody else needs, is acknowledged; none of s while slow
    // holds its event 0.
    h.awaitThat("the probe's batch acknowledged", () -> memory.acknowledgedCount() == 1);
    assertThat(acked).extracting(BatchContainer::streamId).containsExactly(probe);
    gate.open();
    h.awaitCount("slow", s, 20);
    h.awaitThat("everything acknowledged", () -> memory.acknowledgedCount() == 21);
    assertThat(early).isEmpty();
    assertThat(acked)
        .filteredOn(b -> b.streamId().equals(s))
        .extracting(BatchContainer::sequenceToken)
        .isSorted();
    h.assertExactly(s, ints(0, 20)).assertInOrderNoDuplicates();
  }

  /** On manual time: the poison event is given up exactly when maxEventDeliveryTime is spent. */
  @Test
  void failedDelivery_isAcknowledgedOnceGivenUp_andTheRestInStreamOrder() {
    StreamId s = StreamId.of("orders", "poison");
    ManualTime time = new ManualTime();
    Duration backoff = Duration.ofMillis(50);
    Duration tick = Duration.ofMillis(20); // shorter than the backoff: its first tick cannot be 50
    DeliveryHarness h =
        start(
            checkedFactory(1, s, List.of()),
            o ->
                o.deliveryBackoff(BackoffPolicy.fixed(backoff))
                    .maxEventDeliveryTime(Duration.ofMillis(200))
                    .getQueueMessagesTimerPeriod(tick),
            (x, b) -> b.time(time));
    harness.set(h);
    h.subscribe("picky", s, Behavior.failWhen(Integer.valueOf(5)::equals));
    h.subscribe("ok", s);
    h.produce(s, ints(0, 10));
    for (int retry = 1; retry <= 4; retry++) { // at 50, 100, 150 and 200 ms
      time.awaitScheduled(backoff);
      assertThat(h.errors("picky", s)).as("not given up before maxEventDeliveryTime").isEmpty();
      time.advance(backoff);
    }
    h.awaitCount("ok", s, 10).awaitCount("picky", s, 9).awaitErrors("picky", s, 1);
    StreamSequenceToken poison = h.tokens("ok", s).get(5);
    assertThat(h.attempts("picky", s, poison)).isEqualTo(5);
    // Given up after the failure handler had it: acknowledged with the other nine by the purge of
    // the next read tick.
    time.advance(tick);
    h.awaitThat("all 10 acknowledged", () -> memory.acknowledgedCount() == 10);
    h.produce(s, ints(10, 15));
    h.awaitCount("ok", s, 15).awaitCount("picky", s, 14);
    h.awaitThat("later events acknowledged", () -> memory.acknowledgedCount() == 15);
    assertThat(acked)
        .extracting(BatchContainer::sequenceToken)
        .contains(poison)
        .doesNotHaveDuplicates()
        .isSorted();
  }

  /**
   * A subscription that lags behind by more than one synchronous delivery run (512 events) must not
   * have its remaining backlog acknowledged while it yields the thread: acknowledging commits, and
   * a crash would then lose events that were never delivered.
   */
  @Test
  void laggingSubscriptionWithALargeBacklog_isNeverAcknowledgedAhead() {
    StreamId s = StreamId.of("orders", "backlog");
    DeliveryHarness h = start(checkedFactory(1, s, List.of("lagging")), o -> {}, (x, b) -> {});
    harness.set(h);
    QueueId q = queueOf(s);
    Gate gate = h.gate();
    h.subscribe("lagging", s, gate);
    int total = 5_000;
    h.produce(s, ints(0, total));
    h.awaitThat(
        "cache under pressure",
        () -> h.gaugeMax("tributary.cache.pressure", "queue", q.toString()) == 1.0);
    gate.open();
    h.awaitCount("lagging", s, total);
    h.awaitThat("everything acknowledged", () -> memory.acknowledgedCount() == total);
    assertThat(early).as("acknowledged before delivery").isEmpty();
    h.assertExactly("lagging", s, ints(0, total)).assertInOrderNoDuplicates();
  }

  @Test
  void unsubscribingAStuckSubscription_releasesWhatItHeld() {
    StreamId s = StreamId.of("orders", "stuck");
    DeliveryHarness h = start(checkedFactory(1, s, List.of("fast")), o -> {}, (x, b) -> {});
    harness.set(h);
    Gate gate = h.gate();
    StreamSubscriptionHandle<Object> stuck = h.subscribe("stuck", s, gate);
    h.subscribe("fast", s);
    h.produce(s, ints(0, 20));
    h.awaitCount("fast", s, 20);
    gate.awaitHeld(1, h.timeout());
    h.unsubscribe(stuck);
    h.awaitThat("everything acknowledged", () -> memory.acknowledgedCount() == 20);
    assertThat(early).isEmpty();
  }

  @Test
  void implicitSubscription_holdsAcknowledgementUntilItPassedTheBatch() {
    StreamId s = StreamId.of("actors", "a1");
    Gate gate = new Gate();
    DeliveryHarness h =
        start(
            checkedFactory(1, s, List.of(DeliveryHarness.IMPLICIT)),
            o -> o.drainTimeout(Duration.ofSeconds(2)), // the gate is not the harness's
            (x, b) ->
                b.implicitSubscription(
                    MEM, "actors", x.observerFactory(DeliveryHarness.IMPLICIT, gate)));
    harness.set(h);
    h.produce(s, ints(0, 10));
    gate.awaitHeld(1, h.timeout());
    StreamId probe = StreamId.of("other", "probe");
    h.subscribe("probe", probe);
    h.produce(probe, "ping");
    h.awaitCount("probe", probe, 1);
    h.awaitThat("the probe's batch acknowledged", () -> memory.acknowledgedCount() == 1);
    assertThat(acked).extracting(BatchContainer::streamId).containsExactly(probe);
    gate.open();
    h.awaitCount(DeliveryHarness.IMPLICIT, s, 10);
    h.awaitThat("everything acknowledged", () -> memory.acknowledgedCount() == 11);
    assertThat(early).isEmpty();
  }
}
