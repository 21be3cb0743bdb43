package dev.tributary.spi;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Decides what happens after an event could not be delivered within {@code maxEventDeliveryTime}.
 *
 * <p>Called by the agent's thread; must not block (return a stage). Whatever it does, the event is
 * then skipped for that subscription, and the subscription is faulted when {@link
 * #shouldFaultSubscriptionOnError()} says so (explicit subscriptions only). With a batch observer
 * ({@code batchContainerBatchSize > 1}) every event of the call that was given up is reported, one
 * {@link #onDeliveryFailure} each.
 *
 * <p>The runtime does not wait for the returned stage: the event counts as passed for that
 * subscription at once, and it is acknowledged to the receiver (for Kafka: committed past) as soon
 * as every subscription of its stream passed it. A failed stage is logged. A handler whose work
 * must finish before the commit passes the event holds the commit itself: the Kafka adapter's
 * dead-letter writer keeps the partition's commit below a dead letter until the dead-letter topic
 * acknowledged it.
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
