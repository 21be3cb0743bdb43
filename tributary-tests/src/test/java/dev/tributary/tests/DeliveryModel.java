package dev.tributary.tests;

import dev.tributary.EventSequenceToken;
import dev.tributary.QueueCacheMissException;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.DeliveryFailure;
import dev.tributary.spi.StreamFailureHandler;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What one episode of {@link ModelBasedDeliveryTest} did and saw, and the contract of {@code
 * docs/semantics.md} checked against it.
 *
 * <p>Every fact carries a tick of one episode-wide counter: the test thread takes one before it
 * produces an event and after a subscribe, resume or unsubscribe stage completed; observers take
 * one when called and when their stage completes (before completing it); the acknowledgement
 * listener and the failure handler take one when called. So "before" in the checks is a
 * happens-before edge, never a guess about timing.
 *
 * <p>A subscription's life is split into <em>epochs</em>: {@code subscribe} starts one, a {@code
 * resume} with a token ends it and starts the next, {@code resume} without a token keeps it (the
 * new observer joins), {@code unsubscribe} ends it. Within an epoch nothing may be delivered twice
 * and everything it owes must be delivered or given up.
 */
final class DeliveryModel {
  static final long NEVER = Long.MAX_VALUE;
  private static final int EXAMPLES = 4;

  /** What is checked; each violation names one. */
  enum Invariant {
    SERIAL("an observer is never called while a stage it returned is incomplete"),
    REPLACED("an observer gets no call once the unsubscribe/resume that replaced it completed"),
    AFTER_CLOSE("no observer is called after close() returned"),
    ORDER("tokens of an observer and of a subscription strictly increase; nothing twice"),
    START("a subscribe or resume from a token starts at the event at the token"),
    CACHE_MISS("a cache miss is reported first, then delivery goes on from the oldest cached"),
    AT_LEAST_ONCE("every event a subscription owes is delivered or given up"),
    GIVE_UP_REPORT("every given-up event reaches onError and the failure handler, by its token"),
    WRONG_EVENT("an observer gets events of its own stream at the tokens they were produced at"),
    ACK_ONCE("the memory adapter acknowledges every produced batch at most once"),
    ACK_BEFORE_DELIVERY("a batch is acknowledged only after every subscription needing it had it"),
    IMPLICIT("implicit subscriptions: one observer per stream, never faulted"),
    FAULT("a faulted subscription is told so and gets nothing more"),
    UNEXPECTED("the episode itself failed: an API call threw or timed out");

    final String rule;

    Invariant(String rule) {
      this.rule = rule;
    }
  }

  /** One produced event; unique within an episode. */
  record Ev(int stream, int n) {
    @Override
    public String toString() {
      return "s" + stream + "#" + n;
    }
  }

  /** An event with the token the memory queue gave it and the tick taken before producing it. */
  record Produced(Ev ev, EventSequenceToken token, long tick) {
    @Override
    public String toString() {
      return ev + "@" + token;
    }
  }

  record BatchKey(StreamId stream, long seq) {}

  record Ack(BatchKey key, long tick) {}

  record Report(DeliveryFailure failure, long tick) {}

  record Violation(Invariant invariant, String text) {}

  record Miss(QueueCacheMissException miss, long tick, ModelObserver observer) {}

  /** One subscription, explicit or implicit. */
  static final class Sub {
    final String label;
    final int stream;
    final boolean implicit;
    final List<Epoch> epochs = new CopyOnWriteArrayList<>();
    final ConcurrentLinkedQueue<Miss> misses = new ConcurrentLinkedQueue<>();
    final AtomicLong faultedTick = new AtomicLong(NEVER);
    volatile UUID id;
    final AtomicInteger activations = new AtomicInteger();

    // Explicit subscriptions only; owned by the test thread.
    Object handle;
    boolean dead;

    /** Cluster-wide: subscribed and resumed through a SubscriberAddress and the resolver. */
    boolean addressed;

    ModelObserver current;

    Sub(String label, int stream, boolean implicit) {
      this.label = label;
      this.stream = stream;
      this.implicit = implicit;
    }

    void onMiss(QueueCacheMissException miss, long tick, ModelObserver observer) {
      misses.add(new Miss(miss, tick, observer));
    }

