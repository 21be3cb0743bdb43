package dev.tributary.internal.runtime;

import dev.tributary.StreamId;
import dev.tributary.StreamProvider;
import dev.tributary.StreamProviderOptions;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.StreamingException;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.PubSubStore;
import dev.tributary.spi.QueueAdapter;
import dev.tributary.spi.QueueAdapterCache;
import dev.tributary.spi.QueueAdapterFactory;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.QueueReplay;
import dev.tributary.spi.RuntimeTime;
import dev.tributary.spi.StaticQueueBalancer;
import dev.tributary.spi.StreamFailureHandler;
import dev.tributary.spi.StreamQueueBalancer;
import dev.tributary.spi.StreamQueueMapper;
import dev.tributary.spi.SubscriptionRecord;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.Observation;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A provider: one queue adapter, its pulling manager and this node's explicit subscriptions.
 *
 * <p>Explicit subscriptions live in a local registry (their observers are objects of this JVM) and
 * in the {@link PubSubStore} (their records). The agent that owns a stream's queue attaches a
 * cursor to each local subscription of the stream: at subscribe time through {@link
 * PullingAgent#attach}, and whenever it starts or meets the stream again.
 */
final class PersistentStreamProvider implements StreamProvider, AgentContext {
  private static final Logger log = LoggerFactory.getLogger(PersistentStreamProvider.class);

  /** An implicit subscription of one namespace. */
  static final class Implicit {
    final String namespace;
    final java.util.function.Function<StreamId, Object> factory;
    private final String providerName;

    Implicit(
        String providerName, String namespace, java.util.function.Function<StreamId, Object> f) {
      this.providerName = providerName;
      this.namespace = namespace;
      this.factory = f;
    }

    /** The same id for the same stream on every node and after every restart. */
    UUID subscriptionId(StreamId id) {
      String name = "implicit\0" + providerName + "\0" + namespace + "\0" + id.key();
      return UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8));
    }

    Object create(StreamId id) {
      Object observer = factory.apply(id);
      if (observer == null) {
        throw new IllegalStateException(
            "the implicit subscription factory of namespace '"
                + namespace
                + "' returned null for "
                + id);
      }
      return observer;
    }
  }

  private final PersistentStreamRuntime runtime;
  private final String name;
  private final QueueAdapterFactory factory;
  private final StreamProviderOptions options;
  private final Map<String, List<Implicit>> implicitByNamespace;
  private final ConcurrentHashMap<UUID, LocalSubscription> registry = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<StreamId, Set<LocalSubscription>> byStream =
      new ConcurrentHashMap<>();

  private final StreamLeases leases =
      new StreamLeases(
          (agent, id) -> agent.onStreamReleased(id), (agent, id) -> agent.onStreamContended(id));

  private volatile QueueAdapter adapter;
  private volatile StreamQueueMapper mapper;
  private volatile QueueAdapterCache cacheFactory;
  private volatile StreamQueueBalancer balancer;
  private volatile PullingManager manager;

  /** Subscriptions faulted on this node; a store may record the fault later. */
  private final Set<UUID> faultedIds = ConcurrentHashMap.newKeySet();

  private volatile boolean closed;
  private volatile io.micrometer.core.instrument.Meter healthGauge;

  /** Cluster-wide subscriptions; null when the store is not shared. */
  private volatile ClusterSubscriptions cluster;

  PersistentStreamProvider(
      PersistentStreamRuntime runtime,
      RuntimeConfig.ProviderSpec spec,
      List<RuntimeConfig.ImplicitSpec> implicits) {
    this.runtime = runtime;
    this.name = spec.name();
    this.factory = spec.factory();
    this.options = spec.options();
    Map<String, List<Implicit>> m = new ConcurrentHashMap<>();
    for (RuntimeConfig.ImplicitSpec s : implicits) {
      if (s.provider().equals(name)) {
        m.computeIfAbsent(s.namespace(), k -> new ArrayList<>())
            .add(new Implicit(name, s.namespace(), s.observerFactory()));
      }
    }
    this.implicitByNamespace = m;
  }

  // ---------------------------------------------------------------- lifecycle

  void start() {
    Timers timers = runtime.timers();
    ProviderContext context =
        new ProviderContext(name, options, runtime.meterRegistry(), timers.clock(), timers);
    QueueAdapter a = factory.createAdapter(context);
    if (a == null) {
      throw new IllegalStateException(
          "the adapter factory of provider '" + name + "' returned no adapter");
    }
    adapter = a;
    mapper = factory.streamQueueMapper();
    cacheFactory = factory.queueAdapterCache(context);
    balancer =
        options.balancer() != null
            ? options.balancer().get()
            : factory.queueBalancer().orElseGet(StaticQueueBalancer::allQueues);
    if (!a.isRewindable()) {
      for (LocalSubscription sub : registry.values()) {
        if (sub.startToken != null) {
          sub.attached.completeExceptionally(
              new IllegalArgumentException(
                  "cannot subscribe to "
                      + sub.streamId
                      + " from token "
                      + sub.startToken
                      + ": provider '"
                      + name
                      + "' is not rewindable; subscribe without a token"));
        }
      }
    }
    PubSubStore store = runtime.pubSubStore();
    if (store.isShared()) {
      // Before any agent exists: every agent then finds the store's subscriptions registered.
      ClusterSubscriptions c = new ClusterSubscriptions(this, store, runtime.subscriberResolver());
      cluster = c;
      c.start();
    }
    manager = new PullingManager(this);
    if (a.direction().reads()) {
      balancer.start(mapper, manager::queueDistributionChanged);
    }
    healthGauge =
        io.micrometer.core.instrument.Gauge.builder(
                "tributary.health", this, p -> p.health().status().gaugeValue())
            .description("Provider health on this node: 1 UP, 0.5 DEGRADED, 0 DOWN")
            .tag("provider", name)
            .register(runtime.meterRegistry());
    log.info(
        "Provider {} started: {} queue(s), {} owned by this node",
        name,
        mapper.allQueues().size(),
        balancer.myQueues().size());
  }

  /** Stops every agent for good (draining and flushing); completes when they all stopped. */
  CompletableFuture<Void> shutdownAgents() {
    closed = true;
    PullingManager m = manager;
    CompletableFuture<Void> stopped =
        m == null ? CompletableFuture.completedFuture(null) : m.stopAll().toCompletableFuture();
    // A safety net over the agents' own drainTimeout, for a receiver whose shutdown never ends.
    return runtime
        .timers()
        .within(
            stopped,
            options.drainTimeout().plusSeconds(30),
            () -> "stopping the agents of provider '" + name + "'")
        .exceptionally(
            e -> {
              log.warn("Provider {}: agents did not stop in time", name, e);
              return null;
            });
  }

  /**
   * Closes the balancer and the adapter after the agents stopped. Runs on the thread that closes
   * the runtime, never on a runtime worker: adapters may block here (Kafka's final commits).
   */
  void release() {
    io.micrometer.core.instrument.Meter gauge = healthGauge;
    if (gauge != null) {
      runtime.meterRegistry().remove(gauge);
      healthGauge = null;
    }
    ClusterSubscriptions c = cluster;
    if (c != null) {
      c.close();
    }
    closeQuietly(balancer);
    closeQuietly(adapter);
    StreamingException gone =
        new StreamingException("provider '" + name + "' was closed before subscribe completed");
    for (LocalSubscription s : registry.values()) {
      s.attached.completeExceptionally(gone);
    }
  }

  private void closeQuietly(AutoCloseable c) {
    if (c == null) {
      return;
    }
    try {
      c.close();
    } catch (Exception e) {
      log.warn("Provider {}: closing {} failed", name, c, e);
    }
  }

  // ---------------------------------------------------------------- operations

  @Override
  public dev.tributary.ProviderHealth health() {
    return ProviderHealthCheck.health(healthParts());
  }

  @Override
  public dev.tributary.ProviderStatus status() {
    return ProviderHealthCheck.status(healthParts());
  }

  private ProviderHealthCheck.Parts healthParts() {
    return new ProviderHealthCheck.Parts(
        name,
        runtime.timers().millis(),
        manager != null,
        closed,
        adapter,
        balancer,
        manager,
        options.stallThreshold(),
        options.cacheSize());
  }

  @Override
  public CompletionStage<Void> stopAgents() {
    PullingManager m = requireManager("stop the agents");
    log.info("Provider {}: stopping the agents (operator)", name);
    return m.stopReading()
        .thenRun(() -> log.info("Provider {}: agents stopped, delivered progress flushed", name));
  }

  @Override
  public CompletionStage<Void> startAgents() {
    PullingManager m = requireManager("start the agents");
    log.info("Provider {}: starting the agents again (operator)", name);
    return m.startReading();
  }

  private PullingManager requireManager(String what) {
    if (closed) {
      throw new IllegalStateException("cannot " + what + ": provider '" + name + "' is closed");
    }
    PullingManager m = manager;
    if (m == null) {
      throw new IllegalStateException(
          "cannot " + what + ": the runtime is not started; call StreamRuntime.start() first");
    }
    return m;
  }

  // ---------------------------------------------------------------- StreamProvider

  @Override
  public String name() {
    return name;
  }

  @Override
  public boolean isRewindable() {
    QueueAdapter a = adapter;
    return a != null && a.isRewindable();
  }

  @Override
  public <T> ProviderStream<T> stream(StreamId id) {
    if (id == null) {
      throw new NullPointerException("stream id was null");
    }
    return new ProviderStream<>(this, id);
  }

  CompletionStage<Void> produce(StreamId id, List<?> events) {
    return produce(id, events, Map.of());
  }

  /**
   * Writes {@code events} with {@code headers}; with tracing, inside a producer observation whose
   * context goes into a copy of the headers.
   */
  CompletionStage<Void> produce(StreamId id, List<?> events, Map<String, byte[]> headers) {
    QueueAdapter a = requireStarted("produce to " + id);
    if (!a.direction().writes()) {
      throw new UnsupportedOperationException(
          "provider '" + name + "' is read-only: its adapter does not accept events");
    }
    Tracing tracing = runtime.tracing();
    if (tracing == null) {
      try {
        return a.queueMessageBatch(id, events, null, headers);
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(e);
      }
    }
    Map<String, byte[]> carrier = new LinkedHashMap<>(headers);
    Observation observation =
        tracing.startProduce(name, id, mapper.queueForStream(id).toString(), carrier);
    CompletionStage<Void> stage;
    try {
      stage = Tracing.inScope(observation, () -> a.queueMessageBatch(id, events, null, carrier));
    } catch (RuntimeException e) {
      stage = CompletableFuture.failedFuture(e);
    }
    return Tracing.stopWhenDone(observation, stage);
  }

  /** Producing and delivering observations; null without an {@code ObservationRegistry}. */
  @Override
  public Tracing tracing() {
    return runtime.tracing();
  }

  private QueueAdapter requireStarted(String what) {
    if (closed) {
      throw new IllegalStateException("cannot " + what + ": provider '" + name + "' is closed");
    }
    QueueAdapter a = adapter;
    if (a == null) {
      throw new IllegalStateException(
          "cannot " + what + ": the runtime is not started; call StreamRuntime.start() first");
    }
    return a;
  }

  <T> CompletionStage<StreamSubscriptionHandle<T>> subscribe(
      StreamId id, Object observer, StreamSequenceToken token, String filterData) {
    if (closed) {
      throw new IllegalStateException(
          "cannot subscribe to " + id + ": provider '" + name + "' is closed");
    }
    checkRewind(id, token);
    LocalSubscription sub =
        new LocalSubscription(UUID.randomUUID(), id, filterData, observer, token);
    registry.put(sub.id, sub);
    byStream.computeIfAbsent(id, k -> ConcurrentHashMap.newKeySet()).add(sub);
    return runtime
        .pubSubStore()
        .put(new SubscriptionRecord(sub.id, name, id, filterData, false))
        .thenCompose(v -> attachOrWait(sub))
        .handle(
            (v, e) -> {
              if (e != null) {
                forget(sub);
                throw e instanceof RuntimeException re
                    ? re
                    : new StreamingException("subscribe failed", e);
              }
              return new SubscriptionHandle<T>(this, sub);
            });
  }

  /** A cluster-wide subscription: through the shared store, to whichever node owns the queue. */
  <T> CompletionStage<StreamSubscriptionHandle<T>> subscribe(
      StreamId id, dev.tributary.SubscriberAddress subscriber, String filterData) {
    requireStarted("subscribe " + subscriber + " to " + id);
    return requireCluster("subscribe " + subscriber + " to " + id)
        .subscribe(id, subscriber, filterData)
        .thenApply(sub -> new SubscriptionHandle<T>(this, sub));
  }

  private ClusterSubscriptions requireCluster(String what) {
    ClusterSubscriptions c = cluster;
    if (c == null) {
      throw new IllegalStateException(
          "cannot "
              + what
              + ": the runtime's subscription store "
              + runtime.pubSubStore().getClass().getName()
              + " is not shared by the cluster (isShared() is false); use a shared store such as"
              + " KafkaPubSubStore");
    }
    if (runtime.subscriberResolver() == null) {
      throw new IllegalStateException(
          "cannot "
              + what
              + ": the runtime has no subscriberResolver, so no node could deliver to the address;"
              + " set StreamRuntime.Builder.subscriberResolver (tributary-pekko: PekkoSubscribers)"
              + " on every node");
    }
    return c;
  }

  CompletionStage<StreamSequenceToken> tokenAt(StreamId id, Instant time) {
    QueueAdapter a = requireStarted("look up a token of " + id);
    try {
      return a.tokenAt(mapper.queueForStream(id), time);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  void checkRewind(StreamId id, StreamSequenceToken token) {
    QueueAdapter a = adapter;
    if (token != null && a != null && !a.isRewindable()) {
      throw new IllegalArgumentException(
          "cannot subscribe to "
              + id
              + " from token "
              + token
              + ": provider '"
              + name
              + "' is not rewindable; subscribe without a token");
    }
  }

  /**
   * Attaches {@code sub} at the agent of its stream's queue (the handshake), and at every other
   * agent of this node that tracks the stream (it is reachable from their queues too). Completes
   * once all of them hold a cursor for it.
   */
  private CompletionStage<Void> attachOrWait(LocalSubscription sub) {
    if (closed) {
      // Closed while the record was being stored: release() may have run already, and the
      // timers are stopped, so nothing else would end this subscribe.
      sub.attached.completeExceptionally(
          new StreamingException(
              "provider '"
                  + name
                  + "' was closed before subscribe to "
                  + sub.streamId
                  + " completed"));
      return sub.attached;
    }
    PullingManager m = manager;
    StreamQueueMapper qm = mapper;
    List<CompletableFuture<Void>> elsewhere = new ArrayList<>();
    if (m != null && qm != null) {
      QueueId home = qm.queueForStream(sub.streamId);
      for (PullingAgent agent : m.agents()) {
        if (agent.queueId().equals(home)) {
          agent.attach(sub);
        } else {
          elsewhere.add(agent.attachIfTracking(sub));
        }
      }
    }
    if (!sub.attached.isDone()) {
      Duration timeout = options.subscribeTimeout();
      Runnable fail = () -> sub.attached.completeExceptionally(subscribeTimedOut(sub, qm, timeout));
      // The caller's stage completes on a worker, like every other completion of subscribe.
      RuntimeTime.Cancellable timer =
          runtime.timers().schedule(timeout, () -> pool().execute(fail));
      sub.attached.whenComplete((v, e) -> timer.cancel());
    }
    return elsewhere.isEmpty()
        ? sub.attached
        : sub.attached.thenCompose(
            v -> CompletableFuture.allOf(elsewhere.toArray(new CompletableFuture<?>[0])));
  }

  private StreamingException subscribeTimedOut(
      LocalSubscription sub, StreamQueueMapper qm, Duration timeout) {
    return new StreamingException(
        "subscribe to "
            + sub.streamId
            + " of provider '"
            + name
            + "' timed out after "
            + timeout
            + ": no agent on this node owns queue "
            + (qm == null ? "(runtime not started)" : qm.queueForStream(sub.streamId))
            + ". Start the runtime, or subscribe on the node that owns the queue, or subscribe"
            + " with a SubscriberAddress (cluster-wide), or raise subscribeTimeout",
        new TimeoutException());
  }

  private void forget(LocalSubscription sub) {
    unregister(sub);
    runtime.pubSubStore().remove(name, sub.streamId, sub.id);
  }

  /** Drops {@code sub} from the local registry, and its stream's set once that is empty. */
  private void unregister(LocalSubscription sub) {
    registry.remove(sub.id);
    byStream.computeIfPresent(
        sub.streamId,
        (id, set) -> {
          set.remove(sub);
          return set.isEmpty() ? null : set;
        });
  }

  CompletionStage<Void> unsubscribe(LocalSubscription sub) {
    if (sub.addressed) {
      return requireCluster("unsubscribe " + sub.id).unsubscribe(sub);
    }
    forget(sub);
    return detachEverywhere(sub.id);
  }

  /** Points a cluster-wide subscription at a new address. */
  <T> CompletionStage<StreamSubscriptionHandle<T>> resume(
      LocalSubscription sub, dev.tributary.SubscriberAddress subscriber) {
    if (sub.faulted || faultedIds.contains(sub.id)) {
      return CompletableFuture.failedFuture(
          new dev.tributary.FaultedSubscriptionException(sub.id, sub.streamId, null));
    }
    return requireCluster("resume " + sub.id + " at " + subscriber)
        .resume(sub, subscriber)
        .thenApply(
            v -> {
              LocalSubscription now = registry.get(sub.id);
              return new SubscriptionHandle<T>(this, now != null ? now : sub);
            });
  }

  <T> CompletionStage<StreamSubscriptionHandle<T>> resume(
      LocalSubscription sub, Object observer, StreamSequenceToken token) {
    if (sub.addressed) {
      throw new IllegalArgumentException(
          "subscription "
              + sub.id
              + " to "
              + sub.streamId
              + " is cluster-wide (it delivers to "
              + sub.subscriber()
              + "); resume it with a SubscriberAddress");
    }
    if (sub.faulted || faultedIds.contains(sub.id)) {
      return CompletableFuture.failedFuture(
          new dev.tributary.FaultedSubscriptionException(sub.id, sub.streamId, null));
    }
    checkRewind(sub.streamId, token);
    PullingAgent agent = ownerOf(sub.streamId);
    if (agent == null) {
      sub.observer = observer;
      sub.startToken = token;
    }
    if (registry.putIfAbsent(sub.id, sub) == null) {
      byStream.computeIfAbsent(sub.streamId, k -> ConcurrentHashMap.newKeySet()).add(sub);
    }
    // The agent swaps the observer itself, together with the repositioning (one step).
    CompletionStage<Void> switched =
        agent == null ? Observers.DONE : agent.resume(sub, observer, token);
    return switched.thenApply(v -> new SubscriptionHandle<T>(this, sub));
  }

  <T> CompletionStage<List<StreamSubscriptionHandle<T>>> subscriptions(StreamId id) {
    return runtime
        .pubSubStore()
        .subscriptions(name, id)
        .thenApply(
            records -> {
              List<StreamSubscriptionHandle<T>> handles = new ArrayList<>();
              for (SubscriptionRecord r : records) {
                // The store may not have recorded a fault of this node's yet.
                if (r.faulted() || r.removed() || faultedIds.contains(r.subscriptionId())) {
                  continue;
                }
                LocalSubscription sub = registry.get(r.subscriptionId());
                if (sub == null) {
                  sub =
                      r.addressed()
                          ? new LocalSubscription(r)
                          : new LocalSubscription(
                              r.subscriptionId(), id, r.filterData(), null, null);
                }
                handles.add(new SubscriptionHandle<>(this, sub));
              }
              return handles;
            });
  }

  @Override
  public void markFaulted(LocalSubscription sub) {
    dropFaulted(sub);
    runtime.pubSubStore().put(sub.record(name).asFaulted());
  }

  /** Forgets a subscription that was faulted (here, or on another node: the store says so). */
  void dropFaulted(LocalSubscription sub) {
    // Known here before the subscription leaves the registry: until the store has recorded the
    // fault, a listing or a resume must not bring it back.
    faultedIds.add(sub.id);
    sub.faulted = true;
    drop(sub);
  }

  /**
   * Drops {@code sub} from the registry and from every agent; completes once nothing more will be
   * delivered to it by this node.
   */
  CompletionStage<Void> drop(LocalSubscription sub) {
    unregister(sub);
    return detachEverywhere(sub.id);
  }

  /** Drops subscription {@code id} (registered or not) from the registry and every agent. */
  CompletionStage<Void> drop(UUID id) {
    LocalSubscription sub = registry.get(id);
    if (sub != null) {
      unregister(sub);
    }
    return detachEverywhere(id);
  }

  private CompletionStage<Void> detachEverywhere(UUID id) {
    PullingManager m = manager;
    if (m == null) {
      return Observers.DONE;
    }
    // A stream reachable from several queues has the subscription in each of their agents.
    List<PullingAgent> agents = m.agents();
    CompletableFuture<?>[] detached = new CompletableFuture<?>[agents.size()];
    for (int i = 0; i < detached.length; i++) {
      detached[i] = agents.get(i).detach(id);
    }
    return CompletableFuture.allOf(detached);
  }

  /** The registered subscription {@code id}, or null. */
  LocalSubscription registered(UUID id) {
    return registry.get(id);
  }

  /**
   * Registers a cluster-wide subscription the store told of, and attaches it at this node's agent
   * of its queue, if any (and at the other agents that track its stream).
   */
  void registerAndAttach(LocalSubscription sub) {
    if (registry.putIfAbsent(sub.id, sub) != null) {
      return;
    }
    byStream.computeIfAbsent(sub.streamId, k -> ConcurrentHashMap.newKeySet()).add(sub);
    PullingManager m = manager;
    StreamQueueMapper qm = mapper;
    if (m == null || qm == null) {
      return;
    }
    // Only the agent of the stream's home queue delivers a cluster-wide subscription: another
    // queue's agent (perhaps on another node) would deliver beside it, with no handshake.
    PullingAgent home = m.agent(qm.queueForStream(sub.streamId));
    if (home != null) {
      home.attach(sub);
    }
  }

  /**
   * A cluster-wide subscription has a new revision (a new subscriber, resolved into {@code
   * sub.observer}): this node's agent of its queue, if any, switches to it and confirms.
   */
  void repoint(LocalSubscription sub) {
    PullingAgent agent = ownerOf(sub.streamId);
    if (agent != null) {
      agent.switchTarget(sub);
    }
  }

  /** True when this node faulted subscription {@code id} (the store may not say so yet). */
  boolean isFaulted(UUID id) {
    return faultedIds.contains(id);
  }

  @Override
  public void resolveIfNeeded(LocalSubscription sub) {
    LocalSubscription.Target t = sub.target;
    if (!sub.addressed || t == null || t.equals(sub.installed)) {
      return;
    }
    sub.observer = observerFor(sub, t);
    sub.installed = t;
  }

  @Override
  public Object observerFor(LocalSubscription sub, LocalSubscription.Target target) {
    ClusterSubscriptions c = cluster;
    if (c == null) {
      sub.unresolvable = new IllegalStateException("provider '" + name + "' has no shared store");
      return null;
    }
    return c.observerFor(sub, target);
  }

  /** True when an agent of this node holds the home queue of {@code id}. */
  boolean ownsActively(StreamId id) {
    PullingAgent agent = ownerOf(id);
    return agent != null && agent.holdsQueue();
  }

  @Override
  public void attached(LocalSubscription sub, QueueId queueId) {
    if (sub.addressed) {
      ClusterSubscriptions c = cluster;
      if (c != null) {
        c.attached(sub);
      }
    } else if (!sub.attached.isDone()) {
      pool().execute(() -> sub.attached.complete(null));
    }
  }

  @Override
  public CompletionStage<Void> subscriptionsSynced() {
    return cluster == null ? Observers.DONE : runtime.pubSubStore().sync();
  }

  @Override
  public void queueStarted(QueueId queueId) {
    ClusterSubscriptions c = cluster;
    if (c != null) {
      c.queueStarted(queueId);
    }
  }

  /** True when {@code queueId} is the queue the mapper assigns {@code id} to. */
  @Override
  public boolean isHomeQueue(StreamId id, QueueId queueId) {
    StreamQueueMapper qm = mapper;
    return qm != null && qm.queueForStream(id).equals(queueId);
  }

  private PullingAgent ownerOf(StreamId id) {
    PullingManager m = manager;
    StreamQueueMapper qm = mapper;
    return m == null || qm == null ? null : m.agent(qm.queueForStream(id));
  }

  // ---------------------------------------------------------------- for agents

  @Override
  public List<Implicit> implicitFor(String namespace) {
    List<Implicit> l = implicitByNamespace.get(namespace);
    return l == null ? List.of() : l;
  }

  @Override
  public Set<LocalSubscription> localSubscriptions(StreamId id) {
    Set<LocalSubscription> s = byStream.get(id);
    return s == null ? Set.of() : s;
  }

  @Override
  public List<LocalSubscription> localSubscriptions(QueueId queueId) {
    List<LocalSubscription> out = new ArrayList<>();
    for (LocalSubscription s : registry.values()) {
      if (mapper.queueForStream(s.streamId).equals(queueId)) {
        out.add(s);
      }
    }
    return out;
  }

  @Override
  public boolean filter(StreamId id, Object item, String filterData) {
    if (filterData == null) {
      return true;
    }
    try {
      return runtime.streamFilter().shouldDeliver(id, item, filterData);
    } catch (Throwable t) {
      log.warn("Provider {}: stream filter threw for {}; the event is delivered", name, id, t);
      return true;
    }
  }

  @Override
  public StreamProviderOptions options() {
    return options;
  }

  QueueAdapter adapter() {
    return adapter;
  }

  QueueAdapterCache cacheFactory() {
    return cacheFactory;
  }

  StreamFailureHandler failureHandler(QueueId queueId) {
    StreamFailureHandler h = factory.failureHandler(queueId);
    return h == null ? StreamFailureHandler.SKIP : h;
  }

  @Override
  public Executor pool() {
    return runtime.pool();
  }

  @Override
  public MeterRegistry meterRegistry() {
    return runtime.meterRegistry();
  }

  @Override
  public Timers timers() {
    return runtime.timers();
  }

  @Override
  public StreamLeases leases() {
    return leases;
  }

  @Override
  public QueueReplay openReplay(QueueId queueId, StreamId id, StreamSequenceToken from) {
    QueueAdapter a = adapter;
    if (a == null || closed) {
      return null;
    }
    try {
      return a.openReplay(queueId, id, from);
    } catch (Throwable t) {
      log.warn(
          "Provider {}: opening a replay of {} in {} from {} failed; the subscription continues"
              + " from the cache",
          name,
          id,
          queueId,
          from,
          t);
      return null;
    }
  }

  @Override
  public boolean isClosing() {
    return closed;
  }

  PullingManager manager() {
    return manager;
  }
}
