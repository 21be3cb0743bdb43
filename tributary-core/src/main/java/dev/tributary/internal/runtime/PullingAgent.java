package dev.tributary.internal.runtime;

import dev.tributary.FaultedSubscriptionException;
import dev.tributary.QueueCacheMissException;
import dev.tributary.SequentialItem;
import dev.tributary.StreamEventDeliveryFailureException;
import dev.tributary.StreamId;
import dev.tributary.StreamProviderOptions;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.DeliveryFailure;
import dev.tributary.spi.QueueAdapterReceiver;
import dev.tributary.spi.QueueCache;
import dev.tributary.spi.QueueCacheCursor;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamFailureHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ScheduledFuture;
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
    STOPPING,
    STOPPED
  }

  private final PersistentStreamProvider provider;
  private final QueueId queueId;
  private final QueueAdapterReceiver receiver;
  private final QueueCache cache;
  private final StreamFailureHandler failureHandler;
  private final StreamProviderOptions options;
  private final SerialExecutor exec;
  private final AgentMetrics metrics;
  private final AtomicBoolean pumpRequested = new AtomicBoolean();
  private final CompletableFuture<Void> stopped = new CompletableFuture<>();

  private final Map<StreamId, StreamState> streams = new HashMap<>();

  /**
   * Explicit subscriptions by id (attach, detach). Implicit ones are found through their stream, so
   * they need no id until something reports on them; {@link #implicitConsumers} counts them.
   */
  private final Map<UUID, Consumer> consumers = new HashMap<>();

  private int implicitConsumers;
  private State state = State.NEW;
  private ScheduledFuture<?> timer;
  private boolean reading;
  private boolean readRetryScheduled;
  private int readAttempts;
  private long lastCleanupMillis;
  private int inFlight;
  private boolean underPressure;
  private CompletableFuture<Void> drained;

  PullingAgent(
      PersistentStreamProvider provider,
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
    this.exec = new SerialExecutor(provider.pool(), "agent " + provider.name() + "/" + queueId);
    this.metrics = new AgentMetrics(provider.meterRegistry(), provider.name(), queueId.toString());
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
          state = State.INITIALIZING;
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
    init.toCompletableFuture()
        .orTimeout(options.initQueueTimeout().toMillis(), TimeUnit.MILLISECONDS)
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
                        provider.schedule(() -> exec.execute(() -> initialize(attempt + 1)), delay);
                      }
                    }));
  }

  private void onInitialized() {
    if (state != State.INITIALIZING) {
      return;
    }
    state = State.RUNNING;
    lastCleanupMillis = provider.clock().millis();
    for (LocalSubscription sub : provider.localSubscriptions(queueId)) {
      attachNow(sub);
    }
    long period = options.getQueueMessagesTimerPeriod().toMillis();
    long jitter = ThreadLocalRandom.current().nextLong(Math.max(period, 1));
    timer = provider.scheduleWithFixedDelay(this::requestPump, jitter, period);
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
          boolean wasRunning = state == State.RUNNING;
          state = State.STOPPING;
          if (timer != null) {
            timer.cancel(false);
          }
          if (!wasRunning) {
            finishStop();
            return;
          }
          drained = new CompletableFuture<>();
          checkDrained();
          drained
              .orTimeout(options.drainTimeout().toMillis(), TimeUnit.MILLISECONDS)
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
    if (drained != null && inFlight == 0 && !reading) {
      drained.complete(null);
    }
  }

  private void finishStop() {
    List<BatchContainer> delivered = purge();
    CompletionStage<Void> ack = delivered.isEmpty() ? ObserverRef.DONE : guardedAck(delivered);
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
                      for (StreamState st : streams.values()) {
                        for (Consumer c : st.consumers) {
                          c.close();
                        }
                      }
                      consumers.clear();
                      implicitConsumers = 0;
                      streams.clear();
                      state = State.STOPPED;
                      publishGauges();
                      metrics.close();
                      stopped.complete(null);
                    }));
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
    if (batches != null && !batches.isEmpty()) {
      onBatches(batches);
      requestPump();
    }
    publishGauges();
  }

  private void onReadFailure(Throwable error) {
    metrics.readErrors.increment();
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
      provider.schedule(
          () ->
              exec.execute(
                  () -> {
                    readRetryScheduled = false;
                    pump();
                  }),
          delay);
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

  private void onBatches(List<BatchContainer> batches) {
    int events = 0;
    for (int i = 0, n = batches.size(); i < n; i++) {
      events += batches.get(i).eventCount();
    }
    metrics.eventsRead.increment(events);
    cache.addToCache(batches);
    long now = provider.clock().millis();
    for (int i = 0, n = batches.size(); i < n; i++) {
      BatchContainer batch = batches.get(i);
      StreamState stream = streams.get(batch.streamId());
      if (stream == null) {
        stream = register(batch.streamId(), batch.sequenceToken());
        if (stream == null) {
          continue;
        }
      }
      stream.lastActivityMillis = now;
      Consumer[] list = stream.consumers;
      for (int j = 0; j < list.length; j++) {
        Consumer c = list[j];
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
    long now = provider.clock().millis();
    long inactivity = options.streamInactivityPeriod().toMillis();
    if (now - lastCleanupMillis < Math.max(inactivity / 10, 1)) {
      return;
    }
    lastCleanupMillis = now;
    Iterator<StreamState> it = streams.values().iterator();
    while (it.hasNext()) {
      StreamState s = it.next();
      if (now - s.lastActivityMillis <= inactivity || s.busy()) {
        continue;
      }
      for (Consumer c : s.consumers) {
        c.close();
        forget(c);
      }
      it.remove();
      log.debug("Queue {}: stream {} inactive; dropped", queueId, s.id);
    }
  }

  private void publishGauges() {
    metrics.cacheSize = cache.size();
    metrics.underPressure = underPressure ? 1 : 0;
    metrics.activeStreams = streams.size();
    metrics.activeSubscriptions = consumers.size() + implicitConsumers;
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
    for (LocalSubscription sub : subs) {
      if (sub.faulted || sub.observer == null || consumers.containsKey(sub.id)) {
        continue;
      }
      StreamSequenceToken start = sub.startToken != null ? sub.startToken : firstToken;
      sub.startToken = null;
      Consumer c = new Consumer(sub.id, id, false, sub, openCursor(sub, start), start);
      add(stream, c);
      completeAttach(sub);
    }
    return stream;
  }

  /**
   * Starts tracking {@code id} with its implicit subscriptions, whose cursors open at {@code
   * implicitStart} (null: at the next batch of the stream).
   */
  private StreamState newStream(StreamId id, StreamSequenceToken implicitStart) {
    StreamState stream = new StreamState(id);
    for (PersistentStreamProvider.Implicit implicit : provider.implicitFor(id.namespace())) {
      Consumer c = new Consumer(null, id, true, null, cache.cursor(id, implicitStart), null);
      c.implicitFactory = implicit;
      add(stream, c);
    }
    streams.put(id, stream);
    publishGauges();
    return stream;
  }

  private void add(StreamState stream, Consumer c) {
    stream.add(c);
    if (c.implicit) {
      implicitConsumers++;
    } else {
      consumers.put(c.id(), c);
    }
  }

  /** Drops {@code c} from the subscription bookkeeping; its stream's list is the caller's. */
  private void forget(Consumer c) {
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

  private void attachNow(LocalSubscription sub) {
    if (state != State.RUNNING || sub.faulted || sub.observer == null) {
      return;
    }
    if (consumers.containsKey(sub.id)) {
      completeAttach(sub);
      return;
    }
    StreamSequenceToken token = sub.startToken;
    sub.startToken = null;
    QueueCacheCursor cursor = openCursor(sub, token);
    StreamState stream = streams.get(sub.streamId);
    if (stream == null) {
      stream = newStream(sub.streamId, null);
    }
    stream.lastActivityMillis = provider.clock().millis();
    Consumer c = new Consumer(sub.id, sub.streamId, false, sub, cursor, token);
    add(stream, c);
    publishGauges();
    completeAttach(sub);
    deliver(c);
  }

  /**
   * Opens the cursor of an explicit subscription at {@code token}. A token whose batches were
   * evicted is reported to the observer and the failure handler, and the cursor opens at the oldest
   * batch of the stream the cache still holds: the consumer learns what it missed and loses nothing
   * more.
   */
  private QueueCacheCursor openCursor(LocalSubscription sub, StreamSequenceToken token) {
    StreamId id = sub.streamId;
    try {
      return cache.cursor(id, token);
    } catch (QueueCacheMissException miss) {
      metrics.cacheMisses.increment();
      log.info("Queue {}: {}", queueId, miss.getMessage());
      ObserverRef observer = sub.observer;
      Throwable t = observer == null ? null : observer.onError(miss);
      if (t != null) {
        log.warn("Queue {}: onError of a subscription to {} threw", queueId, id, t);
      }
      try {
        failureHandler.onSubscriptionFailure(
            new DeliveryFailure(provider.name(), queueId, sub.id, id, token, null, false, miss));
      } catch (Throwable e) {
        log.warn("Queue {}: failure handler threw for subscription {}", queueId, sub.id, e);
      }
      return cache.cursorAtOldest(id);
    }
  }

  private void completeAttach(LocalSubscription sub) {
    if (!sub.attached.isDone()) {
      provider.pool().execute(() -> sub.attached.complete(null));
    }
  }

  /**
   * Points an attached subscription at a new observer and, with a token, a new position. The stage
   * completes on the agent once the switch is made.
   */
  CompletableFuture<Void> resume(LocalSubscription sub, StreamSequenceToken token) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    exec.execute(
        () -> {
          Consumer c = consumers.get(sub.id);
          if (c == null) {
            if (token != null) {
              sub.startToken = token;
            }
            attachNow(sub);
          } else if (token != null) {
            c.close();
            c.reopen(openCursor(sub, token), token);
            deliver(c);
          } else if (c.waiting) {
            deliver(c);
          }
          provider.pool().execute(() -> done.complete(null));
        });
    return done;
  }

  /** Removes a subscription; the stage completes once nothing more will be delivered to it. */
  CompletableFuture<Void> detach(UUID subscriptionId) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    exec.execute(
        () -> {
          Consumer c = consumers.remove(subscriptionId);
          if (c != null) {
            c.close();
            StreamState s = streams.get(c.streamId);
            if (s != null) {
              s.remove(c);
              if (s.consumers.length == 0) {
                streams.remove(c.streamId);
              }
            }
            publishGauges();
          }
          provider.pool().execute(() -> done.complete(null));
        });
    return done;
  }

  // ---------------------------------------------------------------- delivery

  /** Delivers to {@code c} until it waits for data or for an asynchronous acknowledgement. */
  private void deliver(Consumer c) {
    exec.checkConfined();
    if (c.inFlight || c.closed || state != State.RUNNING) {
      return;
    }
    c.waiting = false;
    for (int i = 0; i < MAX_SYNC_DELIVERIES; i++) {
      if (!prepare(c)) {
        becomeWaiting(c);
        return;
      }
      CompletionStage<Void> stage = invoke(c);
      CompletableFuture<Void> done = ObserverRef.completedOrNull(stage);
      if (done == null) {
        c.inFlight = true;
        inFlight++;
        int generation = c.generation;
        stage.whenComplete(
            (v, error) ->
                exec.execute(
                    () -> {
                      inFlight--;
                      if (c.generation == generation && !c.closed) {
                        c.inFlight = false;
                        if (onOutcome(c, error == null ? null : unwrap(error))) {
                          deliver(c);
                        }
                      }
                      checkDrained();
                      if (underPressure) {
                        requestPump();
                      }
                    }));
        return;
      }
      Throwable error = done.isCompletedExceptionally() ? failureOf(done) : null;
      if (!onOutcome(c, error)) {
        return;
      }
    }
    // A long synchronous run: let other consumers and the pump have the thread. Prepare first so
    // that the cursor holds the next batch across the yield and no purge can acknowledge it.
    if (!prepare(c)) {
      becomeWaiting(c);
      return;
    }
    exec.execute(() -> deliver(c));
  }

  /** The consumer caught up; if it was what kept the cache full, read again now. */
  private void becomeWaiting(Consumer c) {
    c.waiting = true;
    if (underPressure) {
      requestPump();
    }
  }

  /**
   * Makes {@code c.pending} the next thing to deliver, skipping what its filter or start token
   * excludes. Returns false when the cursor has nothing yet.
   */
  private boolean prepare(Consumer c) {
    if (c.hasPending()) {
      return true;
    }
    if (c.observer() != null && c.observer().isBatch()) {
      return prepareBatch(c);
    }
    while (true) {
      if (c.batch == null || c.nextEvent >= c.batch.eventCount()) {
        if (c.batch != null) {
          c.cursor.markDelivered();
          c.batch = null;
        }
        if (!c.cursor.moveNext()) {
          return false;
        }
        c.batch = c.cursor.current();
        c.nextEvent = 0;
      }
      int i = c.nextEvent;
      StreamSequenceToken token = c.batch.eventToken(i);
      Object item = c.batch.event(i);
      if (c.skips(token) || !provider.filter(c.streamId, item, c.filterData())) {
        c.nextEvent++;
        continue;
      }
      c.pendingItem = item;
      c.pendingToken = token;
      c.hasPendingItem = true;
      return true;
    }
  }

  private boolean prepareBatch(Consumer c) {
    List<SequentialItem<Object>> items = new ArrayList<>();
    int containers = 0;
    StreamSequenceToken last = null;
    if (c.batch != null && c.nextEvent < c.batch.eventCount()) {
      // A single-event observer was swapped for a batch one in the middle of this batch.
      containers = 1;
      for (int i = c.nextEvent, n = c.batch.eventCount(); i < n; i++) {
        StreamSequenceToken token = c.batch.eventToken(i);
        Object item = c.batch.event(i);
        last = token;
        if (!c.skips(token) && provider.filter(c.streamId, item, c.filterData())) {
          items.add(new SequentialItem<>(item, token));
        }
      }
      c.nextEvent = 0;
    }
    while (containers < options.batchContainerBatchSize() && c.cursor.moveNext()) {
      BatchContainer batch = c.cursor.current();
      containers++;
      for (int i = 0, n = batch.eventCount(); i < n; i++) {
        StreamSequenceToken token = batch.eventToken(i);
        Object item = batch.event(i);
        last = token;
        if (!c.skips(token) && provider.filter(c.streamId, item, c.filterData())) {
          items.add(new SequentialItem<>(item, token));
        }
      }
      c.batch = batch;
    }
    if (containers == 0) {
      return false;
    }
    if (items.isEmpty()) {
      c.cursor.markDelivered();
      c.batch = null;
      return prepare(c);
    }
    c.pendingBatch = items;
    c.pendingToken = last;
    return true;
  }

  private CompletionStage<Void> invoke(Consumer c) {
    ObserverRef observer = c.observer();
    if (observer == null) {
      try {
        observer = c.activate();
      } catch (Throwable t) {
        return CompletableFuture.failedFuture(t);
      }
    }
    return c.pendingBatch != null
        ? observer.onNextBatch(c.pendingBatch)
        : observer.onNext(c.pendingItem, c.pendingToken);
  }

  /**
   * Handles the outcome of a delivery attempt. Returns true when the consumer may go on at once;
   * false when a retry was scheduled or the subscription ended.
   */
  private boolean onOutcome(Consumer c, Throwable error) {
    if (error == null) {
      int events = c.pendingBatch != null ? c.pendingBatch.size() : 1;
      metrics.eventsDelivered.increment(events);
      long ts = c.batch == null ? -1 : c.batch.timestampMillis();
      if (ts > 0) {
        metrics.deliveryLatency.record(
            Math.max(0, System.currentTimeMillis() - ts), TimeUnit.MILLISECONDS);
      }
      advancePastPending(c);
      c.attempts = 0;
      c.firstFailureMillis = -1;
      return true;
    }
    long now = provider.clock().millis();
    c.attempts++;
    if (c.firstFailureMillis < 0) {
      c.firstFailureMillis = now;
    }
    Duration delay = options.deliveryBackoff().delay(c.attempts);
    long deadline = c.firstFailureMillis + options.maxEventDeliveryTime().toMillis();
    if (now + delay.toMillis() <= deadline) {
      metrics.deliveryRetries.increment();
      log.debug(
          "Queue {}: delivery of {} to subscription {} failed (attempt {}); retry in {} ms",
          queueId,
          c.pendingToken,
          c.id(),
          c.attempts,
          delay.toMillis(),
          error);
      c.inFlight = true;
      int generation = c.generation;
      c.retry =
          provider.schedule(
              () ->
                  exec.execute(
                      () -> {
                        if (c.generation == generation && !c.closed) {
                          c.inFlight = false;
                          c.retry = null;
                          deliver(c);
                        }
                      }),
              delay);
      return false;
    }
    giveUp(c, error);
    return !c.closed;
  }

  private void advancePastPending(Consumer c) {
    if (c.pendingBatch != null) {
      c.pendingBatch = null;
      c.cursor.markDelivered();
      c.batch = null;
    } else {
      c.hasPendingItem = false;
      c.pendingItem = null;
      c.nextEvent++;
      if (c.nextEvent >= c.batch.eventCount()) {
        c.cursor.markDelivered();
        c.batch = null;
      }
    }
    c.pendingToken = null;
  }

  private void giveUp(Consumer c, Throwable error) {
    metrics.deliveryFailures.increment();
    StreamSequenceToken token = c.pendingToken;
    StreamEventDeliveryFailureException failure =
        new StreamEventDeliveryFailureException(c.id(), c.streamId, token, c.attempts, error);
    log.warn(
        "Queue {} of provider {}: giving up on event {} of {} for subscription {} after {}"
            + " attempt(s)",
        queueId,
        provider.name(),
        token,
        c.streamId,
        c.id(),
        c.attempts,
        error);
    ObserverRef observer = c.observer();
    if (observer != null) {
      Throwable t = observer.onError(failure);
      if (t != null) {
        log.warn("Queue {}: onError of subscription {} threw", queueId, c.id(), t);
      }
    }
    DeliveryFailure report =
        new DeliveryFailure(
            provider.name(), queueId, c.id(), c.streamId, token, c.batch, c.implicit, error);
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
    c.cursor.recordDeliveryFailure();
    c.attempts = 0;
    c.firstFailureMillis = -1;
    boolean fault;
    try {
      fault = !c.implicit && failureHandler.shouldFaultSubscriptionOnError();
    } catch (Throwable t) {
      fault = false;
    }
    if (fault) {
      fault(c, failure);
    } else {
      advancePastPending(c);
    }
  }

  private void fault(Consumer c, Throwable cause) {
    metrics.faultedSubscriptions.increment();
    FaultedSubscriptionException faulted =
        new FaultedSubscriptionException(c.id(), c.streamId, cause);
    ObserverRef observer = c.observer();
    forget(c);
    StreamState s = streams.get(c.streamId);
    if (s != null) {
      s.remove(c);
    }
    c.close();
    if (c.subscription != null) {
      provider.markFaulted(c.subscription);
    }
    if (observer != null) {
      Throwable t = observer.onError(faulted);
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
                    state.name())));
    return f;
  }

  /** What {@link #snapshot()} reports. */
  record Snapshot(int streams, int subscriptions, int cacheSize, int cursors, String state) {}

  /** The subscriptions of one stream in this agent. */
  private static final class StreamState {
    private static final Consumer[] NONE = new Consumer[0];

    final StreamId id;

    /**
     * Copied on change, which is rare, so that dispatching an event touches one array rather than a
     * list and its array.
     */
    Consumer[] consumers = NONE;

    long lastActivityMillis;

    StreamState(StreamId id) {
      this.id = id;
    }

    void add(Consumer c) {
      Consumer[] grown = Arrays.copyOf(consumers, consumers.length + 1);
      grown[consumers.length] = c;
      consumers = grown;
    }

    void remove(Consumer c) {
      for (int i = 0; i < consumers.length; i++) {
        if (consumers[i] == c) {
          Consumer[] shrunk = new Consumer[consumers.length - 1];
          System.arraycopy(consumers, 0, shrunk, 0, i);
          System.arraycopy(consumers, i + 1, shrunk, i, consumers.length - i - 1);
          consumers = shrunk.length == 0 ? NONE : shrunk;
          return;
        }
      }
    }

    boolean busy() {
      for (Consumer c : consumers) {
        if (c.inFlight || c.batch != null) {
          return true;
        }
      }
      return false;
    }
  }

  /** One subscription's delivery state in this agent. */
  private final class Consumer {
    /** The subscription's id; for an implicit one derived on first use (an MD5 of its names). */
    private UUID id;

    final StreamId streamId;
    final boolean implicit;
    final LocalSubscription subscription;
    PersistentStreamProvider.Implicit implicitFactory;
    ObserverRef implicitObserver;
    QueueCacheCursor cursor;
    StreamSequenceToken startToken;

    BatchContainer batch;
    int nextEvent;
    boolean hasPendingItem;
    Object pendingItem;
    List<SequentialItem<Object>> pendingBatch;
    StreamSequenceToken pendingToken;

    boolean waiting = true;
    boolean inFlight;
    boolean closed;
    int generation;
    int attempts;
    long firstFailureMillis = -1;
    ScheduledFuture<?> retry;

    Consumer(
        UUID id,
        StreamId streamId,
        boolean implicit,
        LocalSubscription subscription,
        QueueCacheCursor cursor,
        StreamSequenceToken startToken) {
      this.id = id;
      this.streamId = streamId;
      this.implicit = implicit;
      this.subscription = subscription;
      this.cursor = cursor;
      this.startToken = startToken;
    }

    UUID id() {
      if (id == null) {
        id = implicitFactory.subscriptionId(streamId);
      }
      return id;
    }

    ObserverRef observer() {
      return subscription != null ? subscription.observer : implicitObserver;
    }

    ObserverRef activate() {
      implicitObserver = ObserverRef.of(implicitFactory.create(streamId));
      return implicitObserver;
    }

    String filterData() {
      return subscription == null ? null : subscription.filterData;
    }

    boolean hasPending() {
      return hasPendingItem || pendingBatch != null;
    }

    boolean skips(StreamSequenceToken token) {
      if (startToken == null) {
        return false;
      }
      if (token.compareTo(startToken) < 0) {
        return true;
      }
      startToken = null;
      return false;
    }

    void reopen(QueueCacheCursor newCursor, StreamSequenceToken token) {
      closed = false;
      cursor = newCursor;
      startToken = token;
      waiting = true;
    }

    void close() {
      closed = true;
      generation++;
      if (retry != null) {
        retry.cancel(false);
        retry = null;
      }
      inFlight = false;
      waiting = false;
      batch = null;
      hasPendingItem = false;
      pendingItem = null;
      pendingBatch = null;
      pendingToken = null;
      attempts = 0;
      firstFailureMillis = -1;
      cursor.close();
    }
  }
}