    void onFaulted(long tick, ModelObserver observer) {
      faultedTick.accumulateAndGet(tick, Math::min);
      if (implicit) {
        observer.model.violation(
            Invariant.IMPLICIT, label + " (implicit) was faulted at t" + tick + " via " + observer);
      }
    }

    /**
     * The epoch a cache miss belongs to: the latest one started before it with that token. Two
     * epochs of one subscription may ask for the same token; a miss cannot belong to one started
     * after it was reported.
     */
    Epoch owner(Miss m) {
      Epoch owner = null;
      for (Epoch e : epochs) {
        if (e.from != null && e.from.equals(m.miss().requested()) && e.callTick < m.tick()) {
          owner = e;
        }
      }
      return owner;
    }

    /** The first cache miss that belongs to {@code e}, or null. */
    Miss missOf(Epoch e) {
      for (Miss m : misses) {
        if (owner(m) == e) {
          return m;
        }
      }
      return null;
    }

    Epoch epoch() {
      return epochs.get(epochs.size() - 1);
    }

    List<ModelObserver> observers() {
      List<ModelObserver> out = new ArrayList<>();
      for (Epoch e : epochs) {
        out.addAll(e.observers);
      }
      return out;
    }

    @Override
    public String toString() {
      return label;
    }
  }

  /** A stretch of one subscription with one start position; see the class comment. */
  static final class Epoch {
    final Sub sub;
    final int index;
    final String how;
    final StreamSequenceToken from;
    final long callTick;
    volatile long doneTick = NEVER;
    volatile long endTick = NEVER;
    final List<ModelObserver> observers = new CopyOnWriteArrayList<>();

    private final DeliveryModel model;
    private final Map<StreamSequenceToken, Long> ackedAt = new HashMap<>();
    private final Map<StreamSequenceToken, Long> givenUpAt = new HashMap<>();
    private final List<List<StreamSequenceToken>> failedCalls = new ArrayList<>();
    private StreamSequenceToken lastAck;
    private ModelObserver lastAckBy;
    private boolean disordered;
    private StreamSequenceToken firstCall;
    private long firstCallTick = NEVER;
    private ModelObserver firstCallBy;

    Epoch(
        DeliveryModel model,
        Sub sub,
        int index,
        String how,
        StreamSequenceToken from,
        long callTick) {
      this.model = model;
      this.sub = sub;
      this.index = index;
      this.how = how;
      this.from = from;
      this.callTick = callTick;
    }

    synchronized void onCall(ModelObserver o, List<StreamSequenceToken> tokens, long t) {
      if (firstCall == null) {
        firstCall = tokens.get(0);
        firstCallTick = t;
        firstCallBy = o;
      }
      if (lastAck != null && lastAckBy != o && tokens.get(0).compareTo(lastAck) <= 0) {
        disordered = true;
        model.violation(
            Invariant.ORDER,
            this
                + ": "
                + o
                + " called with "
                + tokens(tokens)
                + " at t"
                + t
                + " though "
                + lastAckBy
                + " of the same subscription already acknowledged "
                + lastAck
                + " (nothing may repeat across a resume without token)");
      }
    }

    synchronized void onAck(ModelObserver o, List<StreamSequenceToken> tokens, long t) {
      for (StreamSequenceToken token : tokens) {
        if (lastAck != null && token.compareTo(lastAck) <= 0) {
          disordered = true;
          model.violation(
              Invariant.ORDER,
              this
                  + ": "
                  + o
                  + " acknowledged "
                  + token
                  + " at t"
                  + t
                  + (ackedAt.containsKey(token)
                      ? " a second time (first at t" + ackedAt.get(token) + ")"
                      : " after " + lastAckBy + " acknowledged " + lastAck));
        } else {
          lastAck = token;
          lastAckBy = o;
        }
        ackedAt.putIfAbsent(token, t);
      }
    }

    /** Delivery went backwards in this epoch (already reported as ORDER). */
    synchronized void disordered() {
      disordered = true;
    }

    synchronized void onFailedCall(List<StreamSequenceToken> tokens) {
      failedCalls.add(tokens);
    }

    synchronized void onGiveUp(StreamSequenceToken token, long t) {
      if (token != null) {
        givenUpAt.putIfAbsent(token, t);
      }
    }

