package dev.tributary.kafka;

import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.QueueId;
import java.util.Arrays;
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
 * buffered, skipped as delivered before, or handed to the poison policy. The agent acknowledges a
 * record as soon as every subscription of its stream passed it (delivered, or given up after the
 * failure policy had it), so acknowledgements arrive out of offset order. The delivered watermark
 * is exact: the offset of the oldest record handed out and not acknowledged yet, or, when every
 * record handed out was, the offset after the last one. The offset to commit is the watermark,
 * lowered to the oldest dead letter not yet written, and raised to {@code nextFetchOffset} when
 * every record handed out was acknowledged and nothing is buffered (so that trailing poison records
 * are committed too). It never moves backwards.
 *
 * <p>Records acknowledged above the committed offset travel with the commit as its metadata ({@link
 * DeliveredOffsets}): whoever reads the partition next from that commit skips them, so a graceful
 * close or hand-over delivers nothing twice even while one stream is behind the others.
 */
final class PartitionState {

  final TopicPartition tp;
  final QueueId queueId;
  final int maxBuffered;
  final long maxBufferedBytes;
  final boolean discoveredAtRuntime;

  /**
   * The records of this partition that the agent has not acknowledged yet, oldest first, in a ring
   * guarded by {@code this}: positions {@code [head, handed)} were handed out to the agent,
   * positions {@code [handed, tail)} are buffered. Positions grow forever; a position's slot is
   * {@code position & (ring.length - 1)}.
   */
  private KafkaBatchContainer[] ring = new KafkaBatchContainer[64];

  /** Whether the record at a handed-out position was acknowledged; same slots as {@link #ring}. */
  private boolean[] acked = new boolean[64];

  /**
   * Offsets above the committed offset that an earlier owner acknowledged (from the commit's
   * metadata): skipped when fetched, and carried on in every commit until the watermark passes
   * them.
   */
  private DeliveredOffsets restored = DeliveredOffsets.NONE;

  private long head;
  private long handed;
  private long tail;
  private long nextFetchOffset = -1;

  /** The offset this state started reading at; -1 until known. */
  private long startOffset = -1;

  private long lastHandedOut = -1;
  private long skippedAsDelivered;

  private final AtomicLong deliveredWatermark = new AtomicLong(-1);
  private final AtomicLong deliveredCount = new AtomicLong();
  private final ConcurrentSkipListSet<Long> pendingDeadLetters = new ConcurrentSkipListSet<>();

  volatile long committed = -1;

  /** The metadata of the last commit (the offsets delivered above it), or "" when none. */
  volatile String committedMetadata = "";

  volatile long logEndOffset = -1;
  volatile boolean paused;
  volatile boolean resumeRequested;
  volatile Runnable dataListener;
  volatile boolean closed;

  /**
   * True while the partition ownership listener holds this partition's delivery back: the receiver
   * hands out nothing, the consumer thread keeps buffering ({@link OwnershipNotifier}).
   */
  volatile boolean gated;

  volatile ConsumerLoop owner;
  volatile boolean stalled;

  /** When the watchdog last saw the watermark move before it flagged the stall; -1 when not. */
  volatile long stalledSinceMillis = -1;

  /** When the consumer paused fetching for backpressure, on the provider's clock; -1 when not. */
  volatile long pausedSinceMillis = -1;

  /** True while an operator stopped the agents ({@code stopAgents}): paused, not fetched. */
  volatile boolean held;

  volatile long oldestUndeliveredTimestamp = -1;
  volatile int bufferedCount;

  /** Written under {@code this}, read by any thread. */
  private volatile long bufferedBytes;

  /** The topic's configuration (value deserializer); null only in unit tests that never decode. */
  final TopicConfig config;

  /** The partition's keys' stream ids; consumer thread only. */
  final StreamIdTable streamIds;

  /** Watchdog-thread only. */
  long watchedWatermark = Long.MIN_VALUE;

  /** When the watchdog first saw {@link #watchedWatermark}, on the provider time's clock. */
  long watchedSinceMillis;

  /** False until the watchdog first looked at this partition. */
  boolean watching;

  PartitionState(
      TopicPartition tp,
      TopicConfig config,
      int maxBuffered,
      long maxBufferedBytes,
      boolean discoveredAtRuntime) {
    this.tp = tp;
    this.config = config;
    this.queueId = QueueId.of(tp.topic(), tp.partition());
    this.maxBuffered = maxBuffered;
    this.maxBufferedBytes = maxBufferedBytes;
    this.discoveredAtRuntime = discoveredAtRuntime;
    this.streamIds = new StreamIdTable(tp.topic());
  }

