package dev.tributary.spi;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Decides what happens after an event could not be delivered within {@code maxEventDeliveryTime}.
 *
 * <p>Called by the agent's thread; must not block (return a stage). Whatever it does, the event is
 * then skipped for that subscription, and the subscription is faulted when {@link
 * #shouldFaultSubscriptionOnError()} says so (explicit subscriptions only).
 */
public interface StreamFailureHandler {

  /** Logs nothing itself and skips the event: the default. */
  StreamFailureHandler SKIP = () -> false;

  /** Faults explicit subscriptions on their first undeliverable event. */
  StreamFailureHandler FAULT_SUBSCRIPTION = () -> true;

  /** True when an explicit subscription should be faulted after a failed delivery. */
  boolean shouldFaultSubscriptionOnError();

  /** Called once per event that could not be delivered to a subscription. */
  default CompletionStage<Void> onDeliveryFailure(DeliveryFailure failure) {
    return CompletableFuture.completedFuture(null);
  }

  /**
   * Called when a subscription could not start where it asked: its start token was already evicted
   * from the cache ({@code failure.cause()} is the {@link dev.tributary.QueueCacheMissException}).
   * The subscription then starts at the oldest cached event of its stream.
   */
  default CompletionStage<Void> onSubscriptionFailure(DeliveryFailure failure) {
    return CompletableFuture.completedFuture(null);
  }
}
