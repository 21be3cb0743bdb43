package dev.tributary.kafka;

import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.QueueId;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.TopicPartition;

/**
 * What this node knows about one partition it owns: the records fetched for its agent, the
 * delivered watermark, the committed offset and the dead letters still in flight.
 *
 * <h2>Threading</h2>
 *
 * <p>Three parties share it. The partition's consumer thread appends fetched records ({@link
 * #append}), pauses and resumes, and commits. The agent's logical thread, through the receiver,
 * drains records ({@link #drain}) and reports deliveries ({@link #delivered}). Gauges, the stall
 * watchdog and dead-letter callbacks read it from other threads. The buffer and the offsets that
 * must agree with it are guarded by {@code this}; everything else is atomic or volatile. Nobody
 * calls out while holding the lock.
 *
 * <h2>Offsets</h2>
 *
 * <p>{@code nextFetchOffset} is the offset after the last record the consumer thread dealt with:
 * buffered, or handed to the poison policy. The delivered watermark is the highest offset the agent
 * acknowledged + 1; the cache acknowledges in queue order, and batches it gave up on are not
 * acknowledged but do not hold the watermark back once a later batch is, because the failure policy
 * handled them. The offset to commit is the watermark, lowered to the oldest dead letter not yet
 * written, and raised to {@code nextFetchOffset} when every record handed out was acknowledged and
 * nothing is buffered (so that trailing poison records are committed too). It never moves
 * backwards.
 */
final class PartitionState {

  final TopicPartition tp;
  final QueueId queueId;
  final int maxBuffered;
  final boolean discoveredAtRuntime;

  private final ArrayDeque<KafkaBatchContainer> buffer = new ArrayDeque<>();
  private long nextFetchOffset = -1;
  private long lastHandedOut = -1;

  private final AtomicLong deliveredWatermark = new AtomicLong(-1);
  private final AtomicLong deliveredCount = new AtomicLong();
  private final ConcurrentSkipListSet<Long> pendingDeadLetters = new ConcurrentSkipListSet<>();

  /** Handed-out records not yet acknowledged, oldest first; guarded by {@code this}. */
  private final ArrayDeque<KafkaBatchContainer> handedOut = new ArrayDeque<>();

  volatile long committed = -1;
  volatile long logEndOffset = -1;
  volatile boolean paused;
  volatile boolean resumeRequested;
  volatile Runnable dataListener;
  volatile boolean closed;
  volatile ConsumerLoop owner;
  volatile boolean stalled;
  volatile long oldestUndeliveredTimestamp = -1;
  volatile int bufferedCount;

  /** Watchdog-thread only. */
  long watchedWatermark = Long.MIN_VALUE;

  long watchedSinceNanos;

  PartitionState(TopicPartition tp, int maxBuffered, boolean discoveredAtRuntime) {
    this.tp = tp;
    this.queueId = QueueId.of(tp.topic(), tp.partition());
    this.maxBuffered = maxBuffered;
    this.discoveredAtRuntime = discoveredAtRuntime;
  }

  // ------------------------------------------------------------ consumer thread

  /** Sets where reading starts, once known; ignored after records were fetched. */
  synchronized void startAt(long offset) {
    if (nextFetchOffset < 0 && offset >= 0) {
      nextFetchOffset = offset;
    }
  }

  /**
   * Appends fetched records in offset order and moves {@code nextFetchOffset} to {@code
   * nextOffset}; records at offsets already dealt with are dropped so that no offset reaches the
   * agent twice. Returns true when the buffer went from empty to non-empty (the caller then wakes
   * the agent, outside this lock).
   */
  synchronized boolean append(List<KafkaBatchContainer> records, long nextOffset) {
    boolean wasEmpty = buffer.isEmpty();
    for (int i = 0, n = records.size(); i < n; i++) {
      KafkaBatchContainer r = records.get(i);
      if (r.offset() >= nextFetchOffset) {
        buffer.addLast(r);
      }
    }
    if (nextOffset > nextFetchOffset) {
      nextFetchOffset = nextOffset;
    }
    bufferedCount = buffer.size();
    if (oldestUndeliveredTimestamp < 0 && !buffer.isEmpty()) {
      oldestUndeliveredTimestamp = buffer.peekFirst().timestampMillis();
    }
    return wasEmpty && !buffer.isEmpty();
  }

  /** The offset after the last record dealt with, or -1 when unknown. */
  synchronized long nextFetchOffset() {
    return nextFetchOffset;
  }

  /** True when the buffer holds at least {@code maxBuffered} records. */
  boolean isFull() {
    return bufferedCount >= maxBuffered;
  }

  /** True when a paused partition may fetch again: its buffer is at most half full. */
  boolean canResume() {
    return bufferedCount <= maxBuffered / 2;
  }

