package dev.tributary.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.BatchStreamObserver;
import dev.tributary.EventSequenceToken;
import dev.tributary.SequentialItem;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/** The harness's checks must fail when they should: driven by hand, without a runtime. */
class DeliveryHarnessTest {

  private static final StreamId S = StreamId.of("ns", "k");

  private static EventSequenceToken t(long seq) {
    return new EventSequenceToken(seq);
  }

  private static void ack(CompletionStage<Void> stage) {
    stage.toCompletableFuture().join();
  }

  @Test
  void inOrderDeliveries_passEveryCheck() {
    DeliveryHarness h = DeliveryHarness.create();
    Recorder<Object> r = h.recorder("a", S);
    for (int i = 0; i < 5; i++) {
      ack(r.onNext(i, t(i)));
    }
    h.awaitCount(5).awaitCount("a", 5).awaitCount("a", S, 5);
    h.assertInOrderNoDuplicates().assertExactly(S, List.of(0, 1, 2, 3, 4)).assertNoErrors();
    assertThat(h.duplicates()).isZero();
    assertThat(h.tokens("a", S)).containsExactly(t(0), t(1), t(2), t(3), t(4));
  }

  @Test
  void duplicateAndReorderedDeliveries_areCaught() {
    DeliveryHarness h = DeliveryHarness.create();
    Recorder<Object> r = h.recorder("a", S);
    ack(r.onNext("x", t(1)));
    ack(r.onNext("x", t(1)));
    ack(r.onNext("w", t(0)));
    assertThat(h.duplicates()).isOne();
    assertThatThrownBy(h::assertInOrderNoDuplicates)
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("duplicate [1,0]")
        .hasMessageContaining("out of order [0,0]");
  }

  @Test
  void recordersOfOneLabelShareARecord_soAResumeIsCheckedAsOneSequence() {
    DeliveryHarness h = DeliveryHarness.create();
    ack(h.recorder("a", S).onNext(0, t(0)));
    ack(h.recorder("a", S).onNext(0, t(0)));
    assertThat(h.duplicates()).isOne();
  }

  @Test
  void assertExactly_namesTheSubscriberThatDiffers() {
    DeliveryHarness h = DeliveryHarness.create();
    ack(h.recorder("a", S).onNext(1, t(0)));
    ack(h.recorder("b", S).onNext(2, t(0)));
    assertThatThrownBy(() -> h.assertExactly(S, List.of(1)))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("what b received");
  }

  @Test
  void awaitCount_timesOutWithASummary() {
    DeliveryHarness h = DeliveryHarness.create().timeout(Duration.ofMillis(50));
    h.recorder("a", S);
    assertThatThrownBy(() -> h.awaitCount("a", S, 1)).hasMessageContaining("a receives 1 of ns/k");
  }

  @Test
  void failingBehavior_isNotRecorded_andAttemptsAreCounted() {
    DeliveryHarness h = DeliveryHarness.create();
    Recorder<Object> r = h.recorder("a", S, Behavior.failFirstAttempts(2));
    assertThatThrownBy(() -> r.onNext("e", t(0))).isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(() -> r.onNext("e", t(0))).isInstanceOf(IllegalStateException.class);
    ack(r.onNext("e", t(0)));
    assertThat(h.attempts("a", S, t(0))).isEqualTo(3);
    assertThat(h.count("a", S)).isOne();
  }

  @Test
  void gate_holdsUntilOpened_andRecordsOnlyThen() {
    DeliveryHarness h = DeliveryHarness.create();
    Gate gate = h.gate();
    Recorder<Object> r = h.recorder("a", S, gate);
    CompletableFuture<Void> first = r.onNext("e", t(0)).toCompletableFuture();
    assertThat(first).isNotDone();
    assertThat(gate.held()).isOne();
    assertThat(h.count()).isZero();
    h.close();
    assertThat(first).isCompleted();
    assertThat(h.count()).isOne();
    assertThat(gate.isOpen()).isTrue();
  }

  @Test
  void observerFactory_countsActivationsPerStream() {
    DeliveryHarness h = DeliveryHarness.create();
    StreamObserver<Object> o1 = h.observerFactory().apply(S);
    h.observerFactory().apply(S);
    ack(o1.onNext("e", t(0)));
    assertThat(h.activations(DeliveryHarness.IMPLICIT, S)).isEqualTo(2);
    assertThat(h.items(DeliveryHarness.IMPLICIT, S)).containsExactly("e");
  }

  @Test
  void aReplayOfSeveralEvents_countsEveryOneAsADuplicate() {
    DeliveryHarness h = DeliveryHarness.create();
    Recorder<Object> r = h.recorder("a", S);
    for (long seq : new long[] {0, 1, 2, 1, 2, 3}) {
      ack(r.onNext("e" + seq, t(seq)));
    }
    assertThat(h.count()).isEqualTo(6);
    assertThat(h.duplicates()).isEqualTo(2);
    assertThat(h.distinctCount()).isEqualTo(4);
    assertThatThrownBy(h::assertInOrderNoDuplicates)
        .hasMessageContaining("duplicate [1,0]")
        .hasMessageContaining("duplicate [2,0]");
    h.assertDeliveredAtLeastOnce("a", S, List.of("e0", "e1", "e2", "e3"));
    assertThatThrownBy(() -> h.assertDeliveredAtLeastOnce("a", S, List.of("e0", "e1", "e2")))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("in first-delivery order");
  }

  @Test
  void assertDeliveredAtLeastOnce_catchesFirstDeliveriesOutOfTokenOrder() {
    DeliveryHarness h = DeliveryHarness.create();
    Recorder<Object> r = h.recorder("a", S);
    ack(r.onNext("e1", t(1)));
    ack(r.onNext("e0", t(0)));
    assertThatThrownBy(() -> h.assertDeliveredAtLeastOnce("a", S, List.of("e1", "e0")))
        .isInstanceOf(AssertionError.class)
        .hasMessageContaining("tokens a first received");
  }

  @Test
  void batchAndSingleDeliveriesOfOneLabel_areCheckedAsOneSequence() {
    DeliveryHarness h = DeliveryHarness.create();
    ack(h.recorder("a", S).onNext("e0", t(0)));
    BatchStreamObserver<Object> batches = h.batchRecorder("a", S, Behavior.ACK);
    ack(
        batches.onNextBatch(
            List.of(new SequentialItem<>("e1", t(1)), new SequentialItem<>("e2", t(2)))));
    ack(batches.onNextBatch(List.of(new SequentialItem<>("e2", t(2)))));
    assertThat(h.items("a", S)).containsExactly("e0", "e1", "e2", "e2");
    assertThat(h.attempts("a")).isEqualTo(3);
    assertThat(h.duplicates()).isOne();
  }

  @Test
  void runtimeIsRequiredForProducing() {
    DeliveryHarness h = DeliveryHarness.create();
    assertThatThrownBy(() -> h.produce(S, 1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("no runtime yet");
  }
}
