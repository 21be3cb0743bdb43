package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.AsyncStream;
import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.Recorder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Strong subscription semantics (Orleans' SubscriptionMultiplicity and producer/consumer ordering
 * tests): a subscription sees every event produced after its {@code subscribe} completed, in order,
 * once; producers and consumers may come in any order and any number.
 */
class SubscriptionSemanticsTest extends MemoryRuntimeTest {

  @Test
  void producerFirst_consumerReceivesExactlyWhatIsProducedAfterItSubscribed() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "p1");
    h.produce(s, ints(0, 10));
    h.awaitThat(
        "the 10 early events are read and acknowledged", () -> memory.acknowledgedCount() == 10);
    h.subscribe("consumer", s);
    h.produce(s, ints(10, 20));
    h.awaitCount("consumer", s, 10);
    h.assertExactly("consumer", s, ints(10, 20)).assertInOrderNoDuplicates().assertNoErrors();
  }

  @Test
  void consumerFirst_receivesEveryEventInOrder() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "c1");
    h.subscribe("consumer", s);
    h.produce(s, ints(0, 200));
    h.awaitCount("consumer", s, 200);
    h.assertExactly("consumer", s, ints(0, 200)).assertInOrderNoDuplicates().assertNoErrors();
  }

  @Test
  void subscribeBeforeStart_completesOnceTheOwningAgentRuns() {
    MemoryQueueAdapterFactory factory = MemoryQueueAdapterFactory.builder().queueCount(2).build();
    DeliveryHarness h = invariants.newHarness();
    StreamRuntime rt = h.runtimeBuilder().addProvider(MEM, factory).build();
    h.wrap(rt);
    StreamId s = StreamId.of("orders", "early-bird");
    AsyncStream<Object> stream = h.stream(s);
    Recorder<Object> r = h.recorder("consumer", s);
    CompletionStage<StreamSubscriptionHandle<Object>> subscribed = stream.subscribe(r);
    assertThat(subscribed.toCompletableFuture()).as("no agent owns the queue yet").isNotDone();
    rt.start();
    StreamSubscriptionHandle<Object> handle = h.join(subscribed, "subscribe before start");
    assertThat(handle.streamId()).isEqualTo(s);
    h.produce(s, ints(0, 20));
    h.awaitCount("consumer", s, 20).assertExactly("consumer", s, ints(0, 20));
  }

  /** Orleans' MultipleLinearSubscriptionTest: each new consumer sees only the later rounds. */
  @Test
  void consumersJoiningOneAfterAnother_eachReceiveExactlyTheRoundsAfterTheirSubscribe() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "linear");
    int rounds = 5;
    for (int round = 0; round < rounds; round++) {
      h.subscribe("c" + round, s);
      h.produce(s, ints(round * 10, round * 10 + 10));
      for (int c = 0; c <= round; c++) {
        h.awaitCount("c" + c, s, (round - c + 1) * 10);
      }
    }
    for (int c = 0; c < rounds; c++) {
      h.assertExactly("c" + c, s, ints(c * 10, rounds * 10));
    }
    h.assertInOrderNoDuplicates().assertNoErrors();
  }

  @Test
  void manyProducersAndConsumers_onOneStream_everyConsumerReceivesEveryEventOnce()
      throws Exception {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "busy");
    int consumers = 3;
    int producers = 4;
    int perProducer = 250;
    for (int c = 0; c < consumers; c++) {
      h.subscribe("c" + c, s);
    }
    ExecutorService pool = Executors.newFixedThreadPool(producers);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int p = 0; p < producers; p++) {
        List<Object> mine = strings("p" + p + "-", 0, perProducer);
        done.add(pool.submit(() -> h.produce(s, mine)));
      }
      for (Future<?> f : done) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdown();
    }
    int total = producers * perProducer;
    for (int c = 0; c < consumers; c++) {
      h.awaitCount("c" + c, s, total);
    }
    h.assertInOrderNoDuplicates().assertNoErrors();
    List<Object> first = h.items("c0", s);
    assertThat(first).hasSize(total).doesNotHaveDuplicates();
    for (int c = 1; c < consumers; c++) {
      assertThat(h.items("c" + c, s)).as("c%d sees the queue's order", c).isEqualTo(first);
    }
    for (int p = 0; p < producers; p++) {
      String prefix = "p" + p + "-";
      List<Object> fromP = new ArrayList<>();
      for (Object item : first) {
        if (((String) item).startsWith(prefix)) {
          fromP.add(item);
        }
      }
      assertThat(fromP)
          .as("events of producer %d, in its order", p)
          .isEqualTo(strings(prefix, 0, perProducer));
    }
  }

  @Test
  void manyStreamsOnOneQueue_eachSubscriptionSeesOnlyItsStream() {
    DeliveryHarness h =
        start(MemoryQueueAdapterFactory.builder().queueCount(1).build(), o -> {}, (x, b) -> {});
    List<StreamId> streams = new ArrayList<>();
    for (int k = 0; k < 20; k++) {
      streams.add(StreamId.of("orders", "s" + k));
      h.subscribe("sub", streams.get(k));
    }
    for (int i = 0; i < 50; i++) {
      for (StreamId s : streams) {
        h.produce(s, s.key() + ":" + i);
      }
    }
    for (StreamId s : streams) {
      h.awaitCount("sub", s, 50).assertExactly("sub", s, strings(s.key() + ":", 0, 50));
    }
    h.assertInOrderNoDuplicates().assertNoErrors();
    assertThat(h.count()).isEqualTo(1000);
  }

  @Test
  void sameStreamIdInTwoProviders_areTwoIndependentStreams() {
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(2).build(),
            o -> {},
            (x, b) -> b.addProvider("other", MemoryQueueAdapterFactory.builder().build()));
    StreamId s = StreamId.of("orders", "twin");
    h.subscribe("mem-sub", s);
    h.subscribe("other-sub", h.stream("other", s), null, null, Behavior.ACK);
    h.produce(MEM, s, strings("m", 0, 10));
    h.produce("other", s, strings("o", 0, 5));
    h.awaitCount("mem-sub", s, 10).awaitCount("other-sub", s, 5);
    h.assertExactly("mem-sub", s, strings("m", 0, 10))
        .assertExactly("other-sub", s, strings("o", 0, 5))
        .assertInOrderNoDuplicates();
  }
}
