package dev.tributary.spi;

import dev.tributary.StreamingException;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionException;

/**
 * Owns a fixed share of the queues: all of them on a single node, or queue {@code i} when {@code i
 * % nodeCount == nodeIndex} in a static cluster.
 */
public final class StaticQueueBalancer implements StreamQueueBalancer {

  private final int nodeIndex;
  private final int nodeCount;
  private volatile Set<QueueId> owned = Set.of();

  private StaticQueueBalancer(int nodeIndex, int nodeCount) {
    this.nodeIndex = nodeIndex;
    this.nodeCount = nodeCount;
  }

  /** Owns every queue: the single-node default. */
  public static StaticQueueBalancer allQueues() {
    return new StaticQueueBalancer(0, 1);
  }

  /** Owns the queues whose index modulo {@code nodeCount} is {@code nodeIndex}. */
  public static StaticQueueBalancer share(int nodeIndex, int nodeCount) {
    if (nodeCount < 1) {
      throw new IllegalArgumentException(
          "nodeCount was " + nodeCount + " but it must be at least 1");
    }
    if (nodeIndex < 0 || nodeIndex >= nodeCount) {
      throw new IllegalArgumentException(
          "nodeIndex was " + nodeIndex + " but it must be in [0, " + (nodeCount - 1) + "]");
    }
    return new StaticQueueBalancer(nodeIndex, nodeCount);
  }

  @Override
  public void start(StreamQueueMapper mapper, Listener listener) {
    Set<QueueId> mine = new TreeSet<>();
    int i = 0;
    for (QueueId q : mapper.allQueues()) {
      if (i++ % nodeCount == nodeIndex) {
        mine.add(q);
      }
    }
    owned = Set.copyOf(mine);
    try {
      listener.queueDistributionChanged(owned).toCompletableFuture().join();
    } catch (CompletionException e) {
      throw new StreamingException("Starting agents for " + owned + " failed", e.getCause());
    }
  }

  @Override
  public Set<QueueId> myQueues() {
    return owned;
  }
}
