package dev.tributary.internal.runtime;

import dev.tributary.BatchStreamObserver;
import dev.tributary.SequentialItem;
import dev.tributary.StreamObserver;
import dev.tributary.StreamSequenceToken;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A user observer of either kind, called through a guard: whatever it throws or returns, the agent
 * gets a stage back.
 */
final class ObserverRef {
  static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  private final StreamObserver<Object> single;
  private final BatchStreamObserver<Object> batch;

  private ObserverRef(StreamObserver<Object> single, BatchStreamObserver<Object> batch) {
    this.single = single;
    this.batch = batch;
  }

  @SuppressWarnings("unchecked")
  static ObserverRef of(Object observer) {
    if (observer instanceof StreamObserver<?> s) {
      return new ObserverRef((StreamObserver<Object>) s, null);
    }
    if (observer instanceof BatchStreamObserver<?> b) {
      return new ObserverRef(null, (BatchStreamObserver<Object>) b);
    }
    throw new IllegalArgumentException(
        "observer was "
            + (observer == null ? "null" : observer.getClass().getName())
            + " but it must be a StreamObserver or a BatchStreamObserver");
  }

  boolean isBatch() {
    return batch != null;
  }

  CompletionStage<Void> onNext(Object item, StreamSequenceToken token) {
    if (single == null) {
      return onNextBatch(List.of(new SequentialItem<>(item, token)));
    }
    try {
      CompletionStage<Void> s = single.onNext(item, token);
      return s == null ? DONE : s;
    } catch (Throwable t) {
      return CompletableFuture.failedFuture(t);
    }
  }

  CompletionStage<Void> onNextBatch(List<SequentialItem<Object>> items) {
    if (batch == null) {
      // The agent calls a single-event observer one event at a time, on its own thread.
      return CompletableFuture.failedFuture(
          new IllegalStateException("onNextBatch called on a single-event observer"));
    }
    try {
      CompletionStage<Void> s = batch.onNextBatch(items);
      return s == null ? DONE : s;
    } catch (Throwable t) {
      return CompletableFuture.failedFuture(t);
    }
  }

  /** Reports an error; returns what the observer threw, or null. */
  Throwable onError(Throwable error) {
    try {
      if (single != null) {
        single.onError(error);
      } else {
        batch.onError(error);
      }
      return null;
    } catch (Throwable t) {
      return t;
    }
  }

  Object target() {
    return single != null ? single : batch;
  }
}
