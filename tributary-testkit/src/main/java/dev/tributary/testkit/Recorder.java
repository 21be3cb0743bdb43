package dev.tributary.testkit;

import dev.tributary.BatchStreamObserver;
import dev.tributary.SequentialItem;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamSequenceToken;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A {@link StreamObserver} that records into a {@link DeliveryHarness}: every event its {@link
 * Behavior} acknowledges, every error, every attempt. Obtained from {@link
 * DeliveryHarness#recorder} or {@link DeliveryHarness#observerFactory}; {@link #asBatchObserver()}
 * is the same recorder for batch subscriptions.
 *
 * <p>Recorders with the same subscriber label and stream share one record, so a subscription that
 * is resumed with a fresh recorder of the same label is checked as one sequence: nothing lost,
 * nothing twice, across the switch, and whether it was delivered singly or in batches.
 *
 * @param <T> the event type
 */
public final class Recorder<T> implements StreamObserver<T> {
  private final DeliveryHarness harness;
  private final Track track;
  private final Behavior behavior;
  private final BatchStreamObserver<T> batch = new Batch();

  Recorder(DeliveryHarness harness, Track track, Behavior behavior) {
    this.harness = harness;
    this.track = track;
    this.behavior = behavior;
  }

  /** The label of the subscription this recorder records for. */
  public String subscriber() {
    return track.subscriber;
  }

  /** The stream it records. */
  public StreamId streamId() {
    return track.streamId;
  }

  /**
   * This recorder as a {@link BatchStreamObserver}: records every item of every acknowledged batch,
   * in order. Its {@link Behavior} sees the list of items as the item and the first item's token as
   * the token; an attempt is counted for that token.
   */
  public BatchStreamObserver<T> asBatchObserver() {
    return batch;
  }

  @Override
  public CompletionStage<Void> onNext(T item, StreamSequenceToken token) {
    return deliver(item, token, List.of(new SequentialItem<>(item, token)));
  }

  @Override
  public void onError(Throwable error) {
    track.error(error);
  }

  @Override
  public void onCompleted() {
    track.completed();
  }

  /** One delivery attempt: the behavior decides, and what it acknowledged is recorded in order. */
  private CompletionStage<Void> deliver(
      Object shown, StreamSequenceToken token, List<SequentialItem<T>> items) {
    int attempt = track.attempt(token);
    CompletionStage<Void> stage;
    try {
      stage = behavior.onNext(track.streamId, shown, token, attempt);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Exception e) {
      return CompletableFuture.failedFuture(e);
    }
    if (stage == null) {
      stage = CompletableFuture.completedFuture(null);
    }
    return stage.thenRun(
        () -> {
          for (SequentialItem<T> i : items) {
            harness.record(track, i.item(), i.token());
          }
        });
  }

  @Override
  public String toString() {
    return "Recorder{" + track.subscriber + " on " + track.streamId + "}";
  }

  private final class Batch implements BatchStreamObserver<T> {
    @Override
    public CompletionStage<Void> onNextBatch(List<SequentialItem<T>> items) {
      List<SequentialItem<T>> copy = List.copyOf(items);
      return deliver(copy.stream().map(SequentialItem::item).toList(), copy.get(0).token(), copy);
    }

    @Override
    public void onError(Throwable error) {
      Recorder.this.onError(error);
    }

    @Override
    public void onCompleted() {
      Recorder.this.onCompleted();
    }

    @Override
    public String toString() {
      return "Recorder{" + track.subscriber + " on " + track.streamId + ", batches}";
    }
  }
}
