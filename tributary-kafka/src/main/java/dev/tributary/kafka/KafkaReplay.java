package dev.tributary.kafka;

import dev.tributary.EventSequenceToken;
import dev.tributary.EventsExpiredException;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.QueueReplay;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetOutOfRangeException;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One stream's replay from its partition: a KafkaConsumer of its own, assigned the partition and
 * sought to the start offset (never the group's consumer, never a commit), that reads forward and
 * returns the records of the stream's key, skipping every other key's without decoding its value.
 *
 * <p>A read polls until it has {@code maxCount} records of the stream, or some once the records
 * fetched so far are used up, or the partition's end as of its last fetch (then found or not, so
 * that the agent can hand over to its cache while records keep arriving). Records fetched beyond
 * what one read returns wait for the next one, so memory is bounded by one poll's records.
 *
 * <p>A start below the log start, or a position that retention or {@code deleteRecords} removed
 * while the replay ran, fails one read with {@link EventsExpiredException} (requested and earliest
 * offsets) and the replay continues at the earliest retained offset. A start at or past the log end
 * reads nothing until records arrive there.
 *
 * <p>Threading: {@link #read} and {@link #close()} on the agent's thread; the consumer only on the
 * replay threads, one task at a time ({@link KafkaReplays}). The fields under {@code this} are the
 * hand-over between the two; {@link #position} and {@link #lag} are volatile for the agent and the
 * gauges; the rest belongs to the running task.
 */
final class KafkaReplay implements QueueReplay {
  private static final Logger log = LoggerFactory.getLogger(KafkaReplay.class);
  private static final Duration POLL = Duration.ofMillis(100);
  private static final Duration OFFSETS_TIMEOUT = Duration.ofSeconds(10);

  private final KafkaReplays replays;
  private final KafkaQueueAdapter adapter;
  private final TopicPartition tp;
  private final StreamId streamId;
  private final long from;
  private final byte[] key;

  /**
   * True when the stream's key came from key bytes that are not UTF-8 (the live path decodes them
   * lossily): such keys are compared as decoded strings, not as bytes.
   */
  private final boolean lossyKey;

  private final boolean nullKeysMatch;
  private final StreamIdTable ids;

  // Guarded by this.
  private CompletableFuture<List<BatchContainer>> pending;
  private int pendingMax;
  private boolean asked;
  private boolean admitted;
  private boolean running;
  private boolean released;
  private volatile boolean closed;

  // The running task's.
  private Consumer<byte[], byte[]> consumer;
  private boolean started;
  private final ArrayDeque<ConsumerRecord<byte[], byte[]>> fetched = new ArrayDeque<>();
  private long expiredTo = -1;

  /** True when the last fetch reached the log's end as it stood then. */
  private boolean atEnd;

  private volatile long position;
  private volatile long lag = -1;

  KafkaReplay(
      KafkaReplays replays,
      KafkaQueueAdapter adapter,
      TopicPartition tp,
      StreamId streamId,
      long from) {
    this.replays = replays;
    this.adapter = adapter;
    this.tp = tp;
    this.streamId = streamId;
    this.from = from;
    this.position = from;
    this.key = streamId.key().getBytes(StandardCharsets.UTF_8);
    this.lossyKey = streamId.key().indexOf('\uFFFD') >= 0;
    boolean nulls;
    try {
      nulls =
          streamId
              .key()
              .equals(adapter.settings().nullKeyPolicy().streamKey(tp.topic(), tp.partition()));
    } catch (RuntimeException e) {
      nulls = false;
    }
    this.nullKeysMatch = nulls;
    this.ids = new StreamIdTable(tp.topic());
  }

  // ---------------------------------------------------------------- agent's thread

  @Override
  public CompletionStage<List<BatchContainer>> read(int maxCount) {
    CompletableFuture<List<BatchContainer>> f = new CompletableFuture<>();
    boolean admit = false;
    boolean run = false;
    synchronized (this) {
      if (closed) {
        return CompletableFuture.completedFuture(List.of());
      }
      if (pending != null) {
        return CompletableFuture.failedFuture(
            new IllegalStateException("a read of " + this + " is still outstanding"));
      }
      pending = f;
      pendingMax = Math.max(1, maxCount);
      if (!asked) {
        asked = true;
        admit = true;
      } else if (admitted && !running) {
        running = true;
        run = true;
      }
    }
    if (admit) {
      replays.admit(this);
    } else if (run) {
      replays.run(this::task);
    }
    return f;
  }

  @Override
  public StreamSequenceToken position() {
    return new EventSequenceToken(position);
  }

  @Override
  public void close() {
    CompletableFuture<List<BatchContainer>> f;
    boolean dequeue = false;
    boolean closeNow = false;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      f = pending;
      pending = null;
      if (!admitted) {
        // Not admitted (waiting for a slot, or never read): nothing to close but the queue entry.
        // If a slot is being given to it right now, admitted() hands it back.
        dequeue = true;
      } else if (!running) {
        running = true;
        closeNow = true;
      }
    }
    if (f != null) {
      f.complete(List.of());
    }
    if (dequeue) {
      replays.release(this, false);
    } else if (closeNow) {
      replays.run(this::finishClose);
    }
  }

  // ---------------------------------------------------------------- replay threads

  /** A slot is free for this replay: run its first read. Any thread. */
  void admitted() {
    boolean run = false;
    boolean giveBack = false;
    synchronized (this) {
      admitted = true;
      if (closed) {
        giveBack = !released;
        released = true;
      } else if (pending != null && !running) {
        running = true;
        run = true;
      }
    }
    if (giveBack) {
      replays.release(this, true);
    } else if (run) {
      replays.run(this::task);
    }
  }

  private void task() {
    CompletableFuture<List<BatchContainer>> f;
    int max;
    synchronized (this) {
      f = pending;
      max = pendingMax;
    }
    List<BatchContainer> result = null;
    Throwable error = null;
    if (!closed && f != null) {
      try {
        result = readNow(max);
      } catch (Throwable t) {
        error = t;
      }
    }
    boolean close;
    synchronized (this) {
      if (pending == f) {
        pending = null;
      }
      close = closed;
      if (!close) {
        running = false;
      }
    }
    if (f != null) {
      if (error != null) {
        f.completeExceptionally(error);
      } else {
        f.complete(result == null ? List.of() : result);
      }
    }
    if (close) {
      finishClose();
    }
  }

  private void finishClose() {
    Consumer<byte[], byte[]> c = consumer;
    consumer = null;
    fetched.clear();
    if (c != null) {
      try {
        c.close(CloseOptions.timeout(adapter.settings().closeTimeout()));
      } catch (Throwable t) {
        log.warn("Provider {}: closing the consumer of {} failed", adapter.name(), this, t);
      }
    }
    boolean giveBack;
    synchronized (this) {
      giveBack = !released;
      released = true;
    }
    if (giveBack) {
      replays.release(this, true);
    }
  }

  private List<BatchContainer> readNow(int max) {
    if (consumer == null) {
      consumer = replays.newConsumer();
      consumer.assign(List.of(tp));
    }
    if (!started && !start()) {
      return List.of();
    }
    if (expiredTo >= 0) {
      long earliest = expiredTo;
      expiredTo = -1;
      throw expired(earliest);
    }
    List<BatchContainer> out = new ArrayList<>();
    long scanned = 0;
    try {
      while (out.size() < max && !closed) {
        if (fetched.isEmpty()) {
          if (atEnd || !out.isEmpty()) {
            // Hand over what the fetched records held at once (one more poll would hold it back
            // for a fetch round trip, or up to fetch.max.wait.ms at the log's end); and at the
            // log's end as of the last fetch return, found or not, so that the agent can hand over
            // to its cache even while records keep arriving.
            atEnd = false;
            break;
          }
          if (!poll(out.isEmpty())) {
            break;
          }
          continue;
        }
        while (!fetched.isEmpty() && out.size() < max) {
          ConsumerRecord<byte[], byte[]> r = fetched.pollFirst();
          scanned++;
          position = r.offset() + 1;
          if (matches(r.key())) {
            BatchContainer b = decode(r);
            if (b != null) {
              out.add(b);
            }
          }
        }
      }
    } finally {
      adapter.metrics().replayRecords(tp, scanned, out.size());
    }
    return out;
  }

  /**
   * Seeks to the start; false when the start is at or past the log end (nothing to read yet).
   * Throws {@link EventsExpiredException} when the start is below the log start.
   */
  private boolean start() {
    long begin = beginning();
    Long endOffset = consumer.endOffsets(List.of(tp), OFFSETS_TIMEOUT).get(tp);
    long end = endOffset == null ? 0 : endOffset;
    if (from < begin) {
      started = true;
      consumer.seek(tp, begin);
      lag = Math.max(0, end - begin);
      throw expired(begin);
    }
    if (from >= end) {
      lag = 0;
      return false;
    }
    started = true;
    consumer.seek(tp, from);
    lag = end - from;
    return true;
  }

  /**
   * Polls once into {@link #fetched}; false when the partition's end is reached with nothing
   * fetched. A position that is no longer in the log fails the read, or, when {@code mayFail} is
   * false (records were found already), the next one.
   */
  private boolean poll(boolean mayFail) {
    List<ConsumerRecord<byte[], byte[]>> records;
    try {
      records = consumer.poll(POLL).records(tp);
    } catch (OffsetOutOfRangeException e) {
      long begin = beginning();
      consumer.seek(tp, begin);
      if (mayFail) {
        throw expired(begin);
      }
      expiredTo = begin;
      return false;
    }
    OptionalLong l = consumer.currentLag(tp);
    if (records.isEmpty()) {
      long left = l.isPresent() ? l.getAsLong() : end() - position;
      lag = Math.max(0, left);
      if (left <= 0) {
        // Past trailing control records (transaction markers) too.
        position = Math.max(position, consumer.position(tp, OFFSETS_TIMEOUT));
        return false;
      }
      return true;
    }
    if (l.isPresent()) {
      lag = l.getAsLong();
      atEnd = lag <= 0;
    }
    fetched.addAll(records);
    return true;
  }

  private boolean matches(byte[] recordKey) {
    if (recordKey == null) {
      return nullKeysMatch;
    }
    if (lossyKey) {
      return streamId.key().equals(new String(recordKey, StandardCharsets.UTF_8));
    }
    return Arrays.equals(recordKey, key);
  }

  /** Moves the position to {@code earliest} and describes the gap. */
  private EventsExpiredException expired(long earliest) {
    long requested = position;
    position = earliest;
    fetched.clear();
    return new EventsExpiredException(
        tp.topic() + "-" + tp.partition(),
        streamId,
        new EventSequenceToken(requested),
        new EventSequenceToken(earliest));
  }

  private long beginning() {
    Long b = consumer.beginningOffsets(List.of(tp), OFFSETS_TIMEOUT).get(tp);
    return b == null ? 0 : b;
  }

  private long end() {
    Long e = consumer.endOffsets(List.of(tp), OFFSETS_TIMEOUT).get(tp);
    return e == null ? 0 : e;
  }

  private BatchContainer decode(ConsumerRecord<byte[], byte[]> r) {
    try {
      return RecordDecoder.decodeOrThrow(
          adapter.settings(), r, tp.topic(), adapter.settings().topics().get(tp.topic()), ids);
    } catch (Throwable t) {
      // The live path gave this record to the poison policy when it first read it.
      log.warn(
          "Provider {}: replay of {} skips poison record {}@{}: {}",
          adapter.name(),
          streamId,
          tp,
          r.offset(),
          t.toString());
      return null;
    }
  }

  /** Records between this replay's position and its partition's end; -1 before it knows. */
  long lag() {
    return lag;
  }

  @Override
  public String toString() {
    return "KafkaReplay{" + streamId + " in " + tp + " from " + from + " at " + position + "}";
  }
}
