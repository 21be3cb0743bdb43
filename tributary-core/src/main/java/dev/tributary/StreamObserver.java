package dev.tributary;

import java.util.concurrent.CompletionStage;

/**
 * Receives the events of one subscription, one at a time, in order.
 *
 * <p>Calls are made on the pulling agent's thread of the stream's queue and must not block: do slow
 * work asynchronously and return a stage that completes when it is done. The returned stage is the
 * acknowledgement; the next event of this subscription is not delivered before it completes, which
 * is how an actor mailbox applies backpressure. A stage that completes exceptionally (or a thrown
 * exception) is a delivery failure: the event is retried with backoff for up to {@code
 * maxEventDeliveryTime}.
 *
 * @param <T> the event type
 */
@FunctionalInterface
public interface StreamObserver<T> {

  /** Delivers one event; the returned stage acknowledges it. */
  CompletionStage<Void> onNext(T item, StreamSequenceToken token);

  /**
   * Reports a problem with this subscription that did not end it: a cache miss, an event that could
   * not be delivered, or a fault. Called on the agent's thread; must not block.
   */
  default void onError(Throwable error) {}

  /** Reports that the stream ended; persistent streams rarely do. */
  default void onCompleted() {}
}
