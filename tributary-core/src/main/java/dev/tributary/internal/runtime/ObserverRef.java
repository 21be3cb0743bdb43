package dev.tributary.internal.runtime;

import dev.tributary.BatchStreamObserver;
import dev.tributary.EventMetadata;
import dev.tributary.MetadataBatchStreamObserver;
import dev.tributary.MetadataStreamObserver;
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
  private final MetadataStreamObserver<Object> withMetadata;
  private final boolean batchWithMetadata;

  @SuppressWarnings("unchecked")
  private ObserverRef(StreamObserver<Object> single, BatchStreamObserver<Object> batch) {
    this.single = single;
    this.batch = batch;
    this.withMetadata =
        single instanceof MetadataStreamObserver<?> m ? (MetadataStreamObserver<Object>) m : null;
    this.batchWithMetadata = batch instanceof MetadataBatchStreamObserver<?>;
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

  /** True when the observer asked for each event's {@link EventMetadata}. */
  boolean wantsMetadata() {
    return withMetadata != null || batchWithMetadata;
  }

  /** Delivers one event with its metadata, to an observer that {@link #wantsMetadata()}. */
  CompletionStage<Void> onNext(Object item, EventMetadata metadata) {
    if (withMetadata == null) {
      return single == null
          ? onNextBatch(List.of(new SequentialItem<>(item, metadata.token(), metadata)))
          : onNext(item, metadata.token());
    }
    try {
      CompletionStage<Void> s = withMetadata.onNext(item, metadata);
      return s == null ? DONE : s;
    } catch (Throwable t) {
      return CompletableFuture.failedFuture(t);
    }
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
