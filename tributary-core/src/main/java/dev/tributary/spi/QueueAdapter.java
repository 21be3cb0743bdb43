package dev.tributary.spi;

import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import java.util.List;
import java.util.Map;
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

  /** Whether the adapter reads, writes or both. */
  StreamProviderDirection direction();

  /** Releases the adapter's resources after every receiver has shut down. */
  @Override
  default void close() {}
}
