package dev.tributary.pekko;

import dev.tributary.EventMetadata;
import dev.tributary.MetadataStreamObserver;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamProviderOptions;
import dev.tributary.StreamRuntime;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;

/**
 * One typed actor per stream key, as the observer factory of an implicit subscription.
 *
 * <pre>{@code
 * ActorEntities<Order, CustomerActor.Command> customers =
 *     ActorEntities.<Order, CustomerActor.Command>builder(system, "customers")
 *         .behavior(entity -> CustomerActor.create(entity.key()))
 *         .messageAdapter((order, ctx, replyTo) -> new CustomerActor.Placed(order, ctx.token(), replyTo))
 *         .build();
 * StreamRuntime.builder()
 *     .addProvider("kafka", kafka)
 *     .implicitSubscription("kafka", "orders", customers)
 * }</pre>
 *
 * <p>A supervisor actor (a system actor named {@code tributary-entities-<name>}) creates the entity
 * of a stream when the stream's first event arrives and sends it each event as the adapter's
 * message. The entity acknowledges by replying {@code StatusReply.ack()} to the message's {@code
 * replyTo}: the reply is the delivery's acknowledgement (an ask), so each entity has at most one
 * event in flight, in stream order, and an entity that is slow holds back only its own stream. An
 * error reply, no reply within {@link Builder#askTimeout}, or an entity that stops before it
 * replies fails the delivery: the runtime retries it with its delivery backoff for up to {@code
 * maxEventDeliveryTime}, then hands it to the provider's failure handler (for Kafka: skip or
 * dead-letter topic). A retry after an ask timeout may reach an entity that still holds the first
 * copy: deliveries are at least once, {@link TokenWatermark} recognises the repeats.
 *
 * <p>An entity is passivated (stopped) when it has had nothing to do for {@link
 * Builder#passivateIdleAfter} or when it calls {@link EntityContext#passivate()}; the next event of
 * its stream creates it again. Use the provider's {@code streamInactivityPeriod} as the idle time,
 * so that the entity goes when the runtime drops its stream. Passivation never loses an event: an
 * entity is stopped only with no event in flight, and events that arrive while it stops wait for
 * the next incarnation.
 *
 * <p>Entities live on this node. Thread-safe; the observers it makes may be used from any thread.
 *
 * @param <T> the event type
 * @param <M> the entity's message type
 */
public final class ActorEntities<T, M> implements Function<StreamId, StreamObserver<T>> {

  /** Default {@link Builder#askTimeout}: 10 seconds. */
  public static final Duration DEFAULT_ASK_TIMEOUT = Duration.ofSeconds(10);

  /** Default {@link Builder#passivateIdleAfter}: the runtime's default stream inactivity period. */
  public static final Duration DEFAULT_PASSIVATE_IDLE_AFTER =
      StreamProviderOptions.DEFAULT_STREAM_INACTIVITY_PERIOD;

  /**
   * Told when entities are created and stopped; for metrics and tests. Called on the supervisor
   * actor's thread; must be quick.
   */
  public interface Listener {
    /** No-op listener. */
    Listener NONE = new Listener() {};

    /** An entity of {@code streamId} was created. */
    default void created(StreamId streamId) {}

    /**
     * The entity of {@code streamId} stopped: passivated ({@code passivated} true) or on its own
     * (it threw, or returned {@code Behaviors.stopped()}).
     */
    default void stopped(StreamId streamId, boolean passivated) {}
  }

  private final String name;
  private final ActorRef<EntitySupervisor.Command> supervisor;

  private ActorEntities(Builder<T, M> b) {
    this.name = b.name;
    this.supervisor =
        b.system.systemActorOf(
            EntitySupervisor.create(
                new EntitySupervisor.Settings<>(
                    b.behavior,
                    b.adapter,
                    b.askTimeout != null ? b.askTimeout : DEFAULT_ASK_TIMEOUT,
                    b.passivateIdleAfter != null
                        ? b.passivateIdleAfter
                        : DEFAULT_PASSIVATE_IDLE_AFTER,
                    b.stopMessage,
                    b.listener != null ? b.listener : Listener.NONE)),
            "tributary-entities-" + b.name,
            Props.empty());
  }

  /**
   * Returns a builder of entities named {@code name} (unique per actor system; it names the
   * supervisor actor).
   */
  public static <T, M> Builder<T, M> builder(ActorSystem<?> system, String name) {
    return new Builder<>(system, name);
  }

  /** The name given to the builder. */
  public String name() {
    return name;
  }

  /**
   * The observer of stream {@code streamId}: the runtime calls this on the stream's first event.
   */
  @Override
  public StreamObserver<T> apply(StreamId streamId) {
    Objects.requireNonNull(streamId, "streamId was null but it must be set");
    return new EntityObserver<>(streamId, supervisor);
  }

