package dev.tributary.testkit;

import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Predicate;

/**
 * What a recording observer does with an event before the harness records it: acknowledge at once,
 * fail, or hold the acknowledgement (see {@link Gate}).
 *
 * <p>The harness records an event only when the returned stage completes normally, so a recorded
 * event is an acknowledged one. Called on the agent's thread; must not block.
 */
@FunctionalInterface
public interface Behavior {

  /** Acknowledges every event at once. */
  Behavior ACK = (streamId, item, token, attempt) -> CompletableFuture.completedFuture(null);

  /**
   * Handles one delivery attempt.
   *
   * @param attempt 1 for the first delivery of {@code token} to this subscriber, 2 for the first
   *     retry, and so on
   * @return the acknowledgement; a failed stage or a thrown exception is a delivery failure
   */
  CompletionStage<Void> onNext(
      StreamId streamId, Object item, StreamSequenceToken token, int attempt) throws Exception;

  /** Fails every attempt to deliver an item that {@code poison} accepts; acknowledges the rest. */
  static Behavior failWhen(Predicate<Object> poison) {
    return (streamId, item, token, attempt) -> {
      if (poison.test(item)) {
        throw new IllegalStateException(
            "test observer rejects " + item + " of " + streamId + " (attempt " + attempt + ")");
      }
      return CompletableFuture.completedFuture(null);
    };
  }

  /** Fails the first {@code failures} attempts of every event, then acknowledges it. */
  static Behavior failFirstAttempts(int failures) {
    return (streamId, item, token, attempt) -> {
      if (attempt <= failures) {
        throw new IllegalStateException(
            "test observer fails attempt " + attempt + " of " + item + " at " + token);
      }
      return CompletableFuture.completedFuture(null);
    };
  }
}
