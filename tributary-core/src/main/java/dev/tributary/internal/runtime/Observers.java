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
 * The guard through which the agent calls a user observer: whatever the observer throws or returns,
 * the agent gets a stage back.
 *
 * <p>The runtime holds the user's observer object itself, checked once by {@link #checked} to be a
 * {@link StreamObserver} or a {@link BatchStreamObserver}, and these methods dispatch on its type:
 * an idle stream then costs no wrapper object besides its observer. An object that is both kinds is
 * a {@code StreamObserver}.
 */
final class Observers {
  static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  private Observers() {}

  /** Returns {@code observer} if it is an observer of either kind; throws otherwise. */
  static Object checked(Object observer) {
    if (observer instanceof StreamObserver<?> || observer instanceof BatchStreamObserver<?>) {
      return observer;
    }
    throw new IllegalArgumentException(
        "observer was "
            + (observer == null ? "null" : observer.getClass().getName())
            + " but it must be a StreamObserver or a BatchStreamObserver");
  }

  /** True for a batch observer: it takes every prepared event in one call. */
  static boolean isBatch(Object observer) {
    return !(observer instanceof StreamObserver<?>);
  }

  /** True when the observer asked for each event's {@link EventMetadata}. */
  static boolean wantsMetadata(Object observer) {
    return observer instanceof StreamObserver<?>
        ? observer instanceof MetadataStreamObserver<?>
        : observer instanceof MetadataBatchStreamObserver<?>;
  }

  /** Delivers one event with its metadata, to an observer that {@link #wantsMetadata}. */
  @SuppressWarnings("unchecked")
  static CompletionStage<Void> onNext(Object observer, Object item, EventMetadata metadata) {
    if (!(observer instanceof MetadataStreamObserver<?>)) {
      return observer instanceof StreamObserver<?>
          ? onNext(observer, item, metadata.token())
          : onNextBatch(observer, List.of(new SequentialItem<>(item, metadata.token(), metadata)));
    }
    try {
      return orDone(((MetadataStreamObserver<Object>) observer).onNext(item, metadata));
    } catch (Throwable t) {
      return CompletableFuture.failedFuture(t);
    }
  }

  @SuppressWarnings("unchecked")
  static CompletionStage<Void> onNext(Object observer, Object item, StreamSequenceToken token) {
    if (!(observer instanceof StreamObserver<?>)) {
      return onNextBatch(observer, List.of(new SequentialItem<>(item, token)));
    }
    try {
      return orDone(((StreamObserver<Object>) observer).onNext(item, token));
    } catch (Throwable t) {
      return CompletableFuture.failedFuture(t);
    }
  }

  @SuppressWarnings("unchecked")
  static CompletionStage<Void> onNextBatch(Object observer, List<SequentialItem<Object>> items) {
    if (observer instanceof StreamObserver<?>) {
      // The agent calls a single-event observer one event at a time, on its own thread.
      return CompletableFuture.failedFuture(
          new IllegalStateException("onNextBatch called on a single-event observer"));
    }
    try {
      // Inside the guard: an object that is neither kind fails its stage rather than the agent.
      return orDone(((BatchStreamObserver<Object>) observer).onNextBatch(items));
    } catch (Throwable t) {
      return CompletableFuture.failedFuture(t);
    }
  }

  /** Reports an error; returns what the observer threw, or null. */
  static Throwable onError(Object observer, Throwable error) {
    try {
      if (observer instanceof StreamObserver<?> s) {
        s.onError(error);
      } else {
        ((BatchStreamObserver<?>) observer).onError(error);
      }
      return null;
    } catch (Throwable t) {
      return t;
    }
  }

  private static CompletionStage<Void> orDone(CompletionStage<Void> stage) {
    return stage == null ? DONE : stage;
  }
}
