package dev.tributary.kafka;

import dev.tributary.spi.QueueId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.InvalidOffsetException;
import org.apache.kafka.clients.consumer.NoOffsetForPartitionException;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
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
 * deadlock. The {@link PartitionOwnershipListener} is called on this thread too, and this thread
 * never waits for its stage: an assignment's gate is opened by whoever completes it ({@link
 * OwnershipNotifier}). The loop never dies of an exception: every failure is logged, counted and
 * retried with backoff, and records already fetched are never dropped or duplicated because the
 * partitions are re-sought to the offset after the last record buffered.
 *
 * <h2>Ownership</h2>
 *
 * <p>The loop keeps the states of the partitions it acquired in {@link #owned} and works only on
 * those. With several loops per node the group may assign a partition to another loop before this
 * one hears that it lost it; the other loop's state then replaces this loop's (which is closed),
 * its agent is restarted on the new state, and this loop's later release neither drops the new
 * state nor takes the queue away from the runtime.
 *
 * <h2>Where partitions start</h2>
 *
 * <p>The consumers run with {@code auto.offset.reset=none}, so Kafka never picks a position on its
 * own: every start is a seek this loop decided (committed offset, beginning or end, per the consume
 * mode). A partition whose committed offset could not be read waits, paused and not yet handed to
 * the runtime, until a retry reads it. A position that is no longer in the log (retention or {@code
 * deleteRecords} removed it, for instance while the group was away or the partition was paused)
 * restarts at the earliest retained offset, with a warning and {@code
 * tributary.kafka.offset.out.of.range}.
 */
final class ConsumerLoop implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(ConsumerLoop.class);
  private static final Duration PAUSED_POLL = Duration.ofMillis(10);
  private static final Duration POSITION_TIMEOUT = Duration.ofSeconds(5);
  private static final Runnable NOOP = () -> {};

  private final KafkaQueueAdapter adapter;
  private final KafkaSettings settings;
  private final RecordDecoder decoder;
  private final Consumer<byte[], byte[]> consumer;
  private final String name;
  private final Thread thread;
  private final LinkedBlockingQueue<Runnable> tasks = new LinkedBlockingQueue<>();

  /** The states of the partitions this loop acquired; a closed one was released or taken over. */
  private final Map<TopicPartition, PartitionState> owned = new HashMap<>();

  private final Set<TopicPartition> pausedPartitions = new HashSet<>();

  /**
   * Owned partitions whose committed offset could not be read yet: paused and not handed to the
   * runtime until it is. Written by this thread, read by {@link #awaitsStart} from any thread.
   */
  private final Set<TopicPartition> awaitingStart = ConcurrentHashMap.newKeySet();

  private final CompletableFuture<Void> stopped = new CompletableFuture<>();

  private volatile boolean running = true;
  private volatile int consecutiveFailures;
  private volatile String lastFailure;
  private final CommitSchedule commits;
  private long lastCommitWarnNanos;
  private volatile int commitFailureStreak;

  /** Partitions held by an operator (stopAgents): paused until unheld; this thread only. */
  private final Set<TopicPartition> held = new HashSet<>();

  /** True once the group assigned this consumer its share (possibly none); any thread. */
  private volatile boolean joined;

  /** When this loop last returned from poll, on real time ({@code System.nanoTime}). */
  private volatile long lastPollNanos = System.nanoTime();

  private int startAttempts;
  private long nextStartAttemptNanos;

  ConsumerLoop(KafkaQueueAdapter adapter, Consumer<byte[], byte[]> consumer, String name) {
    this.adapter = adapter;
    this.settings = adapter.settings();
    this.decoder = adapter.decoder();
    this.commits =
        new CommitSchedule(
            settings.commitInterval(), settings.commitEveryRecords(), adapter.time().clock());
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

  /** True while {@code tp} is owned by this loop but waits for its committed offset; any thread. */
  boolean awaitsStart(TopicPartition tp) {
    return awaitingStart.contains(tp);
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
    retryStarts();
    resumeDrained();
    Duration timeout =
        pausedPartitions.isEmpty() || settings.pollTimeout().compareTo(PAUSED_POLL) < 0
            ? settings.pollTimeout()
            : PAUSED_POLL;
    ConsumerRecords<byte[], byte[]> records;
    try {
      records = consumer.poll(timeout);
      lastPollNanos = System.nanoTime();
    } catch (InvalidOffsetException e) {
      // With auto.offset.reset=none Kafka reports a missing or lost position instead of choosing.
      invalidPositions(e);
      return;
    }
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
    if (awaitingStart.contains(tp)) {
      // Paused at assignment, so only a fetch already under way can deliver these; the partition
      // starts where its committed offset says, once that is known.
      log.debug("{}: {} record(s) of {} arrived before its start", name, records.size(), tp);
      return;
    }
    List<KafkaBatchContainer> decoded = new ArrayList<>(records.size());
    long next = -1;
    for (int i = 0, n = records.size(); i < n; i++) {
      ConsumerRecord<byte[], byte[]> r = records.get(i);
      next = r.offset() + 1;
      KafkaBatchContainer c = decoder.decode(r, state);
      if (c != null) {
        decoded.add(c);
      }
    }
    if (state.append(decoded, next)) {
      signal(state);
    }
    if (state.isFull() && !state.paused) {
      consumer.pause(List.of(tp));
      state.pausedSinceMillis = adapter.time().clock().millis();
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
        if (!held.contains(tp)) {
          resume.add(tp);
        }
        state.paused = false;
        state.pausedSinceMillis = -1;
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
      if (state.closed || awaitingStart.contains(tp)) {
        continue;
      }
      OptionalLong lag = consumer.currentLag(tp);
      long next = state.nextFetchOffset();
      if (lag.isPresent() && next >= 0) {
        state.logEndOffset = next + lag.getAsLong();
      }
    }
  }

  /**
   * Counts a failure and waits out the retry backoff on real time ({@code System.nanoTime}), not on
   * the provider's {@code RuntimeTime}: the wait blocks this consumer thread in its task queue (it
   * keeps running {@link #assign}/{@link #unassign} tasks meanwhile), and a manual time cannot
   * release a blocked thread. Only the commit interval ({@link CommitSchedule}) reads the injected
   * clock; polling, this backoff and the offset-read retries stay on real time.
   */
  private void onFailure(Throwable t) {
    adapter.metrics().pollError();
    int attempt = ++consecutiveFailures;
    lastFailure = t.toString();
    Duration delay = backoff(attempt);
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

  // ---------------------------------------------------------------- invalid positions

  /**
   * Kafka could not use the position of some partitions. A partition waiting for its start that
   * Kafka found no committed offset for ({@link NoOffsetForPartitionException}: Kafka read the
   * committed offsets itself and there is none) starts per the consume mode; a partition whose
   * position is out of the log restarts at its earliest retained offset. Throws when the earliest
   * offset cannot be read: the failure path backs off, re-seeks and the next poll reports it again.
   */
  private void invalidPositions(InvalidOffsetException e) {
    Map<TopicPartition, Long> reported =
        e instanceof OffsetOutOfRangeException o ? o.offsetOutOfRangePartitions() : Map.of();
    List<TopicPartition> uncommitted = new ArrayList<>();
    for (TopicPartition tp : e.partitions()) {
      PartitionState state = owned.get(tp);
      if (state == null || state.closed) {
        // Released or taken over: what it fetches is discarded, so any valid position will do.
        consumer.seekToEnd(List.of(tp));
        continue;
      }
      if (awaitingStart.contains(tp)) {
        if (e instanceof NoOffsetForPartitionException) {
          uncommitted.add(tp);
        }
        continue;
      }
      long next = state.nextFetchOffset();
      if (e instanceof NoOffsetForPartitionException && next >= 0) {
        // Kafka dropped a position this loop had set: back to where it left the partition.
        consumer.seek(tp, next);
        continue;
      }
      restartAtEarliest(tp, state, next >= 0 ? next : reported.getOrDefault(tp, -1L));
    }
    if (!uncommitted.isEmpty()) {
      log.debug("{}: Kafka found no committed offset for {}", name, uncommitted);
      begin(uncommitted, Map.of());
    }
  }

  /**
   * Restarts {@code tp}, whose {@code position} (the offset after the last record this loop dealt
   * with, or Kafka's fetch position when none was) is not in the log, at the earliest retained
   * offset.
   */
  private void restartAtEarliest(TopicPartition tp, PartitionState state, long position) {
    Long earliest = consumer.beginningOffsets(List.of(tp), POSITION_TIMEOUT).get(tp);
    if (earliest == null) {
      throw new IllegalStateException("Kafka returned no beginning offset for " + tp);
    }
    consumer.seek(tp, earliest);
    // What retention removed will never be fetched: the next offset to fetch, and so the commit
    // once everything before it was delivered, moves past it.
    state.append(List.of(), earliest);
    adapter.metrics().offsetOutOfRange(tp);
    if (position < 0) {
      log.warn(
          "{}: the position of {} is out of range; restarting it at the earliest retained offset"
              + " {}",
          name,
          tp,
          earliest);
    } else if (position <= earliest) {
      log.warn(
          "{}: position {} of {} is out of range; restarting it at the earliest retained offset {}:"
              + " retention or deleteRecords removed {} offset(s) before they were read",
          name,
          position,
          tp,
          earliest,
          earliest - position);
    } else {
      log.warn(
          "{}: position {} of {} is out of range but the earliest retained offset is {}: the log"
              + " was truncated or re-created; restarting at {}, and offsets below {} count as"
              + " already read",
          name,
          position,
          tp,
          earliest,
          earliest,
          position);
    }
  }

  // ---------------------------------------------------------------- commits

  private void maybeCommit() {
    long delivered = 0;
    for (PartitionState s : owned.values()) {
      if (!s.closed) {
        delivered += s.deliveredCount();
      }
    }
    if (!commits.due(delivered)) {
      return;
    }
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
            offsets.forEach((tp, o) -> states.get(tp).committedAt(o.offset(), o.metadata()));
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
      if (candidate < 0 || candidate < s.committed) {
        continue;
      }
      // What was delivered beyond the oldest undelivered record travels with the commit, so that
      // the next reader of the partition skips it.
      String delivered = s.deliveredAbove(candidate);
      if (candidate > s.committed || !delivered.equals(s.committedMetadata)) {
        offsets.put(tp, new OffsetAndMetadata(candidate, delivered));
        states.put(tp, s);
      }
    }
    return offsets;
  }

  /**
   * Commits the delivered watermark of {@code tps} synchronously, with the offsets delivered above
   * it, and returns what it committed, in the order of {@code tps} ("1200", or "1200 (+57 delivered
   * above)"): empty when nothing new was due or the commit failed (which is logged). Never throws.
   */
  private Map<TopicPartition, String> commitSync(Collection<TopicPartition> tps, String why) {
    Map<TopicPartition, PartitionState> states = new HashMap<>();
    Map<TopicPartition, OffsetAndMetadata> offsets = candidates(tps, states);
    if (offsets.isEmpty()) {
      return Map.of();
    }
    for (int attempt = 1; attempt <= 2; attempt++) {
      try {
        consumer.commitSync(offsets, settings.closeTimeout());
        Map<TopicPartition, String> done = new LinkedHashMap<>();
        for (TopicPartition tp : tps) {
          OffsetAndMetadata o = offsets.get(tp);
          if (o != null) {
            states.get(tp).committedAt(o.offset(), o.metadata());
            int above = DeliveredOffsets.decode(o.offset(), o.metadata()).size();
            done.put(
                tp,
                above == 0
                    ? Long.toString(o.offset())
                    : o.offset() + " (+" + above + " delivered above)");
          }
        }
        log.debug("{}: committed {} on {}", name, done, why);
        return done;
      } catch (WakeupException e) {
        // A stop() raced with this call; the commit still has to happen.
        continue;
      } catch (InterruptException e) {
        Thread.interrupted();
        commitFailed(offsets.keySet(), why, e);
        return Map.of();
      } catch (Exception e) {
        commitFailed(offsets.keySet(), why, e);
        return Map.of();
      }
    }
    return Map.of();
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
    List<TopicPartition> waiting = new ArrayList<>();
    Map<TopicPartition, KafkaQueueAdapter.Start> starts = new LinkedHashMap<>();
    for (TopicPartition tp : tps) {
      PartitionState state = adapter.newState(tp, this);
      owned.put(tp, state);
      OffsetAndMetadata c = committed == null ? null : committed.get(tp);
      KafkaQueueAdapter.Start start =
          adapter.startFor(tp, state, committed == null ? null : c != null);
      if (start == KafkaQueueAdapter.Start.COMMITTED && committed == null) {
        waiting.add(tp);
        continue;
      }
      seek(tp, state, start, c);
      starts.put(tp, start);
      queues.add(state.queueId);
    }
    if (!waiting.isEmpty()) {
      consumer.pause(waiting);
      awaitingStart.addAll(waiting);
    }
    resolve(starts);
    if (waiting.isEmpty()) {
      log.info("{}: assigned {}", name, tps);
    } else {
      startAttempts = 0;
      Duration delay = startRetryDelay();
      log.warn(
          "{}: assigned {}; reading the committed offsets of {} failed, so they wait, paused, and"
              + " the read is retried in {} ms",
          name,
          tps,
          waiting,
          delay.toMillis());
    }
    if (!queues.isEmpty()) {
      adapter.ownership().assigned(statesOf(starts.keySet()));
      adapter.balancer().add(queues, this);
    }
  }

  /** The states of {@code tps} this loop owns, in that order. */
  private List<PartitionState> statesOf(Collection<TopicPartition> tps) {
    List<PartitionState> out = new ArrayList<>(tps.size());
    for (TopicPartition tp : tps) {
      PartitionState s = owned.get(tp);
      if (s != null && !s.closed) {
        out.add(s);
      }
    }
    return out;
  }

  /** The retry backoff's delay for {@code attempt}; 1 s when the policy itself throws. */
  private Duration backoff(int attempt) {
    try {
      return settings.retryBackoff().delay(attempt);
    } catch (Throwable broken) {
      log.warn("{}: retryBackoff threw; waiting 1 s instead", name, broken);
      return Duration.ofSeconds(1);
    }
  }

  /** Schedules the next read of the committed offsets of the partitions awaiting their start. */
  private Duration startRetryDelay() {
    int attempt = ++startAttempts;
    Duration delay = backoff(attempt);
    nextStartAttemptNanos = System.nanoTime() + delay.toNanos();
    return delay;
  }

  /** Reads the committed offsets of the partitions awaiting their start again, when due. */
  private void retryStarts() {
    if (awaitingStart.isEmpty() || System.nanoTime() - nextStartAttemptNanos < 0) {
      return;
    }
    Set<TopicPartition> tps = new HashSet<>(awaitingStart);
    Map<TopicPartition, OffsetAndMetadata> committed = fetchCommitted(tps);
    if (committed == null) {
      Duration delay = startRetryDelay();
      int failed = startAttempts;
      if (failed % 10 == 0) {
        log.warn(
            "{}: reading the committed offsets of {} failed {} times; they stay paused, retrying in"
                + " {} ms",
            name,
            tps,
            failed,
            delay.toMillis());
      }
      return;
    }
    begin(tps, committed);
  }

  /**
   * Starts owned partitions that were waiting for their committed offsets, now known ({@code
   * committed} has none for a partition the group never committed), and hands them to the runtime.
   */
  private void begin(
      Collection<TopicPartition> tps, Map<TopicPartition, OffsetAndMetadata> committed) {
    Map<TopicPartition, KafkaQueueAdapter.Start> starts = new LinkedHashMap<>();
    List<QueueId> queues = new ArrayList<>();
    for (TopicPartition tp : tps) {
      PartitionState state = owned.get(tp);
      if (!awaitingStart.remove(tp) || state == null || state.closed) {
        continue;
      }
      OffsetAndMetadata c = committed.get(tp);
      KafkaQueueAdapter.Start start = adapter.startFor(tp, state, c != null);
      seek(tp, state, start, c);
      starts.put(tp, start);
      queues.add(state.queueId);
    }
    resolve(starts);
    List<TopicPartition> started = new ArrayList<>(starts.keySet());
    if (awaitingStart.isEmpty()) {
      startAttempts = 0;
    }
    if (started.isEmpty()) {
      return;
    }
    List<TopicPartition> resume = new ArrayList<>(started);
    resume.retainAll(consumer.assignment());
    consumer.resume(resume);
    log.info("{}: {} start now that their committed offsets are known", name, started);
    adapter.ownership().assigned(statesOf(started));
    adapter.balancer().add(queues, this);
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
            stops.add(adapter.balancer().remove(queues, holder).toCompletableFuture()));
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
          adapter.balancer().remove(queues, this),
          held,
          "committing what they delivered so far, the rest is delivered again by the next owner");
    }
    Map<TopicPartition, String> done = commit ? commitSync(held, "revoke") : Map.of();
    // Read before the states are dropped: what the loop still wanted to commit, and had committed.
    boolean unsent = commit && done.isEmpty() && !candidates(held, new HashMap<>()).isEmpty();
    Map<TopicPartition, String> committed = new LinkedHashMap<>();
    for (TopicPartition tp : held) {
      long c = owned.get(tp).committed;
      committed.put(tp, c < 0 ? "none" : Long.toString(c));
    }
    for (TopicPartition tp : tps) {
      pausedPartitions.remove(tp);
      // The field (partitions an operator holds), not the local list of what this loop released.
      this.held.remove(tp);
      awaitingStart.remove(tp);
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
    adapter.ownership().released(held, !commit);
    if (!commit) {
      log.info("{}: lost {} (no commit: another member owns them)", name, held);
    } else if (!done.isEmpty()) {
      log.info("{}: released {} after committing {}", name, held, done);
    } else if (unsent) {
      log.info(
          "{}: released {} without committing, the commit failed (committed: {}); the next owner"
              + " delivers what came after those offsets again",
          name,
          held,
          committed);
    } else {
      log.info("{}: released {}; nothing new to commit (committed: {})", name, held, committed);
    }
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
   * Seeks {@code tp} to {@code start}; {@code committed} is the group's committed offset, null when
   * it has none. Every start is an explicit seek: the consumers' auto.offset.reset is none.
   */
  private void seek(
      TopicPartition tp,
      PartitionState state,
      KafkaQueueAdapter.Start start,
      OffsetAndMetadata committed) {
    if (committed != null) {
      state.committed = committed.offset();
      state.committedMetadata = committed.metadata();
    }
    switch (start) {
      case COMMITTED -> {
        if (committed == null) {
          throw new IllegalStateException(tp + " starts at its committed offset but has none");
        }
        consumer.seek(tp, committed);
        // Whoever committed it delivered these above the commit already: skip them.
        state.restoreDelivered(committed.offset(), committed.metadata());
      }
      case BEGINNING -> consumer.seekToBeginning(List.of(tp));
      case END -> consumer.seekToEnd(List.of(tp));
    }
  }

  /**
   * Resolves the lazy seeks of {@code starts} now and records each start in its state, so that
   * STREAM_END means "after assignment", not "after the first fetch", and lag is known from the
   * start. Called after all of them were sought: resolving one position makes Kafka resolve every
   * partition that has none, and one left without a seek would fail them all. A position still
   * unknown (a timeout, or a partition that waits for its committed offset) is resolved by the next
   * poll.
   */
  private void resolve(Map<TopicPartition, KafkaQueueAdapter.Start> starts) {
    starts.forEach(
        (tp, start) -> {
          PartitionState state = owned.get(tp);
          try {
            state.startAt(consumer.position(tp, POSITION_TIMEOUT));
          } catch (WakeupException e) {
            throw e;
          } catch (Exception e) {
            log.debug("{}: position of {} not known yet: {}", name, tp, e.toString());
          }
          log.debug("{}: {} starts at {} ({})", name, tp, state.nextFetchOffset(), start);
        });
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
      // Called after every rebalance, also with nothing assigned: the member is in the group.
      joined = true;
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
            OffsetAndMetadata c = committed == null ? null : committed.get(tp);
            KafkaQueueAdapter.Start start = adapter.startFor(tp, state, c != null);
            seek(tp, state, start, c);
            resolve(Map.of(tp, start));
            adapter.ownership().assigned(List.of(state));
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
            adapter.ownership().released(List.of(tp), false);
            pausedPartitions.remove(tp);
            held.remove(tp);
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

  // ---------------------------------------------------------------- operator stop

  /**
   * An operator stopped the agents ({@code stopAgents}): pauses {@code state}'s partition, which
   * stays assigned (this loop keeps polling, so the group keeps the member), and commits its
   * delivered watermark synchronously. The stage completes on this thread once committed; any
   * thread may call it.
   */
  CompletableFuture<Void> hold(PartitionState state) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    submit(
        () -> {
          TopicPartition tp = state.tp;
          if (owned.get(tp) == state && !state.closed) {
            held.add(tp);
            state.held = true;
            if (consumer.assignment().contains(tp)) {
              consumer.pause(List.of(tp));
            }
            Map<TopicPartition, String> c = commitSync(List.of(tp), "stop");
            log.info(
                "{}: {} held by stopAgents; {}",
                name,
                tp,
                c.isEmpty() ? "nothing new to commit" : "committed " + c.get(tp));
          }
          done.complete(null);
        },
        done);
    return done;
  }

  /** Undoes {@link #hold}: fetching goes on unless backpressure still pauses it. Any thread. */
  CompletableFuture<Void> unhold(PartitionState state) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    submit(
        () -> {
          TopicPartition tp = state.tp;
          state.held = false;
          if (held.remove(tp)
              && owned.get(tp) == state
              && !pausedPartitions.contains(tp)
              && !awaitingStart.contains(tp)
              && consumer.assignment().contains(tp)) {
            consumer.resume(List.of(tp));
          }
          done.complete(null);
        },
        done);
    return done;
  }

  /** True once the group assigned this consumer its share, possibly empty; any thread. */
  boolean hasJoined() {
    return joined;
  }

  /** How many commits failed in a row (0 after one that worked); any thread. */
  int commitFailures() {
    return commitFailureStreak;
  }

  /** Milliseconds since this loop last returned from poll, on real time; any thread. */
  long millisSinceLastPoll() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastPollNanos);
  }

  /** True until the loop stopped; any thread. */
  boolean isRunning() {
    return running && !stopped.isDone();
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
    List<TopicPartition> left = new ArrayList<>();
    for (PartitionState s : owned.values()) {
      if (!s.closed) {
        left.add(s.tp);
      }
      adapter.dropState(s, this);
    }
    owned.clear();
    // Group mode released its partitions in the revoke callback of close(); static mode here.
    adapter.ownership().released(left, false);
    held.clear();
    awaitingStart.clear();
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
