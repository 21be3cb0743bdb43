package dev.tributary.spi;

import dev.tributary.Incubating;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Writes to a provider's queues and creates their receivers.
 *
 * <p>{@link #queueMessageBatch} is called from any producer thread, concurrently; it must be
 * thread-safe and should not block. {@link #createReceiver(QueueId)} is called by the pulling
 * manager's thread.
 */
public interface QueueAdapter extends AutoCloseable {

  /** The provider's name. */
  String name();

  /**
   * Writes {@code events} of {@code streamId} as one batch. The stage completes when the queue has
   * accepted them and fails with a {@link dev.tributary.StreamingException} saying why when it has
   * not.
   *
   * @param token a token the producer asks for, or null; most queues assign their own
   * @param headers metadata to store with the batch, never null
   */
  CompletionStage<Void> queueMessageBatch(
      StreamId streamId, List<?> events, StreamSequenceToken token, Map<String, byte[]> headers);

  /** Creates the receiver for {@code queueId}; one per queue per node. */
  QueueAdapterReceiver createReceiver(QueueId queueId);

  /** True when subscriptions may rewind to a past token. */
  boolean isRewindable();

  /**
   * Opens a reader of {@code streamId}'s batches in {@code queueId} from {@code from}, inclusive,
   * straight from the queue; null when this adapter cannot read its queues' past (the default). The
   * agent asks for one when a subscription's token is older than its cache holds; without one the
   * subscription gets a {@link dev.tributary.QueueCacheMissException} and continues at the oldest
   * cached batch of its stream.
   *
   * <p>Called by the agent of {@code queueId}, on its thread; must not block (connect lazily, on
   * the first read). The receiver of {@code queueId} should report {@link
   * QueueAdapterReceiver#readStart()}, or the agent can never tell that the replay caught up with
   * its cache, and the replay then keeps reading the queue itself.
   */
  @Incubating
  default QueueReplay openReplay(QueueId queueId, StreamId streamId, StreamSequenceToken from) {
    return null;
  }

  /**
   * Resolves {@code time} to the token of the first batch of {@code queueId} written at or after
   * it: the oldest retained batch when {@code time} is older than everything, null when nothing was
   * written at or after it (subscribing from null means "from now"). Any thread; may not block.
   * Adapters that cannot tell fail the stage with {@link UnsupportedOperationException}.
   */
  @Incubating
  default CompletionStage<StreamSequenceToken> tokenAt(QueueId queueId, Instant time) {
    return CompletableFuture.failedFuture(
        new UnsupportedOperationException(
            "provider '" + name() + "' cannot look up a token by time"));
  }

  /**
   * The adapter's own health: its connection and, when it balances, its membership. The runtime
   * combines it with its queues' health in {@link dev.tributary.StreamProvider#health()}.
   *
   * <p>Called from any thread (whoever asks for health, and the meter registry's thread for the
   * {@code tributary.health} gauge), possibly concurrently; must be thread-safe, quick and must not
   * block: report what the adapter's own threads observed, never call the queue technology here.
   */
  @Incubating
  default AdapterHealth health() {
    return AdapterHealth.UP;
  }

  /**
   * The health of {@code queueId}, a queue this node owns: status, a stall the adapter's own
   * watchdog saw, whether fetching is paused, lag and offsets. Threads as {@link #health()}: any
   * thread, thread-safe, quick, never blocking.
   */
  @Incubating
  default QueueHealthReport queueHealth(QueueId queueId) {
    return QueueHealthReport.UNKNOWN;
  }

  /** Whether the adapter reads, writes or both. */
  StreamProviderDirection direction();

  /** Releases the adapter's resources after every receiver has shut down. */
  @Override
  default void close() {}
}