  // ------------------------------------------------------------ consumer thread

  /** Sets where reading starts, once known; ignored after records were fetched. */
  synchronized void startAt(long offset) {
    if (nextFetchOffset < 0 && offset >= 0) {
      nextFetchOffset = offset;
      startOffset = offset;
    }
  }

  /**
   * The offset from which the agent receives every record of the partition (poison records aside):
   * where reading started, raised above the offsets an earlier owner delivered already (those are
   * skipped); -1 until reading started.
   */
  synchronized long readStart() {
    if (startOffset < 0) {
      return -1;
    }
    return Math.max(startOffset, restored.highest() + 1);
  }

  /**
   * Appends fetched records in offset order and moves {@code nextFetchOffset} to {@code
   * nextOffset}; records at offsets already dealt with are dropped so that no offset reaches the
   * agent twice. Returns true when the buffer went from empty to non-empty (the caller then wakes
   * the agent, outside this lock).
   */
  synchronized boolean append(List<KafkaBatchContainer> records, long nextOffset) {
    boolean wasEmpty = tail == handed;
    int n = records.size();
    if (startOffset < 0) {
      // The position was not known when reading started: the first fetch says where it was.
      startOffset = n > 0 ? records.get(0).offset() : nextOffset;
    }
    ensureCapacity(tail - head + n);
    long bytes = bufferedBytes;
    for (int i = 0; i < n; i++) {
      KafkaBatchContainer r = records.get(i);
      if (r.offset() >= nextFetchOffset) {
        nextFetchOffset = r.offset() + 1;
        if (restored.contains(r.offset())) {
          skippedAsDelivered++;
          continue;
        }
        int slot = slot(tail++);
        ring[slot] = r;
        acked[slot] = false;
        bytes += r.sizeBytes();
      }
    }
    if (nextOffset > nextFetchOffset) {
      nextFetchOffset = nextOffset;
    }
    bufferedBytes = bytes;
    bufferedCount = (int) (tail - handed);
    if (oldestUndeliveredTimestamp < 0 && tail != head) {
      oldestUndeliveredTimestamp = ring[slot(head)].timestampMillis();
    }
    return wasEmpty && tail != handed;
  }

  /** The offset after the last record dealt with, or -1 when unknown. */
  synchronized long nextFetchOffset() {
    return nextFetchOffset;
  }

  /**
   * True when the buffer holds at least {@code maxBuffered} records or {@code maxBufferedBytes}
   * bytes.
   */
  boolean isFull() {
    return bufferedCount >= maxBuffered || bufferedBytes >= maxBufferedBytes;
  }

  /**
   * True when a paused partition may fetch again: its buffer is at most half full on both counts.
   */
  boolean canResume() {
    return bufferedCount <= maxBuffered / 2 && bufferedBytes <= maxBufferedBytes / 2;
  }

  /** The bytes buffered for the agent, as reckoned by {@link KafkaBatchContainer#sizeBytes()}. */
  long bufferedBytes() {
    return bufferedBytes;
  }

  // ------------------------------------------------------------ agent thread

  /** Takes up to {@code max} buffered records, oldest first; never blocks. */
  List<BatchContainer> drain(int max) {
    BatchContainer[] out;
    synchronized (this) {
      int n = (int) Math.min(max, tail - handed);
      if (n <= 0) {
        return List.of();
      }
      out = new BatchContainer[n];
      long bytes = bufferedBytes;
      for (int i = 0; i < n; i++) {
        KafkaBatchContainer r = ring[slot(handed++)];
        out[i] = r;
        bytes -= r.sizeBytes();
      }
      bufferedBytes = bytes;
      lastHandedOut = ((KafkaBatchContainer) out[n - 1]).offset();
      bufferedCount = (int) (tail - handed);
    }
    if (paused && canResume()) {
      resumeRequested = true;
    }
    return Arrays.asList(out);
  }