  // ------------------------------------------------------------ agent thread

  /** Takes up to {@code max} buffered records, oldest first; never blocks. */
  List<BatchContainer> drain(int max) {
    List<BatchContainer> out;
    synchronized (this) {
      int n = Math.min(max, buffer.size());
      if (n == 0) {
        return List.of();
      }
      out = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        KafkaBatchContainer r = buffer.pollFirst();
        out.add(r);
        handedOut.addLast(r);
      }
      lastHandedOut = ((KafkaBatchContainer) out.get(n - 1)).offset();
      bufferedCount = buffer.size();
    }
    if (paused && canResume()) {
      resumeRequested = true;
    }
    publishOldest();
    return out;
  }

  /** Records batches every subscription has passed, in queue order. */
  void delivered(List<BatchContainer> batches) {
    long highest = -1;
    for (int i = 0, n = batches.size(); i < n; i++) {
      if (batches.get(i) instanceof KafkaBatchContainer k && k.offset() > highest) {
        highest = k.offset();
      }
    }
    if (highest < 0) {
      return;
    }
    long next = highest + 1;
    deliveredWatermark.accumulateAndGet(next, Math::max);
    deliveredCount.addAndGet(batches.size());
    synchronized (this) {
      while (!handedOut.isEmpty() && handedOut.peekFirst().offset() < next) {
        handedOut.pollFirst();
      }
    }
    publishOldest();
  }

  private void publishOldest() {
    synchronized (this) {
      KafkaBatchContainer oldest =
          !handedOut.isEmpty() ? handedOut.peekFirst() : buffer.peekFirst();
      oldestUndeliveredTimestamp = oldest == null ? -1 : oldest.timestampMillis();
    }
  }

  // ------------------------------------------------------------ any thread

  /** The highest acknowledged offset + 1, or -1 before the first acknowledgement. */
  long deliveredWatermark() {
    return deliveredWatermark.get();
  }

  /** How many records were acknowledged in total; drives commit-after-N-records. */
  long deliveredCount() {
    return deliveredCount.get();
  }

  /** The offset to commit now, or -1 when nothing can be committed yet; see the class comment. */
  long commitCandidate() {
    long candidate;
    synchronized (this) {
      long watermark = deliveredWatermark.get();
      boolean allHandedOutAcked = lastHandedOut < 0 || watermark > lastHandedOut;
      candidate = watermark;
      if (allHandedOutAcked && buffer.isEmpty() && nextFetchOffset > candidate) {
        candidate = nextFetchOffset;
      }
    }
    Long pending = firstPendingDeadLetter();
    if (pending != null && candidate > pending) {
      candidate = pending;
    }
    return candidate;
  }

  /** Registers a dead letter in flight: the commit stays at or below it until it is written. */
  void deadLetterPending(long offset) {
    pendingDeadLetters.add(offset);
  }

  /** The dead letter of {@code offset} was written (or given up with the partition). */
  void deadLetterDone(long offset) {
    pendingDeadLetters.remove(offset);
  }

  /** How many dead letters are in flight. */
  int pendingDeadLetters() {
    return pendingDeadLetters.size();
  }

  private Long firstPendingDeadLetter() {
    try {
      return pendingDeadLetters.isEmpty() ? null : pendingDeadLetters.first();
    } catch (java.util.NoSuchElementException raced) {
      return null;
    }
  }

  /** Records a successful commit of {@code offset}; never lowers the committed offset. */
  synchronized void committedAt(long offset) {
    if (offset > committed) {
      committed = offset;
    }
  }

  /** The offset position delivery has reached: the watermark, or where reading started. */
  long deliveredPosition() {
    long w = deliveredWatermark.get();
    if (w >= 0) {
      return w;
    }
    long c = committed;
    if (c >= 0) {
      return c;
    }
    synchronized (this) {
      KafkaBatchContainer first = !handedOut.isEmpty() ? handedOut.peekFirst() : buffer.peekFirst();
      return first != null ? first.offset() : nextFetchOffset;
    }
  }

  /** Records not yet delivered: log end minus the delivered position, or 0 when unknown. */
  long lag() {
    long end = logEndOffset;
    long pos = deliveredPosition();
    return end < 0 || pos < 0 ? 0 : Math.max(0, end - pos);
  }

  /** The offset of the oldest record handed out and not yet acknowledged, or -1. */
  synchronized long oldestHandedOut() {
    return handedOut.isEmpty() ? -1 : handedOut.peekFirst().offset();
  }

  @Override
  public String toString() {
    return "PartitionState{"
        + tp
        + ", buffered="
        + bufferedCount
        + ", watermark="
        + deliveredWatermark.get()
        + ", committed="
        + committed
        + (paused ? ", paused" : "")
        + "}";
  }
}
