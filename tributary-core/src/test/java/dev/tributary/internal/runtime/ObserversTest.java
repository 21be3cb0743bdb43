package dev.tributary.internal.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.BatchStreamObserver;
import dev.tributary.EventMetadata;
import dev.tributary.EventSequenceToken;
import dev.tributary.MetadataBatchStreamObserver;
import dev.tributary.MetadataStreamObserver;
import dev.tributary.SequentialItem;
import dev.tributary.StreamObserver;
import dev.tributary.StreamSequenceToken;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * The guard around user observers: a stage back whatever the observer throws or returns, dispatch
 * by the observer's own type, and a clear rejection of anything that is not an observer.
 */
class ObserversTest {
  private static final StreamSequenceToken T1 = new EventSequenceToken(1);
  private static final EventMetadata META = EventMetadata.of(null, T1, "q", -1, null);

  private static Throwable failureOf(CompletionStage<Void> stage) {
    CompletableFuture<Void> f = stage.toCompletableFuture();
    assertThat(f).as("the guard's stage is complete").isDone();
    assertThat(f).isCompletedExceptionally();
    try {
      f.join();
      throw new AssertionError("not failed");
    } catch (CompletionException e) {
      return e.getCause();
    }
  }

  @Test
  void checked_returnsTheObserverItself() {
    StreamObserver<Object> single = (item, token) -> null;
    BatchStreamObserver<Object> batch = items -> null;
    assertThat(Observers.checked(single)).isSameAs(single);
    assertThat(Observers.checked(batch)).isSameAs(batch);
  }

