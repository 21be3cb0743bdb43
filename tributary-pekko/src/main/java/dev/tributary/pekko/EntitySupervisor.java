package dev.tributary.pekko;

import dev.tributary.StreamId;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * The parent of the entity actors of one {@link ActorEntities}: creates an entity on its stream's
 * first event, asks it for each event, passivates it, and creates it again when the next event
 * comes.
 *
 * <p>Every delivery passes through here, so this actor knows, per entity, whether an event is in
 * flight. That is what makes passivation lossless: an entity is stopped only when nothing is in
 * flight, and events that arrive while it stops wait here for the next incarnation. An entity that
 * stops (throws, or stops itself) while an event is in flight fails that delivery at once instead
 * of after the ask timeout. The runtime delivers one event per stream at a time, so at most one
 * event per entity is in flight; the queue per entity only ever holds a retry that overtook a
 * stopping incarnation.
 *
 * <p>All state is confined to this actor. Acknowledgements complete the runtime's stages from here;
 * the runtime hands those completions to the agent's own thread.
 */
final class EntitySupervisor<T, M> extends AbstractBehavior<EntitySupervisor.Command> {

  /** The supervisor's protocol; package-private, only the module's own classes send it. */
  interface Command {}

  /**
   * Deliver {@code event} to the entity of {@code streamId}; complete {@code ack} with its reply.
   */
  record Deliver(StreamId streamId, Object event, EventContext context, CompletableFuture<Void> ack)
      implements Command {}

  /** An entity asked to be passivated. */
  record Passivate(StreamId streamId, long incarnation) implements Command {}

  private record Replied(StreamId streamId, long incarnation, long delivery, Throwable failure)
      implements Command {}

  private record Stopped(StreamId streamId, long incarnation) implements Command {}

  private enum IdleTick implements Command {
    INSTANCE
  }

  /** Raised to a delivery whose entity stopped before it replied. */
  static final class EntityStoppedException extends RuntimeException {
    EntityStoppedException(StreamId streamId) {
      super("entity of stream " + streamId + " stopped before it acknowledged the event");
    }
  }

  /** One live incarnation of an entity. */
  private final class Entity {
    final StreamId streamId;
    final long incarnation;
    final ActorRef<M> ref;
    final ArrayDeque<Deliver> waiting = new ArrayDeque<>();
    Deliver inFlight;
    long inFlightId;
    boolean passivateRequested;
    boolean stopping;
    long lastActivityNanos = System.nanoTime();

    Entity(StreamId streamId, long incarnation, ActorRef<M> ref) {
      this.streamId = streamId;
      this.incarnation = incarnation;
      this.ref = ref;
    }
  }

  private final Settings<T, M> settings;
  private final Map<StreamId, Entity> entities = new HashMap<>();
  private long incarnations;
  private long deliveries;

  /** What the supervisor needs from its {@link ActorEntities}. */
  record Settings<T, M>(
      Function<EntityContext, Behavior<M>> behavior,
      MessageAdapter<T, M> adapter,
      Duration askTimeout,
      Duration passivateIdleAfter,
      M stopMessage,
      ActorEntities.Listener listener) {}

  static <T, M> Behavior<Command> create(Settings<T, M> settings) {
    return Behaviors.setup(
        ctx -> Behaviors.withTimers(timers -> new EntitySupervisor<>(ctx, timers, settings)));
  }

