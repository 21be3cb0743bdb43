package dev.tributary;

import java.util.concurrent.CompletionStage;

/** A named source of streams backed by one queue adapter. */
public interface StreamProvider {

  /** The provider's name, as given to {@link StreamRuntime.Builder#addProvider}. */
  String name();

  /** True when subscriptions may start from a past token. */
  boolean isRewindable();

  /** Returns the stream {@code id} of this provider. The event type is the caller's to choose. */
  <T> AsyncStream<T> stream(StreamId id);

  /** Shorthand for {@code stream(StreamId.of(namespace, key))}. */
  default <T> AsyncStream<T> stream(String namespace, String key) {
    return stream(StreamId.of(namespace, key));
  }

  // ---------------------------------------------------------------- operations

  /**
   * This provider's health on this node: the adapter's own (Kafka: broker reachable, consumers
   * polling, assignment) and every owned queue's (agent state, backpressure, stall, read errors).
   *
   * <p>Any thread, observers included; never blocks: it reads what the agents and the adapter's
   * threads published last (after each pump, each poll, each watchdog tick).
   */
  @Incubating
  default ProviderHealth health() {
    throw new UnsupportedOperationException("health() is not supported by " + getClass());
  }

  /**
   * An operator's snapshot of this provider on this node: owned queues with lag, committed and
   * delivered offsets, cache fill, active streams and subscriptions. Threads as {@link #health()}:
   * any thread, never blocks.
   */
  @Incubating
  default ProviderStatus status() {
    throw new UnsupportedOperationException("status() is not supported by " + getClass());
  }

  /**
   * Stops this provider's agents without closing the runtime (Orleans' {@code StopAgents}): reading
   * and delivery stop, deliveries in flight drain (up to {@code drainTimeout}), what was delivered
   * is acknowledged and made durable (Kafka: committed synchronously), and the queues stay owned by
   * this node (Kafka: the partitions are paused and the consumers keep polling, so the node stays
   * in the group and nothing is rebalanced). Agents of queues assigned while stopped start stopped.
   * Events already read stay cached, undelivered, until {@link #startAgents()}.
   *
   * <p>Any thread; does not block: the stage completes, on a runtime thread, once every agent has
   * drained and flushed. Idempotent. Subscribing while stopped works (the handshake completes);
   * producing works. Closing the runtime while stopped drains and commits as usual.
   */
  @Incubating
  default CompletionStage<Void> stopAgents() {
    throw new UnsupportedOperationException("stopAgents() is not supported by " + getClass());
  }

  /**
   * Restarts agents stopped by {@link #stopAgents()}: delivery resumes from the delivered watermark
   * (what was cached first, then what the queue holds after it), nothing is replayed. Any thread;
   * does not block: the stage completes once every agent reads again. Idempotent.
   */
  @Incubating
  default CompletionStage<Void> startAgents() {
    throw new UnsupportedOperationException("startAgents() is not supported by " + getClass());
  }
}
