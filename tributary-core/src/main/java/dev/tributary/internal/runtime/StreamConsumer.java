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
final class StreamConsumer {

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
  private ObserverRef implicitObserver;
  private QueueCacheCursor cursor;
  private StreamSequenceToken startToken;

  /** The token this consumer started at (null: live), for {@link #resumeFrom()}. */
  private StreamSequenceToken startedAt;

  /** The last event delivered or given up; null before the first. */
  private StreamSequenceToken lastDone;

  // The prepared events, [next, count) still to deliver.
  private Object[] items = new Object[1];
  private StreamSequenceToken[] tokens = new StreamSequenceToken[1];
  private BatchContainer[] batches = new BatchContainer[1];
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

  int attempts;
  long firstFailureMillis = -1;
  RuntimeTime.Cancellable retry;

  /**
   * The observers with a stage for this subscription still open: the current call's, and calls that
   * a resume made stale. None of them is called again before its stage completes.
   */
  private Object[] openTargets = new Object[2];

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

  UUID id() {
    if (id == null) {
      id = implicitFactory.subscriptionId(streamId);
    }
    return id;
  }

  /** The observer to call now; null for an implicit subscription not activated yet. */
  ObserverRef observer() {
    return subscription != null ? subscription.observer : implicitObserver;
  }

  /** Creates an implicit subscription's observer through its factory. */
  ObserverRef activate() {
    implicitObserver = ObserverRef.of(implicitFactory.create(streamId));
    return implicitObserver;
  }

  /** A call to {@code target} returned a stage that is not complete yet. */
  void stageOpened(Object target) {
    if (openCount == openTargets.length) {
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
      return tokens[next];
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
    if (count == items.length) {
      int n = count * 2;
      items = Arrays.copyOf(items, n);
      tokens = Arrays.copyOf(tokens, n);
      batches = Arrays.copyOf(batches, n);
    }
    items[count] = item;
    tokens[count] = token;
    batches[count] = batch;
    count++;
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
    return items[next];
  }

  StreamSequenceToken nextToken() {
    return tokens[next];
  }

  BatchContainer nextBatch() {
    return batches[next];
  }

  /**
   * Every prepared event not delivered yet, for a batch observer; with their metadata when {@code
   * queue} (the queue's name) is not null.
   */
  List<SequentialItem<Object>> remaining(String queue) {
    List<SequentialItem<Object>> out = new ArrayList<>(count - next);
    for (int i = next; i < count; i++) {
      out.add(
          new SequentialItem<>(
              items[i],
              tokens[i],
              queue == null ? null : new DeliveredEvent(tokens[i], queue, batches[i])));
    }
    return out;
  }

  /** The metadata of the next prepared event, in queue {@code queue}. */
  DeliveredEvent nextMetadata(String queue) {
    return new DeliveredEvent(tokens[next], queue, batches[next]);
  }

  /** How many events the next call carries for an observer of this kind. */
  int callSize(boolean batchObserver) {
    return batchObserver ? count - next : 1;
  }

  /** The token of the last event the next call carries. */
  StreamSequenceToken lastTokenOfCall(boolean batchObserver) {
    return tokens[batchObserver ? count - 1 : next];
  }

  /** The batch of the last event the next call carries. */
  BatchContainer lastBatchOfCall(boolean batchObserver) {
    return batches[batchObserver ? count - 1 : next];
  }

  /** Events {@code [from, to)} of the next call, for reporting a give-up per event. */
  int callStart() {
    return next;
  }

  StreamSequenceToken tokenAt(int i) {
    return tokens[i];
  }

  BatchContainer batchAt(int i) {
    return batches[i];
  }

  /**
   * The call with {@code size} events is done (delivered or given up): moves past them and, when
   * nothing prepared remains, releases what the cursor holds.
   */
  void advance(int size) {
    lastDone = tokens[next + size - 1];
    for (int i = next, end = next + size; i < end; i++) {
      items[i] = null;
      batches[i] = null;
    }
    next += size;
    if (next >= count) {
      count = 0;
      next = 0;
      cursor.markDelivered();
    }
    attempts = 0;
    firstFailureMillis = -1;
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
    if (retry != null) {
      retry.cancel();
      retry = null;
    }
    inFlight = false;
    waiting = false;
    Arrays.fill(items, 0, count, null);
    Arrays.fill(batches, 0, count, null);
    count = 0;
    next = 0;
    attempts = 0;
    firstFailureMillis = -1;
    cursor.close();
  }
}
