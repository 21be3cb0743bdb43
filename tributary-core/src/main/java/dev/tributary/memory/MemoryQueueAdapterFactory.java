package dev.tributary.memory;

import dev.tributary.EventSequenceToken;
import dev.tributary.EventsExpiredException;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.HashRingStreamQueueMapper;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueAdapter;
import dev.tributary.spi.QueueAdapterFactory;
import dev.tributary.spi.QueueAdapterReceiver;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.QueueReplay;
import dev.tributary.spi.StreamFailureHandler;
import dev.tributary.spi.StreamProviderDirection;
import dev.tributary.spi.StreamQueueMapper;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A provider backed by bounded queues in this JVM: for tests, demos and single-process apps.
 *
 * <p>Events are passed by reference, never serialized. Each queue holds at most {@code
 * queueCapacity} unread batches; producing to a full queue fails with {@link
 * MemoryQueueFullException}. Subscriptions may rewind within the agent's cache and, with {@link
 * Builder#history(int)}, to any batch the queue still keeps: older ones replay from the queue.
 * Nothing survives the JVM.
 */
public final class MemoryQueueAdapterFactory implements QueueAdapterFactory {

  /** Default {@link Builder#queueCount}: 8. */
  public static final int DEFAULT_QUEUE_COUNT = 8;

  /** Default {@link Builder#queueCapacity}: 100 000 batches. */
  public static final int DEFAULT_QUEUE_CAPACITY = 100_000;

  private final int queueCount;
  private final int queueCapacity;
  private final int history;
  private final StreamFailureHandler failureHandler;
  private final Consumer<BatchContainer> ackListener;
  private final ConcurrentHashMap<QueueId, MemoryQueue> queues = new ConcurrentHashMap<>();
  private volatile HashRingStreamQueueMapper mapper;
  private volatile String name;
  private volatile Clock clock = Clock.systemUTC();

  private MemoryQueueAdapterFactory(Builder b) {
    this.queueCount = b.queueCount != null ? b.queueCount : DEFAULT_QUEUE_COUNT;
    this.queueCapacity = b.queueCapacity != null ? b.queueCapacity : DEFAULT_QUEUE_CAPACITY;
    this.history = b.history != null ? b.history : 0;
    this.failureHandler = b.failureHandler != null ? b.failureHandler : StreamFailureHandler.SKIP;
    this.ackListener = b.ackListener;
  }

  /** Returns a builder. */
  public static Builder builder() {
    return new Builder();
  }

  @Override
  public QueueAdapter createAdapter(ProviderContext context) {
    if (name != null) {
      throw new IllegalStateException(
          "this MemoryQueueAdapterFactory already serves provider '"
              + name
              + "'; build one factory per provider");
    }
    name = context.providerName();
    clock = context.clock();
    mapper = new HashRingStreamQueueMapper(name, queueCount);
    for (QueueId q : mapper.allQueues()) {
      queues.put(q, new MemoryQueue(q));
    }
    return new Adapter();
  }

  @Override
  public StreamQueueMapper streamQueueMapper() {
    if (mapper == null) {
      throw new IllegalStateException("streamQueueMapper() was called before createAdapter()");
    }
    return mapper;
  }

  @Override
  public StreamFailureHandler failureHandler(QueueId queueId) {
    return failureHandler;
  }

  /** How many batches of {@code queueId} were acknowledged (delivered to every subscription). */
  public long acknowledgedCount(QueueId queueId) {
    MemoryQueue q = queues.get(queueId);
    return q == null ? 0 : q.acknowledged.get();
  }

  /** How many batches of all queues were acknowledged. */
  public long acknowledgedCount() {
    long n = 0;
    for (MemoryQueue q : queues.values()) {
      n += q.acknowledged.get();
    }
    return n;
  }

  /** How many batches wait in {@code queueId}, not yet read by its agent. */
  public int unreadCount(QueueId queueId) {
    MemoryQueue q = queues.get(queueId);
    return q == null ? 0 : q.unread();
  }

  private final class Adapter implements QueueAdapter {
    @Override
    public String name() {
      return name;
    }

    @Override
    public CompletionStage<Void> queueMessageBatch(
        StreamId streamId, List<?> events, StreamSequenceToken token, Map<String, byte[]> headers) {
      Objects.requireNonNull(streamId, "streamId");
      if (events == null || events.isEmpty()) {
        throw new IllegalArgumentException("events was empty but a batch needs at least one");
      }
      if (token != null) {
        throw new IllegalArgumentException(
            "memory queues assign their own tokens; token must be null but was " + token);
      }
      MemoryQueue q = queues.get(mapper.queueForStream(streamId));
      try {
        q.enqueue(
            streamId,
            events,
            headers == null || headers.isEmpty()
                ? Map.of()
                : java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(headers)));
        return CompletableFuture.completedFuture(null);
      } catch (MemoryQueueFullException e) {
        return CompletableFuture.failedFuture(e);
      }
    }