    synchronized View view() {
      return new View(
          Map.copyOf(ackedAt),
          Map.copyOf(givenUpAt),
          List.copyOf(failedCalls),
          disordered,
          firstCall,
          firstCallTick,
          firstCallBy);
    }

    boolean busy() {
      for (ModelObserver o : observers) {
        if (o.busy()) {
          return true;
        }
      }
      return false;
    }

    @Override
    public String toString() {
      return sub.label + "/e" + index;
    }

    String describe() {
      return this
          + " "
          + how
          + (from == null ? "" : " from " + from)
          + " (t"
          + callTick
          + ".."
          + (doneTick == NEVER ? "never" : "t" + doneTick)
          + (endTick == NEVER ? "" : ", ended t" + endTick)
          + ")";
    }
  }

  /** A consistent copy of an epoch's observations. */
  record View(
      Map<StreamSequenceToken, Long> ackedAt,
      Map<StreamSequenceToken, Long> givenUpAt,
      List<List<StreamSequenceToken>> failedCalls,
      boolean disordered,
      StreamSequenceToken firstCall,
      long firstCallTick,
      ModelObserver firstCallBy) {}

  /** The failure handler reports, by subscription. */
  private final class Index {
    final Map<Sub, Map<StreamSequenceToken, Long>> reported = new HashMap<>();
    final Map<Sub, Long> firstReport = new HashMap<>();

    /**
     * Batches some subscription gave up on, by a report's token or batch or a reported failed call:
     * the cache evicts them without acknowledging them.
     */
    final Set<BatchKey> failedBatches = new HashSet<>();

    final Set<BatchKey> acked = new HashSet<>();

    final List<Report> unknown = new ArrayList<>();

    Index() {
      index();
      for (Sub sub : subs) {
        Map<StreamSequenceToken, Long> told = reported(sub);
        for (Epoch e : sub.epochs) {
          View v = e.view();
          for (List<StreamSequenceToken> call : v.failedCalls()) {
            boolean givenUp = false;
            for (StreamSequenceToken t : call) {
              givenUp |= told.containsKey(t) || v.givenUpAt().containsKey(t);
            }
            for (StreamSequenceToken t : givenUp ? call : List.<StreamSequenceToken>of()) {
              failedBatches.add(new BatchKey(streams.get(sub.stream), t.sequenceNumber()));
            }
          }
        }
      }
    }

    private void index() {
      for (Ack a : acks) {
        acked.add(a.key());
      }
      for (Report r : reports) {
        DeliveryFailure f = r.failure();
        if (f.batch() != null) {
          failedBatches.add(new BatchKey(f.streamId(), f.batch().sequenceToken().sequenceNumber()));
        }
        Sub sub =
            f.implicit() ? implicitByStream.get(f.streamId()) : subsById.get(f.subscriptionId());
        if (sub == null) {
          unknown.add(r);
          continue;
        }
        if (f.token() != null) {
          reported.computeIfAbsent(sub, k -> new HashMap<>()).putIfAbsent(f.token(), r.tick());
          failedBatches.add(new BatchKey(f.streamId(), f.token().sequenceNumber()));
        }
        firstReport.merge(sub, r.tick(), Math::min);
      }
    }

    Map<StreamSequenceToken, Long> reported(Sub sub) {
      return reported.getOrDefault(sub, Map.of());
    }

    /** Where a subscription's epochs end at the latest: its fault, if the handler faults. */
    long faultTick(Sub sub) {
      if (!faultOnError || sub.implicit) {
        return NEVER;
      }
      return firstReport.getOrDefault(sub, NEVER);
    }
  }

  final boolean faultOnError;
  final AtomicLong clock = new AtomicLong();
  final List<StreamId> streams = new ArrayList<>();
  final List<List<Produced>> produced = new ArrayList<>();
  final List<Sub> subs = new CopyOnWriteArrayList<>();
  final Map<UUID, Sub> subsById = new ConcurrentHashMap<>();
  final Map<StreamId, Sub> implicitByStream = new ConcurrentHashMap<>();
  final List<String> ops = new ArrayList<>();
  volatile boolean draining;
  volatile boolean closed;

