package dev.tributary.internal.runtime;

import dev.tributary.EventSequenceToken;
import dev.tributary.SequentialItem;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.QueueCacheCursor;
import dev.tributary.spi.RuntimeTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.UUID;

/**
 * One subscription's delivery state in its agent: its cursor, the events prepared for the next
 * call, and where a delivery stands (waiting for data, in flight, retrying, closed).
 *
 * <p>The prepared events are what the cursor moved over since its last {@code markDelivered()},
 * minus what the start token or the filter excludes. A single-event observer takes them one call at
 * a time, a batch observer all that remain in one call; whichever observer the subscription has
 * when a call is made decides, so an observer swapped by {@code resume} continues exactly where the
 * previous one stopped. The cursor is released only once every prepared event was delivered or
 * given up: until then the cache holds the batches and acknowledges none of them.
 *
 * <p>Confined to the owning agent's thread, like the cursor.
 */
final class StreamConsumer implements StreamState.Consumers {

  /** What decides whether an event reaches a subscription with filter data. */
  interface Filter {
    boolean shouldDeliver(StreamId streamId, Object item, String filterData);
  }

  /** The subscription's id; for an implicit one derived on first use (an MD5 of its names). */
  private UUID id;

  final StreamId streamId;
  final boolean implicit;
  final LocalSubscription subscription;
  final PersistentStreamProvider.Implicit implicitFactory;

  /**
   * An implicit subscription's observer, the factory's object itself (no wrapper: see {@link
   * Observers}); null until activated.
   */
  private Object implicitObserver;

  private QueueCacheCursor cursor;
  private StreamSequenceToken startToken;

  /** The token this consumer started at (null: live), for {@link #resumeFrom()}. */
  private StreamSequenceToken startedAt;

  /** The last event delivered or given up; null before the first, and for implicit ones. */
  private StreamSequenceToken lastDone;

  // The prepared events, [next, count) still to deliver. Event 0 lives in fields (most calls carry
  // one event), events 1.. in `more` as (item, token, batch) triples, allocated when first needed:
  // an idle stream then holds no arrays, and delivering one event touches no other object.
  private Object item0;
  private StreamSequenceToken token0;
  private BatchContainer batch0;
  private Object[] more;
  private int count;
  private int next;

  /** The stream this consumer belongs to in its agent; set when added to it. */
  StreamState stream;

  /** True while the consumer waits for its stream's next batch; the agent wakes it on arrival. */
  boolean waiting = true;

  /** True while a call's stage, or a retry, is outstanding. */
  boolean inFlight;

  boolean closed;

  /** Bumped whenever the position changes under an outstanding stage, which is then ignored. */
  int generation;

  /**
   * Where the failing call stands; null while nothing fails (every call that succeeds or is given
   * up drops it), so a healthy or idle subscription holds no failure state.
   */
  Failing failing;

  /** The delivery policy's state of a call that failed. */
  static final class Failing {
    /** Attempts made so far. */
    int attempts;

    /** When the first attempt failed; -1 after a fresh start of the policy. */
    long firstFailureMillis = -1;

    /** The scheduled retry, or null. */
    RuntimeTime.Cancellable retry;
  }

  /**
   * The observers with a stage for this subscription still open: the current call's, and calls that
   * a resume made stale. None of them is called again before its stage completes. Null until the
   * first stage that does not complete at once.
   */
  private Object[] openTargets;

  private int openCount;

  StreamConsumer(
      UUID id,
      StreamId streamId,
      LocalSubscription subscription,
      PersistentStreamProvider.Implicit implicitFactory,
      QueueCacheCursor cursor,
      StreamSequenceToken startToken) {
    this.id = id;
    this.streamId = streamId;
    this.implicit = implicitFactory != null;
    this.subscription = subscription;
    this.implicitFactory = implicitFactory;
    this.startToken = startToken;
    this.startedAt = startToken;
    bind(cursor);
  }

  private void bind(QueueCacheCursor newCursor) {
    cursor = newCursor;
    if (newCursor instanceof ReplayingCursor r) {
      r.consumer = this;
    }
  }

  static StreamConsumer explicit(
      LocalSubscription sub, QueueCacheCursor cursor, StreamSequenceToken startToken) {
    return new StreamConsumer(sub.id, sub.streamId, sub, null, cursor, startToken);
  }

  static StreamConsumer implicit(
      StreamId streamId, PersistentStreamProvider.Implicit factory, QueueCacheCursor cursor) {
    return new StreamConsumer(null, streamId, null, factory, cursor, null);
  }

  /** The failing call's state, created by its first failure. */
  Failing failing() {
    Failing f = failing;
    if (f == null) {
      f = failing = new Failing();
    }
    return f;
  }

