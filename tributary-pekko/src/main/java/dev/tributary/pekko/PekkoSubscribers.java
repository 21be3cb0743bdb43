package dev.tributary.pekko;

import dev.tributary.AsyncStream;
import dev.tributary.EventMetadata;
import dev.tributary.Incubating;
import dev.tributary.MetadataStreamObserver;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.SubscriberAddress;
import dev.tributary.SubscriberGoneException;
import dev.tributary.spi.SubscriberResolver;
import dev.tributary.spi.SubscriptionRecord;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.AskTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Actors anywhere in the Pekko cluster as subscribers of cluster-wide subscriptions: the {@link
 * SubscriberResolver} of tributary-pekko.
 *
 * <pre>{@code
 * PekkoSubscribers subscribers = PekkoSubscribers.create(system);
 * StreamRuntime runtime = PekkoRuntime.bind(system, StreamRuntime.builder()
 *     .addProvider("kafka", kafka)
 *     .pubSubStore(store)                 // shared by every node: KafkaPubSubStore
 *     .subscriberResolver(subscribers)    // on every node
 *     .build());
 * ActorRef<StreamDelivery<Order>> auditor = ...;   // on this node, or any other
 * StreamSubscriptionHandle<Order> h =
 *     subscribers.subscribe(runtime.provider("kafka").stream(id), auditor).toCompletableFuture().join();
 * // after a restart, a new actor takes the subscription over by id:
 * subscribers.resume(stream, h.subscriptionId(), newAuditor);
 * }</pre>
 *
 * <p>An actor's {@linkplain #address address} is its reference in {@link ActorRefResolver}'s
 * serialization format. The node that owns the stream's queue resolves it and asks the actor a
 * {@link StreamDelivery} per event; the actor's {@link StreamDelivery#ack()} acknowledges it, and
 * the next event of the subscription follows only then. An error reply or no reply within the ask
 * timeout is an ordinary failed delivery, retried with the provider's delivery backoff. The first
 * delivery to an actor watches it (Pekko DeathWatch, from a small actor of this system): once it
 * stopped, or its node left the cluster, the delivery in flight and every later one fail with
 * {@link SubscriberGoneException}, and the runtime faults the subscription after its delivery
 * policy. An address that cannot be resolved (malformed, or of another actor system) faults the
 * subscription at once.
 *
 * <p>Thread-safe; one instance per actor system, given to that node's runtime.
 */
@Incubating
public final class PekkoSubscribers implements SubscriberResolver {
  private static final Logger log = LoggerFactory.getLogger(PekkoSubscribers.class);
  private static final AtomicInteger SEQ = new AtomicInteger();

  /** How long a subscriber actor may take to acknowledge an event by default. */
  public static final Duration DEFAULT_ASK_TIMEOUT = ActorEntities.DEFAULT_ASK_TIMEOUT;

  private final ActorSystem<?> system;
  private final ActorRefResolver refs;
  private final Duration askTimeout;
  private final ActorRef<Watch> watcher;
  private final ConcurrentHashMap<ActorRef<StreamDelivery<Object>>, Target> targets =
      new ConcurrentHashMap<>();

  private PekkoSubscribers(Builder b) {
    system = b.system;
    refs = ActorRefResolver.get(system);
    askTimeout = b.askTimeout != null ? b.askTimeout : DEFAULT_ASK_TIMEOUT;
    watcher =
        system.systemActorOf(
            watcher(), "tributary-subscribers-" + SEQ.incrementAndGet(), Props.empty());
  }

  /** The resolver of {@code system}'s actors, with the default ask timeout. */
  public static PekkoSubscribers create(ActorSystem<?> system) {
    return builder(system).build();
  }

  /** Returns a builder of the resolver of {@code system}'s actors. */
  public static Builder builder(ActorSystem<?> system) {
    return new Builder(system);
  }

  /** The ask timeout of every delivery. */
  public Duration askTimeout() {
    return askTimeout;
  }

  /** The address of {@code subscriber}, for {@link AsyncStream#subscribe(SubscriberAddress)}. */
  public <T> SubscriberAddress address(ActorRef<StreamDelivery<T>> subscriber) {
    Objects.requireNonNull(subscriber, "subscriber was null but it must be set");
    return SubscriberAddress.of(refs.toSerializationFormat(subscriber));
  }

