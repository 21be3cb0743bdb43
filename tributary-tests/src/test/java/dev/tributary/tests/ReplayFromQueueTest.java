package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.EventSequenceToken;
import dev.tributary.EventsExpiredException;
import dev.tributary.QueueCacheMissException;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.Gate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Rewinding beyond the cache on a provider that can read its queues' past (memory queues with
 * {@code history}): the subscription replays its stream from the queue, then goes on from the cache
 * with no gap and no duplicate at the seam; a slow replay holds neither reading nor acknowledgement
 * back; a token older than the queue keeps is reported and starts at the oldest kept batch.
 */
class ReplayFromQueueTest extends MemoryRuntimeTest {

  private DeliveryHarness startWithHistory(int history) {
    return start(
        MemoryQueueAdapterFactory.builder().queueCount(1).history(history).build(),
        o -> o.cacheSize(64),
        (h, b) -> {});
  }

  @Test
  void tokenOlderThanTheCache_replaysTheStreamFromTheQueue_thenGoesLive() {
    DeliveryHarness h = startWithHistory(10_000);
    StreamId s = StreamId.of("orders", "replayed");
    StreamId other = StreamId.of("orders", "other");
    h.subscribe("live", s);
    for (int i = 0; i < 50; i++) {
      h.produce(s, i);
      h.produce(other, "o" + i);
    }
    h.awaitCount("live", s, 50);
    h.awaitThat("every batch was acknowledged", () -> memory.acknowledgedCount() == 100);
    StreamSequenceToken fifth = h.tokens("live", s).get(5);

    h.subscribe("rewound", s, fifth);
    h.awaitCount("rewound", s, 45);
    h.produce(s, ints(50, 60));

    h.awaitCount("rewound", s, 55).awaitCount("live", s, 60);
    h.assertExactly("rewound", s, ints(5, 60)).assertInOrderNoDuplicates().assertNoErrors();
    assertThat(h.tokens("rewound", s)).isEqualTo(h.tokens("live", s).subList(5, 60));
    assertThat(spy.replaysOpened()).isEqualTo(1);
    assertThat(spy.openReplays()).isEmpty();
    assertThat(h.counter("tributary.replays", "provider", MEM)).isEqualTo(1.0);
    assertThat(h.counter("tributary.cache.misses", "provider", MEM)).isZero();
  }

  @Test
  void rewindToTheFirstEvent_whileProducersRun_deliversEveryEventOnceInOrder() throws Exception {
    DeliveryHarness h = startWithHistory(100_000);
    StreamId s = StreamId.of("orders", "busy");
    List<StreamId> others = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      others.add(StreamId.of("orders", "noise-" + i));
    }
    h.subscribe("live", s);
    int total = 3_000;
    AtomicBoolean failed = new AtomicBoolean();
    Thread producer =
        new Thread(
            () -> {
              try {
                for (int i = 0; i < total; i++) {
                  h.produce(s, i);
                  h.produce(others.get(i % others.size()), i);
                }
              } catch (Throwable t) {
                failed.set(true);
                throw t;
              }
            },
            "replay-test-producer");
    producer.start();
    h.awaitCount("live", s, total / 3);
    StreamSequenceToken first = h.tokens("live", s).get(0);

    // Rewound to the first event while the producer keeps writing.
    h.subscribe("rewound", s, first);
    producer.join(h.timeout().toMillis());
    assertThat(producer.isAlive()).isFalse();
    assertThat(failed).isFalse();