    @Override
    public QueueAdapterReceiver createReceiver(QueueId queueId) {
      MemoryQueue q = queues.get(queueId);
      if (q == null) {
        throw new IllegalArgumentException(
            "queue " + queueId + " is not one of provider '" + name + "': " + mapper.allQueues());
      }
      return new Receiver(q);
    }

    @Override
    public boolean isRewindable() {
      return true;
    }

    @Override
    public StreamProviderDirection direction() {
      return StreamProviderDirection.READ_WRITE;
    }

    /** A reader over the queue's history, when {@code history} keeps any; null otherwise. */
    @Override
    public QueueReplay openReplay(QueueId queueId, StreamId streamId, StreamSequenceToken from) {
      MemoryQueue q = queues.get(queueId);
      return history == 0 || q == null ? null : new Replay(q, streamId, from);
    }

    @Override
    public CompletionStage<StreamSequenceToken> tokenAt(QueueId queueId, Instant time) {
      MemoryQueue q = queues.get(queueId);
      if (history == 0 || q == null) {
        return QueueAdapter.super.tokenAt(queueId, time);
      }
      return CompletableFuture.completedFuture(q.tokenAt(time.toEpochMilli()));
    }
  }

  /** Reads one stream's batches from a queue's history; the agent's thread, one call at a time. */
  private static final class Replay implements QueueReplay {
    private final MemoryQueue queue;
    private final StreamId streamId;
    private volatile long position;

    Replay(MemoryQueue queue, StreamId streamId, StreamSequenceToken from) {
      this.queue = queue;
      this.streamId = streamId;
      this.position = from.sequenceNumber();
    }

    @Override
    public CompletionStage<List<BatchContainer>> read(int maxCount) {
      List<BatchContainer> out = new ArrayList<>();
      long[] at = {position};
      long earliest = queue.replay(streamId, at, maxCount, out);
      if (earliest > position) {
        long requested = position;
        position = earliest;
        return CompletableFuture.failedFuture(
            new EventsExpiredException(
                queue.id.toString(),
                streamId,
                new EventSequenceToken(requested),
                new EventSequenceToken(earliest)));
      }
      position = at[0];
      return CompletableFuture.completedFuture(out);
    }

    @Override
    public StreamSequenceToken position() {
      return new EventSequenceToken(position);
    }

    @Override
    public void close() {}
  }

  /** One bounded queue; producers and the reader meet under its lock. */
  private final class MemoryQueue {
    final QueueId id;
    final ArrayDeque<BatchContainer> unread = new ArrayDeque<>();
    final AtomicLong acknowledged = new AtomicLong();

    /**
     * The last {@code history} batches written, read or not; batch {@code s} in slot s % length.
     */
    final BatchContainer[] kept = new BatchContainer[history];

    long nextSequence;
    volatile Runnable dataListener;

    MemoryQueue(QueueId id) {
      this.id = id;
    }

    void enqueue(StreamId streamId, List<?> events, Map<String, byte[]> headers) {
      boolean wasEmpty;
      synchronized (this) {
        if (unread.size() >= queueCapacity) {
          throw new MemoryQueueFullException(id.toString(), queueCapacity, streamId);
        }
        wasEmpty = unread.isEmpty();
        long sequence = nextSequence++;
        BatchContainer batch =
            new MemoryBatchContainer(
                streamId, new EventSequenceToken(sequence), events, headers, clock.millis());
        unread.addLast(batch);
        if (kept.length > 0) {
          kept[(int) (sequence % kept.length)] = batch;
        }
      }
      Runnable l = dataListener;
      if (wasEmpty && l != null) {
        l.run();
      }
    }

    synchronized List<BatchContainer> poll(int max) {
      if (unread.isEmpty()) {
        return List.of();
      }
      int n = Math.min(max, unread.size());
      List<BatchContainer> out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        out.add(unread.pollFirst());
      }
      return out;
    }

    synchronized int unread() {
      return unread.size();
    }

    /** The sequence number of the first batch the reader has not taken yet. */
    synchronized long firstUnread() {
      return nextSequence - unread.size();
    }

    private long oldestKept() {
      return Math.max(0, nextSequence - kept.length);
    }

    /**
     * Adds to {@code out} up to {@code max} batches of {@code streamId} from sequence {@code at[0]}
     * on and moves {@code at[0]} past what it looked at. Returns the oldest sequence kept: when it
     * is above {@code at[0]}, those batches are gone and nothing was read.
     */
    synchronized long replay(StreamId streamId, long[] at, int max, List<BatchContainer> out) {
      long oldest = oldestKept();
      if (at[0] < oldest) {
        return oldest;
      }
      long s = at[0];
      // Bounded work under the producers' lock: a sparse stream is found over several reads.
      long limit = Math.min(nextSequence, s + 16L * max);
      for (; s < limit && out.size() < max; s++) {
        BatchContainer b = kept[(int) (s % kept.length)];
        if (streamId.equals(b.streamId())) {
          out.add(b);
        }
      }
      at[0] = s;
      return oldest;
    }

    /** The token of the first kept batch written at or after {@code millis}; null when none. */
    synchronized StreamSequenceToken tokenAt(long millis) {
      for (long s = oldestKept(); s < nextSequence; s++) {
        BatchContainer b = kept[(int) (s % kept.length)];
        if (b.timestampMillis() >= millis) {
          return b.sequenceToken();
        }
      }
      return null;
    }
  }

  private final class Receiver implements QueueAdapterReceiver {
    private final MemoryQueue queue;

    Receiver(MemoryQueue queue) {
      this.queue = queue;
    }

    /** Where this receiver starts: the queue's first unread batch, once initialized. */
    private volatile StreamSequenceToken readStart;

    @Override
    public CompletionStage<Void> initialize(Duration timeout) {
      readStart = new EventSequenceToken(queue.firstUnread());
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public StreamSequenceToken readStart() {
      return readStart;
    }

    @Override
    public CompletionStage<List<BatchContainer>> getQueueMessages(int maxCount) {
      return CompletableFuture.completedFuture(queue.poll(maxCount));
    }

    @Override
    public CompletionStage<Void> messagesDelivered(List<BatchContainer> messages) {
      queue.acknowledged.addAndGet(messages.size());
      if (ackListener != null) {
        messages.forEach(ackListener);
      }
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Void> shutdown(Duration timeout) {
      queue.dataListener = null;
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public void setDataAvailableListener(Runnable listener) {
      queue.dataListener = listener;
    }
  }

  /** Builds a {@link MemoryQueueAdapterFactory}; each option may be set once. */
  public static final class Builder {
    private Integer queueCount;
    private Integer queueCapacity;
    private Integer history;
    private StreamFailureHandler failureHandler;
    private Consumer<BatchContainer> ackListener;

    private Builder() {}

    /** Sets the number of queues [8]; 1 to 4096. */
    public Builder queueCount(int count) {
      once("queueCount", queueCount);
      if (count < 1 || count > 4096) {
        throw new IllegalArgumentException(
            "queueCount was " + count + " but it must be between 1 and 4096");
      }
      queueCount = count;
      return this;
    }

    /** Sets how many unread batches a queue holds before producers are refused [100000]; >= 1. */
    public Builder queueCapacity(int capacity) {
      once("queueCapacity", queueCapacity);
      if (capacity < 1) {
        throw new IllegalArgumentException(
            "queueCapacity was " + capacity + " but it must be at least 1");
      }
      queueCapacity = capacity;
      return this;
    }

    /**
     * Sets how many of the latest batches each queue keeps after they were read [0], so that a
     * subscription whose token is older than its agent's cache replays them from the queue; 0 to
     * 10,000,000. A token older than what is kept reports {@link
     * dev.tributary.EventsExpiredException} and starts at the oldest kept batch.
     */
    public Builder history(int batches) {
      once("history", history);
      if (batches < 0 || batches > 10_000_000) {
        throw new IllegalArgumentException(
            "history was " + batches + " but it must be between 0 and 10000000");
      }
      history = batches;
      return this;
    }

    /** Sets what happens to undeliverable events [skip them]. */
    public Builder failureHandler(StreamFailureHandler handler) {
      once("failureHandler", failureHandler);
      failureHandler = Objects.requireNonNull(handler, "failureHandler");
      return this;
    }

    /** Observes every acknowledged batch, on the agent's thread; for tests. */
    public Builder acknowledgementListener(Consumer<BatchContainer> listener) {
      once("acknowledgementListener", ackListener);
      ackListener = Objects.requireNonNull(listener, "acknowledgementListener");
      return this;
    }

    /** Builds the factory; it serves one provider. */
    public MemoryQueueAdapterFactory build() {
      return new MemoryQueueAdapterFactory(this);
    }

    private static void once(String name, Object current) {
      if (current != null) {
        throw new IllegalStateException(name + " was already set to " + current);
      }
    }
  }
}
