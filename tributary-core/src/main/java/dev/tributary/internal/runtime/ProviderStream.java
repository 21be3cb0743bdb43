package dev.tributary.internal.runtime;

import dev.tributary.AsyncStream;
import dev.tributary.BatchStreamObserver;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionStage;

/** A stream of a {@link PersistentStreamProvider}; a thin, stateless view. */
final class ProviderStream<T> implements AsyncStream<T> {
  private final PersistentStreamProvider provider;
  private final StreamId id;

  ProviderStream(PersistentStreamProvider provider, StreamId id) {
    this.provider = provider;
    this.id = id;
  }

  @Override
  public StreamId streamId() {
    return id;
  }

  @Override
  public String providerName() {
    return provider.name();
  }

  @Override
  public boolean isRewindable() {
    return provider.isRewindable();
  }

  @Override
  public CompletionStage<Void> onNext(T item) {
    return provider.produce(id, Collections.singletonList(item));
  }

  @Override
  public CompletionStage<Void> onNext(T item, Map<String, byte[]> headers) {
    Objects.requireNonNull(headers, "headers");
    return provider.produce(id, Collections.singletonList(item), headers);
  }

  @Override
  public CompletionStage<Void> onNextBatch(List<T> items) {
    Objects.requireNonNull(items, "items");
    if (items.isEmpty()) {
      throw new IllegalArgumentException("items was empty but a batch needs at least one event");
    }
    return provider.produce(id, List.copyOf(items));
  }

  @Override
  public CompletionStage<StreamSubscriptionHandle<T>> subscribe(StreamObserver<T> observer) {
    return subscribe(observer, null, null);
  }

  @Override
  public CompletionStage<StreamSubscriptionHandle<T>> subscribe(
      StreamObserver<T> observer, StreamSequenceToken token) {
    return subscribe(observer, token, null);
  }

  @Override
  public CompletionStage<StreamSubscriptionHandle<T>> subscribe(
      StreamObserver<T> observer, StreamSequenceToken token, String filterData) {
    Objects.requireNonNull(observer, "observer");
    return provider.subscribe(id, Observers.checked(observer), token, filterData);
  }

  @Override
  public CompletionStage<StreamSubscriptionHandle<T>> subscribe(BatchStreamObserver<T> observer) {
    return subscribe(observer, null);
  }

  @Override
  public CompletionStage<StreamSubscriptionHandle<T>> subscribe(
      BatchStreamObserver<T> observer, StreamSequenceToken token) {
    Objects.requireNonNull(observer, "observer");
    return provider.subscribe(id, Observers.checked(observer), token, null);
  }

  @Override
  public CompletionStage<StreamSequenceToken> tokenAt(Instant time) {
    Objects.requireNonNull(time, "time");
    return provider.tokenAt(id, time);
  }

  @Override
  public CompletionStage<StreamSubscriptionHandle<T>> subscribeFrom(
      StreamObserver<T> observer, Instant time) {
    Objects.requireNonNull(observer, "observer");
    return tokenAt(time).thenCompose(token -> subscribe(observer, token, null));
  }

  @Override
  public CompletionStage<StreamSubscriptionHandle<T>> subscribe(
      dev.tributary.SubscriberAddress subscriber) {
    Objects.requireNonNull(subscriber, "subscriber");
    return provider.subscribe(id, subscriber, null);
  }

  @Override
  public CompletionStage<List<StreamSubscriptionHandle<T>>> subscriptions() {
    return provider.subscriptions(id);
  }

  @Override
  public String toString() {
    return "AsyncStream{" + provider.name() + ":" + id + "}";
  }
}