    h.awaitCount("rewound", s, total).awaitCount("live", s, total);
    h.assertExactly("rewound", s, ints(0, total)).assertInOrderNoDuplicates().assertNoErrors();
    assertThat(h.tokens("rewound", s)).isEqualTo(h.tokens("live", s));
  }

  /**
   * The replay reads what the live reader has not read yet (the cache is under pressure, so the
   * agent stopped reading): after the seam the cache cursor must skip those batches when the live
   * reader gets to them.
   */
  @Test
  void replayAheadOfTheLiveReader_isNotDeliveredAgainFromTheCache() {
    DeliveryHarness h = startWithHistory(10_000);
    StreamId s = StreamId.of("orders", "ahead");
    StreamId anchorStream = StreamId.of("orders", "anchor");
    h.subscribe("live", s);
    h.produce(s, ints(0, 10));
    h.awaitCount("live", s, 10);
    h.awaitThat("acknowledged", () -> memory.acknowledgedCount() == 10);
    Gate anchor = h.gate();
    h.subscribe("anchor", h.<Object>stream(anchorStream), null, null, anchor);
    h.produce(anchorStream, "held");
    anchor.awaitHeld(1, h.timeout());
    // The held batch pins the cache: once it is full, the agent stops reading the queue.
    h.produce(s, ints(10, 200));
    h.awaitThat("the live reader stopped", () -> memory.unreadCount(queueOf(s)) > 50);

    h.subscribe("rewound", s, h.tokens("live", s).get(0));
    h.awaitCount("rewound", s, 200);
    anchor.open();

    h.awaitCount("live", s, 200).awaitCount("anchor", anchorStream, 1);
    h.produce(s, ints(200, 210));
    h.awaitCount("live", s, 210).awaitCount("rewound", s, 210);
    h.assertExactly("rewound", s, ints(0, 210)).assertInOrderNoDuplicates().assertNoErrors();
  }

  @Test
  void slowReplay_holdsNeitherReadingNorAcknowledgementBack() {
    DeliveryHarness h = startWithHistory(10_000);
    StreamId s = StreamId.of("orders", "slow");
    StreamId busy = StreamId.of("orders", "busy");
    h.subscribe("live", s);
    h.produce(s, ints(0, 20));
    h.awaitCount("live", s, 20);
    h.awaitThat("acknowledged", () -> memory.acknowledgedCount() == 20);
    Gate gate = h.gate();
    h.subscribe("slow", h.<Object>stream(s), h.tokens("live", s).get(0), null, gate);
    gate.awaitHeld(1, h.timeout());

    // The replaying subscription sits on its first event; the queue goes on far past the cache.
    h.subscribe("busy", busy);
    h.produce(busy, ints(0, 500));
    h.awaitCount("busy", busy, 500);
    h.awaitThat(
        "every batch of the busy stream was acknowledged", () -> memory.acknowledgedCount() == 520);

    gate.open();
    h.awaitCount("slow", s, 20).assertExactly("slow", s, ints(0, 20));
    h.produce(s, ints(20, 25));
    h.awaitCount("slow", s, 25).assertExactly("slow", s, ints(0, 25)).assertInOrderNoDuplicates();
  }

  @Test
  void tokenOlderThanTheHistory_reportsEventsExpired_andStartsAtTheOldestKept() {
    DeliveryHarness h = startWithHistory(16);
    StreamId s = StreamId.of("orders", "expired");
    h.subscribe("live", s);
    h.produce(s, ints(0, 40));
    h.awaitCount("live", s, 40);
    h.awaitThat("acknowledged", () -> memory.acknowledgedCount() == 40);
    StreamSequenceToken first = h.tokens("live", s).get(0);

    h.subscribe("rewound", s, first);
    h.awaitErrors("rewound", s, 1);
    h.awaitCount("rewound", s, 16);

    Throwable error = h.errors("rewound", s).get(0);
    assertThat(error).isInstanceOf(EventsExpiredException.class);
    EventsExpiredException expired = (EventsExpiredException) error;
    assertThat(expired.requested()).isEqualTo(first);
    assertThat(expired.earliest()).isEqualTo(h.tokens("live", s).get(24));
    assertThat(expired.getMessage())
        .contains(first.toString())
        .contains(h.tokens("live", s).get(24).toString());
    h.assertExactly("rewound", s, ints(24, 40)).assertInOrderNoDuplicates();
    assertThat(h.counter("tributary.replay.expired", "provider", MEM)).isEqualTo(1.0);
  }

  @Test
  void resumeFromAnOldToken_replays() {
    DeliveryHarness h = startWithHistory(10_000);
    StreamId s = StreamId.of("orders", "resumed");
    StreamSubscriptionHandle<Object> handle = h.subscribe("first", s);
    h.produce(s, ints(0, 30));
    h.awaitCount("first", s, 30);
    h.awaitThat("acknowledged", () -> memory.acknowledgedCount() == 30);
    StreamSequenceToken tenth = h.tokens("first", s).get(10);

    h.join(handle.resume(h.recorder("second", s), tenth), "resume from an old token");

    h.awaitCount("second", s, 20).assertExactly("second", s, ints(10, 30));
    h.produce(s, ints(30, 33));
    h.awaitCount("second", s, 23).assertExactly("second", s, ints(10, 33)).assertNoErrors();
  }

  @Test
  void withoutHistory_anEvictedTokenIsStillACacheMiss() {
    DeliveryHarness h =
        start(MemoryQueueAdapterFactory.builder().queueCount(1).build(), o -> {}, (x, b) -> {});
    StreamId s = StreamId.of("orders", "no-history");
    h.subscribe("live", s);
    h.produce(s, ints(0, 10));
    h.awaitCount("live", s, 10);
    h.awaitThat("acknowledged", () -> memory.acknowledgedCount() == 10);
    h.subscribe("late", s, h.tokens("live", s).get(2));
    assertThat(h.errors("late", s)).singleElement().isInstanceOf(QueueCacheMissException.class);
    assertThat(spy.replaysOpened()).isZero();
  }

  @Test
  void tokenAt_findsTheFirstBatchAtOrAfterATime() {
    DeliveryHarness h = startWithHistory(1_000);
    StreamId s = StreamId.of("orders", "timed");
    h.subscribe("live", s);
    h.produce(s, ints(0, 5));
    h.awaitCount("live", s, 5);

    StreamSequenceToken beforeAll = h.join(h.stream(s).tokenAt(Instant.EPOCH), "tokenAt epoch");
    StreamSequenceToken future =
        h.join(h.stream(s).tokenAt(Instant.now().plusSeconds(3600)), "tokenAt future");

    assertThat(beforeAll).isEqualTo(new EventSequenceToken(0));
    assertThat(future).isNull();
    StreamSubscriptionHandle<Object> fromEpoch =
        h.join(
            h.<Object>stream(s)
                .subscribeFrom(h.recorder("from-epoch", s, Behavior.ACK), Instant.EPOCH),
            "subscribeFrom epoch");
    assertThat(fromEpoch.streamId()).isEqualTo(s);
    h.awaitCount("from-epoch", s, 5).assertExactly("from-epoch", s, ints(0, 5));
  }
}
