package dev.tributary.tests;

import dev.tributary.BatchStreamObserver;
import dev.tributary.FaultedSubscriptionException;
import dev.tributary.QueueCacheMissException;
import dev.tributary.SequentialItem;
import dev.tributary.StreamEventDeliveryFailureException;
import dev.tributary.StreamObserver;
import dev.tributary.StreamSequenceToken;
import dev.tributary.tests.DeliveryModel.Epoch;
import dev.tributary.tests.DeliveryModel.Ev;
import dev.tributary.tests.DeliveryModel.Invariant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One observer object of a {@link ModelBasedDeliveryTest} episode: a {@link StreamObserver} or a
 * {@link BatchStreamObserver} with a scripted {@link Behavior}, which checks on every call what
 * only the observer can see (no call while a stage it returned is incomplete, no call once it was
 * replaced, tokens that never go back) and records calls, acknowledgements and errors in its {@link
 * Epoch}.
 *
 * <p>Calls may come from any thread, concurrently when the runtime is wrong: all state is guarded
 * by the observer's monitor, which is taken before its epoch's (never the other way round).
 */
final class ModelObserver {

  /** What the observer does with a call. */
  enum Mode {
    /** Acknowledges at once (a completed stage). */
    ACK,
    /** Completes the stage from another thread a little later. */
    ASYNC,
    /** Holds the stage until the episode releases it (a slow actor). */
    HOLD,
    /** Fails the first {@code failures} attempts of every call, then acknowledges. */
    FLAKY,
    /** Fails every attempt, so every event is given up. */
    FAIL
  }

  /** How a failing call fails. */
  enum FailStyle {
    THROW,
    FAILED_STAGE,
    ASYNC
  }

  /** The script of one observer. */
  record Behavior(Mode mode, int failures, FailStyle style) {
    static Behavior random(Random rnd) {
      int r = rnd.nextInt(100);
      Mode mode =
          r < 30
              ? Mode.ACK
              : r < 50 ? Mode.ASYNC : r < 70 ? Mode.HOLD : r < 90 ? Mode.FLAKY : Mode.FAIL;
      FailStyle style = FailStyle.values()[rnd.nextInt(FailStyle.values().length)];
      return new Behavior(mode, 1 + rnd.nextInt(3), style);
    }

    @Override
    public String toString() {
      return switch (mode) {
        case FLAKY -> "FLAKY" + failures + "/" + style;
        case FAIL -> "FAIL/" + style;
        default -> mode.name();
      };
    }
  }

