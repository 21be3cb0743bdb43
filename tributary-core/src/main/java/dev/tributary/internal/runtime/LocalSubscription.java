package dev.tributary.internal.runtime;

import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * An explicit subscription whose observer lives in this runtime. The provider keeps these in its
 * registry; the agent that owns the stream's queue attaches a cursor to each.
 */
final class LocalSubscription {
  final UUID id;
  final StreamId streamId;
  final String filterData;

  /** Swapped by resume; read by the agent when it delivers; null until resumed after a restart. */
  volatile ObserverRef observer;

  /** Where the next attach starts (inclusive); null means "from now". Cleared once used. */
  volatile StreamSequenceToken startToken;

  /** Completes when an agent first holds a cursor for this subscription. */
  final CompletableFuture<Void> attached = new CompletableFuture<>();

  volatile boolean faulted;

  LocalSubscription(
      UUID id,
      StreamId streamId,
      String filterData,
      ObserverRef observer,
      StreamSequenceToken startToken) {
    this.id = id;
    this.streamId = streamId;
    this.filterData = filterData;
    this.observer = observer;
    this.startToken = startToken;
  }
}