  /**
   * Records batches every subscription has passed, in any order; each handed-out record counts
   * once, whatever is repeated.
   */
  void delivered(List<BatchContainer> batches) {
    int counted = 0;
    synchronized (this) {
      for (int i = 0, n = batches.size(); i < n; i++) {
        if (batches.get(i) instanceof KafkaBatchContainer k) {
          long p = positionOf(k.offset());
          if (p >= 0 && !acked[slot(p)]) {
            acked[slot(p)] = true;
            counted++;
          }
        }
      }
      if (counted == 0) {
        return;
      }
      while (head < handed && acked[slot(head)]) {
        ring[slot(head++)] = null;
      }
      long watermark = head < handed ? ring[slot(head)].offset() : lastHandedOut + 1;
      deliveredWatermark.accumulateAndGet(watermark, Math::max);
      oldestUndeliveredTimestamp = head == tail ? -1 : ring[slot(head)].timestampMillis();
    }
    deliveredCount.addAndGet(counted);
  }

  /** The position of the handed-out record at {@code offset}, or -1; under {@code this}. */
  private long positionOf(long offset) {
    if (head >= handed) {
      return -1;
    }
    // Offsets without gaps (no compaction, no transaction markers) put the record at its distance
    // from the oldest one: one read instead of a search.
    long guess = head + (offset - ring[slot(head)].offset());
    if (guess >= head && guess < handed && ring[slot(guess)].offset() == offset) {
      return guess;
    }
    long lo = head;
    long hi = handed - 1;
    while (lo <= hi) {
      long mid = (lo + hi) >>> 1;
      long o = ring[slot(mid)].offset();
      if (o < offset) {
        lo = mid + 1;
      } else if (o > offset) {
        hi = mid - 1;
      } else {
        return mid;
      }
    }
    return -1;
  }

  /**
   * Takes the offsets that the commit a new owner starts from says were delivered already (its
   * metadata, written by {@link #deliveredAbove}); unreadable or foreign metadata means none.
   */
  synchronized void restoreDelivered(long committedOffset, String metadata) {
    restored = DeliveredOffsets.decode(committedOffset, metadata);
  }

  /**
   * The metadata to commit with {@code offset}: every offset above it that was acknowledged (here
   * or, restored, by an earlier owner), encoded compactly; empty when there is none.
   */
  synchronized String deliveredAbove(long offset) {
    DeliveredOffsets.Builder b = DeliveredOffsets.builder(offset);
    for (long p = head; p < handed; p++) {
      // A record whose dead letter is not written yet is not done: the next reader must see it.
      long o = ring[slot(p)].offset();
      if (acked[slot(p)] && !pendingDeadLetters.contains(o)) {
        b.add(o);
      }
    }
    b.addAll(restored);
    return b.encode();
  }

  /**
   * True when {@code k} is a record this state handed out and has not seen acknowledged: the
   * agent's batch belongs to this assignment of the partition, not an earlier or later one.
   */
  synchronized boolean handedOut(KafkaBatchContainer k) {
    long p = positionOf(k.offset());
    return p >= 0 && ring[slot(p)] == k && !acked[slot(p)];
  }

  /** How many fetched records were skipped because an earlier owner had delivered them. */
  synchronized long skippedAsDelivered() {
    return skippedAsDelivered;
  }

  private int slot(long position) {
    return (int) (position & (ring.length - 1));
  }

  /** Grows the ring so that it holds {@code size} records; keeps every position's record. */
  private void ensureCapacity(long size) {
    if (size <= ring.length) {
      return;
    }
    int length = ring.length;
    while (length < size) {
      length <<= 1;
    }
    KafkaBatchContainer[] grown = new KafkaBatchContainer[length];
    boolean[] grownAcked = new boolean[length];
    for (long p = head; p < tail; p++) {
      grown[(int) (p & (length - 1))] = ring[slot(p)];
      grownAcked[(int) (p & (length - 1))] = acked[slot(p)];
    }
    ring = grown;
    acked = grownAcked;
  }

  // ------------------------------------------------------------ any thread

  /**
   * The oldest offset handed out and not acknowledged (or the one after the last handed out, when
   * all were), or -1 before the first acknowledgement.
   */
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
      if (allHandedOutAcked && handed == tail) {
        candidate = Math.max(candidate, nextFetchOffset);
      } else if (allHandedOutAcked && lastHandedOut >= 0) {
        // Everything handed out was delivered: the oldest record still needed is the first one
        // buffered. Offsets in between were dealt with (skipped as delivered before, or poison).
        candidate = Math.max(candidate, ring[slot(handed)].offset());
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
  synchronized void committedAt(long offset, String metadata) {
    if (offset > committed) {
      committed = offset;
      committedMetadata = metadata;
    } else if (offset == committed) {
      committedMetadata = metadata;
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
      return head != tail ? ring[slot(head)].offset() : nextFetchOffset;
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
    return head == handed ? -1 : ring[slot(head)].offset();
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