  private EntitySupervisor(
      ActorContext<Command> ctx, TimerScheduler<Command> timers, Settings<T, M> settings) {
    super(ctx);
    this.settings = settings;
    Duration tick = settings.passivateIdleAfter().dividedBy(4);
    if (tick.compareTo(Duration.ofMillis(10)) < 0) {
      tick = Duration.ofMillis(10);
    }
    timers.startTimerWithFixedDelay(IdleTick.INSTANCE, tick);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Deliver.class, this::onDeliver)
        .onMessage(Replied.class, this::onReplied)
        .onMessage(Stopped.class, this::onStopped)
        .onMessage(Passivate.class, this::onPassivate)
        .onMessageEquals(IdleTick.INSTANCE, this::onIdleTick)
        .build();
  }

  private Behavior<Command> onDeliver(Deliver d) {
    Entity e = entities.get(d.streamId());
    if (e == null) {
      e = spawn(d.streamId());
    }
    if (e.stopping || e.inFlight != null) {
      e.waiting.add(d);
    } else {
      forward(e, d);
    }
    return this;
  }

  private Entity spawn(StreamId id) {
    long incarnation = ++incarnations;
    EntityContext ec = new EntityContext(id, incarnation, getContext().getSelf());
    ActorRef<M> ref = getContext().spawn(settings.behavior().apply(ec), actorName(id));
    getContext().watchWith(ref, new Stopped(id, incarnation));
    Entity e = new Entity(id, incarnation, ref);
    entities.put(id, e);
    settings.listener().created(id);
    return e;
  }

  private void forward(Entity e, Deliver d) {
    @SuppressWarnings("unchecked")
    T event = (T) d.event();
    try {
      long id = ++deliveries;
      e.inFlight = d;
      e.inFlightId = id;
      e.lastActivityNanos = System.nanoTime();
      StreamId sid = e.streamId;
      long incarnation = e.incarnation;
      ActorRef<Command> self = getContext().getSelf();
      // Not ActorContext.askWithStatus: its pipeToSelf continues on the common pool, a new thread
      // per event on 2 cores or fewer (see Replies). This continuation only tells this actor.
      Replies.whenComplete(
          AskPattern.<M, Done>askWithStatus(
              e.ref,
              replyTo -> settings.adapter().toMessage(event, d.context(), replyTo),
              settings.askTimeout(),
              getContext().getSystem().scheduler()),
          (done, failure) -> self.tell(new Replied(sid, incarnation, id, Replies.unwrap(failure))));
    } catch (RuntimeException ex) {
      // The adapter threw: a failed delivery, retried by the runtime like any other.
      e.inFlight = null;
      d.ack().completeExceptionally(ex);
      next(e);
    }
  }

  private Behavior<Command> onReplied(Replied r) {
    Entity e = entities.get(r.streamId());
    if (e == null
        || e.incarnation != r.incarnation()
        || e.inFlight == null
        || e.inFlightId != r.delivery()) {
      return this; // that delivery was already failed when its entity stopped
    }
    Deliver d = e.inFlight;
    e.inFlight = null;
    e.lastActivityNanos = System.nanoTime();
    if (r.failure() == null) {
      d.ack().complete(null);
    } else {
      d.ack().completeExceptionally(r.failure());
    }
    next(e);
    return this;
  }

  /** After a delivery ended: passivate if asked to, else send the next waiting event. */
  private void next(Entity e) {
    if (e.passivateRequested && e.waiting.isEmpty()) {
      stop(e);
    } else if (!e.stopping && !e.waiting.isEmpty()) {
      forward(e, e.waiting.poll());
    }
  }

  private Behavior<Command> onPassivate(Passivate p) {
    Entity e = entities.get(p.streamId());
    if (e == null || e.incarnation != p.incarnation() || e.stopping) {
      return this;
    }
    if (e.inFlight == null && e.waiting.isEmpty()) {
      stop(e);
    } else {
      e.passivateRequested = true;
    }
    return this;
  }

  private Behavior<Command> onIdleTick() {
    long idleNanos = settings.passivateIdleAfter().toNanos();
    long now = System.nanoTime();
    for (Entity e : entities.values()) {
      if (!e.stopping
          && e.inFlight == null
          && e.waiting.isEmpty()
          && now - e.lastActivityNanos >= idleNanos) {
        stop(e);
      }
    }
    return this;
  }

  private void stop(Entity e) {
    e.stopping = true;
    if (settings.stopMessage() != null) {
      e.ref.tell(settings.stopMessage());
    } else {
      getContext().stop(e.ref);
    }
  }

  private Behavior<Command> onStopped(Stopped s) {
    Entity e = entities.get(s.streamId());
    if (e == null || e.incarnation != s.incarnation()) {
      return this;
    }
    entities.remove(s.streamId());
    settings.listener().stopped(s.streamId(), e.stopping);
    if (e.inFlight != null) {
      e.inFlight.ack().completeExceptionally(new EntityStoppedException(s.streamId()));
    }
    if (!e.waiting.isEmpty()) {
      Entity fresh = spawn(s.streamId());
      fresh.waiting.addAll(e.waiting);
      forward(fresh, fresh.waiting.poll());
    }
    return this;
  }

  /** A valid, unique actor name for the entity of {@code id}. */
  static String actorName(StreamId id) {
    return "e-"
        + URLEncoder.encode(id.namespace(), StandardCharsets.UTF_8)
        + "~"
        + URLEncoder.encode(id.key(), StandardCharsets.UTF_8);
  }
}
