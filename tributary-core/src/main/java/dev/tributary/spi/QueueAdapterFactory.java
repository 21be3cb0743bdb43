package dev.tributary.spi;

import java.util.Optional;

/**
 * Creates everything one provider needs from its queue technology.
 *
 * <p>The runtime calls, in order and from the thread that starts it: {@link
 * #createAdapter(ProviderContext)}, {@link #streamQueueMapper()}, {@link #queueAdapterCache},
 * {@link #queueBalancer()}, then {@link #failureHandler(QueueId)} per queue as agents start. A
 * factory serves one provider of one runtime.
 */
public interface QueueAdapterFactory {

  /** Creates the adapter; may connect and validate (Kafka checks its topics here). */
  QueueAdapter createAdapter(ProviderContext context);

  /** The mapper from streams to queues; called after {@link #createAdapter}. */
  StreamQueueMapper streamQueueMapper();

  /** The cache factory; {@link SimpleQueueAdapterCache} of the provider's {@code cacheSize}. */
  default QueueAdapterCache queueAdapterCache(ProviderContext context) {
    return new SimpleQueueAdapterCache(context.options().cacheSize());
  }

  /** What to do with undeliverable events of {@code queueId}; skip them by default. */
  default StreamFailureHandler failureHandler(QueueId queueId) {
    return StreamFailureHandler.SKIP;
  }

  /**
   * The balancer, when the adapter owns balancing (Kafka's consumer group does); empty means the
   * provider's configured balancer, {@link StaticQueueBalancer#allQueues()} by default.
   */
  default Optional<StreamQueueBalancer> queueBalancer() {
    return Optional.empty();
  }
}
