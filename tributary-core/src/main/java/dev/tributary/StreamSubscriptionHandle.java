package dev.tributary;

import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletionStage;

/**
 * A handle on one explicit subscription.
 *
 * <p>{@link #unsubscribe()} and the {@code resume} methods use the handle up: afterwards it is
 * invalid and every further call fails with {@link IllegalStateException}; {@code resume} returns
 * the new handle to use. Handles obtained from {@link AsyncStream#subscriptions()} are fresh.
 *
 * @param <T> the event type
 */
public interface StreamSubscriptionHandle<T> {

  /** The subscription's id; it survives {@code resume}. */
  UUID subscriptionId();

  /** The subscribed stream. */
  StreamId streamId();

  /** The name of the provider the stream belongs to. */
  String providerName();

  /**
   * Removes the subscription. The stage completes once no further event will be delivered to it.
   */
  CompletionStage<Void> unsubscribe();

  /**
   * Replaces the observer, keeping the subscription id and its position: nothing is lost or
   * delivered twice across the switch.
   */
  CompletionStage<StreamSubscriptionHandle<T>> resume(StreamObserver<T> observer);

  /** Replaces the observer and restarts delivery at {@code token}, inclusive (rewindable only). */
  CompletionStage<StreamSubscriptionHandle<T>> resume(
      StreamObserver<T> observer, StreamSequenceToken token);

  /** Replaces the observer with a batch observer, keeping the position. */
  CompletionStage<StreamSubscriptionHandle<T>> resume(BatchStreamObserver<T> observer);

  /**
   * Points a cluster-wide subscription at a new subscriber (after the subscriber's node restarted,
   * say), keeping its id and position. The stage completes once the node that owns the stream's
   * queue delivers to the new address.
   *
   * @throws IllegalArgumentException when the subscription is not cluster-wide ({@link
   *     #subscriber()} is empty): resume it with an observer instead
   */
  @Incubating
  default CompletionStage<StreamSubscriptionHandle<T>> resume(SubscriberAddress subscriber) {
    throw new UnsupportedOperationException("resume(SubscriberAddress) is not supported here");
  }

  /** The address a cluster-wide subscription delivers to; empty for an observer of one JVM. */
  @Incubating
  default Optional<SubscriberAddress> subscriber() {
    return Optional.empty();
  }
}