  @Test
  void checked_rejectsWhatIsNoObserver_sayingWhatItWas() {
    assertThatThrownBy(() -> Observers.checked("text"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "observer was java.lang.String but it must be a StreamObserver or a"
                + " BatchStreamObserver");
    assertThatThrownBy(() -> Observers.checked(null))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("observer was null but");
  }

  @Test
  void nullStage_becomesACompletedStage() {
    StreamObserver<Object> single = (item, token) -> null;
    MetadataStreamObserver<Object> withMetadata = (item, metadata) -> null;
    BatchStreamObserver<Object> batch = items -> null;
    assertThat(Observers.onNext(single, "a", T1)).isSameAs(Observers.DONE);
    assertThat(Observers.onNext(withMetadata, "a", META)).isSameAs(Observers.DONE);
    assertThat(Observers.onNextBatch(batch, List.of(new SequentialItem<>("a", T1))))
        .isSameAs(Observers.DONE);
    assertThat(Observers.onNext(batch, "a", T1)).isSameAs(Observers.DONE);
  }

  @Test
  void whatTheObserverThrows_failsTheStage_errorsIncluded() {
    RuntimeException boom = new RuntimeException("boom");
    AssertionError error = new AssertionError("error");
    StreamObserver<Object> single =
        (item, token) -> {
          throw boom;
        };
    MetadataStreamObserver<Object> withMetadata =
        (item, metadata) -> {
          throw error;
        };
    BatchStreamObserver<Object> batch =
        items -> {
          throw boom;
        };
    assertThat(failureOf(Observers.onNext(single, "a", T1))).isSameAs(boom);
    assertThat(failureOf(Observers.onNext(single, "a", META))).isSameAs(boom);
    assertThat(failureOf(Observers.onNext(withMetadata, "a", META))).isSameAs(error);
    assertThat(failureOf(Observers.onNext(batch, "a", T1))).isSameAs(boom);
    assertThat(failureOf(Observers.onNextBatch(batch, List.of()))).isSameAs(boom);
  }

  @Test
  void onError_returnsWhatTheObserverThrew_orNull() {
    List<Throwable> seen = new ArrayList<>();
    RuntimeException boom = new RuntimeException("boom");
    StreamObserver<Object> single =
        new StreamObserver<>() {
          @Override
          public CompletionStage<Void> onNext(Object item, StreamSequenceToken token) {
            return null;
          }

          @Override
          public void onError(Throwable error) {
            seen.add(error);
          }
        };
    BatchStreamObserver<Object> batch =
        new BatchStreamObserver<>() {
          @Override
          public CompletionStage<Void> onNextBatch(List<SequentialItem<Object>> items) {
            return null;
          }

          @Override
          public void onError(Throwable error) {
            throw boom;
          }
        };
    IllegalStateException failure = new IllegalStateException("failure");
    assertThat(Observers.onError(single, failure)).isNull();
    assertThat(seen).containsExactly(failure);
    assertThat(Observers.onError(batch, failure)).isSameAs(boom);
  }

  @Test
  void batchObserverCalledForOneEvent_getsABatchOfOne_withItsMetadata() {
    List<List<SequentialItem<Object>>> calls = new ArrayList<>();
    MetadataBatchStreamObserver<Object> batch =
        items -> {
          calls.add(items);
          return Observers.DONE;
        };
    assertThat(Observers.isBatch(batch)).isTrue();
    assertThat(Observers.wantsMetadata(batch)).isTrue();
    Observers.onNext(batch, "a", META);
    assertThat(calls).hasSize(1);
    assertThat(calls.get(0)).hasSize(1);
    assertThat(calls.get(0).get(0).item()).isEqualTo("a");
    assertThat(calls.get(0).get(0).token()).isEqualTo(T1);
    assertThat(calls.get(0).get(0).metadata()).isSameAs(META);
  }

  @Test
  void singleObserverCalledWithABatch_failsTheStage() {
    StreamObserver<Object> single = (item, token) -> Observers.DONE;
    assertThat(Observers.isBatch(single)).isFalse();
    assertThat(failureOf(Observers.onNextBatch(single, List.of())))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void metadataObserver_getsTheMetadata_aPlainOneTheToken() {
    List<Object> seen = new ArrayList<>();
    MetadataStreamObserver<Object> withMetadata =
        (item, metadata) -> {
          seen.add(metadata);
          return null;
        };
    StreamObserver<Object> plain =
        (item, token) -> {
          seen.add(token);
          return null;
        };
    assertThat(Observers.wantsMetadata(withMetadata)).isTrue();
    assertThat(Observers.wantsMetadata(plain)).isFalse();
    Observers.onNext(withMetadata, "a", META);
    Observers.onNext(plain, "a", META);
    assertThat(seen).containsExactly(META, T1);
  }

  /** Both kinds at once: a single-event observer, as subscribe always treated it. */
  private static final class BothKinds
      implements StreamObserver<Object>, BatchStreamObserver<Object> {
    final List<String> calls = new ArrayList<>();

    @Override
    public CompletionStage<Void> onNext(Object item, StreamSequenceToken token) {
      calls.add("onNext");
      return null;
    }

    @Override
    public CompletionStage<Void> onNextBatch(List<SequentialItem<Object>> items) {
      calls.add("onNextBatch");
      return null;
    }

    @Override
    public void onError(Throwable error) {
      calls.add("onError");
    }

    @Override
    public void onCompleted() {}
  }

  @Test
  void observerOfBothKinds_isASingleEventObserver() {
    BothKinds both = new BothKinds();
    assertThat(Observers.isBatch(both)).isFalse();
    Observers.onNext(both, "a", T1);
    Observers.onError(both, new IllegalStateException());
    assertThat(failureOf(Observers.onNextBatch(both, List.of())))
        .isInstanceOf(IllegalStateException.class);
    assertThat(both.calls).containsExactly("onNext", "onError");
  }

  @Test
  void notAnObserver_failsTheStage_ratherThanThrowing() {
    assertThat(failureOf(Observers.onNext("text", "a", T1))).isInstanceOf(ClassCastException.class);
    assertThat(Observers.onError("text", new IllegalStateException()))
        .isInstanceOf(ClassCastException.class);
  }
}
