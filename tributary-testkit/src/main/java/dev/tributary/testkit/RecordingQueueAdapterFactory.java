package dev.tributary.testkit;

import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueAdapter;
import dev.tributary.spi.QueueAdapterCache;
import dev.tributary.spi.QueueAdapterFactory;
import dev.tributary.spi.QueueAdapterReceiver;
import dev.tributary.spi.QueueCache;
import dev.tributary.spi.QueueCacheCursor;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.QueueReplay;
import dev.tributary.spi.StreamFailureHandler;
import dev.tributary.spi.StreamProviderDirection;
import dev.tributary.spi.StreamQueueBalancer;
import dev.tributary.spi.StreamQueueMapper;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Wraps any {@link QueueAdapterFactory} and watches how the runtime uses it: which receivers were
 * initialized and shut down, what they read, what was acknowledged, how full each cache got. It
 * changes nothing; it records, and it notes every breach of the SPI's rules in {@link
 * #violations()}:
 *
 * <ul>
 *   <li>a receiver called before its {@code initialize} completed, or after {@code shutdown};
 *   <li>two calls into one receiver at the same time;
 *   <li>{@code getQueueMessages(n)} returning more than {@code n} batches;
 *   <li>{@code messagesDelivered} with a batch that was never read, twice, or out of its stream's
 *       queue order (across streams any order is right: acknowledgement is exact);
 *   <li>a cache holding more batches than the provider's {@code cacheSize}.
 * </ul>
 *
 * <p>It also tracks every cache cursor the runtime opens: {@link #openCursors()} names those not
 * closed yet, which must be none once the runtime closed. Created on a test's thread, it is checked
 * after the test by {@link RuntimeInvariantsExtension}.
 *
 * <p>Thread-safe. One instance serves one provider, like the factory it wraps.
 */
public final class RecordingQueueAdapterFactory implements QueueAdapterFactory {

  private final QueueAdapterFactory delegate;
  private final Map<QueueId, AtomicInteger> initialized = new ConcurrentHashMap<>();
  private final Map<QueueId, AtomicInteger> shutDown = new ConcurrentHashMap<>();
  private final Map<QueueId, List<BatchContainer>> read = new ConcurrentHashMap<>();
  private final Map<QueueId, List<BatchContainer>> acknowledged = new ConcurrentHashMap<>();
  private final Map<QueueId, AtomicInteger> maxCacheSize = new ConcurrentHashMap<>();
  private final List<String> violations = Collections.synchronizedList(new ArrayList<>());
  private final AtomicInteger rereads = new AtomicInteger();
  private final Set<Cursor> openCursors = ConcurrentHashMap.newKeySet();
  private final Set<Replay> openReplays = ConcurrentHashMap.newKeySet();
  private final AtomicInteger replaysOpened = new AtomicInteger();
  private volatile Consumer<BatchContainer> ackListener = b -> {};
  private volatile int cacheSize = Integer.MAX_VALUE;

  /** Watches {@code delegate}. */
  public RecordingQueueAdapterFactory(QueueAdapterFactory delegate) {
    this.delegate = java.util.Objects.requireNonNull(delegate, "delegate");
    RuntimeInvariantsExtension.created(this);
  }

  /** The wrapped factory. */
  public QueueAdapterFactory delegate() {
    return delegate;
  }

  /**
   * Runs {@code listener} for every acknowledged batch, on the agent's thread, before the wrapped
   * receiver sees it. What it throws is noted as a violation.
   */
  public RecordingQueueAdapterFactory onAcknowledged(Consumer<BatchContainer> listener) {
    ackListener = java.util.Objects.requireNonNull(listener, "listener");
    return this;
  }

  // ------------------------------------------------------------------ QueueAdapterFactory

  @Override
  public QueueAdapter createAdapter(ProviderContext context) {
    cacheSize = context.options().cacheSize();
    QueueAdapter adapter = delegate.createAdapter(context);
    return adapter == null ? null : new Adapter(adapter);
  }

  @Override
  public StreamQueueMapper streamQueueMapper() {
    return delegate.streamQueueMapper();
  }

  @Override
  public QueueAdapterCache queueAdapterCache(ProviderContext context) {
    QueueAdapterCache caches = delegate.queueAdapterCache(context);
    return queueId -> new Cache(queueId, caches.createQueueCache(queueId));
  }

  @Override
  public StreamFailureHandler failureHandler(QueueId queueId) {
    return delegate.failureHandler(queueId);
  }

  @Override
  public Optional<StreamQueueBalancer> queueBalancer() {
    return delegate.queueBalancer();
  }

  // ------------------------------------------------------------------ what was seen

  /** Queues whose receiver finished {@code initialize}, with how many times. */
  public Map<QueueId, Integer> initializedQueues() {
    return snapshot(initialized);
  }

  /** Queues whose receiver was shut down, with how many times. */
  public Map<QueueId, Integer> shutDownQueues() {
    return snapshot(shutDown);
  }

  private static Map<QueueId, Integer> snapshot(Map<QueueId, AtomicInteger> m) {
    Map<QueueId, Integer> out = new TreeMap<>();
    m.forEach((k, v) -> out.put(k, v.get()));
    return out;
  }

  /** Every batch read from {@code queueId}, in order. */
  public List<BatchContainer> read(QueueId queueId) {
    return copy(read.get(queueId));
  }

  /** How many batches were read from all queues. */
  public long readCount() {
    long n = 0;
    for (List<BatchContainer> l : read.values()) {
      synchronized (l) {
        n += l.size();
      }
    }
    return n;
  }

  /**
   * How many batches came back at or before a token already read: the rereads a receiver may do
   * after a failure it recovers from (at-least-once). Zero in a run without faults.
   */
  public int rereads() {
    return rereads.get();
  }

  /** Every batch acknowledged for {@code queueId}, in order. */
  public List<BatchContainer> acknowledged(QueueId queueId) {
    return copy(acknowledged.get(queueId));
  }

  /** Every batch of {@code streamId} acknowledged, in order. */
  public List<BatchContainer> acknowledged(StreamId streamId) {
    List<BatchContainer> out = new ArrayList<>();
    for (List<BatchContainer> l : acknowledged.values()) {
      synchronized (l) {
        for (BatchContainer b : l) {
          if (b.streamId().equals(streamId)) {
            out.add(b);
          }
        }
      }
    }
    return out;
  }

  /** How many batches were acknowledged over all queues. */
  public long acknowledgedCount() {
    long n = 0;
    for (List<BatchContainer> l : acknowledged.values()) {
      synchronized (l) {
        n += l.size();
      }
    }
    return n;
  }

  /** The most batches any cache held right after an add. */
  public int maxCacheSize() {
    int max = 0;
    for (AtomicInteger v : maxCacheSize.values()) {
      max = Math.max(max, v.get());
    }
    return max;
  }

  /**
   * The cache cursors opened and not closed yet, each as "queue: stream"; after the runtime closed,
   * any is a leak.
   */
  public List<String> openCursors() {
    List<String> out = new ArrayList<>();
    for (Cursor c : openCursors) {
      out.add(c.toString());
    }
    Collections.sort(out);
    return out;
  }

  /**
   * The replays from the queue opened and not closed yet, each as "queue: stream"; after the
   * runtime closed, any is a leak.
   */
  public List<String> openReplays() {
    List<String> out = new ArrayList<>();
    for (Replay r : openReplays) {
      out.add(r.toString());
    }
    Collections.sort(out);
    return out;
  }

  /** How many replays from the queue the runtime opened so far. */
  public int replaysOpened() {
    return replaysOpened.get();
  }

  /** Breaches of the SPI's rules seen so far; empty when the runtime behaved. */
  public List<String> violations() {
    synchronized (violations) {
      return List.copyOf(violations);
    }
  }

  private static List<BatchContainer> copy(List<BatchContainer> l) {
    if (l == null) {
      return List.of();
    }
    synchronized (l) {
      return List.copyOf(l);
    }
  }

  private void violation(String what) {
    if (violations.size() < 100) {
      violations.add(what);
    }
  }

  private static List<BatchContainer> listOf(Map<QueueId, List<BatchContainer>> m, QueueId q) {
    return m.computeIfAbsent(q, k -> Collections.synchronizedList(new ArrayList<>()));
  }

  // ------------------------------------------------------------------ wrappers

  private final class Adapter implements QueueAdapter {
    private final QueueAdapter delegate;

    Adapter(QueueAdapter delegate) {
      this.delegate = delegate;
    }

    @Override
    public String name() {
      return delegate.name();
    }

    @Override
    public CompletionStage<Void> queueMessageBatch(
        StreamId streamId, List<?> events, StreamSequenceToken token, Map<String, byte[]> headers) {
      return delegate.queueMessageBatch(streamId, events, token, headers);
    }

    @Override
    public QueueAdapterReceiver createReceiver(QueueId queueId) {
      return new Receiver(queueId, delegate.createReceiver(queueId));
    }

    @Override
    public boolean isRewindable() {
      return delegate.isRewindable();
    }

    @Override
    public QueueReplay openReplay(QueueId queueId, StreamId streamId, StreamSequenceToken from) {
      QueueReplay r = delegate.openReplay(queueId, streamId, from);
      if (r == null) {
        return null;
      }
      replaysOpened.incrementAndGet();
      Replay wrapped = new Replay(queueId, streamId, r);
      openReplays.add(wrapped);
      return wrapped;
    }

    @Override
    public CompletionStage<StreamSequenceToken> tokenAt(QueueId queueId, Instant time) {
      return delegate.tokenAt(queueId, time);
    }

    @Override
    public StreamProviderDirection direction() {
      return delegate.direction();
    }

    @Override
    public void close() {
      delegate.close();
    }

    @Override
    public String toString() {
      return "Recording(" + delegate + ")";
    }
  }

  private final class Receiver implements QueueAdapterReceiver {
    private final QueueId queueId;
    private final QueueAdapterReceiver delegate;
    private final AtomicBoolean inCall = new AtomicBoolean();
    private final Set<BatchContainer> unacknowledged =
        Collections.newSetFromMap(new IdentityHashMap<>());
    private volatile boolean ready;
    private volatile boolean down;
    private StreamSequenceToken lastRead;
    private final Map<dev.tributary.StreamId, StreamSequenceToken> lastAckedOfStream =
        new java.util.HashMap<>();

    Receiver(QueueId queueId, QueueAdapterReceiver delegate) {
      this.queueId = queueId;
      this.delegate = delegate;
    }

    private void enter(String call) {
      if (!inCall.compareAndSet(false, true)) {
        violation(queueId + ": " + call + " while another call into the receiver was running");
      }
      if (down) {
        violation(queueId + ": " + call + " after shutdown");
      }
    }

    private void exit() {
      inCall.set(false);
    }

    @Override
    public CompletionStage<Void> initialize(Duration timeout) {
      enter("initialize");
      try {
        return delegate
            .initialize(timeout)
            .whenComplete(
                (v, e) -> {
                  if (e == null) {
                    ready = true;
                    initialized
                        .computeIfAbsent(queueId, k -> new AtomicInteger())
                        .incrementAndGet();
                  }
                });
      } finally {
        exit();
      }
    }

    @Override
    public CompletionStage<List<BatchContainer>> getQueueMessages(int maxCount) {
      enter("getQueueMessages");
      try {
        if (!ready) {
          violation(queueId + ": getQueueMessages before initialize completed");
        }
        return delegate
            .getQueueMessages(maxCount)
            .thenApply(
                batches -> {
                  onRead(maxCount, batches);
                  return batches;
                });
      } finally {
        exit();
      }
    }

    private synchronized void onRead(int maxCount, List<BatchContainer> batches) {
      if (batches == null) {
        violation(queueId + ": getQueueMessages returned null instead of an empty list");
        return;
      }
      if (batches.size() > maxCount) {
        violation(
            queueId
                + ": getQueueMessages("
                + maxCount
                + ") returned "
                + batches.size()
                + " batches");
      }
      List<BatchContainer> log = listOf(read, queueId);
      for (BatchContainer b : batches) {
        if (lastRead != null && b.sequenceToken().compareTo(lastRead) <= 0) {
          rereads.incrementAndGet();
        }
        lastRead = b.sequenceToken();
        unacknowledged.add(b);
        log.add(b);
      }
    }

    @Override
    public CompletionStage<Void> messagesDelivered(List<BatchContainer> messages) {
      enter("messagesDelivered");
      try {
        onAcknowledged(messages);
        return delegate.messagesDelivered(messages);
      } finally {
        exit();
      }
    }

    private synchronized void onAcknowledged(List<BatchContainer> messages) {
      List<BatchContainer> log = listOf(acknowledged, queueId);
      for (BatchContainer b : messages) {
        if (!unacknowledged.remove(b)) {
          violation(
              queueId + ": acknowledged " + b + ", which was not read or already acknowledged");
        }
        // Exact acknowledgement: any order across streams, queue order within one.
        StreamSequenceToken lastAcked = lastAckedOfStream.put(b.streamId(), b.sequenceToken());
        if (lastAcked != null && b.sequenceToken().compareTo(lastAcked) <= 0) {
          violation(
              queueId
                  + ": acknowledged "
                  + b.sequenceToken()
                  + " of "
                  + b.streamId()
                  + " after "
                  + lastAcked
                  + " (not the stream's queue order)");
        }
        log.add(b);
        try {
          ackListener.accept(b);
        } catch (Throwable t) {
          violation(queueId + ": acknowledgement check failed for " + b + ": " + t);
        }
      }
    }

    @Override
    public CompletionStage<Void> shutdown(Duration timeout) {
      enter("shutdown");
      try {
        down = true;
        shutDown.computeIfAbsent(queueId, k -> new AtomicInteger()).incrementAndGet();
        return delegate.shutdown(timeout);
      } finally {
        exit();
      }
    }

    @Override
    public void setDataAvailableListener(Runnable listener) {
      delegate.setDataAvailableListener(listener);
    }

    @Override
    public StreamSequenceToken readStart() {
      return delegate.readStart();
    }
  }

  /** A replay that checks the SPI's rules: one read at a time, none after close. */
  private final class Replay implements QueueReplay {
    private final QueueId queueId;
    private final StreamId streamId;
    private final QueueReplay delegate;
    private final AtomicBoolean reading = new AtomicBoolean();
    private volatile boolean closed;

    Replay(QueueId queueId, StreamId streamId, QueueReplay delegate) {
      this.queueId = queueId;
      this.streamId = streamId;
      this.delegate = delegate;
    }

    @Override
    public CompletionStage<List<BatchContainer>> read(int maxCount) {
      if (closed) {
        violation(this + ": read after close");
      }
      if (!reading.compareAndSet(false, true)) {
        violation(this + ": read while another read was outstanding");
      }
      return delegate
          .read(maxCount)
          .whenComplete(
              (batches, e) -> {
                reading.set(false);
                if (batches != null) {
                  for (BatchContainer b : batches) {
                    if (!streamId.equals(b.streamId())) {
                      violation(this + ": returned a batch of " + b.streamId());
                    }
                  }
                }
              });
    }

    @Override
    public StreamSequenceToken position() {
      if (reading.get()) {
        violation(this + ": position asked while a read was outstanding");
      }
      return delegate.position();
    }

    @Override
    public void close() {
      closed = true;
      openReplays.remove(this);
      delegate.close();
    }

    @Override
    public String toString() {
      return queueId + ": replay of " + streamId;
    }
  }

  private final class Cache implements QueueCache {
    private final QueueId queueId;
    private final QueueCache delegate;

    Cache(QueueId queueId, QueueCache delegate) {
      this.queueId = queueId;
      this.delegate = delegate;
    }

    @Override
    public int maxAddCount() {
      return delegate.maxAddCount();
    }

    @Override
    public void addToCache(List<BatchContainer> batches) {
      delegate.addToCache(batches);
      int size = delegate.size();
      maxCacheSize
          .computeIfAbsent(queueId, k -> new AtomicInteger())
          .accumulateAndGet(size, Math::max);
      if (size > cacheSize) {
        violation(queueId + ": cache holds " + size + " batches but cacheSize is " + cacheSize);
      }
    }

    @Override
    public List<BatchContainer> tryPurgeFromCache() {
      return delegate.tryPurgeFromCache();
    }

    @Override
    public QueueCacheCursor cursor(StreamId streamId, StreamSequenceToken token) {
      return opened(streamId, delegate.cursor(streamId, token));
    }

    @Override
    public QueueCacheCursor cursorAtOldest(StreamId streamId) {
      return opened(streamId, delegate.cursorAtOldest(streamId));
    }

    @Override
    public boolean covers(StreamSequenceToken token) {
      return delegate.covers(token);
    }

    private QueueCacheCursor opened(StreamId streamId, QueueCacheCursor cursor) {
      Cursor c = new Cursor(queueId, streamId, cursor);
      openCursors.add(c);
      return c;
    }

    @Override
    public boolean isUnderPressure() {
      return delegate.isUnderPressure();
    }

    @Override
    public int size() {
      return delegate.size();
    }

    @Override
    public int cursorCount() {
      return delegate.cursorCount();
    }
  }

  /** A cursor that tells the factory when it is closed; changes nothing else. */
  private final class Cursor implements QueueCacheCursor {
    private final QueueId queueId;
    private final StreamId streamId;
    private final QueueCacheCursor delegate;

    Cursor(QueueId queueId, StreamId streamId, QueueCacheCursor delegate) {
      this.queueId = queueId;
      this.streamId = streamId;
      this.delegate = delegate;
    }

    @Override
    public boolean moveNext() {
      return delegate.moveNext();
    }

    @Override
    public BatchContainer current() {
      return delegate.current();
    }

    @Override
    public void markDelivered() {
      delegate.markDelivered();
    }

    @Override
    public void refresh(StreamSequenceToken token) {
      delegate.refresh(token);
    }

    @Override
    public void close() {
      openCursors.remove(this);
      delegate.close();
    }

    @Override
    public String toString() {
      return queueId + ": " + streamId;
    }
  }

  /** Queues seen initialized but never shut down; for invariant checks after close. */
  public Set<QueueId> stillOpenQueues() {
    Set<QueueId> out = new TreeSet<>(initialized.keySet());
    out.removeAll(shutDown.keySet());
    return out;
  }
}
