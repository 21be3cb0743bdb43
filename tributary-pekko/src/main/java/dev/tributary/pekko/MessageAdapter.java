package dev.tributary.pekko;

import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * Turns a stream event into the message an actor receives.
 *
 * <p>The actor acknowledges the event by telling {@code replyTo} {@link StatusReply#ack()}; a
 * {@link StatusReply#error} reply, no reply within the ask timeout, or an actor that stops before
 * it replies is a failed delivery, which the runtime retries with its delivery backoff. Called on
 * the thread that delivers; must be quick and must not block.
 *
 * @param <T> the event type
 * @param <M> the actor's message type
 */
@FunctionalInterface
public interface MessageAdapter<T, M> {

  /**
   * Returns the message for {@code event}; the actor's reply to {@code replyTo} acknowledges it.
   */
  M toMessage(T event, EventContext context, ActorRef<StatusReply<Done>> replyTo);
}
