package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.StreamId;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.QueueId;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.Gate;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Backpressure instead of loss: a slow subscription fills the cache, the agent stops reading (the
 * rest waits in the queue), the cache never grows beyond {@code cacheSize}, other subscriptions of
 * the queue keep receiving what was read, and once the slow one catches up everything arrives in
 * order.
 */
class BackpressureTest extends MemoryRuntimeTest {

  private static final String PRESSURE = "tributary.cache.pressure";
  private static final String SIZE = "tributary.cache.size";

  private double gauge(DeliveryHarness h, String name, QueueId q) {
    return h.gaugeMax(name, "provider", MEM, "queue", q.toString());
  }

  @Test
  void slowConsumer_stopsReading_withoutLoss_whileAFastConsumerOfTheQueueKeepsReceiving() {
    int cacheSize = 100;
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(1).build(),
            o -> o.cacheSize(cacheSize),
            (x, b) -> {});
    StreamId slow = StreamId.of("orders", "slow");
    StreamId fast = StreamId.of("orders", "fast");
    QueueId q = queueOf(slow);
    assertThat(queueOf(fast)).isEqualTo(q);
    Gate gate = h.gate();
    h.subscribe("slow", slow, gate);
    h.subscribe("fast", fast);
    int perStream = 300;
    for (int i = 0; i < perStream; i++) {
      h.produce(slow, i);
      h.produce(fast, i);
    }
    h.awaitThat("cache under pressure", () -> gauge(h, PRESSURE, q) == 1.0);
    int unread = memory.unreadCount(q);
    assertThat(unread).as("events left in the queue while reading is paused").isPositive();
    int read = 2 * perStream - unread;
    // Queue order alternates slow, fast: the fast stream's share of what was read.
    h.awaitCount("fast", fast, read / 2);
    assertThat(memory.unreadCount(q)).as("still paused").isEqualTo(unread);
    assertThat(h.count("slow", slow)).isZero();
    assertThat(gate.held()).isOne();
    assertThat(gauge(h, SIZE, q)).isLessThanOrEqualTo(cacheSize);
    assertThat(spy.maxCacheSize()).isLessThanOrEqualTo(cacheSize);
    // Exact acknowledgement: what the fast subscription passed is acknowledged though it stays
    // cached behind the slow subscription's event; nothing of the slow stream is.
    h.awaitThat(
        "the fast stream's delivered events acknowledged",
        () -> memory.acknowledgedCount() == h.count("fast", fast));
    assertThat(memory.acknowledgedCount()).isEqualTo(read / 2);

    gate.open();
    h.awaitCount("slow", slow, perStream).awaitCount("fast", fast, perStream);
    h.assertExactly("slow", slow, ints(0, perStream))
        .assertExactly("fast", fast, ints(0, perStream))
        .assertInOrderNoDuplicates()
        .assertNoErrors();
    h.awaitThat("pressure released", () -> gauge(h, PRESSURE, q) == 0.0);
    h.awaitThat("all acknowledged", () -> memory.acknowledgedCount() == 2L * perStream);
    assertThat(memory.unreadCount(q)).isZero();
    assertThat(spy.maxCacheSize()).isLessThanOrEqualTo(cacheSize);
  }

  @Test
  void slowConsumerThatSpeedsUpAndSlowsDown_repeatedly_receivesEverythingInOrder() {
    int cacheSize = 32;
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(1).build(),
            o -> o.cacheSize(cacheSize),
            (x, b) -> {});
    StreamId s = StreamId.of("orders", "valley");
    QueueId q = queueOf(s);
    Gate gate = h.gate();
    h.subscribe("valley", s, gate);
    h.subscribe("steady", s);
    int produced = 0;
    for (int round = 0; round < 5; round++) {
      gate.close();
      h.produce(s, ints(produced, produced + 100));
      produced += 100;
      int target = produced;
      h.awaitThat("pressure in round " + round, () -> gauge(h, PRESSURE, q) == 1.0);
      gate.open();
      h.awaitCount("valley", s, target).awaitCount("steady", s, target);
    }
    h.assertExactly(s, ints(0, produced)).assertInOrderNoDuplicates();
    assertThat(spy.maxCacheSize()).isLessThanOrEqualTo(cacheSize);
  }

  /**
   * Pressure that is released by a delivery completing synchronously (here: a retry that finally
   * succeeds) must resume reading at once: with an hour-long timer nothing else would wake the
   * agent, and the events still in the queue would wait that long.
   */
  @Test
  void pressureReleasedBySynchronousDelivery_resumesReadingWithoutWaitingForTheTimer() {
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(1).build(),
            o ->
                o.cacheSize(16)
                    .getQueueMessagesTimerPeriod(Duration.ofHours(1))
                    .deliveryBackoff(BackoffPolicy.fixed(Duration.ofMillis(5)))
                    .maxEventDeliveryTime(Duration.ofMinutes(5)),
            (x, b) -> {});
    StreamId s = StreamId.of("orders", "recovering");
    QueueId q = queueOf(s);
    AtomicBoolean failing = new AtomicBoolean(true);
    Behavior flaky =
        (id, item, token, attempt) -> {
          if (failing.get()) {
            throw new IllegalStateException("not ready yet");
          }
          return CompletableFuture.completedFuture(null);
        };
    h.subscribe("flaky", s, flaky);
    h.produce(s, ints(0, 40));
    h.awaitThat("cache under pressure", () -> gauge(h, PRESSURE, q) == 1.0);
    assertThat(memory.unreadCount(q)).isPositive();
    failing.set(false);
    h.awaitCount("flaky", s, 40);
    h.assertExactly("flaky", s, ints(0, 40)).assertInOrderNoDuplicates().assertNoErrors();
  }
}
