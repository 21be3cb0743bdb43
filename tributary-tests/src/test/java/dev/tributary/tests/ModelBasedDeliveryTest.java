package dev.tributary.tests;

import static org.awaitility.Awaitility.await;

import dev.tributary.AsyncStream;
import dev.tributary.BatchStreamObserver;
import dev.tributary.EventSequenceToken;
import dev.tributary.FaultedSubscriptionException;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.SubscriberAddress;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.QueueId;
import dev.tributary.tests.DeliveryModel.Epoch;
import dev.tributary.tests.DeliveryModel.Ev;
import dev.tributary.tests.DeliveryModel.Invariant;
import dev.tributary.tests.DeliveryModel.Produced;
import dev.tributary.tests.DeliveryModel.Sub;
import dev.tributary.tests.DeliveryModel.Violation;
import dev.tributary.tests.ModelObserver.Behavior;
import dev.tributary.tests.ModelObserver.FailStyle;
import dev.tributary.tests.ModelObserver.Mode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * A seeded, randomized model-based test of the runtime on the memory adapter.
 *
 * <p>Each episode builds a runtime with one memory provider in a random configuration (queues,
 * cache size, containers per delivery, timer, threads, delivery backoff and a maxEventDeliveryTime
 * of a few milliseconds, a failure handler that skips or faults, maybe an implicit subscription),
 * then runs random operations on a few streams: produce single events and batches, subscribe with
 * and without a token (of an event already produced, or a future one), resume with and without a
 * token (also through a handle from {@code subscriptions()}), unsubscribe, release held
 * acknowledgements. Observers, single or batch, acknowledge at once, later from another thread,
 * when the episode releases them, fail a few attempts, or always. Then the episode releases
 * everything and waits until every live subscription has what it owes (at most {@link #QUIET}, and
 * no longer than {@link #STALL} after the last thing any observer, the acknowledgement listener or
 * the failure handler saw), closes the runtime and checks the record against {@code
 * docs/semantics.md}; see {@link DeliveryModel.Invariant} for the list and {@link DeliveryModel}
 * for how "owes" is decided. Nothing is asserted about how long anything took.
 *
 * <p>Thread timing is not reproducible, so a seed replays the same configuration and operations,
 * not the same interleaving. Properties: {@code -Dmodel.seed=<seed>[,<seed>...]} runs those
 * episodes ({@code -Dmodel.repeat=<n>} times each, default once, to catch a rare interleaving),
 * {@code -Dmodel.episodes=<n>} runs more (default {@value #DEFAULT_EPISODES}), {@code
 * -Dmodel.baseSeed=<n>} draws other seeds, {@code -Dmodel.maxFailures=<n>} stops after that many
 * failed episodes (default {@value #MAX_FAILED_EPISODES}).
 */
class ModelBasedDeliveryTest {

  private static final String MEM = "mem";
  private static final String IMPLICIT_NS = "imp";
  private static final String EXPLICIT_NS = "exp";
  private static final int DEFAULT_EPISODES = 1000;
  private static final long DEFAULT_BASE_SEED = 0x7269627574617279L;
  private static final int MAX_FAILED_EPISODES = 30;
  private static final int MAX_EXPLICIT_SUBS = 6;
  private static final int DETAILS = 6;
  private static final int DETAIL_CHARS = 7000;
  private static final int PER_INVARIANT = 4;
  private static final Duration JOIN = Duration.ofSeconds(10);
  private static final Duration QUIET = Duration.ofSeconds(10);
  private static final Duration STALL = Duration.ofSeconds(2);
  private static final int STALL_POLLS = 500;
  private static final Duration SETTLE = Duration.ofMillis(20);
  private static final Duration HANDOVER = Duration.ofMillis(10);

  @Test
  void randomEpisodes_keepTheDeliveryContract() {
    List<Long> seeds = seeds();
    int maxFailures = Integer.getInteger("model.maxFailures", MAX_FAILED_EPISODES);
    ScheduledThreadPoolExecutor completer =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, "model-completer");
              t.setDaemon(true);
              return t;
            });
    List<Result> failed = new ArrayList<>();
    int ran = 0;
    long events = 0;
    long passedNanos = 0;
    long slowest = 0;
    long started = System.nanoTime();
    try {
      for (long seed : seeds) {
        long t0 = System.nanoTime();
        Episode episode = new Episode(seed, completer);
        List<Violation> violations = episode.run();
        long took = System.nanoTime() - t0;
        slowest = Math.max(slowest, took);
        if (violations.isEmpty()) {
          passedNanos += took;
        }
        ran++;
        events += episode.model.events();
        if (!violations.isEmpty()) {
          Result r = new Result(seed, episode.cfg, violations, episode.model.trace());
          failed.add(r);
          System.out.println(detail(r));
          if (failed.size() >= maxFailures) {
            break;
          }
        }
      }
    } finally {
      completer.shutdownNow();
    }
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    int passed = ran - failed.size();
    System.out.printf(
        "ModelBasedDeliveryTest: %d episode(s), %d event(s) in %d ms; %d failed;"
            + " %.1f ms per passing episode, slowest %d ms%n",
        ran,
        events,
        millis,
        failed.size(),
        passed == 0 ? 0.0 : passedNanos / 1e6 / passed,
        TimeUnit.NANOSECONDS.toMillis(slowest));
    if (!failed.isEmpty()) {
      String report = report(failed, ran, maxFailures);
      System.out.println(report);
      throw new AssertionError(report);
    }
  }

  private static List<Long> seeds() {
    String only = System.getProperty("model.seed");
    if (only != null && !only.isBlank()) {
      int repeat = Integer.getInteger("model.repeat", 1);
      List<Long> out = new ArrayList<>();
      for (int r = 0; r < repeat; r++) {
        for (String seed : only.split(",")) {
          out.add(Long.parseLong(seed.trim()));
        }
      }
      return out;
    }
    int episodes = Integer.getInteger("model.episodes", DEFAULT_EPISODES);
    long base = Long.getLong("model.baseSeed", DEFAULT_BASE_SEED);
    List<Long> out = new ArrayList<>(episodes);
    for (int i = 0; i < episodes; i++) {
      out.add(mix(base + i));
    }
    return out;
  }

  /** SplitMix64's finalizer: neighbouring indices give unrelated seeds. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  private record Result(long seed, Config cfg, List<Violation> violations, String trace) {}

  /** The model's implicit observer is single or batch as the episode says. */
  @SuppressWarnings("unchecked")
  private static <T> T as(Object observer) {
    return (T) observer;
  }

  private static String report(List<Result> failed, int ran, int maxFailures) {
    StringBuilder b = new StringBuilder();
    b.append(failed.size())
        .append(" of ")
        .append(ran)
        .append(" episode(s) broke docs/semantics.md")
        .append(failed.size() >= maxFailures ? " (stopped early)" : "")
        .append("; rerun one with -Dmodel.seed=<seed>\n");
    Map<Invariant, List<Long>> seedsBy = new LinkedHashMap<>();
    for (Invariant i : Invariant.values()) {
      for (Result r : failed) {
        if (r.violations().stream().anyMatch(v -> v.invariant() == i)) {
          seedsBy.computeIfAbsent(i, k -> new ArrayList<>()).add(r.seed());
        }
      }
    }
    seedsBy.forEach(
        (i, s) ->
            b.append("  ")
                .append(i)
                .append(" (")
                .append(i.rule)
                .append("): ")
                .append(s.size())
                .append(" episode(s), seeds ")
                .append(s.subList(0, Math.min(s.size(), 5)))
                .append('\n'));
    List<Result> shown = new ArrayList<>();
    for (Invariant i : seedsBy.keySet()) {
      for (Result r : failed) {
        if (shown.size() < DETAILS
            && !shown.contains(r)
            && r.violations().stream().anyMatch(v -> v.invariant() == i)) {
          shown.add(r);
          break;
        }
      }
    }
    for (Result r : shown) {
      b.append(detail(r));
    }
    return b.toString();
  }

  private static String detail(Result r) {
    StringBuilder d = new StringBuilder();
    d.append("\n--- seed=").append(r.seed()).append(' ').append(r.cfg()).append('\n');
    d.append("  violations:\n");
    for (Invariant i : Invariant.values()) {
      List<Violation> of = r.violations().stream().filter(v -> v.invariant() == i).toList();
      for (int n = 0; n < of.size() && n < PER_INVARIANT; n++) {
        d.append("    [").append(i).append("] ").append(of.get(n).text()).append('\n');
      }
      if (of.size() > PER_INVARIANT) {
        d.append("    [").append(i).append("] ... ").append(of.size() - PER_INVARIANT);
        d.append(" more\n");
      }
    }
    d.append(r.trace());
    if (d.length() > DETAIL_CHARS) {
      d.setLength(DETAIL_CHARS);
      d.append("\n  ... (trace cut; rerun the seed for all of it)\n");
    }
    return d.toString();
  }

  /** The random part of an episode's runtime. */
  private record Config(
      int queues,
      int cacheSize,
      int containers,
      int timerMillis,
      int threads,
      int maxDeliveryMillis,
      boolean exponentialBackoff,
      boolean faultOnError,
      int implicit,
      int streams,
      int ops) {

    static Config random(Random rnd) {
      return new Config(
          1 + rnd.nextInt(4),
          rnd.nextBoolean() ? 16 + rnd.nextInt(17) : 16 + rnd.nextInt(241),
          1 + rnd.nextInt(3),
          1 + rnd.nextInt(5),
          1 + rnd.nextInt(2),
          rnd.nextInt(4),
          rnd.nextBoolean(),
          rnd.nextInt(100) < 15,
          rnd.nextInt(100) < 60 ? 0 : 1 + rnd.nextInt(2),
          1 + rnd.nextInt(4),
          10 + rnd.nextInt(31));
    }

    @Override
    public String toString() {
      return "queues="
          + queues
          + " cacheSize="
          + cacheSize
          + " batchContainerBatchSize="
          + containers
          + " timer="
          + timerMillis
          + "ms threads="
          + threads
          + " maxEventDeliveryTime="
          + maxDeliveryMillis
          + "ms backoff="
          + (exponentialBackoff ? "exp(1..3ms)" : "fixed(1ms)")
          + " handler="
          + (faultOnError ? "FAULT" : "SKIP")
          + " implicit="
          + (implicit == 0 ? "none" : implicit == 1 ? "single" : "batch")
          + " streams="
          + streams
          + " ops="
          + ops;
    }
  }

  /** One episode: a runtime, random operations, quiescence, close. */
  private static final class Episode {
    final Random rnd;
    final Config cfg;
    final DeliveryModel model;
    final Map<String, Object> addressed = new java.util.concurrent.ConcurrentHashMap<>();
    final List<QueueId> queueOf = new ArrayList<>();
    final Map<QueueId, Long> nextSeq = new HashMap<>();
    final int[] nextEvent;
    StreamRuntime runtime;

    Episode(long seed, ScheduledThreadPoolExecutor completer) {
      this.rnd = new Random(seed);
      this.cfg = Config.random(rnd);
      this.model = new DeliveryModel(cfg.faultOnError(), cfg.implicit() == 2, completer);
      this.nextEvent = new int[cfg.streams()];
    }

    List<Violation> run() {
      try {
        start();
        for (int i = 0; i < cfg.ops(); i++) {
          step();
        }
        quiesce();
      } catch (Throwable t) {
        model.violation(Invariant.UNEXPECTED, "the episode failed at t" + model.tick() + ": " + t);
      } finally {
        model.draining = true;
        model.releaseAll();
        if (runtime != null) {
          try {
            runtime.close();
          } catch (Throwable t) {
            model.violation(Invariant.UNEXPECTED, "close() failed: " + t);
          }
        }
        model.closed = true;
        model.ops.add("t" + model.tick() + " closed");
        try {
          pollUntil(Duration.ofSeconds(2), model::asyncIdle);
        } catch (ConditionTimeoutException e) {
          model.ops.add("asynchronous completions still pending after 2 s");
        }
      }
      return model.check();
    }

    private void start() {
      MemoryQueueAdapterFactory memory =
          MemoryQueueAdapterFactory.builder()
              .queueCount(cfg.queues())
              .failureHandler(model.failureHandler())
              .acknowledgementListener(model::onAck)
              .build();
      BackoffPolicy backoff =
          cfg.exponentialBackoff()
              ? BackoffPolicy.exponential(Duration.ofMillis(1), Duration.ofMillis(3))
              : BackoffPolicy.fixed(Duration.ofMillis(1));
      StreamRuntime.Builder b =
          StreamRuntime.builder()
              .subscriberResolver(
                  (address, record) -> {
                    Object o = addressed.get(address.value());
                    if (o == null) {
                      throw new IllegalStateException("unknown test address " + address);
                    }
                    return o;
                  })
              .threads(cfg.threads())
              .addProvider(
                  MEM,
                  memory,
                  o ->
                      o.getQueueMessagesTimerPeriod(Duration.ofMillis(cfg.timerMillis()))
                          .cacheSize(cfg.cacheSize())
                          .batchContainerBatchSize(cfg.containers())
                          .maxEventDeliveryTime(Duration.ofMillis(cfg.maxDeliveryMillis()))
                          .deliveryBackoff(backoff)
                          .drainTimeout(Duration.ofSeconds(5))
                          .subscribeTimeout(JOIN));
      if (cfg.implicit() == 1) {
        b.implicitSubscription(
            MEM,
            IMPLICIT_NS,
            id -> ModelBasedDeliveryTest.<StreamObserver<Object>>as(model.implicitObserver(id)));
      } else if (cfg.implicit() == 2) {
        b.implicitBatchSubscription(
            MEM,
            IMPLICIT_NS,
            id ->
                ModelBasedDeliveryTest.<BatchStreamObserver<Object>>as(model.implicitObserver(id)));
      }
      for (int s = 0; s < cfg.streams(); s++) {
        boolean implicit = cfg.implicit() != 0 && rnd.nextBoolean();
        StreamId id =
            StreamId.of(implicit ? IMPLICIT_NS : EXPLICIT_NS, "k" + s + "-" + rnd.nextInt(1000));
        model.addStream(id, implicit ? Behavior.random(rnd) : null);
      }
      runtime = b.build();
      runtime.start();
      for (StreamId id : model.streams) {
        queueOf.add(memory.streamQueueMapper().queueForStream(id));
      }
      model.ops.add("t" + model.tick() + " started; streams " + model.streams + " on " + queueOf);
    }

    private void step() {
      int w = rnd.nextInt(100);
      if (w < 30) {
        produce(false);
      } else if (w < 40) {
        produce(true);
      } else if (w < 52) {
        subscribe(false);
      } else if (w < 60) {
        subscribe(true);
      } else if (w < 68) {
        resume(rnd.nextInt(3) == 0 ? ResumeKind.BATCH : ResumeKind.SINGLE);
      } else if (w < 78) {
        resume(ResumeKind.TOKEN);
      } else if (w < 81) {
        resume(ResumeKind.LISTED);
      } else if (w < 85) {
        unsubscribe();
      } else if (w < 89) {
        handover();
      } else if (w < 95) {
        release();
      } else {
        settle();
      }
    }

    private AsyncStream<Object> stream(int s) {
      return runtime.provider(MEM).stream(model.streams.get(s));
    }

    private void log(long tick, String what) {
      model.ops.add("t" + tick + " " + what);
    }

    private void produce(boolean batch) {
      int s = rnd.nextInt(cfg.streams());
      int rounds = batch ? 1 : 1 + rnd.nextInt(3);
      for (int r = 0; r < rounds; r++) {
        int size = batch ? 2 + rnd.nextInt(3) : 1;
        List<Ev> events = new ArrayList<>();
        for (int i = 0; i < size; i++) {
          events.add(new Ev(s, nextEvent[s]++));
        }
        QueueId q = queueOf.get(s);
        long seq = nextSeq.merge(q, 1L, Long::sum) - 1;
        long tick = model.tick();
        List<Produced> produced = model.produce(s, seq, events, tick);
        CompletionStage<Void> stage =
            batch
                ? stream(s).onNextBatch(new ArrayList<Object>(events))
                : stream(s).onNext(events.get(0));
        join(stage, "produce " + events);
        log(tick, (batch ? "produce batch " : "produce ") + produced);
      }
    }

    private StreamSequenceToken pickToken(int s) {
      List<Produced> events = model.produced.get(s);
      long next = nextSeq.getOrDefault(queueOf.get(s), 0L);
      int r = rnd.nextInt(10);
      if (!events.isEmpty() && r < 5) {
        int back = rnd.nextInt(Math.min(events.size(), 8));
        return events.get(events.size() - 1 - back).token();
      }
      if (!events.isEmpty() && r < 6) {
        return events.get(0).token();
      }
      if (r < 8 || next == 0) {
        return new EventSequenceToken(next + rnd.nextInt(3), 0);
      }
      return new EventSequenceToken(rnd.nextLong(next), 0);
    }

    /** Registers {@code o} under a fresh address, as a transport would make one of a subscriber. */
    private SubscriberAddress address(ModelObserver o, boolean batch) {
      String a = "model:" + o + ":" + addressed.size();
      addressed.put(a, batch ? o.batchObserver() : o.single());
      return SubscriberAddress.of(a);
    }

    private void subscribe(boolean withToken) {
      if (liveExplicit() >= MAX_EXPLICIT_SUBS) {
        produce(false);
        return;
      }
      int s = rnd.nextInt(cfg.streams());
      boolean batch = rnd.nextInt(10) < 3;
      Behavior behavior = Behavior.random(rnd);
      if (batch && rnd.nextInt(3) == 0) {
        behavior = new Behavior(Mode.FLAKY, 1 + rnd.nextInt(3), behavior.style());
      }
      StreamSequenceToken token = withToken ? pickToken(s) : null;
      Sub sub = model.newSub(s);
      long call = model.tick();
      Epoch e = model.newEpoch(sub, withToken ? "subscribe(token)" : "subscribe", token, call);
      ModelObserver o = model.newObserver(e, behavior, batch);
      AsyncStream<Object> stream = stream(s);
      CompletionStage<StreamSubscriptionHandle<Object>> stage;
      // A third of the subscriptions without a token are cluster-wide: the same guarantees,
      // through the store's handshake and the resolver.
      sub.addressed = !withToken && rnd.nextInt(3) == 0;
      if (sub.addressed) {
        stage = stream.subscribe(address(o, batch));
      } else if (batch) {
        stage =
            withToken
                ? stream.subscribe(o.batchObserver(), token)
                : stream.subscribe(o.batchObserver());
      } else {
        stage = withToken ? stream.subscribe(o.single(), token) : stream.subscribe(o.single());
      }
      String what =
          "subscribe "
              + sub
              + " to s"
              + s
              + " with "
              + o
              + (batch ? " batch " : " single ")
              + behavior
              + (withToken ? " from " + token : "")
              + (sub.addressed ? " by address" : "");
      StreamSubscriptionHandle<Object> handle = join(stage, what);
      e.doneTick = model.tick();
      sub.id = handle.subscriptionId();
      model.subsById.put(sub.id, sub);
      sub.handle = handle;
      sub.current = o;
      log(call, what + ", done t" + e.doneTick);
    }

    private enum ResumeKind {
      SINGLE,
      BATCH,
      TOKEN,
      LISTED
    }

    private void resume(ResumeKind kind) {
      Sub sub = pickLive();
      if (sub == null) {
        produce(false);
        return;
      }
      resume(sub, kind, null);
    }

    /**
     * A batch observer that is failing a batch hands over to a single observer that holds its first
     * acknowledgement; once that one is called, it is replaced or unsubscribed in turn. The runtime
     * must not call it again after that, whatever it still had pending.
     */
    private void handover() {
      List<Sub> batchSubs = new ArrayList<>();
      for (Sub s : model.subs) {
        if (!s.implicit && !s.dead && s.handle != null && s.current.batch) {
          batchSubs.add(s);
        }
      }
      if (batchSubs.isEmpty()) {
        subscribe(false);
        return;
      }
      Sub sub = batchSubs.get(rnd.nextInt(batchSubs.size()));
      ModelObserver taker =
          resume(
              sub,
              rnd.nextInt(4) == 0 ? ResumeKind.TOKEN : ResumeKind.SINGLE,
              new Behavior(Mode.HOLD, 1, FailStyle.ASYNC));
      if (taker == null) {
        return;
      }
      long tick = model.tick();
      boolean called;
      try {
        pollUntil(HANDOVER, taker::busy);
        called = true;
      } catch (ConditionTimeoutException e) {
        called = false;
      }
      log(tick, "handover: " + taker + (called ? " was called" : " was not called yet"));
      if (rnd.nextInt(3) == 0) {
        unsubscribe(sub);
      } else {
        resume(sub, rnd.nextBoolean() ? ResumeKind.SINGLE : ResumeKind.TOKEN, null);
      }
    }

    /** Resumes {@code sub}; returns the new observer, or null when the resume failed. */
    @SuppressWarnings("unchecked")
    private ModelObserver resume(Sub sub, ResumeKind kind, Behavior forced) {
      StreamSubscriptionHandle<Object> handle = (StreamSubscriptionHandle<Object>) sub.handle;
      boolean listed = false;
      if (kind == ResumeKind.LISTED) {
        List<StreamSubscriptionHandle<Object>> all =
            join(stream(sub.stream).subscriptions(), "subscriptions() of s" + sub.stream);
        for (StreamSubscriptionHandle<Object> h : all) {
          if (h.subscriptionId().equals(sub.id)) {
            handle = h;
            listed = true;
          }
        }
      }
      // A cluster-wide subscription resumes at a new address, keeping its position.
      boolean withToken =
          !sub.addressed
              && (kind == ResumeKind.TOKEN || (kind == ResumeKind.LISTED && rnd.nextBoolean()));
      boolean batch =
          kind == ResumeKind.BATCH
              || (kind == ResumeKind.LISTED && !withToken && rnd.nextInt(3) == 0);
      StreamSequenceToken token = withToken ? pickToken(sub.stream) : null;
      Behavior behavior = forced != null ? forced : Behavior.random(rnd);
      if (forced == null && sub.current.batch && !batch && rnd.nextBoolean()) {
        // A single observer that takes over a batch one while a batch may be pending, and holds
        // its acknowledgement: the switch the runtime gets wrong most easily.
        behavior = new Behavior(rnd.nextBoolean() ? Mode.HOLD : Mode.ASYNC, 1, FailStyle.ASYNC);
      }
      long call = model.tick();
      Epoch previous = sub.epoch();
      Epoch e = withToken ? model.newEpoch(sub, "resume(token)", token, call) : previous;
      if (withToken) {
        previous.endTick = call;
      }
      ModelObserver o = model.newObserver(e, behavior, batch);
      String what =
          "resume "
              + sub
              + (listed ? " (listed handle)" : "")
              + " with "
              + o
              + (batch ? " batch " : " single ")
              + behavior
              + (withToken ? " from " + token : "")
              + (sub.addressed ? " by address" : "")
              + ", replacing "
              + sub.current;
      CompletionStage<StreamSubscriptionHandle<Object>> stage;
      if (sub.addressed) {
        stage = handle.resume(address(o, batch));
      } else if (batch) {
        stage = handle.resume(o.batchObserver());
      } else {
        stage = withToken ? handle.resume(o.single(), token) : handle.resume(o.single());
      }
      StreamSubscriptionHandle<Object> resumed;
      try {
        resumed = join(stage, what);
      } catch (FaultedSubscriptionException faulted) {
        long done = model.tick();
        o.retire("its resume failed at t" + done);
        if (withToken) {
          e.endTick = call;
        }
        sub.dead = true;
        log(call, what + ": failed at t" + done + ", the subscription is faulted");
        return null;
      }
      long done = model.tick();
      if (withToken) {
        e.doneTick = done;
      }
      sub.current.retire("the resume at t" + call + " completed at t" + done);
      sub.current = o;
      sub.handle = resumed;
      log(call, what + ", done t" + done);
      return o;
    }

    private void unsubscribe() {
      Sub sub = pickLive();
      if (sub == null) {
        produce(false);
        return;
      }
      unsubscribe(sub);
    }

    private void unsubscribe(Sub sub) {
      @SuppressWarnings("unchecked")
      StreamSubscriptionHandle<Object> handle = (StreamSubscriptionHandle<Object>) sub.handle;
      long call = model.tick();
      sub.epoch().endTick = call;
      join(handle.unsubscribe(), "unsubscribe " + sub);
      long done = model.tick();
      sub.current.retire("the unsubscribe at t" + call + " completed at t" + done);
      sub.dead = true;
      log(call, "unsubscribe " + sub + " (" + sub.current + "), done t" + done);
    }

    private void release() {
      int held = model.heldCount();
      int n = rnd.nextInt(3) == 0 ? Integer.MAX_VALUE : 1 + rnd.nextInt(3);
      long tick = model.tick();
      int done = model.release(n);
      log(tick, "release " + done + " of " + held + " held stage(s)");
    }

    /** Lets deliveries catch up for a moment: pacing only, nothing is asserted. */
    private void settle() {
      long tick = model.tick();
      boolean quiet;
      try {
        pollUntil(SETTLE, () -> model.quiet(true));
        quiet = true;
      } catch (ConditionTimeoutException e) {
        quiet = false;
      }
      log(tick, "settle: " + (quiet ? "quiet" : "still busy") + " at t" + model.clock.get());
    }

    /** Releases everything, then waits until every live subscription has what it owes. */
    private void quiesce() {
      model.draining = true;
      long tick = model.tick();
      model.releaseAll();
      // Gives up early only when nothing at all happened for STALL while this thread kept polling
      // (so a pause of the whole JVM does not count as the runtime being stuck).
      long[] last = {model.clock.get(), System.nanoTime(), 0};
      String outcome;
      try {
        pollUntil(
            QUIET,
            () -> {
              model.releaseAll();
              if (model.quiet(false)) {
                return true;
              }
              long c = model.clock.get();
              long now = System.nanoTime();
              if (c != last[0]) {
                last[0] = c;
                last[1] = now;
                last[2] = 0;
                return false;
              }
              return ++last[2] > STALL_POLLS && now - last[1] > STALL.toNanos();
            });
        outcome = model.quiet(false) ? "quiet" : "NOT quiet: nothing happened for " + STALL;
      } catch (ConditionTimeoutException e) {
        outcome = "NOT quiet after " + QUIET;
      }
      log(tick, "quiesce: " + outcome + " at t" + model.clock.get());
    }

    private int liveExplicit() {
      int n = 0;
      for (Sub s : model.subs) {
        if (!s.implicit && !s.dead) {
          n++;
        }
      }
      return n;
    }

    private Sub pickLive() {
      List<Sub> live = new ArrayList<>();
      for (Sub s : model.subs) {
        if (!s.implicit && !s.dead && s.handle != null) {
          live.add(s);
        }
      }
      return live.isEmpty() ? null : live.get(rnd.nextInt(live.size()));
    }

    private <T> T join(CompletionStage<T> stage, String what) {
      try {
        return stage.toCompletableFuture().get(JOIN.toMillis(), TimeUnit.MILLISECONDS);
      } catch (ExecutionException | CompletionException e) {
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        if (cause instanceof RuntimeException re) {
          throw re;
        }
        throw new IllegalStateException(what + " failed", cause);
      } catch (TimeoutException e) {
        throw new IllegalStateException(what + " did not complete within " + JOIN);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted: " + what);
      }
    }
  }

  private static void pollUntil(Duration atMost, Callable<Boolean> done) {
    await()
        .atMost(atMost)
        .pollInSameThread()
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(1))
        .until(done);
  }
}
