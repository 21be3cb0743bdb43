package dev.tributary.kafka;

import dev.tributary.spi.DeliveryFailure;
import dev.tributary.spi.StreamFailureHandler;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The failure handler of one partition: dead-letters or skips (with an ERROR log and a metric) an
 * event no subscription could process, then runs the user's handler if one was configured.
 *
 * <p>Called on the agent's thread; never blocks (dead letters are written by the writer's thread).
 * A throwing user handler is logged, not propagated.
 */
final class KafkaFailureHandler implements StreamFailureHandler {
  private static final Logger log = LoggerFactory.getLogger(KafkaFailureHandler.class);

  private final KafkaQueueAdapter adapter;

  KafkaFailureHandler(KafkaQueueAdapter adapter) {
    this.adapter = adapter;
  }

  @Override
  public boolean shouldFaultSubscriptionOnError() {
    return adapter.settings().faultSubscriptionsOnError();
  }

  @Override
  public CompletionStage<Void> onDeliveryFailure(DeliveryFailure failure) {
    if (failure.batch() instanceof KafkaBatchContainer k) {
      undeliverable(k, failure);
    } else {
      log.error(
          "Provider {}: event {} of {} could not be delivered to subscription {}: {}",
          failure.providerName(),
          failure.token(),
          failure.streamId(),
          failure.subscriptionId(),
          String.valueOf(failure.cause()));
    }
    StreamFailureHandler user = adapter.settings().failureHandler();
    if (user == null) {
      return CompletableFuture.completedFuture(null);
    }
    try {
      CompletionStage<Void> s = user.onDeliveryFailure(failure);
      return s == null ? CompletableFuture.completedFuture(null) : s;
    } catch (Throwable t) {
      log.warn("Provider {}: the configured failureHandler threw", failure.providerName(), t);
      return CompletableFuture.completedFuture(null);
    }
  }

  /** Dead-letters or skips {@code k}, per undeliverableEvents. */
  private void undeliverable(KafkaBatchContainer k, DeliveryFailure failure) {
    KafkaSettings settings = adapter.settings();
    DeadLetterWriter deadLetters = adapter.deadLetters();
    TopicPartition tp = k.topicPartition();
    if (settings.undeliverableEvents() == FailureAction.DEAD_LETTER
        && deadLetters != null
        && k.hasRaw()) {
      // The pending dead letter holds the commit of the assignment that handed the record out;
      // an agent still stopping after a revoke must not hold a later assignment's commits.
      PartitionState state = adapter.state(tp);
      deadLetters.send(
          state != null && state.handedOut(k) ? state : null, DeadLetter.undeliverable(k, failure));
    } else {
      adapter.metrics().skipped(tp, "undeliverable");
      log.error(
          "Provider {}: record {}@{} of stream {} could not be delivered to subscription {} within"
              + " maxEventDeliveryTime and is skipped for it (undeliverableEvents = SKIP)",
          adapter.name(),
          tp,
          k.offset(),
          k.streamId(),
          failure.subscriptionId(),
          failure.cause());
    }
  }

  @Override
  public CompletionStage<Void> onSubscriptionFailure(DeliveryFailure failure) {
    StreamFailureHandler user = adapter.settings().failureHandler();
    if (user == null) {
      return CompletableFuture.completedFuture(null);
    }
    try {
      CompletionStage<Void> s = user.onSubscriptionFailure(failure);
      return s == null ? CompletableFuture.completedFuture(null) : s;
    } catch (Throwable t) {
      log.warn("Provider {}: the configured failureHandler threw", failure.providerName(), t);
      return CompletableFuture.completedFuture(null);
    }
  }
}
