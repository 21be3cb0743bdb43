package dev.tributary.internal.runtime;

import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamQueueBalancer;
import dev.tributary.spi.StreamQueueMapper;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/** A balancer whose ownership the test changes at will. */
final class TestBalancer implements StreamQueueBalancer {
  private final Set<QueueId> initial;
  private volatile Listener listener;
  private volatile Set<QueueId> owned = Set.of();
  volatile boolean closed;

  TestBalancer(Set<QueueId> initial) {
    this.initial = Set.copyOf(initial);
  }

  @Override
  public void start(StreamQueueMapper mapper, Listener listener) {
    this.listener = listener;
    RuntimeFixture.join(change(initial));
  }

  /** Tells the pulling manager that this node now owns {@code queues}. */
  CompletableFuture<Void> change(Set<QueueId> queues) {
    owned = Set.copyOf(queues);
    return listener.queueDistributionChanged(owned).toCompletableFuture();
  }

  @Override
  public Set<QueueId> myQueues() {
    return owned;
  }

  @Override
  public void close() {
    closed = true;
  }
}
