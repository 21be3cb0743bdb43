package dev.tributary.internal.runtime;

import dev.tributary.BatchStreamObserver;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;

/** A one-use handle on a {@link LocalSubscription}. */
final class SubscriptionHandle<T> implements StreamSubscriptionHandle<T> {
  private final PersistentStreamProvider provider;
  private final LocalSubscription subscription;
  private final AtomicBoolean used = new AtomicBoolean();

  SubscriptionHandle(PersistentStreamProvider provider, LocalSubscription subscription) {
    this.provider = provider;
    this.subscription = subscription;
  }

  @Override
  public UUID subscriptionId() {
    return subscription.id;
  }

  @Override
  public StreamId streamId() {
    return subscription.streamId;
  }

  @Override
  public String providerName() {
    return provider.name();
  }

  @Override
  public CompletionStage<Void> unsubscribe() {
    use("unsubscribe()");
    return provider.unsubscribe(subscription);
  }

  @Override
  public CompletionStage<StreamSubscriptionHandle<T>> resume(StreamObserver<T> observer) {
    return resume(observer, null);
  }

  @Override
  public CompletionStage<StreamSubscriptionHandle<T>> resume(
      StreamObserver<T> observer, StreamSequenceToken token) {
    Objects.requireNonNull(observer, "observer");
    provider.checkRewind(subscription.streamId, token);
    use("resume()");
    return provider.resume(subscription, Observers.checked(observer), token);
  }

  @Override
  public CompletionStage<StreamSubscriptionHandle<T>> resume(BatchStreamObserver<T> observer) {
    Objects.requireNonNull(observer, "observer");
    use("resume()");
    return provider.resume(subscription, Observers.checked(observer), null);
  }

  @Override
  public CompletionStage<StreamSubscriptionHandle<T>> resume(
      dev.tributary.SubscriberAddress subscriber) {
    Objects.requireNonNull(subscriber, "subscriber");
    if (!subscription.addressed) {
      throw new IllegalArgumentException(
          "subscription "
              + subscription.id
              + " to "
              + subscription.streamId
              + " delivers to an observer of one JVM; resume it with an observer");
    }
    use("resume()");
    return provider.resume(subscription, subscriber);
  }

  @Override
  public java.util.Optional<dev.tributary.SubscriberAddress> subscriber() {
    return java.util.Optional.ofNullable(subscription.subscriber());
  }

  private void use(String call) {
    if (!used.compareAndSet(false, true)) {
      throw new IllegalStateException(
          "the handle of subscription "
              + subscription.id
              + " to "
              + subscription.streamId
              + " was already used by unsubscribe() or resume(); "
              + call
              + " needs the handle that resume() returned or one from subscriptions()");
    }
  }

  @Override
  public String toString() {
    return "StreamSubscriptionHandle{" + subscription.id + " on " + subscription.streamId + "}";
  }
}
