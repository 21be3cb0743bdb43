package dev.tributary.internal.runtime;

import dev.tributary.EventsExpiredException;
import dev.tributary.FaultedSubscriptionException;
import dev.tributary.QueueCacheMissException;
import dev.tributary.StreamEventDeliveryFailureException;
import dev.tributary.StreamId;
import dev.tributary.StreamProviderOptions;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamingException;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.DeliveryFailure;
import dev.tributary.spi.QueueAdapterReceiver;
import dev.tributary.spi.QueueCache;
import dev.tributary.spi.QueueCacheCursor;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.QueueReplay;
import dev.tributary.spi.RuntimeTime;
import dev.tributary.spi.StreamFailureHandler;
import io.micrometer.observation.Observation;
import java.time.Duration;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads one queue, caches its batches and delivers them to every subscription of its streams.
 *
 * <h2>Threading</h2>
 *
 * <p>Everything an agent owns (its receiver, cache, cursors, stream table and delivery state) is
 * confined to its {@link SerialExecutor}, a logical thread over the runtime's shared pool. Other
 * threads only submit tasks: the timer ({@link #requestPump()}), the receiver's data signal (same),
 * the provider (attach, resume, detach) and observers' stages, whose completions hop back onto the
 * executor unless they completed synchronously. Observers are called on the agent's thread and must
 * not block; receivers and the failure handler must not block either (they return stages). Nothing
 * here takes a lock.
 *
 * <h2>Pump</h2>
 *
 * <p>A pump (timer tick or data signal) loops while reads return data: purge the cache and
 * acknowledge what every subscription passed, stop if the cache is under pressure, read up to
 * {@code cache.maxAddCount()} batches, add them, and wake the subscriptions of their streams.
 */
final class PullingAgent {
  private static final Logger log = LoggerFactory.getLogger(PullingAgent.class);
  private static final int MAX_READS_PER_PUMP = 16;
  private static final int MAX_SYNC_DELIVERIES = 512;

  private enum State {
    NEW,
    INITIALIZING,
    RUNNING,
    /** Stopped by an operator ({@code stopReading}): no reads, no deliveries; all else kept. */
    SUSPENDED,
    STOPPING,
    STOPPED
  }

  private final AgentContext provider;
  private final QueueId queueId;
  private final QueueAdapterReceiver receiver;
  private final QueueCache cache;
  private final StreamFailureHandler failureHandler;
  private final StreamProviderOptions options;
  private final StreamLeases leases;
  private final SerialExecutor exec;
  private final Timers timers;
  private final AgentMetrics metrics;
  private final Tracing tracing;
  private final String queueName;
  private final AtomicBoolean pumpRequested = new AtomicBoolean();
  private final CompletableFuture<Void> stopped = new CompletableFuture<>();

  /** What health and status read; written by this agent's thread only. */
  final AgentView view = new AgentView();

  private final Map<StreamId, StreamState> streams = new StreamTable();

  /** Scratch for {@link #onBatches}: the tracked stream of each batch of a read. */
  private StreamState[] resolved = new StreamState[0];

  private final ReplayHost replayHost = new ReplayHost();

  /**
   * Explicit subscriptions by id (attach, detach). Implicit ones are found through their stream, so
   * they need no id until something reports on them; {@link #implicitConsumers} counts them.
   */
  private final Map<UUID, StreamConsumer> consumers = new HashMap<>();

  private int implicitConsumers;

  /** The store sync an initializing agent waits for; null once it ran. Agent-confined. */
  private CompletionStage<Void> syncing;

  // Volatile for holdsQueue(); written only on the agent.
  private volatile State state = State.NEW;
  private RuntimeTime.Cancellable timer;
  private boolean reading;
  private boolean readRetryScheduled;
  private int readAttempts;
  private long lastCleanupMillis;
  private int inFlight;
  private boolean underPressure;
  private CompletableFuture<Void> drained;

  /** Start (or stay) suspended: an operator stopped the provider's agents. */
  private boolean holdRequested;

  /** The stage of the suspension under way, or null. */
  private CompletableFuture<Void> suspending;

  /** Completes when nothing is in flight any more, while suspending. */
  private CompletableFuture<Void> holdDrained;

  PullingAgent(
      AgentContext provider,
      QueueId queueId,
      QueueAdapterReceiver receiver,
      QueueCache cache,
      StreamFailureHandler failureHandler) {
    this.provider = provider;
    this.queueId = queueId;
    this.receiver = receiver;
    this.cache = cache;
    this.failureHandler = failureHandler;
    this.options = provider.options();
    this.leases = provider.leases();
    this.exec = new SerialExecutor(provider.pool(), "agent " + provider.name() + "/" + queueId);
    this.timers = provider.timers();
    this.metrics = new AgentMetrics(provider.meterRegistry(), provider.name(), queueId.toString());
    this.tracing = provider.tracing();
    this.queueName = queueId.toString();
  }

  QueueId queueId() {
    return queueId;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Initializes the receiver (retrying until it works or the agent stops), then starts reading. */
  void start() {
    exec.execute(
        () -> {
          if (state != State.NEW) {
            return;
          }
          setState(State.INITIALIZING);
          receiver.setDataAvailableListener(this::requestPump);
          initialize(1);
        });
  }

  private void initialize(int attempt) {
    if (state != State.INITIALIZING) {
      return;
    }
    CompletionStage<Void> init;
    try {
      init = receiver.initialize(options.initQueueTimeout());
    } catch (Throwable t) {
      init = CompletableFuture.failedFuture(t);
    }
    timers
        .within(init, options.initQueueTimeout(), () -> "initializing the receiver of " + queueId)
        .whenComplete(
            (v, error) ->
                exec.execute(
                    () -> {
                      if (error == null) {
                        onInitialized();
                      } else if (state == State.INITIALIZING) {
                        Duration delay = options.readBackoff().delay(attempt);
                        log.warn(
                            "Queue {} of provider {}: receiver initialization failed (attempt {});"
                                + " retrying in {} ms",
                            queueId,
                            provider.name(),
                            attempt,
                            delay.toMillis(),
                            unwrap(error));
                        metrics.readErrors.increment();
                        view.readFailed(unwrap(error), timers.millis());
                        later(delay, () -> initialize(attempt + 1));
                      }
                    }));
  }

  /**
   * The receiver is ready: once this node has seen every subscription the store held when it took
   * the queue over (a cluster-wide subscription made on another node included), the agent attaches
   * them and starts reading.
   */
  private void onInitialized() {
    onInitialized(1);
  }

  private void onInitialized(int attempt) {
    if (state != State.INITIALIZING) {
      return;
    }
    CompletionStage<Void> synced = syncing;
    if (synced == null || synced.toCompletableFuture().isDone()) {
      // One sync at a time: a retry waits for the same one rather than starting another.
      try {
        synced = provider.subscriptionsSynced();
      } catch (Throwable t) {
        synced = CompletableFuture.failedFuture(t);
      }
      syncing = synced;
    }
    if (synced instanceof CompletableFuture<Void> f
        && f.isDone()
        && !f.isCompletedExceptionally()) {
      run();
      return;
    }
    timers
        .within(synced, options.initQueueTimeout(), () -> "reading the subscription store")
        .whenComplete(
            (v, error) ->
                exec.execute(
                    () -> {
                      if (error == null) {
                        run();
                      } else if (state == State.INITIALIZING) {
                        Duration delay = options.readBackoff().delay(attempt);
                        log.warn(
                            "Queue {} of provider {}: the subscription store did not catch up"
                                + " (attempt {}); the agent waits and asks again in {} ms",
                            queueId,
                            provider.name(),
                            attempt,
                            delay.toMillis(),
                            unwrap(error));
                        later(delay, () -> onInitialized(attempt + 1));
                      }
                    }));
  }

  private void run() {
    if (state != State.INITIALIZING) {
      return;
    }
    syncing = null;
    setState(holdRequested ? State.SUSPENDED : State.RUNNING);
    lastCleanupMillis = timers.millis();
    view.lastAckMillis = lastCleanupMillis;
    view.readWorked();
    for (LocalSubscription sub : provider.localSubscriptions(queueId)) {
      attachNow(sub);
    }
    provider.queueStarted(queueId);
    Duration period = options.getQueueMessagesTimerPeriod();
    // A random first tick spreads the agents' reads over the period.
    Duration jitter =
        Duration.ofMillis(ThreadLocalRandom.current().nextLong(Math.max(period.toMillis(), 1)));
    timer = timers.scheduleWithFixedDelay(this::requestPump, jitter, period);
    if (state == State.SUSPENDED) {
      log.info("Queue {} of provider {}: agent starts suspended", queueId, provider.name());
      pauseReceiver(null);
      return;
    }
    log.debug("Queue {} of provider {}: agent running", queueId, provider.name());
    pump();
  }

  /**
   * Stops reading, waits up to {@code drainTimeout} for in-flight deliveries, acknowledges what was
   * delivered and shuts the receiver down. Idempotent.
   */
  CompletableFuture<Void> stop() {
    exec.execute(
        () -> {
          if (state == State.STOPPING || state == State.STOPPED) {
            return;
          }
          boolean wasRunning = state == State.RUNNING || state == State.SUSPENDED;
          setState(State.STOPPING);
          if (timer != null) {
            timer.cancel();
          }
          if (!wasRunning) {
            finishStop();
            return;
          }
          drained = new CompletableFuture<>();
          checkDrained();
          timers
              .within(drained, options.drainTimeout(), () -> "draining queue " + queueId)
              .whenComplete(
                  (v, e) ->
                      exec.execute(
                          () -> {
                            if (e != null) {
                              log.warn(
                                  "Queue {} of provider {}: {} delivery(ies) still in flight after"
                                      + " drainTimeout {}; they will be redelivered after restart",
                                  queueId,
                                  provider.name(),
                                  inFlight,
                                  options.drainTimeout());
                            }
                            finishStop();
                          }));
        });
    return stopped;
  }

  private void checkDrained() {
    if (inFlight == 0 && !reading) {
      if (drained != null) {
        drained.complete(null);
      }
      if (holdDrained != null) {
        holdDrained.complete(null);
      }
    }
  }

  private void finishStop() {
    List<BatchContainer> delivered = purge();
    CompletionStage<Void> ack = delivered.isEmpty() ? Observers.DONE : guardedAck(delivered);
    ack.handle((v, e) -> null)
        .thenCompose(
            v -> {
              try {
                return receiver.shutdown(options.drainTimeout());
              } catch (Throwable t) {
                return CompletableFuture.failedFuture(t);
              }
            })
        .whenComplete(
            (v, e) ->
                exec.execute(
                    () -> {
                      if (e != null) {
                        log.warn(
                            "Queue {} of provider {}: receiver shutdown failed",
                            queueId,
                            provider.name(),
                            unwrap(e));
                      }
                      boolean handOver = !provider.isClosing();
                      for (StreamState st : streams.values()) {
                        StreamState.Consumers cs = st.consumers();
                        for (int k = 0, n = cs.size(); k < n; k++) {
                          StreamConsumer c = cs.get(k);
                          if (handOver && c.replaying()) {
                            interruptReplay(c);
                          }
                          c.close();
                        }
                        leaveStream(st);
                      }
                      consumers.clear();
                      implicitConsumers = 0;
                      streams.clear();
                      setState(State.STOPPED);
                      publishGauges();
                      metrics.close();
                      stopped.complete(null);
                    }));
  }

  /**
   * The queue leaves this node while {@code c} replays it: the subscription is told, and keeps its
   * position, so that an agent of this node that reads the queue again continues the replay there.
   */
  private void interruptReplay(StreamConsumer c) {
    LocalSubscription sub = c.subscription;
    StreamSequenceToken at = c.resumeFrom();
    if (sub == null || sub.faulted) {
      return;
    }
    sub.startToken = at;
    log.warn(
        "Queue {} of provider {}: its agent stopped (the queue was revoked or lost) while"
            + " subscription {} to {} replayed it; the replay continues from {} when an agent of"
            + " this node reads the queue again",
        queueId,
        provider.name(),
        sub.id,
        sub.streamId,
        at);
    reportStartFailure(
        sub,
        at,
        new StreamingException(
            "the agent of queue "
                + queueId
                + " of provider '"
                + provider.name()
                + "' stopped (the queue was revoked or lost, usually handed to another node) while"
                + " subscription "
                + sub.id
                + " replayed stream "
                + sub.streamId
                + "; delivery continues from "
                + at
                + " when an agent of this node reads the queue again (subscriptions are local to"
                + " their node)"));
  }

  /** Sets the state and publishes it for health and status. */
  private void setState(State next) {
    state = next;
    view.state =
        switch (next) {
          case NEW, INITIALIZING -> dev.tributary.AgentState.STARTING;
          case RUNNING -> dev.tributary.AgentState.RUNNING;
          case SUSPENDED -> dev.tributary.AgentState.SUSPENDED;
          case STOPPING -> dev.tributary.AgentState.STOPPING;
          case STOPPED -> dev.tributary.AgentState.STOPPED;
        };
  }

  /** Running or suspended: subscriptions attach (the handshake holds) in both. */
  private boolean isActive() {
    return state == State.RUNNING || state == State.SUSPENDED;
  }

  /** True while the agent holds its queue: it attached the queue's subscriptions. Any thread. */
  boolean holdsQueue() {
    return isActive();
  }

  // ---------------------------------------------------------------- operator stop and start

  /**
   * Suspends the agent for an operator: no more reads and no more deliveries; waits (up to {@code
   * drainTimeout}) for the deliveries in flight, acknowledges what was delivered, then has the
   * receiver pause and make that durable ({@link QueueAdapterReceiver#pauseReading()}). The cache,
   * cursors and subscriptions stay, so {@link #startReading()} goes on exactly where this stopped.
   * An agent still initializing starts suspended. Any thread; the stage completes on the pool.
   */
  CompletableFuture<Void> stopReading() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    exec.execute(
        () -> {
          holdRequested = true;
          if (state == State.SUSPENDED && suspending != null) {
            suspending.whenComplete((v, e) -> done.complete(null));
            return;
          }
          if (state != State.RUNNING) {
            // Starting: onInitialized suspends it. Suspended, stopping or stopped: nothing to do.
            provider.pool().execute(() -> done.complete(null));
            return;
          }
          setState(State.SUSPENDED);
          suspending = done;
          done.whenComplete(
              (v, e) ->
                  exec.execute(
                      () -> {
                        if (suspending == done) {
                          suspending = null;
                        }
                      }));
          CompletableFuture<Void> quiet = new CompletableFuture<>();
          holdDrained = quiet;
          checkDrained();
          timers
              .within(quiet, options.drainTimeout(), () -> "suspending queue " + queueId)
              .whenComplete(
                  (v, e) ->
                      exec.execute(
                          () -> {
                            if (holdDrained == quiet) {
                              holdDrained = null;
                            }
                            if (e != null) {
                              log.warn(
                                  "Queue {} of provider {}: {} delivery(ies) still in flight after"
                                      + " drainTimeout {} while stopping the agent; they are"
                                      + " acknowledged when they complete, after the restart",
                                  queueId,
                                  provider.name(),
                                  inFlight,
                                  options.drainTimeout());
                            }
                            if (state != State.SUSPENDED) {
                              provider.pool().execute(() -> done.complete(null));
                              return;
                            }
                            List<BatchContainer> delivered = purge();
                            CompletionStage<Void> ack =
                                delivered.isEmpty() ? Observers.DONE : guardedAck(delivered);
                            publishGauges();
                            ack.handle((x, y) -> null)
                                .thenRun(() -> exec.execute(() -> pauseReceiver(done)));
                          }));
        });
    return done;
  }

  /** Has the receiver pause reading and flush; completes {@code done} (if any) on the pool. */
  private void pauseReceiver(CompletableFuture<Void> done) {
    if (state != State.SUSPENDED || !holdRequested) {
      // Started again (or stopping) meanwhile: the receiver must not be paused now.
      if (done != null) {
        provider.pool().execute(() -> done.complete(null));
      }
      return;
    }
    CompletionStage<Void> paused;
    try {
      paused = receiver.pauseReading();
    } catch (Throwable t) {
      paused = CompletableFuture.failedFuture(t);
    }
    paused.whenComplete(
        (v, e) -> {
          if (e != null) {
            log.warn(
                "Queue {} of provider {}: the receiver failed to pause reading; what was delivered"
                    + " is committed later",
                queueId,
                provider.name(),
                unwrap(e));
          }
          if (done != null) {
            provider.pool().execute(() -> done.complete(null));
          }
        });
  }

  /**
   * Undoes {@link #stopReading()}: the receiver reads again, every subscription delivers from where
   * it stopped, and the agent pumps. Any thread; the stage completes on the pool once it runs.
   */
  CompletableFuture<Void> startReading() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    exec.execute(
        () -> {
          holdRequested = false;
          if (state != State.SUSPENDED) {
            provider.pool().execute(() -> done.complete(null));
            return;
          }
          CompletionStage<Void> resumed;
          try {
            resumed = receiver.resumeReading();
          } catch (Throwable t) {
            resumed = CompletableFuture.failedFuture(t);
          }
          onAgent(
              resumed,
              (v, e) -> {
                if (e != null) {
                  log.warn(
                      "Queue {} of provider {}: the receiver failed to resume reading",
                      queueId,
                      provider.name(),
                      unwrap(e));
                }
                if (state == State.SUSPENDED && !holdRequested) {
                  setState(State.RUNNING);
                  wakeAll();
                  pump();
                }
                provider.pool().execute(() -> done.complete(null));
              });
        });
    return done;
  }

  /** After a suspension: claims the leases given up meanwhile and lets every consumer deliver. */
  private void wakeAll() {
    List<StreamConsumer> all = new java.util.ArrayList<>();
    for (StreamState st : streams.values()) {
      if (!st.leased && !allParked(st)) {
        // Claimed only: every consumer is delivered to after the walk, which then iterates a list
        // rather than the table a delivery may change. A parked stream claims with its next batch.
        st.leased = leases.claim(st.id, this);
      }
      StreamState.Consumers cs = st.consumers();
      for (int k = 0, n = cs.size(); k < n; k++) {
        StreamConsumer c = cs.get(k);
        all.add(c);
      }
    }
    long now = timers.millis();
    for (StreamConsumer c : all) {
      StreamConsumer.Failing f = c.failing;
      if (f != null && f.firstFailureMillis >= 0) {
        // Time spent suspended does not count against maxEventDeliveryTime.
        f.firstFailureMillis = now;
      }
      if (!c.closed && state == State.RUNNING) {
        deliver(c);
      }
    }
  }

  /** The agent's meters, whose volatile gauges status reads. */
  AgentMetrics metrics() {
    return metrics;
  }

  // ---------------------------------------------------------------- pump

  /** Asks for a pump soon; any thread. Coalesces: at most one pump is queued at a time. */
  void requestPump() {
    if (pumpRequested.compareAndSet(false, true)) {
      exec.execute(this::pump);
    }
  }

  private void pump() {
    pumpRequested.set(false);
    if (state != State.RUNNING || reading || readRetryScheduled) {
      return;
    }
    for (int round = 0; round < MAX_READS_PER_PUMP; round++) {
      maybeCleanup();
      List<BatchContainer> delivered = purge();
      if (!delivered.isEmpty()) {
        guardedAck(delivered);
      }
      underPressure = cache.isUnderPressure();
      if (underPressure) {
        publishGauges();
        return;
      }
      CompletionStage<List<BatchContainer>> read;
      try {
        read = receiver.getQueueMessages(cache.maxAddCount());
      } catch (Throwable t) {
        onReadFailure(t);
        return;
      }
      CompletableFuture<List<BatchContainer>> done = completedOrNull(read);
      if (done == null) {
        reading = true;
        read.whenComplete((batches, error) -> exec.execute(() -> onAsyncRead(batches, error)));
        return;
      }
      List<BatchContainer> batches;
      try {
        batches = done.join();
      } catch (Throwable t) {
        onReadFailure(unwrap(t));
        return;
      }
      readAttempts = 0;
      view.readWorked();
      if (batches == null || batches.isEmpty()) {
        publishGauges();
        return;
      }
      onBatches(batches);
    }
    // Data keeps coming: yield the pool thread to other agents and continue afterwards.
    publishGauges();
    requestPump();
  }

  private void onAsyncRead(List<BatchContainer> batches, Throwable error) {
    reading = false;
    checkDrained();
    if (state == State.STOPPING) {
      if (error == null && batches != null && !batches.isEmpty()) {
        // Not added to the cache: never acknowledged, so read again after restart.
        log.debug(
            "Queue {}: {} batch(es) read while stopping are dropped", queueId, batches.size());
      }
      checkDrained();
      return;
    }
    if (error != null) {
      onReadFailure(unwrap(error));
      return;
    }
    readAttempts = 0;
    view.readWorked();
    if (batches != null && !batches.isEmpty()) {
      onBatches(batches);
      requestPump();
    }
    publishGauges();
  }

  private void onReadFailure(Throwable error) {
    metrics.readErrors.increment();
    view.readFailed(error, timers.millis());
    readAttempts++;
    if (readAttempts < options.maxReadAttempts()) {
      Duration delay = options.readBackoff().delay(readAttempts);
      log.warn(
          "Queue {} of provider {}: read failed (attempt {} of {}); retrying in {} ms: {}",
          queueId,
          provider.name(),
          readAttempts,
          options.maxReadAttempts(),
          delay.toMillis(),
          error.toString());
      readRetryScheduled = true;
      later(
          delay,
          () -> {
            readRetryScheduled = false;
            pump();
          });
    } else {
      log.warn(
          "Queue {} of provider {}: read failed {} times; waiting for the next timer tick",
          queueId,
          provider.name(),
          readAttempts,
          error);
      readAttempts = 0;
    }
  }

  /**
   * Adds a read's batches to the cache, then wakes the subscriptions of their streams. A batch of a
   * tracked stream costs one lookup, the agent's: it reaches the cache through the stream's handle.
   * Batches of new streams are added by id and their streams registered afterwards, so that the new
   * subscriptions' cursors open at batches already cached.
   */
  private void onBatches(List<BatchContainer> batches) {
    int n = batches.size();
    if (resolved.length < n) {
      resolved = new StreamState[Math.max(n, 2 * resolved.length)];
    }
    StreamState[] known = resolved;
    int events = 0;
    for (int i = 0; i < n; i++) {
      BatchContainer batch = batches.get(i);
      events += batch.eventCount();
      StreamState stream = streams.get(batch.streamId());
      if (stream != null && stream.handle != null) {
        cache.addToCache(stream.handle, batch);
      } else {
        cache.addToCache(List.of(batch));
      }
      known[i] = stream;
    }
    metrics.eventsRead.increment(events);
    long now = timers.millis();
    for (int i = 0; i < n; i++) {
      StreamState stream = known[i];
      known[i] = null;
      if (stream == null) {
        // New here, unless an earlier batch of this read registered it.
        BatchContainer batch = batches.get(i);
        stream = streams.get(batch.streamId());
        if (stream == null) {
          stream = register(batch.streamId(), batch.sequenceToken());
          if (stream == null) {
            continue;
          }
        }
      }
      if (stream.handle == null) {
        unpark(stream, batches.get(i).sequenceToken());
      }
      stream.lastActivityMillis = now;
      if (!lease(stream)) {
        continue;
      }
      // A snapshot: a delivery may fault (remove) a consumer, and every one of them is woken.
      StreamState.Consumers list = stream.consumers();
      for (int j = 0, m = list.size(); j < m; j++) {
        StreamConsumer c = list.get(j);
        if (c.waiting) {
          deliver(c);
        }
      }
    }
  }

  private List<BatchContainer> purge() {
    try {
      return cache.tryPurgeFromCache();
    } catch (Throwable t) {
      log.error("Queue {}: cache purge failed", queueId, t);
      return List.of();
    }
  }

  private CompletionStage<Void> guardedAck(List<BatchContainer> delivered) {
    view.lastAckMillis = timers.millis();
    CompletionStage<Void> ack;
    try {
      ack = receiver.messagesDelivered(delivered);
    } catch (Throwable t) {
      ack = CompletableFuture.failedFuture(t);
    }
    return ack.whenComplete(
        (v, e) -> {
          if (e != null) {
            log.warn(
                "Queue {} of provider {}: acknowledging {} batch(es) failed; they may be delivered"
                    + " again after a restart",
                queueId,
                provider.name(),
                delivered.size(),
                unwrap(e));
          }
        });
  }

  private void maybeCleanup() {
    long now = timers.millis();
    long inactivity = options.streamInactivityPeriod().toMillis();
    if (now - lastCleanupMillis < Math.max(inactivity / 10, 1)) {
      return;
    }
    lastCleanupMillis = now;
    long parkAfter = Math.max(inactivity / 10, 1);
    Iterator<StreamState> it = streams.values().iterator();
    while (it.hasNext()) {
      StreamState s = it.next();
      long idle = now - s.lastActivityMillis;
      // A stream waiting for its lease keeps batches cached for its consumers: not idle. A parked
      // one gave its lease up.
      if (idle <= parkAfter || s.busy() || (!s.leased && !allParked(s))) {
        continue;
      }
      if (idle <= inactivity) {
        park(s);
        continue;
      }
      StreamState.Consumers cs = s.consumers();
      for (int k = 0, n = cs.size(); k < n; k++) {
        StreamConsumer c = cs.get(k);
        c.close();
        forget(c);
      }
      it.remove();
      leaveStream(s);
      log.debug("Queue {}: stream {} inactive; dropped", queueId, s.id);
    }
  }

  /**
   * Releases the cursors, the cache's handle and the lease of an idle stream whose subscriptions
   * are all implicit and caught up, keeping its state and observers: an idle stream then costs its
   * state and observers only, not a cursor, a cache entry and a lease. Its next batch reopens them
   * ({@link #unpark}) before anything of it can be purged, and claims the lease again.
   */
  private void park(StreamState s) {
    if (s.handle == null || s.isEmpty()) {
      return;
    }
    StreamState.Consumers cs = s.consumers();
    for (int k = 0, n = cs.size(); k < n; k++) {
      StreamConsumer c = cs.get(k);
      if (!c.implicit || !c.waiting || c.parked()) {
        return;
      }
    }
    for (int k = 0, n = cs.size(); k < n; k++) {
      cs.get(k).park();
    }
    cache.release(s.handle);
    s.handle = null;
    // Caught up and idle, as a hand-over needs: another queue's agent may deliver the stream
    // meanwhile, and this one claims the lease again with the stream's next batch.
    s.leased = false;
    leases.release(s.id, this);
  }

  /**
   * True when this agent holds {@code s}'s lease, claiming it if nobody does; false when another
   * agent holds it (this one then waits and is told when it is handed on). A new claim wakes every
   * consumer of the stream that waited for the lease: whichever path claims it (a batch, an attach,
   * a resume, the release notice), the notice that may follow finds the lease held and wakes
   * nobody.
   */
  private boolean lease(StreamState s) {
    if (s.leased) {
      return true;
    }
    if (!(s.leased = leases.claim(s.id, this))) {
      return false;
    }
    StreamState.Consumers cs = s.consumers();
    for (int k = 0, n = cs.size(); k < n; k++) {
      StreamConsumer c = cs.get(k);
      if (c.waiting) {
        deliver(c);
      }
    }
    return true;
  }

  /**
   * True when every consumer of {@code s} is parked: the stream needs no lease until its next batch
   * (an explicit subscription attached to a parked stream is not parked, so it does).
   */
  private static boolean allParked(StreamState s) {
    StreamState.Consumers cs = s.consumers();
    for (int k = 0, n = cs.size(); k < n; k++) {
      if (!cs.get(k).parked()) {
        return false;
      }
    }
    return true;
  }

  /** A parked stream has a batch again: its cursors open at {@code token}, which is cached. */
  private void unpark(StreamState s, StreamSequenceToken token) {
    s.handle = cache.stream(s.id);
    StreamState.Consumers cs = s.consumers();
    for (int k = 0, n = cs.size(); k < n; k++) {
      StreamConsumer c = cs.get(k);
      if (c.parked()) {
        c.unpark(cache.cursor(s.id, token));
      }
    }
  }

  private void publishGauges() {
    metrics.cacheSize = cache.size();
    metrics.underPressure = underPressure ? 1 : 0;
    metrics.activeStreams = streams.size();
    metrics.activeSubscriptions = consumers.size() + implicitConsumers;
    if (underPressure != view.pressureSinceMillis >= 0) {
      view.pressure(underPressure, timers.millis());
    }
  }

  // ---------------------------------------------------------------- streams and subscriptions

  /**
   * Starts tracking a stream seen for the first time (or again after inactivity): implicit
   * subscriptions of its namespace and this runtime's explicit ones get cursors at its first batch,
   * so nothing of it is purged before they see it. Returns null when nobody subscribes.
   */
  private StreamState register(StreamId id, StreamSequenceToken firstToken) {
    List<PersistentStreamProvider.Implicit> implicits = provider.implicitFor(id.namespace());
    Set<LocalSubscription> subs = provider.localSubscriptions(id);
    if (implicits.isEmpty() && subs.isEmpty()) {
      return null;
    }
    StreamState stream = newStream(id, firstToken);
    // The stream's own queue (the mapper's) does the subscribe handshake and uses a start token;
    // another queue that carries events of the stream too delivers them from its first batch.
    boolean home = !subs.isEmpty() && provider.isHomeQueue(id, queueId);
    for (LocalSubscription sub : subs) {
      if (sub.addressed && !provider.isHomeQueue(id, queueId)) {
        // Delivered by its home queue's agent only (one delivery at a time, one handshake).
        continue;
      }
      if (consumers.containsKey(sub.id)) {
        continue;
      }
      provider.resolveIfNeeded(sub);
      if (home && !sub.faulted && sub.observer == null && sub.unresolvable != null) {
        faultUnresolvable(sub);
        continue;
      }
      if (sub.faulted || sub.observer == null) {
        continue;
      }
      StreamSequenceToken start = firstToken;
      if (home && sub.startToken != null) {
        start = sub.startToken;
        sub.startToken = null;
      }
      StreamConsumer c = StreamConsumer.explicit(sub, openCursor(sub, start), start);
      add(stream, c);
      if (home) {
        completeAttach(sub);
      }
    }
    return stream;
  }

  /**
   * Starts tracking {@code id} with its implicit subscriptions, whose cursors open at {@code
   * implicitStart} (null: at the next batch of the stream).
   */
  private StreamState newStream(StreamId id, StreamSequenceToken implicitStart) {
    StreamState stream = new StreamState(id, cache.stream(id));
    stream.leased = leases.claim(id, this);
    for (PersistentStreamProvider.Implicit implicit : provider.implicitFor(id.namespace())) {
      StreamConsumer c = StreamConsumer.implicit(id, implicit, cache.cursor(id, implicitStart));
      add(stream, c);
    }
    streams.put(id, stream);
    publishGauges();
    return stream;
  }

  private void add(StreamState stream, StreamConsumer c) {
    stream.add(c);
    if (c.implicit) {
      implicitConsumers++;
    } else {
      consumers.put(c.id(), c);
    }
  }

  /** Drops {@code c} from the subscription bookkeeping; its stream's list is the caller's. */
  private void forget(StreamConsumer c) {
    if (c.implicit) {
      implicitConsumers--;
    } else {
      consumers.remove(c.id());
    }
  }

  /** Attaches an explicit subscription: the subscribe handshake. Any thread. */
  void attach(LocalSubscription sub) {
    exec.execute(() -> attachNow(sub));
  }

  /**
   * Attaches an explicit subscription of a stream whose own queue is another one, if this agent
   * tracks the stream (its queue carries events of the stream too): from now on, without a
   * handshake of its own. Any thread; the stage completes on the agent once done.
   */
  CompletableFuture<Void> attachIfTracking(LocalSubscription sub) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    exec.execute(
        () -> {
          StreamState stream = streams.get(sub.streamId);
          if (isActive()
              && stream != null
              && !sub.addressed
              && !sub.faulted
              && sub.observer != null
              && !consumers.containsKey(sub.id)) {
            StreamConsumer c = StreamConsumer.explicit(sub, cache.cursor(sub.streamId, null), null);
            add(stream, c);
            publishGauges();
          }
          provider.pool().execute(() -> done.complete(null));
        });
    return done;
  }

  private void attachNow(LocalSubscription sub) {
    if (!isActive() || sub.faulted) {
      return;
    }
    if (consumers.containsKey(sub.id)) {
      completeAttach(sub);
      return;
    }
    provider.resolveIfNeeded(sub);
    if (sub.observer == null && sub.unresolvable != null) {
      faultUnresolvable(sub);
      return;
    }
    if (sub.observer == null) {
      return;
    }
    StreamSequenceToken token = sub.startToken;
    sub.startToken = null;
    QueueCacheCursor cursor = openCursor(sub, token);
    StreamState stream = streams.get(sub.streamId);
    if (stream == null) {
      stream = newStream(sub.streamId, null);
    }
    stream.lastActivityMillis = timers.millis();
    StreamConsumer c = StreamConsumer.explicit(sub, cursor, token);
    add(stream, c);
    publishGauges();
    completeAttach(sub);
    if (lease(stream)) { // a parked stream gave its lease up; a hand-over may have ended
      deliver(c);
    }
  }

  /**
   * Opens the cursor of an explicit subscription at {@code token}. A token older than the cache
   * covers replays the stream from the queue when the adapter can read its past, and continues from
   * the cache once the replay caught up ({@link ReplayingCursor}). Otherwise a token whose batches
   * were evicted is reported to the observer and the failure handler, and the cursor opens at the
   * oldest batch of the stream the cache still holds: the consumer learns what it missed and loses
   * nothing more.
   */
  private QueueCacheCursor openCursor(LocalSubscription sub, StreamSequenceToken token) {
    StreamId id = sub.streamId;
    if (token != null && !cacheCovers(token)) {
      QueueReplay replay = provider.openReplay(queueId, id, token);
      if (replay != null) {
        metrics.replays.increment();
        metrics.replaysActive++;
        log.debug(
            "Queue {}: subscription {} to {} starts at {}, before what the cache covers; replaying"
                + " from the queue",
            queueId,
            sub.id,
            id,
            token);
        return new ReplayingCursor(replayHost, id, replay, cache.maxAddCount());
      }
    }
    try {
      return cache.cursor(id, token);
    } catch (QueueCacheMissException miss) {
      metrics.cacheMisses.increment();
      log.info("Queue {}: {}", queueId, miss.getMessage());
      reportStartFailure(sub, token, miss);
      return cache.cursorAtOldest(id);
    }
  }

  /**
   * True when a cache cursor opened at {@code token} now sees every later batch of the stream: the
   * receiver reads the queue contiguously from at or before it and the cache evicted nothing at or
   * after it.
   */
  private boolean cacheCovers(StreamSequenceToken token) {
    try {
      StreamSequenceToken start = receiver.readStart();
      return start != null && token.compareTo(start) >= 0 && cache.covers(token);
    } catch (Throwable t) {
      log.warn("Queue {}: asking the receiver or cache where they start failed", queueId, t);
      return false;
    }
  }

  /** Tells a subscription's observer and the failure handler that its start went wrong. */
  private void reportStartFailure(
      LocalSubscription sub, StreamSequenceToken token, Throwable failure) {
    Object observer = sub.observer;
    Throwable t = observer == null ? null : Observers.onError(observer, failure);
    if (t != null) {
      log.warn("Queue {}: onError of a subscription to {} threw", queueId, sub.streamId, t);
    }
    try {
      failureHandler.onSubscriptionFailure(
          new DeliveryFailure(
              provider.name(), queueId, sub.id, sub.streamId, token, null, false, failure));
    } catch (Throwable e) {
      log.warn("Queue {}: failure handler threw for subscription {}", queueId, sub.id, e);
    }
  }

  /** The agent's side of its replaying cursors; every call on the agent's thread. */
  private final class ReplayHost implements ReplayingCursor.Host {
    @Override
    public boolean cacheCovers(StreamSequenceToken token) {
      return PullingAgent.this.cacheCovers(token);
    }

    @Override
    public boolean cacheUnderPressure() {
      return underPressure;
    }

    @Override
    public QueueCacheCursor openCacheCursor(StreamId streamId, StreamSequenceToken token) {
      log.debug(
          "Queue {}: replay of {} caught up at {}; continuing from the cache",
          queueId,
          streamId,
          token);
      return cache.cursor(streamId, token);
    }

    @Override
    public <T> void onAgent(
        CompletionStage<T> stage, java.util.function.BiConsumer<T, Throwable> then) {
      PullingAgent.this.onAgent(stage, then);
    }

    @Override
    public void wake(ReplayingCursor cursor) {
      StreamConsumer c = cursor.consumer;
      if (c != null && c.waiting && !c.closed) {
        deliver(c);
      }
    }

    @Override
    public void wakeLater(ReplayingCursor cursor, boolean afterFailure) {
      Duration delay =
          afterFailure
              ? options.readBackoff().delay(Math.max(1, cursor.failures()))
              : options.getQueueMessagesTimerPeriod();
      later(delay, () -> wake(cursor));
    }

    @Override
    public void expired(ReplayingCursor cursor, EventsExpiredException gap) {
      metrics.eventsExpired.increment();
      log.warn("Queue {}: {}", queueId, gap.getMessage());
      StreamConsumer c = cursor.consumer;
      if (c != null) {
        c.skippedTo(gap.earliest());
      }
      if (c != null && c.subscription != null) {
        reportStartFailure(c.subscription, gap.requested(), gap);
      }
    }

    @Override
    public void readFailed(ReplayingCursor cursor, Throwable error) {
      metrics.readErrors.increment();
      log.warn(
          "Queue {} of provider {}: replay read for {} failed (attempt {}); retrying: {}",
          queueId,
          provider.name(),
          cursor,
          cursor.failures(),
          error.toString());
    }

    @Override
    public int maxReadAttempts() {
      return options.maxReadAttempts();
    }

    @Override
    public QueueCacheCursor giveUp(ReplayingCursor cursor, Throwable error) {
      metrics.readErrors.increment();
      StreamSequenceToken at = cursor.positionWhenGivenUp();
      StreamId id = cursor.streamId();
      QueueCacheCursor live;
      String from;
      try {
        live = cache.cursor(id, at);
        from = "from " + at;
      } catch (QueueCacheMissException miss) {
        live = cache.cursor(id, null);
        from = "from the next event read (events from " + at + " on are not delivered)";
      }
      log.warn(
          "Queue {} of provider {}: replay of {} failed {} times in a row; it continues {}",
          queueId,
          provider.name(),
          id,
          cursor.failures(),
          from,
          error);
      StreamConsumer c = cursor.consumer;
      if (c != null && c.subscription != null) {
        reportStartFailure(
            c.subscription,
            at,
            new StreamingException(
                "the replay of "
                    + id
                    + " from queue "
                    + queueId
                    + " failed "
                    + cursor.failures()
                    + " times in a row ("
                    + error
                    + "); delivery continues "
                    + from,
                error));
      }
      return live;
    }

    @Override
    public void replayEnded(ReplayingCursor cursor, boolean caughtUp) {
      metrics.replaysActive--;
    }
  }

  /** The home agent holds a cursor for {@code sub}: the provider completes the handshake. */
  private void completeAttach(LocalSubscription sub) {
    provider.attached(sub, queueId);
  }

  /**
   * A cluster-wide subscription whose address the resolver rejected: it can never be delivered to,
   * so it is faulted (only the queue's owner does this), and the failure handler is told.
   */
  private void faultUnresolvable(LocalSubscription sub) {
    RuntimeException why = sub.unresolvable;
    log.warn(
        "Queue {} of provider {}: the subscriber {} of subscription {} to {} cannot be resolved;"
            + " the subscription is faulted",
        queueId,
        provider.name(),
        sub.subscriber(),
        sub.id,
        sub.streamId,
        why);
    metrics.faultedSubscriptions.increment();
    try {
      failureHandler.onSubscriptionFailure(
          new DeliveryFailure(
              provider.name(), queueId, sub.id, sub.streamId, null, null, false, why));
    } catch (Throwable e) {
      log.warn("Queue {}: failure handler threw for subscription {}", queueId, sub.id, e);
    }
    provider.markFaulted(sub);
  }

  /**
   * Points an attached subscription at {@code observer} and, with a token, at a new position, in
   * one step on the agent: no call reaches the new observer at the old position. Without a token
   * the subscription goes on where it is (an event in flight to the old observer completes there);
   * with one, delivery restarts at the token and a stage still open at the old position is ignored.
   * The stage completes on the agent once the switch is made.
   */
  CompletableFuture<Void> resume(
      LocalSubscription sub, Object observer, StreamSequenceToken token) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    exec.execute(
        () -> {
          resumeNow(sub, observer, token);
          provider.pool().execute(() -> done.complete(null));
        });
    return done;
  }

  private void resumeNow(LocalSubscription sub, Object observer, StreamSequenceToken token) {
    sub.observer = observer;
    StreamConsumer c = consumers.get(sub.id);
    if (c == null) {
      if (token != null) {
        sub.startToken = token;
      }
      attachNow(sub);
      return;
    }
    if (!isActive()) {
      return;
    }
    // A new observer starts with a fresh delivery policy.
    c.restartPolicy();
    // The switch is made: confirmed before the new observer's first call, which may fault the
    // subscription.
    if (token != null) {
      // An open stage stays open (it is ignored): its observer is not called again before it
      // completes.
      c.close();
      c.reopen(openCursor(sub, token), token);
      completeAttach(sub);
      if (lease(c.stream)) { // handed on meanwhile: this agent may not be a waiter
        deliver(c);
      }
    } else {
      completeAttach(sub);
      if (c.waiting) {
        deliver(c);
      }
    }
  }

  /**
   * Switches a cluster-wide subscription to the target the store told of last (a resume at a new
   * address): resolves it here, on the agent, and installs the observer in one step with the
   * switch; an address that does not resolve faults the subscription. Any thread.
   */
  void switchTarget(LocalSubscription sub) {
    exec.execute(
        () -> {
          LocalSubscription.Target t = sub.target;
          if (!isActive() || sub.faulted || t == null || t.equals(sub.installed)) {
            return;
          }
          Object observer = provider.observerFor(sub, t);
          if (observer == null) {
            StreamConsumer c = consumers.get(sub.id);
            if (c != null) {
              dropConsumer(c);
            }
            sub.observer = null;
            sub.installed = t;
            faultUnresolvable(sub);
            return;
          }
          sub.installed = t;
          resumeNow(sub, observer, null);
        });
  }

  /** Removes a subscription; the stage completes once nothing more will be delivered to it. */
  CompletableFuture<Void> detach(UUID subscriptionId) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    exec.execute(
        () -> {
          StreamConsumer c = consumers.get(subscriptionId);
          if (c != null) {
            dropConsumer(c);
          }
          provider.pool().execute(() -> done.complete(null));
        });
    return done;
  }

  /** Ends an explicit subscription's delivery here: nothing more reaches its observer. */
  private void dropConsumer(StreamConsumer c) {
    consumers.remove(c.id());
    c.close();
    StreamState s = streams.get(c.streamId);
    if (s != null) {
      s.remove(c);
      if (s.isEmpty()) {
        streams.remove(c.streamId);
        leaveStream(s);
      } else if (leases.anyContended()) {
        handOverIfIdle(s);
      }
    }
    publishGauges();
  }

  // ---------------------------------------------------------------- delivery

  /** Delivers to {@code c} until it waits for data or for an asynchronous acknowledgement. */
  private void deliver(StreamConsumer c) {
    exec.checkConfined();
    if (c.inFlight || c.closed || state != State.RUNNING) {
      return;
    }
    if (!c.stream.leased) {
      // Another agent delivers this stream now; it hands the lease on once it is idle.
      c.waiting = true;
      return;
    }
    c.waiting = false;
    for (int i = 0; i < MAX_SYNC_DELIVERIES; i++) {
      if (!c.prepare(containersPerCall(c), provider::filter)) {
        becomeWaiting(c);
        return;
      }
      Object observer = c.observer();
      CompletionStage<Void> stage;
      boolean batch;
      if (observer == null) {
        batch = false;
        try {
          observer = c.activate();
          batch = Observers.isBatch(observer);
          stage = invoke(c, observer, batch);
        } catch (Throwable t) {
          stage = CompletableFuture.failedFuture(t);
        }
      } else if (c.hasOpenStage(observer)) {
        // This observer still has an open stage from before a resume: one call at a time.
        return;
      } else {
        batch = Observers.isBatch(observer);
        stage = invoke(c, observer, batch);
      }
      int size = c.callSize(batch);
      CompletableFuture<Void> done = completedOrNull(stage);
      if (done == null) {
        awaitStage(c, stage, observer, batch, size);
        return;
      }
      Throwable error = done.isCompletedExceptionally() ? failureOf(done) : null;
      if (!onOutcome(c, error, batch, size)) {
        return;
      }
    }
    // A long synchronous run: let other consumers and the pump have the thread. The cursor holds
    // the next batch across the yield, so no purge can acknowledge it.
    exec.execute(() -> deliver(c));
  }

  private int containersPerCall(StreamConsumer c) {
    Object observer = c.observer();
    return observer != null && Observers.isBatch(observer) ? options.batchContainerBatchSize() : 1;
  }

  /** Waits for an asynchronous stage, then continues on the agent's thread. */
  private void awaitStage(
      StreamConsumer c, CompletionStage<Void> stage, Object observer, boolean batch, int size) {
    c.inFlight = true;
    inFlight++;
    int generation = c.generation;
    c.stageOpened(observer);
    onAgent(
        stage,
        (v, error) -> {
          inFlight--;
          c.stageClosed(observer);
          if (c.generation == generation && !c.closed) {
            c.inFlight = false;
            if (onOutcome(c, error == null ? null : unwrap(error), batch, size)) {
              deliver(c);
            }
          } else if (!c.closed && !c.inFlight) {
            // A stale stage completed: its observer may have been waiting for it.
            deliver(c);
          }
          checkDrained();
          if (underPressure) {
            requestPump();
          }
        });
  }

  /** Runs {@code task} on the agent's thread after {@code delay}; the timer never runs it. */
  private RuntimeTime.Cancellable later(Duration delay, Runnable task) {
    return timers.schedule(delay, () -> exec.execute(task));
  }

  /** Runs {@code then} on the agent's thread once {@code stage} completed. */
  private <T> void onAgent(
      CompletionStage<T> stage, java.util.function.BiConsumer<T, Throwable> then) {
    stage.whenComplete((v, e) -> exec.execute(() -> then.accept(v, e)));
  }

  /** The consumer caught up; if it was what kept the cache full, read again now. */
  private void becomeWaiting(StreamConsumer c) {
    c.waiting = true;
    if (underPressure) {
      requestPump();
    }
    if (leases.anyContended()) {
      handOverIfIdle(c.stream);
    }
  }

  /** Gives the lease of {@code s} to a waiting agent once everything cached here is passed. */
  private void handOverIfIdle(StreamState s) {
    if (s.leased && leases.hasWaiters(s.id) && !s.busy() && !anyHasMore(s)) {
      s.leased = false;
      leases.release(s.id, this);
    }
  }

  /**
   * True when a consumer of {@code s} has events at its cursor that it has not taken yet (another
   * consumer's delivery ended first, or it yielded the thread): the stream is not done here, so the
   * lease stays. Takes them (prepares them), and wakes a consumer that was waiting, because nothing
   * else would.
   */
  private boolean anyHasMore(StreamState s) {
    boolean more = false;
    StreamState.Consumers cs = s.consumers();
    for (int k = 0, n = cs.size(); k < n; k++) {
      StreamConsumer c = cs.get(k);
      if (!c.closed && !c.parked() && c.prepare(containersPerCall(c), provider::filter)) {
        more = true;
        if (c.waiting) {
          exec.execute(() -> deliver(c));
        }
      }
    }
    return more;
  }

  /** Another agent waits for the lease of {@code id}; hand it on if idle. Any thread. */
  void onStreamContended(StreamId id) {
    exec.execute(
        () -> {
          StreamState s = streams.get(id);
          if (s != null) {
            handOverIfIdle(s);
          }
        });
  }

  /** The stream is no longer tracked here: give up its lease, or stop waiting for it. */
  private void leaveStream(StreamState s) {
    if (s.handle != null) {
      try {
        cache.release(s.handle);
      } catch (Throwable t) {
        log.error("Queue {}: releasing the cache's handle of {} failed", queueId, s.id, t);
      }
      s.handle = null;
    }
    if (s.leased) {
      s.leased = false;
      leases.release(s.id, this);
    } else {
      leases.stopWaiting(s.id, this);
    }
  }

  /** Another agent handed the lease of {@code id} on; claim it and deliver. Any thread. */
  void onStreamReleased(StreamId id) {
    exec.execute(
        () -> {
          StreamState s = streams.get(id);
          if (s == null || s.leased || state != State.RUNNING) {
            if (s == null) {
              leases.stopWaiting(id, this);
            }
            return;
          }
          if (!allParked(s)) { // a parked stream claims with its next batch
            lease(s);
          }
        });
  }

  private CompletionStage<Void> invoke(StreamConsumer c, Object observer, boolean batch) {
    if (tracing == null) {
      return call(c, observer, batch);
    }
    Observation observation =
        tracing.startDeliver(
            provider.name(), c.streamId, queueName, c.id(), c.nextBatch().headers());
    return Tracing.stopWhenDone(
        observation, Tracing.inScope(observation, () -> call(c, observer, batch)));
  }

  private CompletionStage<Void> call(StreamConsumer c, Object observer, boolean batch) {
    if (batch) {
      return Observers.onNextBatch(
          observer, c.remaining(Observers.wantsMetadata(observer) ? queueName : null));
    }
    return Observers.wantsMetadata(observer)
        ? Observers.onNext(observer, c.nextItem(), c.nextMetadata(queueName))
        : Observers.onNext(observer, c.nextItem(), c.nextToken());
  }

  /**
   * Handles the outcome of a call carrying {@code size} events. Returns true when the consumer may
   * go on at once; false when a retry was scheduled or the subscription ended.
   */
  private boolean onOutcome(StreamConsumer c, Throwable error, boolean batch, int size) {
    if (error == null) {
      if (metrics.perDelivery) {
        metrics.eventsDelivered.increment(size);
        long ts = c.lastBatchOfCall(batch).timestampMillis();
        if (ts > 0) {
          metrics.deliveryLatency.record(Math.max(0, timers.millis() - ts), TimeUnit.MILLISECONDS);
        }
      }
      c.advance(size);
      return true;
    }
    long now = timers.millis();
    StreamConsumer.Failing f = c.failing();
    f.attempts++;
    if (f.firstFailureMillis < 0) {
      f.firstFailureMillis = now;
    }
    Duration delay = options.deliveryBackoff().delay(f.attempts);
    long deadline = f.firstFailureMillis + options.maxEventDeliveryTime().toMillis();
    // While the subscriber is being switched to a new address, the old one's failures are not the
    // new one's to pay: retry until the switch, which starts a fresh policy.
    boolean switching = c.subscription != null && c.subscription.switchPending();
    if (now + delay.toMillis() <= deadline || switching) {
      metrics.deliveryRetries.increment();
      log.debug(
          "Queue {}: delivery of {} to subscription {} failed (attempt {}); retry in {} ms",
          queueId,
          c.lastTokenOfCall(batch),
          c.id(),
          f.attempts,
          delay.toMillis(),
          error);
      c.inFlight = true;
      int generation = c.generation;
      f.retry =
          later(
              delay,
              () -> {
                if (c.generation == generation && !c.closed) {
                  c.inFlight = false;
                  f.retry = null;
                  deliver(c);
                }
              });
      return false;
    }
    giveUp(c, error, batch, size);
    return !c.closed;
  }

  /**
   * Gives up on every event of the failed call: each reaches {@code onError} and the failure
   * handler, then the subscription skips them or is faulted.
   */
  private void giveUp(StreamConsumer c, Throwable error, boolean batch, int size) {
    Object observer = c.observer();
    StreamEventDeliveryFailureException last = null;
    for (int i = c.callStart(), end = i + size; i < end; i++) {
      metrics.deliveryFailures.increment();
      StreamSequenceToken token = c.tokenAt(i);
      StreamEventDeliveryFailureException failure =
          new StreamEventDeliveryFailureException(c.id(), c.streamId, token, c.attempts(), error);
      last = failure;
      log.warn(
          "Queue {} of provider {}: giving up on event {} of {} for subscription {} after {}"
              + " attempt(s)",
          queueId,
          provider.name(),
          token,
          c.streamId,
          c.id(),
          c.attempts(),
          error);
      if (observer != null) {
        Throwable t = Observers.onError(observer, failure);
        if (t != null) {
          log.warn("Queue {}: onError of subscription {} threw", queueId, c.id(), t);
        }
      }
      DeliveryFailure report =
          new DeliveryFailure(
              provider.name(), queueId, c.id(), c.streamId, token, c.batchAt(i), c.implicit, error);
      try {
        failureHandler
            .onDeliveryFailure(report)
            .whenComplete(
                (v, e) -> {
                  if (e != null) {
                    log.warn("Queue {}: failure handler failed for {}", queueId, token, unwrap(e));
                  }
                });
      } catch (Throwable t) {
        log.warn("Queue {}: failure handler threw for {}", queueId, token, t);
      }
    }
    boolean fault;
    try {
      // A subscriber that can never receive again is faulted whatever the handler says.
      fault =
          !c.implicit
              && (unwrap(error) instanceof dev.tributary.SubscriberGoneException
                  || failureHandler.shouldFaultSubscriptionOnError());
    } catch (Throwable t) {
      fault = false;
    }
    if (fault) {
      fault(c, last);
    } else {
      c.advance(size);
    }
  }

  private void fault(StreamConsumer c, Throwable cause) {
    metrics.faultedSubscriptions.increment();
    FaultedSubscriptionException faulted =
        new FaultedSubscriptionException(c.id(), c.streamId, cause);
    Object observer = c.observer();
    forget(c);
    StreamState s = streams.get(c.streamId);
    if (s != null) {
      s.remove(c);
    }
    c.close();
    if (s != null && leases.anyContended()) {
      handOverIfIdle(s);
    }
    if (c.subscription != null) {
      provider.markFaulted(c.subscription);
    }
    if (observer != null) {
      Throwable t = Observers.onError(observer, faulted);
      if (t != null) {
        log.warn("Queue {}: onError of subscription {} threw", queueId, c.id(), t);
      }
    }
    publishGauges();
  }

  // ---------------------------------------------------------------- helpers

  private static <T> CompletableFuture<T> completedOrNull(CompletionStage<T> stage) {
    if (stage instanceof CompletableFuture<T> f) {
      return f.isDone() ? f : null;
    }
    return null;
  }

  private static Throwable failureOf(CompletableFuture<?> f) {
    try {
      f.join();
      return null;
    } catch (Throwable t) {
      return unwrap(t);
    }
  }

  static Throwable unwrap(Throwable t) {
    while ((t instanceof java.util.concurrent.CompletionException
            || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** For tests: a snapshot taken on the agent's thread. */
  CompletableFuture<Snapshot> snapshot() {
    CompletableFuture<Snapshot> f = new CompletableFuture<>();
    exec.execute(
        () ->
            f.complete(
                new Snapshot(
                    streams.size(),
                    consumers.size() + implicitConsumers,
                    cache.size(),
                    cache.cursorCount(),
                    state.name(),
                    cache.trackedStreams())));
    return f;
  }

  /**
   * What {@link #snapshot()} reports; {@code cacheStreams} is what the cache keeps state for
   * ({@link QueueCache#trackedStreams()}).
   */
  record Snapshot(
      int streams, int subscriptions, int cacheSize, int cursors, String state, int cacheStreams) {}
}