  /** The failure a failing observer reports; no stack trace, so the agent's warnings stay short. */
  static final class ModelFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    ModelFailure(String message) {
      super(message, null, false, false);
    }
  }

  /** One call, for the trace. */
  private static final class Call {
    final long tick;
    final List<StreamSequenceToken> tokens;
    String outcome = "open";

    Call(long tick, List<StreamSequenceToken> tokens) {
      this.tick = tick;
      this.tokens = tokens;
    }
  }

  private static final int TRACE_LIMIT = 30;

  final DeliveryModel model;
  final String name;
  final Epoch epoch;
  final Behavior behavior;
  final boolean batch;

  private final Map<StreamSequenceToken, Integer> attempts = new HashMap<>();
  private final List<Call> calls = new ArrayList<>();
  private final List<String> errors = new ArrayList<>();
  private int open;
  private Call openCall;
  private StreamSequenceToken lastAcked;
  private StreamSequenceToken failedFirst;
  private long lastCallTick = -1;
  private volatile String retiredBy;

  ModelObserver(DeliveryModel model, String name, Epoch epoch, Behavior behavior, boolean batch) {
    this.model = model;
    this.name = name;
    this.epoch = epoch;
    this.behavior = behavior;
    this.batch = batch;
  }

  /** This observer as a single-event observer. */
  StreamObserver<Object> single() {
    return new StreamObserver<>() {
      @Override
      public CompletionStage<Void> onNext(Object item, StreamSequenceToken token) {
        return call(List.of(item), List.of(token));
      }

      @Override
      public void onError(Throwable error) {
        error(error);
      }

      @Override
      public String toString() {
        return name;
      }
    };
  }

  /** This observer as a batch observer. */
  BatchStreamObserver<Object> batchObserver() {
    return new BatchStreamObserver<>() {
      @Override
      public CompletionStage<Void> onNextBatch(List<SequentialItem<Object>> items) {
        List<Object> values = new ArrayList<>(items.size());
        List<StreamSequenceToken> tokens = new ArrayList<>(items.size());
        for (SequentialItem<Object> i : items) {
          values.add(i.item());
          tokens.add(i.token());
        }
        return call(values, tokens);
      }

      @Override
      public void onError(Throwable error) {
        error(error);
      }

      @Override
      public String toString() {
        return name;
      }
    };
  }

  /** Marks the observer replaced: from now on any call is a violation. */
  void retire(String why) {
    retiredBy = why;
  }

  /** Tick of this observer's latest call, or -1. */
  synchronized long lastCallTick() {
    return lastCallTick;
  }

  /** True while a stage this observer returned is incomplete. */
  synchronized boolean busy() {
    return open > 0;
  }

  private CompletionStage<Void> call(List<Object> items, List<StreamSequenceToken> tokens) {
    long t = model.tick();
    boolean succeed;
    boolean async;
    boolean hold;
    Call call = new Call(t, List.copyOf(tokens));
    synchronized (this) {
      String what = describe(items, tokens);
      String retired = retiredBy;
      if (retired != null) {
        model.violation(
            Invariant.REPLACED, name + " called with " + what + " at t" + t + " after " + retired);
      }
      if (model.closed) {
        model.violation(
            Invariant.AFTER_CLOSE, name + " called with " + what + " at t" + t + " after close()");
      }
      if (open > 0) {
        model.violation(
            Invariant.SERIAL,
            name
                + " called with "
                + what
                + " at t"
                + t
                + " while the stage it returned for "
                + DeliveryModel.tokens(openCall.tokens)
                + " (called t"
                + openCall.tick
                + ") is incomplete");
      }
      open++;
      openCall = call;
      lastCallTick = t;
      if (calls.size() < TRACE_LIMIT) {
        calls.add(call);
      }
      checkItems(items, tokens, t);
      StreamSequenceToken first = tokens.get(0);
      if (lastAcked != null && first.compareTo(lastAcked) <= 0) {
        epoch.disordered();
        model.violation(
            Invariant.ORDER,
            name + " called with " + what + " at t" + t + " after it acknowledged " + lastAcked);
      } else if (failedFirst != null && first.compareTo(failedFirst) < 0) {
        epoch.disordered();
        model.violation(
            Invariant.ORDER,
            name
                + " called with "
                + what
                + " at t"
                + t
                + ": back before "
                + failedFirst
                + " whose delivery was failing");
      }
      epoch.onCall(this, call.tokens, t);
      int attempt = attempts.merge(first, 1, Integer::sum);
      switch (behavior.mode()) {
        case ACK -> {
          succeed = true;
          async = false;
          hold = false;
        }
        case ASYNC -> {
          succeed = true;
          async = true;
          hold = false;
        }
        case HOLD -> {
          succeed = true;
          async = model.draining;
          hold = !async;
        }
        case FLAKY -> {
          succeed = attempt > behavior.failures();
          async = behavior.style() == FailStyle.ASYNC;
          hold = false;
        }
        default -> {
          succeed = false;
          async = behavior.style() == FailStyle.ASYNC;
          hold = false;
        }
      }
      if (!async && !hold) {
        finishLocked(call, succeed, t);
        if (succeed) {
          return CompletableFuture.completedFuture(null);
        }
        ModelFailure failure =
            new ModelFailure(name + " fails " + what + " (attempt " + attempt + ")");
        if (behavior.style() == FailStyle.THROW) {
          throw failure;
        }
        return CompletableFuture.failedFuture(failure);
      }
    }
    CompletableFuture<Void> stage = new CompletableFuture<>();
    Runnable completion = () -> finish(stage, call, succeed);
    if (hold) {
      model.hold(completion);
    } else {
      model.async(completion, ThreadLocalRandom.current().nextInt(400), TimeUnit.MICROSECONDS);
    }
    return stage;
  }

  private void finish(CompletableFuture<Void> stage, Call call, boolean succeed) {
    long t = model.tick();
    synchronized (this) {
      finishLocked(call, succeed, t);
    }
    if (succeed) {
      stage.complete(null);
    } else {
      stage.completeExceptionally(new ModelFailure(name + " fails " + call.tokens));
    }
  }

  private void finishLocked(Call call, boolean succeed, long t) {
    open--;
    if (openCall == call) {
      openCall = null;
    }
    if (succeed) {
      call.outcome = "ack t" + t;
      lastAcked = call.tokens.get(call.tokens.size() - 1);
      failedFirst = null;
      epoch.onAck(this, call.tokens, t);
    } else {
      call.outcome = "fail t" + t;
      failedFirst = call.tokens.get(0);
      epoch.onFailedCall(call.tokens);
    }
  }

  private void checkItems(List<Object> items, List<StreamSequenceToken> tokens, long t) {
    if (items.isEmpty()) {
      model.violation(Invariant.WRONG_EVENT, name + " called with an empty batch at t" + t);
      return;
    }
    StreamSequenceToken previous = null;
    for (int i = 0; i < items.size(); i++) {
      Object item = items.get(i);
      StreamSequenceToken token = tokens.get(i);
      if (!(item instanceof Ev ev)) {
        model.violation(Invariant.WRONG_EVENT, name + " got " + item + " at t" + t);
        continue;
      }
      StreamSequenceToken expected = model.tokenOf(ev);
      if (ev.stream() != epoch.sub.stream || !token.equals(expected)) {
        model.violation(
            Invariant.WRONG_EVENT,
            name
                + " (stream s"
                + epoch.sub.stream
                + ") got "
                + ev
                + "@"
                + token
                + " at t"
                + t
                + "; it was produced at "
                + expected);
      }
      if (previous != null && token.compareTo(previous) <= 0) {
        epoch.disordered();
        model.violation(
            Invariant.ORDER,
            name + " got " + describe(items, tokens) + " at t" + t + " out of order");
      }
      previous = token;
    }
  }

  private void error(Throwable error) {
    long t = model.tick();
    synchronized (this) {
      String retired = retiredBy;
      if (retired != null) {
        model.violation(
            Invariant.REPLACED,
            name + " got onError(" + brief(error) + ") at t" + t + " after " + retired);
      }
      if (model.closed) {
        model.violation(
            Invariant.AFTER_CLOSE,
            name + " got onError(" + brief(error) + ") at t" + t + " after close()");
      }
      if (errors.size() < TRACE_LIMIT) {
        errors.add("t" + t + " " + brief(error));
      }
    }
    if (error instanceof StreamEventDeliveryFailureException f) {
      epoch.onGiveUp(f.token(), t);
    } else if (error instanceof QueueCacheMissException miss) {
      epoch.sub.onMiss(miss, t, this);
    } else if (error instanceof FaultedSubscriptionException) {
      epoch.sub.onFaulted(t, this);
    } else {
      model.violation(Invariant.UNEXPECTED, name + " got onError(" + error + ") at t" + t);
    }
  }

  private static String brief(Throwable error) {
    if (error instanceof StreamEventDeliveryFailureException f) {
      return "DeliveryFailure " + f.token();
    }
    if (error instanceof QueueCacheMissException m) {
      return "CacheMiss requested " + m.requested() + " oldest " + m.oldest();
    }
    if (error instanceof FaultedSubscriptionException) {
      return "Faulted";
    }
    return String.valueOf(error);
  }

  private static String describe(List<Object> items, List<StreamSequenceToken> tokens) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < items.size(); i++) {
      if (i > 0) {
        b.append(' ');
      }
      b.append(items.get(i)).append('@').append(tokens.get(i));
    }
    return b.toString();
  }

  /** The observer's calls and errors, for a failure report. */
  synchronized String trace() {
    StringBuilder b = new StringBuilder();
    b.append(name)
        .append(batch ? " batch " : " single ")
        .append(behavior)
        .append(retiredBy == null ? "" : " (replaced: " + retiredBy + ")")
        .append(':');
    for (Call c : calls) {
      b.append(" t")
          .append(c.tick)
          .append(DeliveryModel.tokens(c.tokens))
          .append("->")
          .append(c.outcome)
          .append(';');
    }
    if (calls.size() >= TRACE_LIMIT) {
      b.append(" ...");
    }
    if (!errors.isEmpty()) {
      b.append(" errors: ").append(String.join(", ", errors));
    }
    return b.toString();
  }

  @Override
  public String toString() {
    return name;
  }
}
