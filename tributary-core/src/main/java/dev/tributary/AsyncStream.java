package dev.tributary;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * One stream of one provider: produce to it, subscribe to it.
 *
 * <p>Obtained from {@link StreamProvider#stream(StreamId)}. Cheap to create; holds no resources.
 *
 * @param <T> the event type
 */
public interface AsyncStream<T> {

  /** The stream's id. */
  StreamId streamId();

  /** The name of the provider the stream belongs to. */
  String providerName();

  /** True when subscriptions may start from a token in the past. */
  boolean isRewindable();

  /** Produces one event; the stage completes when the queue has accepted it. */
  CompletionStage<Void> onNext(T item);

  /**
   * Produces one event with headers (Kafka: record headers; memory queues keep them with the
   * event); observers see them in {@link EventMetadata#headers()}. With an {@code
   * ObservationRegistry} on the runtime, the trace context is added to them.
   */
  @Incubating
  CompletionStage<Void> onNext(T item, Map<String, byte[]> headers);

  /**
   * Produces a batch of events, in order, to the stream's queue. Whether they form one queue batch
   * sharing a sequence number is the queue's business: memory queues do that, Kafka writes one
   * record (one offset) per event.
   */
  CompletionStage<Void> onNextBatch(List<T> items);

  /**
   * Subscribes {@code observer} to every event produced after the returned stage completes.
   *
   * <p>The stage completes only once the pulling agent that owns the stream's queue holds a cursor
   * for the subscription; if no agent on this node owns it yet, the stage completes when one
   * starts, or fails after the provider's {@code subscribeTimeout}.
   */
  CompletionStage<StreamSubscriptionHandle<T>> subscribe(StreamObserver<T> observer);

  /**
   * Subscribes from {@code token}, inclusive. A null token means "from now". A token older than
   * what the agent's cache holds replays the stream from the queue when the provider can read its
   * past (Kafka can; memory queues with {@code history}), then continues live with no gap and no
   * duplicate; a token older than the queue's retention reports {@link EventsExpiredException} to
   * {@link StreamObserver#onError(Throwable)} and starts at the oldest retained event. A provider
   * that cannot read its past reports {@link QueueCacheMissException} instead and delivers what the
   * cache still holds.
   *
   * @throws IllegalArgumentException when the provider is not rewindable and the token is non-null
   */
  CompletionStage<StreamSubscriptionHandle<T>> subscribe(
      StreamObserver<T> observer, StreamSequenceToken token);

  /**
   * Subscribes from {@code token} with filter data for the runtime's {@link StreamFilter}.
   *
   * @throws IllegalArgumentException when the provider is not rewindable and the token is non-null
   */
  CompletionStage<StreamSubscriptionHandle<T>> subscribe(
      StreamObserver<T> observer, StreamSequenceToken token, String filterData);

  /** Subscribes a batch observer; see {@link #subscribe(StreamObserver)}. */
  CompletionStage<StreamSubscriptionHandle<T>> subscribe(BatchStreamObserver<T> observer);

  /** Subscribes a batch observer from {@code token}, inclusive. */
  CompletionStage<StreamSubscriptionHandle<T>> subscribe(
      BatchStreamObserver<T> observer, StreamSequenceToken token);

  /**
   * The token of the first event of this stream's queue written at or after {@code time}, to
   * subscribe or resume from: the oldest retained event when {@code time} is older than all of
   * them, null when nothing was written at or after it yet (subscribing from null is "from now").
   * Fails with {@link UnsupportedOperationException} when the provider cannot tell (Kafka can, with
   * {@code offsetsForTimes}; memory queues with {@code history}).
   */
  @Incubating
  CompletionStage<StreamSequenceToken> tokenAt(Instant time);

  /**
   * Subscribes from the first event of this stream written at or after {@code time}: {@link
   * #tokenAt(Instant)}, then {@link #subscribe(StreamObserver, StreamSequenceToken)}. A time in the
   * future subscribes from now.
   */
  @Incubating
  CompletionStage<StreamSubscriptionHandle<T>> subscribeFrom(
      StreamObserver<T> observer, Instant time);

  /**
   * Subscribes the subscriber at {@code subscriber}, which may live on any node of the cluster, to
   * every event produced after the returned stage completes: a cluster-wide subscription.
   *
   * <p>Its record goes to the runtime's {@link dev.tributary.spi.PubSubStore}; whichever node owns
   * the stream's queue, now or after a hand-over, resolves the address with its {@link
   * dev.tributary.spi.SubscriberResolver} and delivers to it. The stage completes once that node's
   * agent holds a cursor for the subscription and the store carried its confirmation back, or fails
   * after the provider's {@code subscribeTimeout}.
   *
   * @throws IllegalStateException when the runtime has no subscriber resolver, or its store is not
   *     shared by the cluster (cross-node delivery then needs {@code KafkaPubSubStore}; on one node
   *     the in-memory store is enough)
   */
  @Incubating
  CompletionStage<StreamSubscriptionHandle<T>> subscribe(SubscriberAddress subscriber);

  /** The stream's explicit subscriptions, as fresh handles (for {@code resume} after a restart). */
  CompletionStage<List<StreamSubscriptionHandle<T>>> subscriptions();
}
