package dev.tributary.internal.runtime;

import dev.tributary.EventsExpiredException;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.QueueCacheCursor;
import dev.tributary.spi.QueueReplay;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * A cursor that first reads its stream's past from the queue, through a {@link QueueReplay}, and
 * then continues from the agent's cache: one subscription rewound beyond what the cache holds.
 *
 * <h2>The seam</h2>
 *
 * <p>The replay's {@linkplain QueueReplay#position() position} is where its next read would start:
 * every batch of the stream before it was returned. Once every returned batch was moved over and no
 * read is outstanding, the cursor asks the agent whether the cache covers that position (nothing at
 * or after it purged, and the receiver reads the queue contiguously from at or before it). If so,
 * it closes the replay and opens a cache cursor at the position, inclusive, in the same step on the
 * agent's thread, where purges also run: the cache cursor sees every later batch of the stream and
 * none that the replay returned. Batches the replay read ahead of the live reader are skipped by
 * the cache cursor when they arrive. So the seam has no gap and no duplicate, whatever the live
 * reader does meanwhile.
 *
 * <p>While it replays, the cursor holds nothing in the cache and acknowledges nothing: the queue's
 * reading and its commits do not wait for it. Memory is bounded by two reads' worth of batches.
 *
 * <p>Confined to the agent's thread, like every cursor; the replay's stages complete elsewhere and
 * hop back through {@link Host#onAgent}.
 */
final class ReplayingCursor implements QueueCacheCursor {

  /** What the cursor needs from its agent. */
  interface Host {
    /** True when a cache cursor opened at {@code token} now would miss nothing of the stream. */
    boolean cacheCovers(StreamSequenceToken token);

    /** True while the cache is under pressure: its reading has stopped for a slow subscription. */
    boolean cacheUnderPressure();

    /** Opens a cache cursor at {@code token}, inclusive; called only when it covers the token. */
    QueueCacheCursor openCacheCursor(StreamId streamId, StreamSequenceToken token);

    /** Runs {@code then} on the agent's thread once {@code stage} completed. */
    <T> void onAgent(CompletionStage<T> stage, java.util.function.BiConsumer<T, Throwable> then);

    /** The replay has batches again, or should be read again: wake the consumer. Agent thread. */
    void wake(ReplayingCursor cursor);

    /** Wakes the consumer after the agent's read backoff or timer period. Agent thread. */
    void wakeLater(ReplayingCursor cursor, boolean afterFailure);

    /** Events the replay had to deliver expired from the queue. Agent thread. */
    void expired(ReplayingCursor cursor, EventsExpiredException gap);

    /** A read failed transiently. Agent thread. */
    void readFailed(ReplayingCursor cursor, Throwable error);

    /** How many reads in a row may fail before the replay is given up. */
    int maxReadAttempts();

    /**
     * The replay failed {@link #maxReadAttempts()} times in a row: tell the subscription and return
     * the cache cursor it continues on. Agent thread.
     */
    QueueCacheCursor giveUp(ReplayingCursor cursor, Throwable error);

    /** The replay ended: the cursor is on the cache now, or closed. Agent thread. */
    void replayEnded(ReplayingCursor cursor, boolean caughtUp);
  }

  private final Host host;
  private final StreamId streamId;
  private final int readSize;
  private QueueReplay replay;
  private final ArrayDeque<BatchContainer> buffer = new ArrayDeque<>();

  /** The cache cursor, once the replay caught up; every call goes there then. */
  private QueueCacheCursor live;

  private BatchContainer current;

  /** True when {@link #current} came from the replay's buffer rather than the cache cursor. */
  private boolean fromBuffer;

  private StreamSequenceToken positionBeforeRead;
  private boolean lastReadEmpty;
  private StreamSequenceToken givenUpAt;
  private boolean reading;
  private boolean closed;
  private int failures;

  /** The consumer this cursor feeds; set once it exists, for the host's wake-ups. */
  StreamConsumer consumer;

  ReplayingCursor(Host host, StreamId streamId, QueueReplay replay, int readSize) {
    this.host = host;
    this.streamId = streamId;
    this.replay = replay;
    this.readSize = readSize;
  }

  /** True until the cursor moved on to the cache (or closed). */
  boolean replaying() {
    return replay != null && !closed;
  }

  @Override
  public boolean moveNext() {
    if (closed) {
      throw new IllegalStateException("replaying cursor on " + streamId + " is closed");
    }
    BatchContainer b = buffer.pollFirst();
    if (b != null) {
      current = b;
      fromBuffer = true;
      if (live == null && buffer.size() <= readSize / 2) {
        // Read ahead while the consumer works through what is here.
        startRead();
      }
      return true;
    }
    if (live != null) {
      fromBuffer = false;
      return live.moveNext();
    }
    if (reading) {
      return false;
    }
    if (tryHandOver(lastReadEmpty)) {
      fromBuffer = false;
      return live.moveNext();
    }
    startRead();
    return false;
  }

  /**
   * Hands over to the cache if it covers the replay's position: opens the cache cursor there, then
   * closes the replay. Called only while no read is outstanding, so the position is final; batches
   * still buffered are all before it and are delivered first. While the cache is under pressure
   * (its reading stopped for a slow subscription), the replay goes on to the queue's end first
   * ({@code atEnd}: the last read found nothing of the stream) rather than wait behind it.
   */
  private boolean tryHandOver(boolean atEnd) {
    StreamSequenceToken position = replay.position();
    if (!host.cacheCovers(position) || (!atEnd && host.cacheUnderPressure())) {
      return false;
    }
    live = host.openCacheCursor(streamId, position);
    QueueReplay r = replay;
    replay = null;
    closeQuietly(r);
    host.replayEnded(this, true);
    return true;
  }

  private void startRead() {
    if (reading || closed || live != null) {
      return;
    }
    reading = true;
    positionBeforeRead = replay.position();
    CompletionStage<List<BatchContainer>> read;
    try {
      read = replay.read(readSize);
    } catch (Throwable t) {
      read = java.util.concurrent.CompletableFuture.failedFuture(t);
    }
    host.onAgent(read, this::onRead);
  }

  private void onRead(List<BatchContainer> batches, Throwable error) {
    reading = false;
    if (closed || live != null) {
      return;
    }
    if (error != null) {
      Throwable cause = PullingAgent.unwrap(error);
      if (cause instanceof EventsExpiredException gap) {
        failures = 0;
        host.expired(this, gap);
        host.wake(this);
      } else if (++failures >= host.maxReadAttempts()) {
        // Not transient after all (authorization, a deleted topic): give up on the replay and go
        // on from what the cache holds, as after a cache miss, telling the subscription.
        QueueReplay r = replay;
        givenUpAt = r.position();
        replay = null;
        live = host.giveUp(this, cause);
        closeQuietly(r);
        host.replayEnded(this, false);
        host.wake(this);
      } else {
        host.readFailed(this, cause);
        host.wakeLater(this, true);
      }
      return;
    }
    failures = 0;
    boolean wasEmpty = buffer.isEmpty();
    int sizeBefore = buffer.size();
    if (batches != null) {
      for (int i = 0, n = batches.size(); i < n; i++) {
        BatchContainer b = batches.get(i);
        if (streamId.equals(b.streamId())) {
          buffer.addLast(b);
        }
      }
    }
    // Every read may end the replay: on a busy queue the replay rarely sees the queue's end empty.
    lastReadEmpty = buffer.size() == sizeBefore;
    boolean handedOver = tryHandOver(lastReadEmpty);
    if (!buffer.isEmpty()) {
      if (wasEmpty) {
        host.wake(this);
      }
    } else if (handedOver || !replay.position().equals(positionBeforeRead)) {
      // On the cache now, or the replay moved on without finding the stream: go on at once.
      host.wake(this);
    } else {
      // At the end of what the queue holds, but the live reader has not got there yet.
      host.wakeLater(this, false);
    }
  }

  StreamId streamId() {
    return streamId;
  }

  /** Where the replay stood; asked only by {@link Host#giveUp}, while no read is outstanding. */
  StreamSequenceToken positionWhenGivenUp() {
    return givenUpAt;
  }

  /** How many reads in a row failed; for the backoff. */
  int failures() {
    return failures;
  }

  @Override
  public BatchContainer current() {
    return fromBuffer || live == null ? current : live.current();
  }

  @Override
  public void markDelivered() {
    current = null;
    if (live != null) {
      // Releases what the cache cursor moved over, if anything; a no-op before its first move.
      live.markDelivered();
    }
  }

  @Override
  public void refresh(StreamSequenceToken token) {
    if (live != null) {
      live.refresh(token);
    }
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    buffer.clear();
    current = null;
    if (live != null) {
      live.close();
    }
    QueueReplay r = replay;
    if (r != null) {
      replay = null;
      closeQuietly(r);
      host.replayEnded(this, false);
    }
  }

  private static void closeQuietly(QueueReplay r) {
    if (r == null) {
      return;
    }
    try {
      r.close();
    } catch (Throwable t) {
      org.slf4j.LoggerFactory.getLogger(ReplayingCursor.class)
          .warn("closing replay {} failed", r, t);
    }
  }

  @Override
  public String toString() {
    return "ReplayingCursor{"
        + streamId
        + (replay == null ? " on the cache: " + live : " replaying at " + safePosition())
        + "}";
  }

  private String safePosition() {
    QueueReplay r = replay;
    return r == null ? "closed" : String.valueOf(r.position());
  }
}