  /**
   * Subscribes {@code subscriber} to {@code stream} cluster-wide: {@code
   * stream.subscribe(address(subscriber))}. The stage completes once the node that owns the
   * stream's queue holds a cursor for it; every event produced after that reaches the actor.
   */
  public <T> CompletionStage<StreamSubscriptionHandle<T>> subscribe(
      AsyncStream<T> stream, ActorRef<StreamDelivery<T>> subscriber) {
    return stream.subscribe(address(subscriber));
  }

  /**
   * Points the subscription {@code subscriptionId} of {@code stream} at {@code subscriber} (a new
   * actor after a restart, say), keeping its position: it lists the stream's subscriptions from the
   * store, picks that one and resumes it at the actor's address.
   *
   * <p>The stage fails with {@link IllegalArgumentException} when the stream has no such
   * subscription, or has it only faulted or unsubscribed (those cannot be resumed).
   */
  public <T> CompletionStage<StreamSubscriptionHandle<T>> resume(
      AsyncStream<T> stream, UUID subscriptionId, ActorRef<StreamDelivery<T>> subscriber) {
    Objects.requireNonNull(subscriptionId, "subscriptionId was null but it must be set");
    SubscriberAddress address = address(subscriber);
    return stream
        .subscriptions()
        .thenCompose(
            handles -> {
              for (StreamSubscriptionHandle<T> h : handles) {
                if (h.subscriptionId().equals(subscriptionId)) {
                  return h.resume(address);
                }
              }
              return CompletableFuture.failedFuture(
                  new IllegalArgumentException(
                      "stream "
                          + stream.streamId()
                          + " has no live subscription "
                          + subscriptionId
                          + " (never made, unsubscribed, or faulted: a faulted one cannot be"
                          + " resumed)"));
            });
  }

  /** Points the cluster-wide subscription of {@code handle} at {@code subscriber}. */
  public <T> CompletionStage<StreamSubscriptionHandle<T>> resume(
      StreamSubscriptionHandle<T> handle, ActorRef<StreamDelivery<T>> subscriber) {
    return handle.resume(address(subscriber));
  }

  /**
   * Resolves an actor's address into the observer that asks it; called by the runtime of the node
   * that delivers the subscription, on any of its threads. Does not block.
   *
   * @throws SubscriberGoneException when the address is not an actor of this cluster's system
   */
  @Override
  public Object resolve(SubscriberAddress address, SubscriptionRecord record) {
    String value = address.value();
    String prefix = "pekko://" + system.name() + "@";
    String local = "pekko://" + system.name() + "/";
    if (!value.startsWith(prefix) && !value.startsWith(local)) {
      throw new SubscriberGoneException(
          "subscription "
              + record.subscriptionId()
              + " to "
              + record.streamId()
              + " delivers to '"
              + value
              + "', which is not an actor of Pekko system '"
              + system.name()
              + "'");
    }
    ActorRef<StreamDelivery<Object>> ref;
    try {
      // resolveActorRef turns what it cannot parse into a reference to nowhere: parse it first.
      org.apache.pekko.actor.ActorPaths.fromString(value);
      ref = refs.resolveActorRef(value);
    } catch (Exception e) {
      throw new SubscriberGoneException(
          "subscription "
              + record.subscriptionId()
              + " to "
              + record.streamId()
              + " delivers to '"
              + value
              + "', which is not an actor address: "
              + e,
          e);
    }
    Target target = targets.computeIfAbsent(ref, Target::new);
    return new Observer(target, record.subscriptionId(), record.streamId());
  }

  @Override
  public String toString() {
    return "PekkoSubscribers{system=" + system.name() + ", askTimeout=" + askTimeout + "}";
  }

  // ------------------------------------------------------------------ delivery

  /** One subscriber actor: whether it is gone, and the asks to it in flight. */
  private final class Target {
    final ActorRef<StreamDelivery<Object>> ref;
    final AtomicBoolean watching = new AtomicBoolean();
    final Set<CompletableFuture<Void>> inFlight = ConcurrentHashMap.newKeySet();
    volatile SubscriberGoneException gone;

    Target(ActorRef<StreamDelivery<Object>> ref) {
      this.ref = ref;
    }

    void watch() {
      if (watching.compareAndSet(false, true)) {
        watcher.tell(new Watch(this));
      }
    }

