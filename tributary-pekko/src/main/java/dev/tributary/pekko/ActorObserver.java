package dev.tributary.pekko;

import dev.tributary.AsyncStream;
import dev.tributary.EventMetadata;
import dev.tributary.MetadataStreamObserver;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A typed actor as the observer of an explicit subscription: each event is asked of the actor
 * ({@link AskPattern#askWithStatus}), and the actor's {@code StatusReply.ack()} acknowledges it.
 *
 * <pre>{@code
 * ActorObserver.<Order, Auditor.Command>builder(system, auditor)
 *     .messageAdapter((order, ctx, replyTo) -> new Auditor.Seen(order, ctx.token(), replyTo))
 *     .errorMessage(Auditor.Failed::new)
 *     .completedMessage(Auditor.Completed.INSTANCE)
 *     .subscribe(stream);   // or stream.subscribe(builder.build(stream.streamId()))
 * }</pre>
 *
 * <p>The subscription belongs to the node whose runtime {@code subscribe} was called on, and the
 * actor is asked from there: it may live on another node of the cluster if its messages are
 * serializable, but the subscription is not cluster-wide (it ends with this node's runtime). An
 * error reply, or no reply within the ask timeout, fails the delivery (retried by the runtime, then
 * the failure handler). {@code onError} and {@code onCompleted} are told to the actor as the
 * messages built by {@link Builder#errorMessage} and {@link Builder#completedMessage}, when set.
 *
 * @param <T> the event type
 * @param <M> the actor's message type
 */
public final class ActorObserver<T, M> implements MetadataStreamObserver<T> {
  private static final Logger log = LoggerFactory.getLogger(ActorObserver.class);

  private final ActorSystem<?> system;
  private final ActorRef<M> actor;
  private final MessageAdapter<T, M> adapter;
  private final Duration askTimeout;
  private final Function<Throwable, ? extends M> errorMessage;
  private final M completedMessage;
  private final StreamId streamId;

  private ActorObserver(Builder<T, M> b, StreamId streamId) {
    system = b.system;
    actor = b.actor;
    adapter = b.adapter;
    askTimeout = b.askTimeout != null ? b.askTimeout : ActorEntities.DEFAULT_ASK_TIMEOUT;
    errorMessage = b.errorMessage;
    completedMessage = b.completedMessage;
    this.streamId = streamId;
  }

  /** Returns a builder of an observer that asks {@code actor}. */
  public static <T, M> Builder<T, M> builder(ActorSystem<?> system, ActorRef<M> actor) {
    return new Builder<>(system, actor);
  }

  /** The stream this observer is for. */
  public StreamId streamId() {
    return streamId;
  }

  /** The actor this observer asks. */
  public ActorRef<M> actor() {
    return actor;
  }

  @Override
  public CompletionStage<Void> onNext(T item, EventMetadata metadata) {
    EventContext context = EventContext.of(streamId, metadata);
    return Replies.map(
        AskPattern.<M, org.apache.pekko.Done>askWithStatus(
            actor,
            replyTo -> adapter.toMessage(item, context, replyTo),
            askTimeout,
            system.scheduler()),
        done -> null);
  }

  @Override
  public void onError(Throwable error) {
    if (errorMessage == null) {
      log.warn("Subscription of actor {}: {}", actor.path(), error.toString());
      return;
    }
    actor.tell(errorMessage.apply(error));
  }

  @Override
  public void onCompleted() {
    if (completedMessage != null) {
      actor.tell(completedMessage);
    }
  }

  @Override
  public String toString() {
    return "ActorObserver{actor=" + actor.path() + ", askTimeout=" + askTimeout + "}";
  }

  /**
   * Builds an {@link ActorObserver}. {@link #messageAdapter} is required; each option may be set
   * once.
   *
   * @param <T> the event type
   * @param <M> the actor's message type
   */
  public static final class Builder<T, M> {
    private final ActorSystem<?> system;
    private final ActorRef<M> actor;
    private MessageAdapter<T, M> adapter;
    private Duration askTimeout;
    private Function<Throwable, ? extends M> errorMessage;
    private M completedMessage;

    private Builder(ActorSystem<?> system, ActorRef<M> actor) {
      this.system = Objects.requireNonNull(system, "system was null but it must be set");
      this.actor = Objects.requireNonNull(actor, "actor was null but it must be set");
    }

    /** Sets how an event becomes the actor's message. */
    public Builder<T, M> messageAdapter(MessageAdapter<T, M> messageAdapter) {
      if (adapter != null) {
        throw new IllegalStateException("messageAdapter was already set");
      }
      adapter =
          Objects.requireNonNull(messageAdapter, "messageAdapter was null but it must be set");
      return this;
    }

    /** Sets how long the actor may take to reply before the delivery fails [10 s]; >= 1 ms. */
    public Builder<T, M> askTimeout(Duration timeout) {
      if (askTimeout != null) {
        throw new IllegalStateException("askTimeout was already set to " + askTimeout);
      }
      Objects.requireNonNull(timeout, "askTimeout was null but it must be a duration >= 1 ms");
      if (timeout.compareTo(Duration.ofMillis(1)) < 0) {
        throw new IllegalArgumentException(
            "askTimeout was " + timeout + " but it must be at least 1 ms");
      }
      askTimeout = timeout;
      return this;
    }

    /** Sets the message {@code onError} tells the actor [none: the error is logged]. */
    public Builder<T, M> errorMessage(Function<Throwable, ? extends M> message) {
      if (errorMessage != null) {
        throw new IllegalStateException("errorMessage was already set");
      }
      errorMessage = Objects.requireNonNull(message, "errorMessage was null but it must be set");
      return this;
    }

    /** Sets the message {@code onCompleted} tells the actor [none]. */
    public Builder<T, M> completedMessage(M message) {
      if (completedMessage != null) {
        throw new IllegalStateException("completedMessage was already set to " + completedMessage);
      }
      completedMessage =
          Objects.requireNonNull(message, "completedMessage was null but it must be set");
      return this;
    }

    /**
     * Builds the observer of stream {@code streamId} (its events' {@link EventContext} names it);
     * give it to {@code subscribe} or {@code resume} of that stream.
     *
     * @throws IllegalStateException when messageAdapter was not set
     */
    public ActorObserver<T, M> build(StreamId streamId) {
      Objects.requireNonNull(streamId, "streamId was null but it must be set");
      if (adapter == null) {
        throw new IllegalStateException(
            "ActorObserver of " + actor.path() + " needs messageAdapter(...) before build()");
      }
      return new ActorObserver<>(this, streamId);
    }

    /** Builds the observer of {@code stream} and subscribes it: {@code subscribe(build(id))}. */
    public CompletionStage<StreamSubscriptionHandle<T>> subscribe(AsyncStream<T> stream) {
      return stream.subscribe(build(stream.streamId()));
    }

    /** Like {@link #subscribe(AsyncStream)}, from {@code token} inclusive (rewindable only). */
    public CompletionStage<StreamSubscriptionHandle<T>> subscribe(
        AsyncStream<T> stream, StreamSequenceToken token) {
      return stream.subscribe(build(stream.streamId()), token);
    }
  }
}