  /** Attempts made at the failing call; 0 while none fails. */
  int attempts() {
    Failing f = failing;
    return f == null ? 0 : f.attempts;
  }

  /** A fresh delivery policy (a new observer): attempts and the deadline start over. */
  void restartPolicy() {
    Failing f = failing;
    if (f != null) {
      f.attempts = 0;
      f.firstFailureMillis = -1;
    }
  }

  UUID id() {
    if (id == null) {
      id = implicitFactory.subscriptionId(streamId);
    }
    return id;
  }

  /**
   * The observer to call now, through {@link Observers}; null for an implicit subscription not
   * activated yet.
   */
  Object observer() {
    return subscription != null ? subscription.observer : implicitObserver;
  }

  /** As the consumers of its stream: the list of this one consumer. */
  @Override
  public int size() {
    return 1;
  }

  @Override
  public StreamConsumer get(int i) {
    Objects.checkIndex(i, 1);
    return this;
  }

  /** Creates an implicit subscription's observer through its factory. */
  Object activate() {
    implicitObserver = Observers.checked(implicitFactory.create(streamId));
    return implicitObserver;
  }

  /** A call to {@code target} returned a stage that is not complete yet. */
  void stageOpened(Object target) {
    if (openTargets == null) {
      openTargets = new Object[2];
    } else if (openCount == openTargets.length) {
      openTargets = Arrays.copyOf(openTargets, openCount * 2);
    }
    openTargets[openCount++] = target;
  }

  /** A stage of {@code target} completed. */
  void stageClosed(Object target) {
    for (int i = 0; i < openCount; i++) {
      if (openTargets[i] == target) {
        openTargets[i] = openTargets[--openCount];
        openTargets[openCount] = null;
        return;
      }
    }
  }

  /** True while {@code target} has an open stage for this subscription. */
  boolean hasOpenStage(Object target) {
    for (int i = 0; i < openCount; i++) {
      if (openTargets[i] == target) {
        return true;
      }
    }
    return false;
  }

  String filterData() {
    return subscription == null ? null : subscription.filterData;
  }

  boolean hasPending() {
    return next < count;
  }

  /**
   * True while something of this subscription is unfinished: prepared events, a stage, or a replay
   * from the queue that has not caught up with the cache.
   */
  boolean busy() {
    return inFlight || hasPending() || replaying();
  }

  /** True while the cursor reads the stream's past from the queue rather than from the cache. */
  boolean replaying() {
    return cursor instanceof ReplayingCursor r && r.replaying();
  }

  /**
   * The events before {@code token} are gone from the queue (a replay found them expired): a fresh
   * start of this consumer that has delivered nothing since begins at {@code token}, not at the
   * expired start.
   */
  void skippedTo(StreamSequenceToken token) {
    if (lastDone == null && (startedAt == null || startedAt.compareTo(token) < 0)) {
      startedAt = token;
    }
  }

  /**
   * Where delivery would continue if this consumer started afresh: its next prepared event, else
   * just after the last event delivered or given up, else where it started; null when it started
   * live and has done nothing yet.
   */
  StreamSequenceToken resumeFrom() {
    if (next < count) {
      return tokenAt(next);
    }
    if (lastDone != null) {
      return new EventSequenceToken(lastDone.sequenceNumber(), lastDone.eventIndex() + 1);
    }
    return startedAt;
  }

  /**
   * Makes sure events are prepared: moves the cursor over up to {@code maxContainers} batches and
   * keeps their events that the start token and the filter let through. Batches whose events are
   * all excluded are released at once and the cursor moves on. Returns false when the cursor has
   * nothing yet.
   */
  boolean prepare(int maxContainers, Filter filter) {
    if (next < count) {
      return true;
    }
    if (cursor == null) {
      return false;
    }
    String data = filterData();
    while (true) {
      count = 0;
      next = 0;
      int moved = 0;
      while (moved < maxContainers && cursor.moveNext()) {
        moved++;
        BatchContainer batch = cursor.current();
        for (int i = 0, n = batch.eventCount(); i < n; i++) {
          StreamSequenceToken token = batch.eventToken(i);
          if (skips(token)) {
            continue;
          }
          Object item = batch.event(i);
          if (data != null && !filter.shouldDeliver(streamId, item, data)) {
            continue;
          }
          add(item, token, batch);
        }
      }
      if (moved == 0) {
        return false;
      }
      if (count > 0) {
        return true;
      }
      cursor.markDelivered();
    }
  }

  private void add(Object item, StreamSequenceToken token, BatchContainer batch) {
    if (count == 0) {
      item0 = item;
      token0 = token;
      batch0 = batch;
    } else {
      int at = 3 * (count - 1);
      if (more == null) {
        more = new Object[6];
      } else if (at == more.length) {
        more = Arrays.copyOf(more, 2 * more.length);
      }
      more[at] = item;
      more[at + 1] = token;
      more[at + 2] = batch;
    }
    count++;
  }