    /** DeathWatch said the actor stopped: fail what is in flight, and all that follows. */
    void terminated() {
      SubscriberGoneException e =
          new SubscriberGoneException(
              "subscriber actor " + ref.path() + " stopped (or its node left the cluster)");
      gone = e;
      targets.remove(ref, this);
      for (CompletableFuture<Void> f : inFlight) {
        f.completeExceptionally(e);
      }
    }
  }

  /** The observer of one cluster-wide subscription: an ask per event to its actor. */
  private final class Observer implements MetadataStreamObserver<Object> {
    private final Target target;
    private final UUID subscriptionId;
    private final dev.tributary.StreamId streamId;

    Observer(Target target, UUID subscriptionId, dev.tributary.StreamId streamId) {
      this.target = target;
      this.subscriptionId = subscriptionId;
      this.streamId = streamId;
    }

    @Override
    public CompletionStage<Void> onNext(Object item, EventMetadata metadata) {
      SubscriberGoneException gone = target.gone;
      if (gone != null) {
        return CompletableFuture.failedFuture(gone);
      }
      target.watch();
      EventContext context = EventContext.of(streamId, metadata);
      CompletableFuture<Void> out = new CompletableFuture<>();
      Replies.whenComplete(
          AskPattern.<StreamDelivery<Object>, Done>askWithStatus(
              target.ref,
              replyTo -> new StreamDelivery<>(item, context, subscriptionId, replyTo),
              askTimeout,
              system.scheduler()),
          (done, failure) -> {
            if (failure == null) {
              out.complete(null);
            } else {
              out.completeExceptionally(goneOr(Replies.unwrap(failure)));
            }
          });
      target.inFlight.add(out);
      out.whenComplete((v, e) -> target.inFlight.remove(out));
      gone = target.gone;
      if (gone != null) {
        // Terminated came between the first check and the registration above.
        out.completeExceptionally(gone);
      }
      return out;
    }

    /**
     * The failure of an ask: gone when DeathWatch said so, or when Pekko refused the ask because it
     * knows the (local) recipient terminated, which it may tell before DeathWatch does.
     */
    private Throwable goneOr(Throwable failure) {
      SubscriberGoneException gone = target.gone;
      if (gone != null) {
        return gone;
      }
      // Typed asks fail with java.util.concurrent.TimeoutException, classic ones with
      // AskTimeoutException; both say "Recipient[...] had already been terminated."
      if ((failure instanceof java.util.concurrent.TimeoutException
              || failure instanceof AskTimeoutException)
          && String.valueOf(failure.getMessage()).contains("had already been terminated")) {
        return new SubscriberGoneException(
            "subscriber actor " + target.ref.path() + " stopped", failure);
      }
      return failure;
    }

    @Override
    public void onError(Throwable error) {
      log.warn(
          "Subscription {} of actor {}: {}", subscriptionId, target.ref.path(), error.toString());
    }

    @Override
    public String toString() {
      return "PekkoSubscribers.Observer{subscription="
          + subscriptionId
          + ", actor="
          + target.ref.path()
          + "}";
    }
  }

  /** The watcher's message: watch this target's actor. */
  private record Watch(Target target) {}

  /** DeathWatch of the subscriber actors this node delivered to. */
  private static Behavior<Watch> watcher() {
    return Behaviors.setup(
        ctx -> {
          java.util.Map<ActorRef<?>, Target> watched = new java.util.HashMap<>();
          return Behaviors.receive(Watch.class)
              .onMessage(
                  Watch.class,
                  w -> {
                    watched.put(w.target().ref, w.target());
                    ctx.watch(w.target().ref);
                    return Behaviors.same();
                  })
              .onSignal(
                  Terminated.class,
                  t -> {
                    Target target = watched.remove(t.getRef());
                    if (target != null) {
                      target.terminated();
                    }
                    return Behaviors.same();
                  })
              .build();
        });
  }

  /** Builds a {@link PekkoSubscribers}; each option may be set once. */
  public static final class Builder {
    private final ActorSystem<?> system;
    private Duration askTimeout;

    private Builder(ActorSystem<?> system) {
      this.system = Objects.requireNonNull(system, "system was null but it must be set");
    }

    /** Sets how long a subscriber actor may take to acknowledge an event [10 s]; >= 1 ms. */
    public Builder askTimeout(Duration timeout) {
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

    /** Builds the resolver; it starts its watcher actor in the system. */
    public PekkoSubscribers build() {
      return new PekkoSubscribers(this);
    }
  }
}
