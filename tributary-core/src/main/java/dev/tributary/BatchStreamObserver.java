package dev.tributary;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Receives the events of one subscription in ordered batches.
 *
 * <p>Same contract as {@link StreamObserver}: called on the agent's thread, must not block, the
 * returned stage acknowledges every item of the batch. Batches hold the events of up to {@code
 * batchContainerBatchSize} queue batches.
 *
 * @param <T> the event type
 */
@FunctionalInterface
public interface BatchStreamObserver<T> {

  /** Delivers a non-empty batch of events in order; the returned stage acknowledges all of them. */
  CompletionStage<Void> onNextBatch(List<SequentialItem<T>> items);

  /** See {@link StreamObserver#onError(Throwable)}. */
  default void onError(Throwable error) {}

  /** See {@link StreamObserver#onCompleted()}. */
  default void onCompleted() {}
}