  private final Map<StreamId, Integer> streamIndex = new HashMap<>();
  private final Map<Ev, EventSequenceToken> tokenOf = new ConcurrentHashMap<>();
  private final Map<BatchKey, List<Produced>> batches = new ConcurrentHashMap<>();
  private final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Report> reports = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Violation> violations = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Runnable> held = new ConcurrentLinkedQueue<>();
  private final AtomicInteger pendingAsync = new AtomicInteger();
  private final AtomicInteger observerCount = new AtomicInteger();
  private final ScheduledExecutorService completer;
  private final Map<Integer, ModelObserver.Behavior> implicitBehaviors = new HashMap<>();
  private final boolean implicitBatch;

  DeliveryModel(boolean faultOnError, boolean implicitBatch, ScheduledExecutorService completer) {
    this.faultOnError = faultOnError;
    this.implicitBatch = implicitBatch;
    this.completer = completer;
  }

  long tick() {
    return clock.incrementAndGet();
  }

  void violation(Invariant invariant, String text) {
    violations.add(new Violation(invariant, text));
  }

  // ------------------------------------------------------------------ set-up

  /** Adds stream {@code id}; with {@code implicit} its namespace has an implicit subscription. */
  void addStream(StreamId id, ModelObserver.Behavior implicit) {
    int index = streams.size();
    streams.add(id);
    produced.add(new ArrayList<>());
    streamIndex.put(id, index);
    if (implicit != null) {
      Sub sub = new Sub("I" + index, index, true);
      sub.epochs.add(new Epoch(this, sub, 0, "implicit", null, 0));
      sub.epochs.get(0).doneTick = 0;
      implicitBehaviors.put(index, implicit);
      implicitByStream.put(id, sub);
      subs.add(sub);
    }
  }

  /** The implicit subscription's observer factory; called on an agent's thread. */
  Object implicitObserver(StreamId id) {
    Sub sub = implicitByStream.get(id);
    if (sub == null) {
      violation(Invariant.IMPLICIT, "observer factory called for " + id + ", not a model stream");
      return (StreamObserver<Object>) (item, token) -> CompletableFuture.completedFuture(null);
    }
    int n = sub.activations.incrementAndGet();
    if (n > 1) {
      violation(
          Invariant.IMPLICIT,
          "the observer factory was called " + n + " times for " + id + " (" + sub + ")");
    }
    ModelObserver o = newObserver(sub.epoch(), implicitBehaviors.get(sub.stream), implicitBatch);
    return implicitBatch ? o.batchObserver() : o.single();
  }

  ModelObserver newObserver(Epoch epoch, ModelObserver.Behavior behavior, boolean batch) {
    ModelObserver o =
        new ModelObserver(this, "o" + observerCount.incrementAndGet(), epoch, behavior, batch);
    epoch.observers.add(o);
    return o;
  }

  Sub newSub(int stream) {
    Sub sub = new Sub("S" + subs.size(), stream, false);
    subs.add(sub);
    return sub;
  }

  Epoch newEpoch(Sub sub, String how, StreamSequenceToken from, long callTick) {
    Epoch e = new Epoch(this, sub, sub.epochs.size(), how, from, callTick);
    sub.epochs.add(e);
    return e;
  }

