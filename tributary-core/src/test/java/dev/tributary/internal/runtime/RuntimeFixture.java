package dev.tributary.internal.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamRuntime;
import dev.tributary.spi.DeliveryFailure;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamFailureHandler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Builds runtimes with a unique node name, closes them after each test and checks that none of
 * their threads outlives the test. Also the white-box door into a provider's agents.
 */
final class RuntimeFixture implements AfterEachCallback {
  static final Duration WAIT = Duration.ofSeconds(20);
  private static final AtomicInteger SEQ = new AtomicInteger();

  private final List<StreamRuntime> runtimes = new ArrayList<>();
  private final List<String> nodeNames = new ArrayList<>();

  /** A builder whose runtime this fixture closes and checks after the test. */
  StreamRuntime.Builder builder() {
    String node = "tt" + SEQ.incrementAndGet();
    nodeNames.add(node);
    return StreamRuntime.builder().nodeName(node).threads(2);
  }

  /** Builds and starts, and closes after the test. */
  StreamRuntime start(StreamRuntime.Builder builder) {
    StreamRuntime runtime = builder.build();
    runtimes.add(runtime);
    runtime.start();
    return runtime;
  }

  @Override
  public void afterEach(ExtensionContext context) {
    for (StreamRuntime r : runtimes) {
      r.close();
      for (dev.tributary.StreamProvider p : r.providers()) {
        PullingManager m = ((PersistentStreamProvider) p).manager();
        if (m != null) {
          assertThat(m.agents()).as("agents of %s after close", p.name()).isEmpty();
        }
      }
    }
    for (String node : nodeNames) {
      await("threads of node " + node + " to end")
          .atMost(WAIT)
          .until(() -> liveThreads(node).isEmpty());
    }
  }

  private static List<String> liveThreads(String node) {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(Thread::isAlive)
        .map(Thread::getName)
        .filter(n -> n.startsWith(node + "-"))
        .collect(Collectors.toList());
  }

  // ---------------------------------------------------------------- white-box access

  static PersistentStreamProvider provider(StreamRuntime runtime, String name) {
    return (PersistentStreamProvider) runtime.provider(name);
  }

  /** The provider's agents by queue. */
  static Map<QueueId, PullingAgent> agents(StreamRuntime runtime, String name) {
    Map<QueueId, PullingAgent> m = new TreeMap<>();
    for (PullingAgent a : provider(runtime, name).manager().agents()) {
      m.put(a.queueId(), a);
    }
    return m;
  }

  static Set<QueueId> agentQueues(StreamRuntime runtime, String name) {
    return agents(runtime, name).keySet();
  }

  /** The only agent of a one-queue provider. */
  static PullingAgent onlyAgent(StreamRuntime runtime, String name) {
    Map<QueueId, PullingAgent> m = agents(runtime, name);
    assertThat(m).hasSize(1);
    return m.values().iterator().next();
  }

  static PullingAgent.Snapshot snapshot(PullingAgent agent) {
    try {
      return agent.snapshot().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("no snapshot from agent " + agent.queueId(), e);
    }
  }

  static <T> T join(java.util.concurrent.CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new AssertionError("stage did not complete normally", e);
    }
  }

  static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  /** A failure handler that never faults and adds every delivery failure to {@code into}. */
  static StreamFailureHandler recordingFailures(List<DeliveryFailure> into) {
    return new StreamFailureHandler() {
      @Override
      public boolean shouldFaultSubscriptionOnError() {
        return false;
      }

      @Override
      public CompletionStage<Void> onDeliveryFailure(DeliveryFailure failure) {
        into.add(failure);
        return DONE;
      }
    };
  }
}
