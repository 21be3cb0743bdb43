package dev.tributary.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.StreamingException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link StaticQueueBalancer}: all queues, or a disjoint and complete share per node. */
class StaticQueueBalancerTest {

  /** Starts {@code balancer} and returns what its listener was told. */
  private static List<Set<QueueId>> start(StaticQueueBalancer balancer, StreamQueueMapper mapper) {
    List<Set<QueueId>> told = new ArrayList<>();
    balancer.start(
        mapper,
        owned -> {
          told.add(owned);
          return CompletableFuture.completedFuture(null);
        });
    return told;
  }

  @Test
  void allQueues_ownsEveryQueue_andTellsTheListenerOnce() {
    HashRingStreamQueueMapper mapper = new HashRingStreamQueueMapper("q", 5);
    StaticQueueBalancer balancer = StaticQueueBalancer.allQueues();
    assertThat(balancer.myQueues()).as("before start").isEmpty();

    List<Set<QueueId>> told = start(balancer, mapper);

    assertThat(told).containsExactly(Set.copyOf(mapper.allQueues()));
    assertThat(balancer.myQueues()).containsExactlyInAnyOrderElementsOf(mapper.allQueues());
  }

  @ParameterizedTest(name = "{0} queues over {1} nodes")
  @CsvSource({"10, 3", "8, 8", "3, 5", "1, 1", "64, 7"})
  void shares_areDisjointAndCompleteAcrossNodes(int queueCount, int nodeCount) {
    HashRingStreamQueueMapper mapper = new HashRingStreamQueueMapper("q", queueCount);
    Set<QueueId> union = new HashSet<>();
    int total = 0;
    for (int node = 0; node < nodeCount; node++) {
      StaticQueueBalancer balancer = StaticQueueBalancer.share(node, nodeCount);
      List<Set<QueueId>> told = start(balancer, mapper);
      Set<QueueId> mine = balancer.myQueues();
      assertThat(told).containsExactly(mine);
      for (QueueId q : mine) {
        assertThat(q.index() % nodeCount).as("queue %s on node %d", q, node).isEqualTo(node);
      }
      // As even as possible: sizes differ by at most one.
      assertThat(mine.size())
          .isBetween(queueCount / nodeCount, (queueCount + nodeCount - 1) / nodeCount);
      total += mine.size();
      union.addAll(mine);
    }
    assertThat(total).as("disjoint").isEqualTo(queueCount);
    assertThat(union).as("complete").containsExactlyInAnyOrderElementsOf(mapper.allQueues());
  }

  @Test
  void share_rejectsBadArguments() {
    assertThatThrownBy(() -> StaticQueueBalancer.share(0, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nodeCount was 0")
        .hasMessageContaining("at least 1");
    assertThatThrownBy(() -> StaticQueueBalancer.share(-1, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nodeIndex was -1")
        .hasMessageContaining("[0, 2]");
    assertThatThrownBy(() -> StaticQueueBalancer.share(3, 3))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("nodeIndex was 3")
        .hasMessageContaining("[0, 2]");
  }

  @Test
  void start_reportsAListenerFailure() {
    HashRingStreamQueueMapper mapper = new HashRingStreamQueueMapper("q", 2);
    IllegalStateException cause = new IllegalStateException("no receiver");
    assertThatThrownBy(
            () ->
                StaticQueueBalancer.allQueues()
                    .start(mapper, owned -> CompletableFuture.failedFuture(cause)))
        .isInstanceOf(StreamingException.class)
        .hasMessageContaining("q-0")
        .hasCause(cause);
  }
}