  private Object itemAt(int i) {
    return i == 0 ? item0 : more[3 * (i - 1)];
  }

  StreamSequenceToken tokenAt(int i) {
    return i == 0 ? token0 : (StreamSequenceToken) more[3 * (i - 1) + 1];
  }

  BatchContainer batchAt(int i) {
    return i == 0 ? batch0 : (BatchContainer) more[3 * (i - 1) + 2];
  }

  /** Drops the references to prepared events {@code [from, to)}. */
  private void clear(int from, int to) {
    for (int i = from; i < to; i++) {
      if (i == 0) {
        item0 = null;
        batch0 = null;
        token0 = null;
      } else {
        int at = 3 * (i - 1);
        more[at] = null;
        more[at + 1] = null;
        more[at + 2] = null;
      }
    }
  }

  private boolean skips(StreamSequenceToken token) {
    if (startToken == null) {
      return false;
    }
    if (token.compareTo(startToken) < 0) {
      return true;
    }
    startToken = null;
    return false;
  }

  /** The next prepared event. */
  Object nextItem() {
    return itemAt(next);
  }

  StreamSequenceToken nextToken() {
    return tokenAt(next);
  }

  BatchContainer nextBatch() {
    return batchAt(next);
  }

  /**
   * Every prepared event not delivered yet, for a batch observer; with their metadata when {@code
   * queue} (the queue's name) is not null.
   */
  List<SequentialItem<Object>> remaining(String queue) {
    List<SequentialItem<Object>> out = new ArrayList<>(count - next);
    for (int i = next; i < count; i++) {
      StreamSequenceToken token = tokenAt(i);
      out.add(
          new SequentialItem<>(
              itemAt(i),
              token,
              queue == null ? null : new DeliveredEvent(token, queue, batchAt(i))));
    }
    return out;
  }

  /** The metadata of the next prepared event, in queue {@code queue}. */
  DeliveredEvent nextMetadata(String queue) {
    return new DeliveredEvent(tokenAt(next), queue, batchAt(next));
  }

  /** How many events the next call carries for an observer of this kind. */
  int callSize(boolean batchObserver) {
    return batchObserver ? count - next : 1;
  }

  /** The token of the last event the next call carries. */
  StreamSequenceToken lastTokenOfCall(boolean batchObserver) {
    return tokenAt(batchObserver ? count - 1 : next);
  }

  /** The batch of the last event the next call carries. */
  BatchContainer lastBatchOfCall(boolean batchObserver) {
    return batchAt(batchObserver ? count - 1 : next);
  }

  /** Events {@code [from, to)} of the next call, for reporting a give-up per event. */
  int callStart() {
    return next;
  }

  /**
   * The call with {@code size} events is done (delivered or given up): moves past them and, when
   * nothing prepared remains, releases what the cursor holds.
   */
  void advance(int size) {
    if (!implicit) {
      // Only an explicit subscription resumes from here (resumeFrom, skippedTo); an implicit one
      // would keep the token of its last event alive while idle.
      lastDone = tokenAt(next + size - 1);
    }
    clear(next, next + size);
    next += size;
    if (next >= count) {
      count = 0;
      next = 0;
      cursor.markDelivered();
    }
    failing = null; // no retry is scheduled: a call completes only while none is
  }

  /** Points the consumer at a new cursor; pending events of the old one are dropped. */
  void reopen(QueueCacheCursor newCursor, StreamSequenceToken token) {
    closed = false;
    bind(newCursor);
    startToken = token;
    startedAt = token;
    lastDone = null;
    waiting = true;
  }

  /** Ends delivery on the current cursor: drops what is prepared and ignores outstanding stages. */
  void close() {
    closed = true;
    generation++;
    Failing f = failing;
    if (f != null && f.retry != null) {
      f.retry.cancel();
    }
    failing = null;
    inFlight = false;
    waiting = false;
    clear(0, count);
    count = 0;
    next = 0;
    if (cursor != null) {
      cursor.close();
    }
  }

  /**
   * Closes the cursor of a caught-up consumer whose stream went idle; it holds nothing then, so the
   * cache may drop the stream. Until {@link #unpark} the consumer has nothing to deliver.
   */
  void park() {
    cursor.close();
    cursor = null;
    waiting = true;
  }

  boolean parked() {
    return cursor == null;
  }

  /** The parked consumer's stream has batches again, {@code newCursor} at the first of them. */
  void unpark(QueueCacheCursor newCursor) {
    bind(newCursor);
  }
}
