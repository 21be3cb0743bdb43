package dev.tributary.kafka;

import dev.tributary.spi.QueueId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One KafkaConsumer and the thread that owns it: fetches raw records, decodes them per topic, fills
 * the partitions' buffers, pauses and resumes for backpressure, commits delivered offsets and takes
 * part in the consumer group.
 *
 * <h2>Threading</h2>
 *
 * <p>The consumer is used by this loop's thread only (KafkaConsumer is not thread-safe). Other
 * threads talk to the loop through its task queue ({@link #assign}, {@link #unassign}) or through
 * {@link PartitionState} (buffer drains and resume requests), and {@link #stop()} uses {@code
 * wakeup()}, the one consumer method that is thread-safe. Rebalance callbacks run on this thread,
 * inside {@code poll}: a revoke waits there, bounded by revokeTimeout, for the partition's agent to
 * stop, which never needs this thread (receivers only record their final watermark), so it cannot
 * deadlock. The loop never dies of an exception: every failure is logged, counted and retried with
 * backoff, and records already fetched are never dropped or duplicated because the partitions are
 * re-sought to the offset after the last record buffered.
 *
 * <h2>Ownership</h2>
 *
 * <p>The loop keeps the states of the partitions it acquired in {@link #owned} and works only on
 * those. With several loops per node the group may assign a partition to another loop before this
 * one hears that it lost it; the other loop's state then replaces this loop's (which is closed),
 * its agent is restarted on the new state, and this loop's later release neither drops the new
 * state nor takes the queue away from the runtime.
 */
final class ConsumerLoop implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(ConsumerLoop.class);
  private static final Duration PAUSED_POLL = Duration.ofMillis(10);
  private static final Duration POSITION_TIMEOUT = Duration.ofSeconds(5);
  private static final Runnable NOOP = () -> {};

  private final KafkaQueueAdapter adapter;
  private final KafkaSettings settings;
  private final Consumer<byte[], byte[]> consumer;
  private final String name;
  private final Thread thread;
  private final LinkedBlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();

  /** The states of the partitions this loop acquired; a closed one was released or taken over. */
  private final Map<TopicPartition, PartitionState> owned = new HashMap<>();

  private final Set<TopicPartition> pausedPartitions = new HashSet<>();
  private final CompletableFuture<Void> stopped = new CompletableFuture<>();

  private volatile boolean running = true;
  private volatile int consecutiveFailures;
  private volatile String lastFailure;
  private long lastCommitNanos = System.nanoTime();
  private long deliveredAtLastCommit;
  private long lastCommitWarnNanos;
  private int commitFailureStreak;

  ConsumerLoop(KafkaQueueAdapter adapter, Consumer<byte[], byte[]> consumer, String name) {
    this.adapter = adapter;
    this.settings = adapter.settings();
    this.consumer = consumer;
    this.name = name;
    this.thread = new Thread(this, name);
    this.thread.setDaemon(true);
  }

  void start() {
    thread.start();
  }

  String name() {
    return name;
  }

  /** Why the loop is failing, or null while it is healthy. */
  String failure() {
    int n = consecutiveFailures;
    return n == 0 ? null : lastFailure + " (" + n + " consecutive failure(s))";
  }

  // ---------------------------------------------------------------- loop

  @Override
  public void run() {
    try {
      if (!settings.staticAssignment()) {
        consumer.subscribe(settings.topics().keySet(), new Rebalance());
      }
    } catch (Throwable t) {
      log.error(
          "{}: could not subscribe to {}; this consumer does not run",
          name,
          settings.topics().keySet(),
          t);
      shutdown();
      return;
    }
    while (running) {
      try {
        iterate();
      } catch (WakeupException e) {
        // stop() or a spurious wake-up: the loop condition decides.
      } catch (Throwable t) {
        if (t instanceof InterruptException) {
          Thread.interrupted();
        }
        if (running) {
          try {
            onFailure(t);
          } catch (Throwable again) {
            log.error("{}: handling a consumer failure failed; polling again", name, again);
          }
        }
      }
    }
    shutdown();
  }

  private void iterate() throws InterruptedException {
    runTasks();
    if (settings.staticAssignment() && owned.isEmpty()) {
      Runnable task = tasks.poll(settings.pollTimeout().toMillis(), TimeUnit.MILLISECONDS);
      if (task != null) {
        task.run();
      }
      return;
    }
    resumeDrained();
    Duration timeout =
        pausedPartitions.isEmpty() || settings.pollTimeout().compareTo(PAUSED_POLL) < 0
            ? settings.pollTimeout()
            : PAUSED_POLL;
    ConsumerRecords<byte[], byte[]> records = consumer.poll(timeout);
    if (consecutiveFailures > 0) {
      log.info("{}: polling works again after {} failure(s)", name, consecutiveFailures);
      consecutiveFailures = 0;
      lastFailure = null;
    }
    if (!records.isEmpty()) {
      for (TopicPartition tp : records.partitions()) {
        handle(tp, records.records(tp));
      }
    }
    updateLogEnd();
    maybeCommit();
  }

  private void runTasks() {
    Runnable task;
    while ((task = tasks.poll()) != null) {
      task.run();
    }
  }

  private void handle(TopicPartition tp, List<ConsumerRecord<byte[], byte[]>> records) {
    PartitionState state = owned.get(tp);
    if (state == null || state.closed) {
      // Not committed, so whoever reads the partition next fetches these again.
      log.debug("{}: {} record(s) of {} arrived after it was released", name, records.size(), tp);
      return;
    }
    List<KafkaBatchContainer> decoded = new ArrayList<>(records.size());
    long next = -1;
    for (int i = 0, n = records.size(); i < n; i++) {
      ConsumerRecord<byte[], byte[]> r = records.get(i);
      next = r.offset() + 1;
      KafkaBatchContainer c = adapter.decode(r, state);
      if (c != null) {
        decoded.add(c);
      }
    }
    if (state.append(decoded, next)) {
      signal(state);
    }
    if (state.isFull() && !state.paused) {
      consumer.pause(List.of(tp));
      state.paused = true;
      pausedPartitions.add(tp);
      log.debug("{}: paused {}: {} records buffered for its agent", name, tp, state.bufferedCount);
    }
  }

  private void signal(PartitionState state) {
    Runnable l = state.dataListener;
    if (l != null) {
      try {
        l.run();
      } catch (Throwable t) {
        log.warn(
            "{}: the data signal of {} threw; the agent reads at its next tick", name, state.tp, t);
      }
    }
  }

  private void resumeDrained() {
    if (pausedPartitions.isEmpty()) {
      return;
    }
    List<TopicPartition> resume = null;
    Iterator<TopicPartition> it = pausedPartitions.iterator();
    while (it.hasNext()) {
      TopicPartition tp = it.next();
      PartitionState state = owned.get(tp);
      if (state == null || state.closed) {
        it.remove();
        continue;
      }
      if (state.canResume()) {
        if (resume == null) {
          resume = new ArrayList<>();
        }
        resume.add(tp);
        state.paused = false;
        state.resumeRequested = false;
        it.remove();
      }
    }
    if (resume != null) {
      resume.retainAll(consumer.assignment());
      consumer.resume(resume);
      log.debug("{}: resumed {}", name, resume);
    }
  }

  private void updateLogEnd() {
    for (Map.Entry<TopicPartition, PartitionState> e : owned.entrySet()) {
      TopicPartition tp = e.getKey();
      PartitionState state = e.getValue();
      if (state.closed) {
        continue;
      }
      OptionalLong lag = consumer.currentLag(tp);
      long next = state.nextFetchOffset();
      if (lag.isPresent() && next >= 0) {
        state.logEndOffset = next + lag.getAsLong();
      }
    }
  }

  private void onFailure(Throwable t) {
    adapter.metrics().pollError();
    int attempt = ++consecutiveFailures;
    lastFailure = t.toString();
    Duration delay;
    try {
      delay = settings.retryBackoff().delay(attempt);
    } catch (Throwable broken) {
      log.warn("{}: retryBackoff threw; waiting 1 s instead", name, broken);
      delay = Duration.ofSeconds(1);
    }
    if (attempt == 1 || attempt % 10 == 0) {
      log.warn(
          "{}: consumer failed (attempt {}); retrying in {} ms, from the offset after the last"
              + " buffered record of each partition",
          name,
          attempt,
          delay.toMillis(),
          t);
    } else {
      log.debug("{}: consumer failed again (attempt {}): {}", name, attempt, t.toString());
    }
    long deadline = System.nanoTime() + delay.toNanos();
    while (running) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      try {
        Runnable task = tasks.poll(left, TimeUnit.NANOSECONDS);
        if (task != null) {
          task.run();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } catch (Throwable taskFailure) {
        log.debug("{}: task failed while backing off", name, taskFailure);
      }
    }
    Thread.interrupted();
    reseek();
  }

  /** Moves every owned partition back to the offset after its last buffered record. */
  private void reseek() {
    try {
      for (TopicPartition tp : consumer.assignment()) {
        PartitionState state = owned.get(tp);
        long next = state == null || state.closed ? -1 : state.nextFetchOffset();
        if (next >= 0) {
          consumer.seek(tp, next);
        }
      }
    } catch (Throwable t) {
      log.debug("{}: re-seek after a failure failed; the next poll retries", name, t);
    }
  }

  // ---------------------------------------------------------------- commits

  private void maybeCommit() {
    long now = System.nanoTime();
    long delivered = 0;
    for (PartitionState s : owned.values()) {
      if (!s.closed) {
        delivered += s.deliveredCount();
      }
    }
    boolean due = now - lastCommitNanos >= settings.commitInterval().toNanos();
    boolean many = delivered - deliveredAtLastCommit >= settings.commitEveryRecords();
    if (!due && !many) {
      return;
    }
    lastCommitNanos = now;
    deliveredAtLastCommit = delivered;
    Map<TopicPartition, PartitionState> states = new HashMap<>();
    Map<TopicPartition, OffsetAndMetadata> offsets = candidates(owned.keySet(), states);
    if (offsets.isEmpty()) {
      return;
    }
    consumer.commitAsync(
        offsets,
        (done, error) -> {
          if (error == null) {
            commitFailureStreak = 0;
            offsets.forEach((tp, o) -> states.get(tp).committedAt(o.offset()));
          } else {
            commitFailed(offsets.keySet(), "periodic", error);
          }
        });
  }

  private Map<TopicPartition, OffsetAndMetadata> candidates(
      Collection<TopicPartition> tps, Map<TopicPartition, PartitionState> states) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
    for (TopicPartition tp : tps) {
      PartitionState s = owned.get(tp);
      if (s == null || s.closed) {
        // Released, or taken over by another loop of this node, which commits it from now on.
        continue;
      }
      long candidate = s.commitCandidate();
      if (candidate >= 0 && candidate > s.committed) {
        offsets.put(tp, new OffsetAndMetadata(candidate));
        states.put(tp, s);
      }
    }
    return offsets;
  }

  /** Commits the delivered watermark of {@code tps} synchronously; never throws. */
  private void commitSync(Collection<TopicPartition> tps, String why) {
    Map<TopicPartition, PartitionState> states = new HashMap<>();
    Map<TopicPartition, OffsetAndMetadata> offsets = candidates(tps, states);
    if (offsets.isEmpty()) {
      return;
    }
    for (int attempt = 1; attempt <= 2; attempt++) {
      try {
        consumer.commitSync(offsets, settings.closeTimeout());
        offsets.forEach((tp, o) -> states.get(tp).committedAt(o.offset()));
        log.debug("{}: committed {} on {}", name, offsets, why);
        return;
      } catch (WakeupException e) {
        // A stop() raced with this call; the commit still has to happen.
        continue;
      } catch (InterruptException e) {
        Thread.interrupted();
        commitFailed(offsets.keySet(), why, e);
        return;
      } catch (Exception e) {
        commitFailed(offsets.keySet(), why, e);
        return;
      }
    }
  }

  private void commitFailed(Collection<TopicPartition> tps, String why, Throwable error) {
    for (TopicPartition tp : tps) {
      adapter.metrics().commitFailure(tp);
    }
    commitFailureStreak++;
    long now = System.nanoTime();
    if (!why.equals("periodic")
        || commitFailureStreak == 1
        || now - lastCommitWarnNanos > TimeUnit.SECONDS.toNanos(30)) {
      lastCommitWarnNanos = now;
      log.warn(
          "{}: {} commit of {} failed ({} in a row); records after the last successful commit may"
              + " be delivered again after a restart or hand-over: {}",
          name,
          why,
          tps,
          commitFailureStreak,
          error.toString());
    }
  }

  // ---------------------------------------------------------------- ownership

  /** Group mode: the partitions the group gave this consumer. Runs on this thread. */
  private void acquire(Collection<TopicPartition> tps) {
    if (tps.isEmpty()) {
      return;
    }
    takeOver(tps);
    Map<TopicPartition, OffsetAndMetadata> committed = fetchCommitted(new HashSet<>(tps));
    List<QueueId> queues = new ArrayList<>();
    for (TopicPartition tp : tps) {
      PartitionState state = adapter.newState(tp, this);
      position(tp, state, committed != null, committed == null ? null : committed.get(tp));
      owned.put(tp, state);
      queues.add(state.queueId);
    }
    log.info("{}: assigned {}", name, tps);
    adapter.ownership().add(queues, this);
  }

  /**
   * Group mode: stops the agents of those of {@code tps} that another loop of this node still
   * holds, because the group moved them here before that loop heard of it. An agent reads the state
   * it started with, so the runtime has to start a new one for the state this loop is about to
   * create; the old loop's release of its replaced state is then a no-op. Records the old agent
   * delivered after the last commit are delivered again, as after any lost partition.
   */
  private void takeOver(Collection<TopicPartition> tps) {
    Map<ConsumerLoop, List<QueueId>> byHolder = new HashMap<>();
    List<TopicPartition> moved = new ArrayList<>();
    for (TopicPartition tp : tps) {
      PartitionState s = adapter.state(tp);
      if (s != null && !s.closed && s.owner != this) {
        byHolder.computeIfAbsent(s.owner, k -> new ArrayList<>()).add(s.queueId);
        moved.add(tp);
      }
    }
    if (moved.isEmpty()) {
      return;
    }
    log.info(
        "{}: takes {} over from another consumer of this node that has not released them yet",
        name,
        moved);
    if (adapter.isClosing()) {
      return;
    }
    List<CompletableFuture<Void>> stops = new ArrayList<>();
    byHolder.forEach(
        (holder, queues) ->
            stops.add(adapter.ownership().remove(queues, holder).toCompletableFuture()));
    awaitAgents(
        CompletableFuture.allOf(stops.toArray(new CompletableFuture<?>[0])),
        moved,
        "reading them from the committed offsets anyway; what they deliver meanwhile is delivered"
            + " again");
  }

  /** Waits, at most revokeTimeout, for the agents of {@code tps} to stop; {@code then} says why. */
  private void awaitAgents(
      CompletionStage<Void> stopped, Collection<TopicPartition> tps, String then) {
    Duration timeout = adapter.revokeTimeout();
    try {
      stopped.toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      log.warn(
          "{}: agents of {} did not stop within revokeTimeout {}; {}", name, tps, timeout, then);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException e) {
      log.warn("{}: stopping the agents of {} failed", name, tps, e.getCause());
    }
  }

  /**
   * Group mode: the group takes {@code tps} away. Stops their agents (bounded), commits what they
   * delivered (when {@code commit}, i.e. on revoke, not after the partitions were lost) and drops
   * them. Runs on this thread, inside poll.
   */
  private void release(Collection<TopicPartition> tps, boolean commit) {
    if (tps.isEmpty()) {
      return;
    }
    // Only what this loop still holds: a partition another loop of this node took over has its
    // new state, agent and commits there.
    List<TopicPartition> held = new ArrayList<>();
    List<QueueId> queues = new ArrayList<>();
    for (TopicPartition tp : tps) {
      PartitionState s = owned.get(tp);
      if (s != null && !s.closed) {
        held.add(tp);
        queues.add(s.queueId);
      }
    }
    if (!queues.isEmpty() && !adapter.isClosing()) {
      awaitAgents(
          adapter.ownership().remove(queues, this),
          held,
          "committing what they delivered so far, the rest is delivered again by the next owner");
    }
    if (commit) {
      commitSync(held, "revoke");
    }
    for (TopicPartition tp : tps) {
      pausedPartitions.remove(tp);
      PartitionState s = owned.remove(tp);
      if (s != null) {
        adapter.dropState(s, this);
      }
    }
    if (held.size() < tps.size()) {
      List<TopicPartition> taken = new ArrayList<>(tps);
      taken.removeAll(held);
      log.info("{}: {} had already been taken over by another consumer of this node", name, taken);
    }
    if (held.isEmpty()) {
      return;
    }
    log.info(
        "{}: {} {}{}",
        name,
        commit ? "released" : "lost",
        held,
        commit
            ? " after committing their delivered offsets"
            : " (no commit: another member owns them)");
  }

  private Map<TopicPartition, OffsetAndMetadata> fetchCommitted(Set<TopicPartition> tps) {
    try {
      Map<TopicPartition, OffsetAndMetadata> m = consumer.committed(tps, POSITION_TIMEOUT);
      return m == null ? new HashMap<>() : m;
    } catch (WakeupException e) {
      throw e;
    } catch (Exception e) {
      log.debug("{}: reading committed offsets of {} failed: {}", name, tps, e.toString());
      return null;
    }
  }

  /**
   * Seeks {@code tp} where the consume mode says and records the start in its state. {@code known}
   * tells whether the committed offsets could be read; {@code committed} is null when the group has
   * none (or, when not known, unknown).
   */
  private void position(
      TopicPartition tp, PartitionState state, boolean known, OffsetAndMetadata committed) {
    if (committed != null) {
      state.committed = committed.offset();
    }
    Boolean hasCommitted = known ? committed != null : null;
    KafkaQueueAdapter.Start start = adapter.startFor(tp, state, hasCommitted);
    switch (start) {
      case COMMITTED -> {
        if (committed != null) {
          consumer.seek(tp, committed);
        }
        // Else Kafka resolves it: the committed offset, or auto.offset.reset when there is none.
      }
      case BEGINNING -> consumer.seekToBeginning(List.of(tp));
      case END -> consumer.seekToEnd(List.of(tp));
    }
    try {
      // Resolves lazy seeks now, so that STREAM_END means "after assignment", not "after the
      // first fetch", and so that lag is known from the start.
      state.startAt(consumer.position(tp, POSITION_TIMEOUT));
    } catch (WakeupException e) {
      throw e;
    } catch (Exception e) {
      log.debug("{}: position of {} not known yet: {}", name, tp, e.toString());
    }
    log.debug("{}: {} starts at {} ({})", name, tp, state.nextFetchOffset(), start);
  }

  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      guard("revoke", () -> release(partitions, true));
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      guard("loss", () -> release(partitions, false));
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      guard("assignment", () -> acquire(partitions));
    }

    private void guard(String what, Runnable r) {
      try {
        r.run();
      } catch (WakeupException e) {
        throw e;
      } catch (Throwable t) {
        log.error("{}: handling the {} of partitions failed", name, what, t);
      }
    }
  }

  // ---------------------------------------------------------------- static assignment

  /**
   * Static mode: starts reading {@code tp}; the stage completes with its state once it is
   * positioned. Any thread.
   */
  CompletableFuture<PartitionState> assign(TopicPartition tp) {
    CompletableFuture<PartitionState> done = new CompletableFuture<>();
    submit(
        () -> {
          PartitionState existing = owned.get(tp);
          if (existing != null && !existing.closed) {
            done.complete(existing);
            return;
          }
          PartitionState state = adapter.newState(tp, this);
          try {
            Set<TopicPartition> next = new HashSet<>(consumer.assignment());
            next.add(tp);
            consumer.assign(next);
            owned.put(tp, state);
            // Static mode fails the receiver's initialization rather than guess a start: the agent
            // retries it with backoff.
            Map<TopicPartition, OffsetAndMetadata> committed =
                consumer.committed(Set.of(tp), POSITION_TIMEOUT);
            position(tp, state, true, committed == null ? null : committed.get(tp));
            done.complete(state);
            log.info("{}: reading {} from offset {}", name, tp, state.nextFetchOffset());
          } catch (Throwable t) {
            owned.remove(tp, state);
            adapter.dropState(state, this);
            try {
              Set<TopicPartition> next = new HashSet<>(consumer.assignment());
              next.remove(tp);
              consumer.assign(next);
            } catch (Throwable ignored) {
              // The next assign or the close sorts the assignment out.
            }
            done.completeExceptionally(t);
          }
        },
        done);
    return done;
  }

  /**
   * Static mode: commits {@code state}'s final watermark and stops reading its partition. Any
   * thread.
   */
  CompletableFuture<Void> unassign(PartitionState state) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    submit(
        () -> {
          TopicPartition tp = state.tp;
          // Otherwise a later assign of the partition replaced this state and keeps reading it.
          if (owned.get(tp) == state) {
            commitSync(List.of(tp), "release");
            owned.remove(tp);
            adapter.dropState(state, this);
            pausedPartitions.remove(tp);
            Set<TopicPartition> next = new HashSet<>(consumer.assignment());
            if (next.remove(tp)) {
              consumer.assign(next);
            }
          }
          done.complete(null);
        },
        done);
    return done;
  }

  private void submit(Runnable task, CompletableFuture<?> done) {
    if (!running) {
      done.completeExceptionally(new IllegalStateException(name + " is stopped"));
      return;
    }
    tasks.add(
        () -> {
          try {
            task.run();
          } catch (Throwable t) {
            done.completeExceptionally(t);
          }
        });
  }

  // ---------------------------------------------------------------- stop

  /** Asks the loop to commit and close; any thread. */
  void stop() {
    running = false;
    tasks.add(NOOP);
    try {
      consumer.wakeup();
    } catch (Throwable t) {
      log.debug("{}: wakeup failed", name, t);
    }
  }

  /** Waits up to {@code timeout} for the loop to finish; true when it did. */
  boolean awaitStopped(Duration timeout) {
    try {
      stopped.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException e) {
      return true;
    }
  }

  private void shutdown() {
    try {
      // Tasks queued before the stop (static-mode releases) still commit.
      runTasks();
      commitSync(new ArrayList<>(owned.keySet()), "close");
    } catch (Throwable t) {
      log.warn("{}: final commit failed", name, t);
    }
    try {
      consumer.close(CloseOptions.timeout(settings.closeTimeout()));
    } catch (Throwable t) {
      log.warn("{}: closing the consumer failed", name, t);
    }
    for (PartitionState s : owned.values()) {
      adapter.dropState(s, this);
    }
    owned.clear();
    Runnable task;
    while ((task = tasks.poll()) != null) {
      try {
        task.run();
      } catch (Throwable ignored) {
        // Their stages were completed exceptionally by submit's wrapper.
      }
    }
    stopped.complete(null);
    log.debug("{}: stopped", name);
  }
}
