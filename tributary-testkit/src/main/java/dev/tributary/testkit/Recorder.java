package dev.tributary.testkit;

import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamSequenceToken;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A {@link StreamObserver} that records into a {@link DeliveryHarness}: every event its {@link
 * Behavior} acknowledges, every error, every attempt. Obtained from {@link
 * DeliveryHarness#recorder} or {@link DeliveryHarness#observerFactory}.
 *
 * <p>Recorders with the same subscriber label and stream share one record, so a subscription that
 * is resumed with a fresh recorder of the same label is checked as one sequence: nothing lost,
 * nothing twice, across the switch.
 *
 * @param <T> the event type
 */
public final class Recorder<T> implements StreamObserver<T> {
  private final DeliveryHarness harness;
  private final Track track;
  private final Behavior behavior;

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

  @Override
  public CompletionStage<Void> onNext(T item, StreamSequenceToken token) {
    int attempt = track.attempt(token);
    CompletionStage<Void> stage;
    try {
      stage = behavior.onNext(track.streamId, item, token, attempt);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Exception e) {
      return CompletableFuture.failedFuture(e);
    }
    if (stage == null) {
      stage = CompletableFuture.completedFuture(null);
    }
    return stage.thenRun(() -> harness.record(track, item, token));
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
    return "Recorder{" + track.subscriber + " on " + track.streamId + "}";
  }
}