  /** Records events about to be produced as one queue batch of {@code stream}. */
  List<Produced> produce(int stream, long seq, List<Ev> events, long tick) {
    List<Produced> out = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      EventSequenceToken token = new EventSequenceToken(seq, i);
      Produced p = new Produced(events.get(i), token, tick);
      tokenOf.put(p.ev(), token);
      out.add(p);
    }
    produced.get(stream).addAll(out);
    batches.put(new BatchKey(streams.get(stream), seq), List.copyOf(out));
    return out;
  }

  StreamSequenceToken tokenOf(Ev ev) {
    return tokenOf.get(ev);
  }

  int events() {
    int n = 0;
    for (List<Produced> l : produced) {
      n += l.size();
    }
    return n;
  }

  // ------------------------------------------------------------------ runtime hooks

  /** The memory adapter's acknowledgement listener. */
  void onAck(BatchContainer batch) {
    acks.add(
        new Ack(new BatchKey(batch.streamId(), batch.sequenceToken().sequenceNumber()), tick()));
  }

  /** The provider's failure handler: records every report, faults when the episode says so. */
  StreamFailureHandler failureHandler() {
    return new StreamFailureHandler() {
      @Override
      public boolean shouldFaultSubscriptionOnError() {
        return faultOnError;
      }

      @Override
      public CompletionStage<Void> onDeliveryFailure(DeliveryFailure failure) {
        reports.add(new Report(failure, tick()));
        return CompletableFuture.completedFuture(null);
      }
    };
  }

  void hold(Runnable completion) {
    held.add(completion);
    if (draining) {
      releaseAll();
    }
  }

  void async(Runnable completion, long delay, TimeUnit unit) {
    pendingAsync.incrementAndGet();
    completer.schedule(
        () -> {
          try {
            completion.run();
          } finally {
            pendingAsync.decrementAndGet();
          }
        },
        delay,
        unit);
  }

  int heldCount() {
    return held.size();
  }

  /** Completes up to {@code n} held stages, oldest first; returns how many. */
  int release(int n) {
    int done = 0;
    Runnable r;
    while (done < n && (r = held.poll()) != null) {
      r.run();
      done++;
    }
    return done;
  }

  void releaseAll() {
    release(Integer.MAX_VALUE);
  }

  boolean asyncIdle() {
    return pendingAsync.get() == 0;
  }

  // ------------------------------------------------------------------ obligations

  /**
   * True when {@code p} is owed by epoch {@code e} (ignoring where the epoch ended). After a cache
   * miss the cursor starts at the stream's oldest cached batch, so the epoch owes what it was first
   * called with and everything after, what was produced after it started, and anything never
   * evicted at all (which was still cached or unread when the miss happened).
   */
  private boolean owes(Epoch e, View v, Produced p, boolean missed, Index idx) {
    if (e.sub.implicit) {
      return true;
    }
    if (e.doneTick == NEVER) {
      return false;
    }
    if (e.from == null) {
      return p.tick() > e.doneTick;
    }
    if (p.token().compareTo(e.from) < 0) {
      return false;
    }
    if (!missed) {
      return true;
    }
    return p.tick() > e.doneTick
        || (v.firstCall() != null && p.token().compareTo(v.firstCall()) >= 0)
        || !evicted(p, idx);
  }

  private static boolean accounted(View v, Map<StreamSequenceToken, Long> reported, Produced p) {
    return v.ackedAt().containsKey(p.token())
        || v.givenUpAt().containsKey(p.token())
        || reported.containsKey(p.token());
  }

  private boolean missed(Epoch e) {
    return e.from != null && e.sub.missOf(e) != null;
  }

  /**
   * True when every live epoch has everything it owes: what the episode waits for before it closes
   * the runtime. With {@code skipBusy}, epochs with a stage in flight are not waited for.
   */
  boolean quiet(boolean skipBusy) {
    Index idx = new Index();
    for (Sub sub : subs) {
      long fault = idx.faultTick(sub);
      Map<StreamSequenceToken, Long> reported = idx.reported(sub);
      for (Epoch e : sub.epochs) {
        if (Math.min(e.endTick, fault) != NEVER || (skipBusy && e.busy())) {
          continue;
        }
        View v = e.view();
        boolean missed = missed(e);
        for (Produced p : produced.get(sub.stream)) {
          if (owes(e, v, p, missed, idx)
              && !accounted(v, reported, p)
              && reportedFailedCall(v, reported, p.token()) == null) {
            return false;
          }
        }
      }
    }
    return true;
  }

  // ------------------------------------------------------------------ checks

  /** Every violation of the episode: those seen live, then those found in the record. */
  List<Violation> check() {
    List<Violation> out = new ArrayList<>(violations);
    Index idx = new Index();
    for (Report r : idx.unknown) {
      out.add(
          new Violation(
              Invariant.GIVE_UP_REPORT,
              "failure handler report at t" + r.tick() + " for an unknown subscription: " + r));
    }
    for (Sub sub : subs) {
      checkSub(sub, idx, out);
    }
    checkAcks(idx, out);
    return out;
  }

  private void checkSub(Sub sub, Index idx, List<Violation> out) {
    long fault = idx.faultTick(sub);
    Map<StreamSequenceToken, Long> reported = idx.reported(sub);
    List<Produced> stream = produced.get(sub.stream);
    Set<StreamSequenceToken> toldObservers = new HashSet<>();
    for (Epoch e : sub.epochs) {
      View v = e.view();
      toldObservers.addAll(v.givenUpAt().keySet());
      boolean missed = missed(e);
      long end = Math.min(e.endTick, fault);
      int before = out.size();
      if (e.from != null && e.doneTick != NEVER && v.firstCall() != null) {
        checkStart(e, v, missed, stream, idx, out);
      }
      // An ended epoch owes what lies before the furthest point it reached: delivery is
      // sequential, so a gap there is a loss. Unless delivery already went backwards or started in
      // the wrong place (reported above): then "before the furthest point" means nothing.
      boolean sequential = !v.disordered() && out.size() == before;
      StreamSequenceToken horizon = null;
      if (end != NEVER && sequential) {
        for (StreamSequenceToken t : v.ackedAt().keySet()) {
          horizon = max(horizon, t);
        }
        for (List<StreamSequenceToken> call : v.failedCalls()) {
          for (StreamSequenceToken t : call) {
            if (v.givenUpAt().containsKey(t)) {
              horizon = max(horizon, t); // given up after this epoch's own call
            }
          }
        }
      }
      List<Produced> lost = new ArrayList<>();
      List<String> perBatchOnly = new ArrayList<>();
      for (Produced p : stream) {
        if (!owes(e, v, p, missed, idx) || accounted(v, reported, p)) {
          continue;
        }
        if (end != NEVER && (horizon == null || p.token().compareTo(horizon) >= 0)) {
          continue; // the epoch ended before it got there: not owed
        }
        String batchCall = reportedFailedCall(v, reported, p.token());
        if (batchCall != null) {
          perBatchOnly.add(p + " in " + batchCall);
        } else {
          lost.add(p);
        }
      }
      if (!lost.isEmpty()) {
        out.add(
            new Violation(
                Invariant.AT_LEAST_ONCE,
                e.describe()
                    + (end == NEVER ? "" : " up to " + horizon)
                    + ": "
                    + lost.size()
                    + " owed event(s) neither delivered nor given up: "
                    + examples(lost)
                    + "; observers "
                    + e.observers));
      }
      if (!perBatchOnly.isEmpty()) {
        out.add(
            new Violation(
                Invariant.GIVE_UP_REPORT,
                e.describe()
                    + ": "
                    + perBatchOnly.size()
                    + " event(s) given up as part of a batch but never reported by their own"
                    + " token: "
                    + examples(perBatchOnly)));
      }
    }
    for (Miss m : sub.misses) {
      if (sub.owner(m) == null) {
        out.add(
            new Violation(
                Invariant.CACHE_MISS,
                sub
                    + ": "
                    + m.observer()
                    + " got a cache miss for "
                    + m.miss().requested()
                    + " at t"
                    + m.tick()
                    + ", a token it never asked for"));
      }
    }
    Set<StreamSequenceToken> notTold = new HashSet<>(reported.keySet());
    notTold.removeAll(toldObservers);
    if (!notTold.isEmpty()) {
      out.add(
          new Violation(
              Invariant.GIVE_UP_REPORT,
              sub
                  + ": the failure handler was told of "
                  + examples(sorted(notTold))
                  + " but no observer got StreamEventDeliveryFailureException for them"));
    }
    Set<StreamSequenceToken> notReported = new HashSet<>(toldObservers);
    notReported.removeAll(reported.keySet());
    if (!notReported.isEmpty()) {
      out.add(
          new Violation(
              Invariant.GIVE_UP_REPORT,
              sub
                  + ": observers got StreamEventDeliveryFailureException for "
                  + examples(sorted(notReported))
                  + " but the failure handler was not told"));
    }
    if (fault != NEVER) {
      long faulted = sub.faultedTick.get();
      if (faulted == NEVER) {
        out.add(
            new Violation(
                Invariant.FAULT,
                sub
                    + " was given up on at t"
                    + fault
                    + " with a faulting failure handler, but no observer got"
                    + " FaultedSubscriptionException"));
      } else {
        for (ModelObserver o : sub.observers()) {
          if (o.lastCallTick() > faulted) {
            out.add(
                new Violation(
                    Invariant.FAULT,
                    sub
                        + ": "
                        + o
                        + " was called at t"
                        + o.lastCallTick()
                        + " after the subscription was faulted at t"
                        + faulted));
          }
        }
      }
    }
  }

  /** The first-call rule of a token epoch, and what a cache miss allows instead. */
  private void checkStart(
      Epoch e, View v, boolean missed, List<Produced> stream, Index idx, List<Violation> out) {
    StreamSequenceToken first = v.firstCall();
    if (!missed) {
      Produced expected = null;
      for (Produced p : stream) {
        if (p.token().compareTo(e.from) >= 0) {
          expected = p;
          break;
        }
      }
      if (expected == null || !expected.token().equals(first)) {
        out.add(
            new Violation(
                Invariant.START,
                e.describe()
                    + ": first call to "
                    + v.firstCallBy()
                    + " (t"
                    + v.firstCallTick()
                    + ") was at "
                    + first
                    + " but the event at the token is "
                    + (expected == null ? "not produced" : expected)));
      }
      return;
    }
    Miss m = e.sub.missOf(e);
    if (first.compareTo(e.from) < 0) {
      out.add(
          new Violation(
              Invariant.START,
              e.describe()
                  + ": after a cache miss the first call (t"
                  + v.firstCallTick()
                  + ") was at "
                  + first
                  + ", before the token"));
    }
    if (m.miss().oldest() != null && first.compareTo(m.miss().oldest()) < 0) {
      out.add(
          new Violation(
              Invariant.CACHE_MISS,
              e.describe()
                  + ": first call at "
                  + first
                  + " is older than the oldest cached "
                  + m.miss().oldest()
                  + " the miss reported"));
    }
    if (e.observers.contains(m.observer()) && m.tick() > v.firstCallTick()) {
      out.add(
          new Violation(
              Invariant.CACHE_MISS,
              e.describe()
                  + ": the cache miss reached "
                  + m.observer()
                  + " at t"
                  + m.tick()
                  + ", after the first call at t"
                  + v.firstCallTick()));
    }
    List<Produced> skipped = new ArrayList<>();
    for (Produced p : stream) {
      if (p.token().compareTo(e.from) >= 0 && p.token().compareTo(first) < 0 && !evicted(p, idx)) {
        skipped.add(p);
      }
    }
    if (!skipped.isEmpty()) {
      out.add(
          new Violation(
              Invariant.CACHE_MISS,
              e.describe()
                  + ": after a cache miss delivery started at "
                  + first
                  + ", silently skipping events never evicted (acknowledged or given up): "
                  + examples(skipped)));
    }
  }

  /** True when the event's batch left the cache: acknowledged, or given up by someone. */
  private boolean evicted(Produced p, Index idx) {
    BatchKey key = new BatchKey(streams.get(p.ev().stream()), p.token().sequenceNumber());
    return idx.acked.contains(key) || idx.failedBatches.contains(key);
  }

  /** A failed call holding {@code token} of which another token was reported, or null. */
  private static String reportedFailedCall(
      View v, Map<StreamSequenceToken, Long> reported, StreamSequenceToken token) {
    List<List<StreamSequenceToken>> calls = v.failedCalls();
    for (int i = 0; i < calls.size(); i++) {
      List<StreamSequenceToken> call = calls.get(i);
      if (!call.contains(token)) {
        continue;
      }
      for (StreamSequenceToken t : call) {
        // The report belongs to the last failed call that carried its token: an earlier call
        // whose events a later observer took over one by one was not the one given up.
        if ((reported.containsKey(t) || v.givenUpAt().containsKey(t))
            && !carriedLater(calls, i, t)) {
          return "failed call " + tokens(call) + " reported as " + t;
        }
      }
    }
    return null;
  }

  private static boolean carriedLater(
      List<List<StreamSequenceToken>> calls, int index, StreamSequenceToken token) {
    for (int j = index + 1; j < calls.size(); j++) {
      if (calls.get(j).contains(token)) {
        return true;
      }
    }
    return false;
  }

  private void checkAcks(Index idx, List<Violation> out) {
    Map<BatchKey, Long> first = new HashMap<>();
    List<String> twice = new ArrayList<>();
    List<String> early = new ArrayList<>();
    for (Ack a : acks) {
      Long previous = first.putIfAbsent(a.key(), a.tick());
      if (previous != null) {
        twice.add(
            "batch "
                + a.key().seq()
                + " of "
                + a.key().stream()
                + " at t"
                + previous
                + " and t"
                + a.tick());
        continue;
      }
      List<Produced> batch = batches.get(a.key());
      if (batch == null) {
        out.add(
            new Violation(
                Invariant.ACK_ONCE,
                "acknowledged batch " + a.key() + " at t" + a.tick() + " was never produced"));
        continue;
      }
      Integer stream = streamIndex.get(a.key().stream());
      for (Sub sub : subs) {
        if (sub.stream != stream) {
          continue;
        }
        long fault = idx.faultTick(sub);
        Map<StreamSequenceToken, Long> reported = idx.reported(sub);
        for (Epoch e : sub.epochs) {
          long end = Math.min(e.endTick, fault);
          if (a.tick() >= end || (!sub.implicit && a.tick() <= e.doneTick)) {
            continue;
          }
          View v = e.view();
          boolean missed = missed(e);
          for (Produced p : batch) {
            if (!owes(e, v, p, missed, idx)) {
              continue;
            }
            long had =
                Math.min(
                    v.ackedAt().getOrDefault(p.token(), NEVER),
                    Math.min(
                        v.givenUpAt().getOrDefault(p.token(), NEVER),
                        reported.getOrDefault(p.token(), NEVER)));
            if (had > a.tick()) {
              early.add(
                  p
                      + " acknowledged at t"
                      + a.tick()
                      + " but "
                      + e.describe()
                      + (had == NEVER ? " never had it" : " had it only at t" + had));
            }
          }
        }
      }
    }
    if (!twice.isEmpty()) {
      out.add(
          new Violation(
              Invariant.ACK_ONCE,
              twice.size() + " batch(es) acknowledged twice: " + examples(twice)));
    }
    if (!early.isEmpty()) {
      out.add(
          new Violation(
              Invariant.ACK_BEFORE_DELIVERY,
              early.size() + " event(s) acknowledged too early: " + examples(early)));
    }
  }

  // ------------------------------------------------------------------ reporting

  /** The episode as text: operations, then what every observer saw, then acks and reports. */
  String trace() {
    StringBuilder b = new StringBuilder();
    b.append("  operations:\n");
    for (String op : ops) {
      b.append("    ").append(op).append('\n');
    }
    b.append("  produced:");
    for (int s = 0; s < streams.size(); s++) {
      b.append(" s").append(s).append('=').append(streams.get(s)).append(' ');
      b.append(produced.get(s).size()).append(" event(s)");
    }
    b.append('\n');
    for (Sub sub : subs) {
      for (Epoch e : sub.epochs) {
        b.append("  ").append(e.describe()).append('\n');
        for (ModelObserver o : e.observers) {
          b.append("    ").append(o.trace()).append('\n');
        }
      }
    }
    b.append("  acknowledged: ").append(acks.size()).append(" batch(es)");
    b.append("; failure handler: ").append(reports.size()).append(" report(s)");
    int n = 0;
    for (Report r : reports) {
      if (n++ == 12) {
        b.append(" ...");
        break;
      }
      DeliveryFailure f = r.failure();
      Sub sub =
          f.implicit() ? implicitByStream.get(f.streamId()) : subsById.get(f.subscriptionId());
      b.append(" t").append(r.tick()).append(' ').append(sub).append(' ').append(f.token());
    }
    b.append('\n');
    return b.toString();
  }

  static String tokens(List<StreamSequenceToken> tokens) {
    if (tokens.size() == 1) {
      return tokens.get(0).toString();
    }
    return tokens.get(0) + ".." + tokens.get(tokens.size() - 1);
  }

  private static StreamSequenceToken max(StreamSequenceToken a, StreamSequenceToken b) {
    return a == null || b.compareTo(a) > 0 ? b : a;
  }

  private static List<StreamSequenceToken> sorted(Set<StreamSequenceToken> tokens) {
    List<StreamSequenceToken> l = new ArrayList<>(tokens);
    l.sort(null);
    return l;
  }

  private static String examples(List<?> items) {
    if (items.size() <= EXAMPLES) {
      return items.toString();
    }
    return items.subList(0, EXAMPLES) + " and " + (items.size() - EXAMPLES) + " more";
  }
}
