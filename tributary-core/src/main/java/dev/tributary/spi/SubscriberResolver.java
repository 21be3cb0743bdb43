package dev.tributary.spi;

import dev.tributary.Incubating;
import dev.tributary.SubscriberAddress;
import dev.tributary.SubscriberGoneException;

/**
 * Turns a stored {@link SubscriberAddress} into an observer on this node that delivers to the
 * subscriber, wherever it lives: the transport of cluster-wide subscriptions (tributary-pekko's is
 * an ask to an actor).
 *
 * <p>The node that owns a stream's queue calls {@link #resolve} for every addressed subscription of
 * the stream when its agent attaches it, and delivers through the returned observer exactly as to a
 * local one: one call at a time, the next after the previous stage completed. Thread-safe; {@code
 * resolve} must not block.
 */
@Incubating
public interface SubscriberResolver {

  /**
   * Returns a {@link dev.tributary.StreamObserver} or {@link dev.tributary.BatchStreamObserver}
   * that delivers to the subscriber at {@code address}. Its stages complete when the subscriber
   * acknowledged the event; a stage failed with {@link SubscriberGoneException} says it never will.
   *
   * @throws SubscriberGoneException when the address can never be resolved (malformed, of another
   *     cluster); the subscription is then faulted
   */
  Object resolve(SubscriberAddress address, SubscriptionRecord record);
}
