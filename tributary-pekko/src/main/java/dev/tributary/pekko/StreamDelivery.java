package dev.tributary.pekko;

import dev.tributary.Incubating;
import java.util.Objects;
import java.util.UUID;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * The message a subscriber actor of a cluster-wide subscription receives for each event ({@link
 * PekkoSubscribers}): the event, its {@link EventContext}, the subscription it belongs to, and
 * where to acknowledge it.
 *
 * <p>The actor acknowledges with {@link #ack()} (or by telling {@link #replyTo()} {@link
 * StatusReply#ack()}); the next event of the subscription is not sent before that. An error reply
 * ({@link #reject}) or no reply within the ask timeout fails the delivery, which the node that
 * delivers retries with its delivery backoff. The message crosses the network between the node that
 * owns the stream's queue and the actor's node: tributary-pekko's {@code reference.conf} binds
 * {@link StreamDeliverySerializer} to it, which serializes the event with the serializer Pekko
 * binds to the event's class (strings and byte arrays out of the box; bind your own for your event
 * types, as for any message). Immutable.
 *
 * @param <T> the event type
 */
@Incubating
public final class StreamDelivery<T> {
  private final T event;
  private final EventContext context;
  private final UUID subscriptionId;
  private final ActorRef<StatusReply<Done>> replyTo;

  /**
   * The delivery of {@code event} of subscription {@code subscriptionId}, acknowledged at {@code
   * replyTo}.
   */
  public StreamDelivery(
      T event, EventContext context, UUID subscriptionId, ActorRef<StatusReply<Done>> replyTo) {
    this.event = event;
    this.context = Objects.requireNonNull(context, "context was null but it must be set");
    this.subscriptionId =
        Objects.requireNonNull(subscriptionId, "subscriptionId was null but it must be set");
    this.replyTo = Objects.requireNonNull(replyTo, "replyTo was null but it must be set");
  }

  /** The event. */
  public T event() {
    return event;
  }

  /** The event's stream, token, write time and headers. */
  public EventContext context() {
    return context;
  }

  /** The cluster-wide subscription this delivery belongs to (the id to resume it by). */
  public UUID subscriptionId() {
    return subscriptionId;
  }

  /** Where the acknowledgement goes: a {@link StatusReply}. */
  public ActorRef<StatusReply<Done>> replyTo() {
    return replyTo;
  }

  /** Acknowledges the event: the next one of the subscription may come. */
  public void ack() {
    replyTo.tell(StatusReply.ack());
  }

  /** Fails the delivery with {@code reason}; the delivering node retries it per its policy. */
  public void reject(String reason) {
    replyTo.tell(StatusReply.error(reason));
  }

  @Override
  public String toString() {
    return "StreamDelivery{subscription=" + subscriptionId + ", " + context + "}";
  }
}
