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
    return live == null && !closed;
  }

  @Override
  public boolean moveNext() {
    if (closed) {
      throw new IllegalStateException("replaying cursor on " + streamId + " is closed");
    }
    if (live != null) {
      return live.moveNext();
    }
    BatchContainer b = buffer.pollFirst();
    if (b != null) {
      current = b;
      if (buffer.size() <= readSize / 2) {
        // Read ahead while the consumer works through what is here.
        startRead();
      }
      return true;
    }
    if (reading) {
      return false;
    }
    StreamSequenceToken position = replay.position();
    if (host.cacheCovers(position)) {
      switchToCache(position);
      return live.moveNext();
    }
    startRead();
    return false;
  }

  private void switchToCache(StreamSequenceToken position) {
    QueueReplay r = replay;
    replay = null;
    live = host.openCacheCursor(streamId, position);
    closeQuietly(r);
    host.replayEnded(this, true);
  }

  private void startRead() {
    if (reading || closed || live != null) {
      return;
    }
    reading = true;
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
      } else {
        failures++;
        host.readFailed(this, cause);
        host.wakeLater(this, true);
      }
      return;
    }
    failures = 0;
    boolean wasEmpty = buffer.isEmpty();
    if (batches != null) {
      for (int i = 0, n = batches.size(); i < n; i++) {
        BatchContainer b = batches.get(i);
        if (streamId.equals(b.streamId())) {
          buffer.addLast(b);
        }
      }
    }
    if (!buffer.isEmpty()) {
      if (wasEmpty) {
        host.wake(this);
      }
    } else if (host.cacheCovers(replay.position())) {
      // At the end of the queue and the cache covers the rest: the next moveNext switches over.
      host.wake(this);
    } else {
      // At the end of what the queue holds, but the live reader has not got there yet.
      host.wakeLater(this, false);
    }
  }

  /** How many reads in a row failed; for the backoff. */
  int failures() {
    return failures;
  }

  @Override
  public BatchContainer current() {
    return live != null ? live.current() : current;
  }

  @Override
  public void markDelivered() {
    if (live != null) {
      live.markDelivered();
    } else {
      current = null;
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
    } else {
      QueueReplay r = replay;
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
        + (live != null ? " on the cache: " + live : " replaying at " + safePosition())
        + "}";
  }

  private String safePosition() {
    QueueReplay r = replay;
    return r == null ? "closed" : String.valueOf(r.position());
  }
}
