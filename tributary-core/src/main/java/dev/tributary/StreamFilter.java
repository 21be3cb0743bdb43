package dev.tributary;

/**
 * Decides whether an event reaches a subscription, given that subscription's filter data.
 *
 * <p>One filter serves a whole runtime; each subscription carries its own filter data string (given
 * to {@link AsyncStream#subscribe(StreamObserver, StreamSequenceToken, String)}), so subscriptions
 * stay serializable. A filter that throws lets the event through: a broken filter must not lose
 * events.
 */
@FunctionalInterface
public interface StreamFilter {

  /** Lets every event through. */
  StreamFilter ALL = (streamId, item, filterData) -> true;

  /** Returns true when {@code item} of {@code streamId} should reach the subscription. */
  boolean shouldDeliver(StreamId streamId, Object item, String filterData);
}
