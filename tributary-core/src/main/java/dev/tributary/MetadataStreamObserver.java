package dev.tributary;

import java.util.concurrent.CompletionStage;

/**
 * A {@link StreamObserver} that receives each event with its {@link EventMetadata}: token, stream,
 * queue, write time and headers. The runtime calls {@link #onNext(Object, EventMetadata)} only;
 * same contract otherwise (agent's thread, must not block, the stage acknowledges).
 *
 * @param <T> the event type
 */
@Incubating
@FunctionalInterface
public interface MetadataStreamObserver<T> extends StreamObserver<T> {

  /** Delivers one event with its metadata; the returned stage acknowledges it. */
  CompletionStage<Void> onNext(T item, EventMetadata metadata);

  /**
   * For callers outside the runtime that have only a token: calls {@link #onNext(Object,
   * EventMetadata)} with metadata that holds just the token.
   */
  @Override
  default CompletionStage<Void> onNext(T item, StreamSequenceToken token) {
    return onNext(item, EventMetadata.of(null, token, null, -1, null));
  }
}