  @Override
  public String toString() {
    return "ActorEntities{name=" + name + ", supervisor=" + supervisor.path() + "}";
  }

  /** The observer of one stream: sends each event to the supervisor, which asks the entity. */
  private record EntityObserver<T>(StreamId streamId, ActorRef<EntitySupervisor.Command> supervisor)
      implements MetadataStreamObserver<T> {
    @Override
    public CompletionStage<Void> onNext(T item, EventMetadata metadata) {
      CompletableFuture<Void> ack = new CompletableFuture<>();
      supervisor.tell(
          new EntitySupervisor.Deliver(streamId, item, EventContext.of(streamId, metadata), ack));
      return ack;
    }
  }

  /**
   * Builds {@link ActorEntities}. {@link #behavior} and {@link #messageAdapter} are required; each
   * option may be set once.
   *
   * @param <T> the event type
   * @param <M> the entity's message type
   */
  public static final class Builder<T, M> {
    private final ActorSystem<?> system;
    private final String name;
    private Function<EntityContext, Behavior<M>> behavior;
    private MessageAdapter<T, M> adapter;
    private Duration askTimeout;
    private Duration passivateIdleAfter;
    private M stopMessage;
    private Listener listener;

    private Builder(ActorSystem<?> system, String name) {
      this.system = Objects.requireNonNull(system, "system was null but it must be set");
      if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9_.-]*")) {
        throw new IllegalArgumentException(
            "name was '" + name + "' but it must be letters, digits, '_', '.' or '-'");
      }
      this.name = name;
    }

    /** Sets how an entity is created; called on the supervisor's thread, once per incarnation. */
    public Builder<T, M> behavior(Function<EntityContext, Behavior<M>> factory) {
      once("behavior", behavior);
      behavior = Objects.requireNonNull(factory, "behavior was null but it must be set");
      return this;
    }

    /** Sets how an event becomes the entity's message. */
    public Builder<T, M> messageAdapter(MessageAdapter<T, M> messageAdapter) {
      once("messageAdapter", adapter);
      adapter =
          Objects.requireNonNull(messageAdapter, "messageAdapter was null but it must be set");
      return this;
    }

    /**
     * Sets how long an entity may take to reply before the delivery fails [10 s]; at least 1 ms.
     */
    public Builder<T, M> askTimeout(Duration timeout) {
      once("askTimeout", askTimeout);
      askTimeout = atLeast("askTimeout", timeout, Duration.ofMillis(1));
      return this;
    }

    /**
     * Sets how long an entity may have nothing to do before it is passivated [30 min, the runtime's
     * default {@code streamInactivityPeriod}]; at least 10 ms.
     */
    public Builder<T, M> passivateIdleAfter(Duration idle) {
      once("passivateIdleAfter", passivateIdleAfter);
      passivateIdleAfter = atLeast("passivateIdleAfter", idle, Duration.ofMillis(10));
      return this;
    }

    /**
     * Sets the message that asks an entity to stop when it is passivated, so that it can finish
     * (persist, reply) before it returns {@code Behaviors.stopped()} [none: the supervisor stops
     * it].
     */
    public Builder<T, M> stopMessage(M message) {
      once("stopMessage", stopMessage);
      stopMessage = Objects.requireNonNull(message, "stopMessage was null but it must be set");
      return this;
    }

    /** Sets who is told about created and stopped entities [nobody]. */
    public Builder<T, M> listener(Listener l) {
      once("listener", listener);
      listener = Objects.requireNonNull(l, "listener was null but it must be set");
      return this;
    }

    /**
     * Creates the supervisor actor and returns the observer factory to give to {@link
     * StreamRuntime.Builder#implicitSubscription}.
     *
     * @throws IllegalStateException when behavior or messageAdapter was not set
     */
    public ActorEntities<T, M> build() {
      if (behavior == null || adapter == null) {
        throw new IllegalStateException(
            "ActorEntities '"
                + name
                + "' needs "
                + (behavior == null ? "behavior(entity -> ...)" : "")
                + (behavior == null && adapter == null ? " and " : "")
                + (adapter == null ? "messageAdapter((event, ctx, replyTo) -> ...)" : "")
                + " before build()");
      }
      return new ActorEntities<>(this);
    }

    private static void once(String option, Object current) {
      if (current != null) {
        throw new IllegalStateException(option + " was already set to " + current);
      }
    }

    private static Duration atLeast(String option, Duration value, Duration min) {
      Objects.requireNonNull(value, () -> option + " was null but it must be a duration >= " + min);
      if (value.compareTo(min) < 0) {
        throw new IllegalArgumentException(
            option + " was " + value + " but it must be at least " + min);
      }
      return value;
    }
  }
}
