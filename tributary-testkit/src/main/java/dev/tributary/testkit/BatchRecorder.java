package dev.tributary.testkit;

import dev.tributary.BatchStreamObserver;
import dev.tributary.SequentialItem;
import dev.tributary.StreamId;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The {@link BatchStreamObserver} twin of {@link Recorder}: records every item of every
 * acknowledged batch, in order. Its {@link Behavior} sees the list of items as the item and the
 * first item's token as the token.
 *
 * @param <T> the event type
 */
public final class BatchRecorder<T> implements BatchStreamObserver<T> {
  private final DeliveryHarness harness;
  private final Track track;
  private final Behavior behavior;

  BatchRecorder(DeliveryHarness harness, Track track, Behavior behavior) {
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

  @Override
  public CompletionStage<Void> onNextBatch(List<SequentialItem<T>> items) {
    List<SequentialItem<T>> copy = List.copyOf(items);
    int attempt = track.attempt(copy.get(0).token());
    CompletionStage<Void> stage;
    try {
      stage =
          behavior.onNext(
              track.streamId,
              copy.stream().map(SequentialItem::item).toList(),
              copy.get(0).token(),
              attempt);
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
          for (SequentialItem<T> i : copy) {
            harness.record(track, i.item(), i.token());
          }
        });
  }

  @Override
  public void onError(Throwable error) {
    track.error(error);
  }

  @Override
  public void onCompleted() {
    track.completed();
  }

  @Override
  public String toString() {
    return "BatchRecorder{" + track.subscriber + " on " + track.streamId + "}";
  }
}
