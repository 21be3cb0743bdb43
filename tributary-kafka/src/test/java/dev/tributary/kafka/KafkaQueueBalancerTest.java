package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.StreamProviderOptions;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueId;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The balancer tells the runtime every ownership change in order, one at a time, and never while it
 * holds its own monitor. Static assignment, so that no consumer is needed.
 */
class KafkaQueueBalancerTest {
  private static final long WAIT_SECONDS = 10;
  private static final QueueId Q0 = QueueId.of("t", 0);
  private static final QueueId Q1 = QueueId.of("t", 1);
  private static final QueueId Q2 = QueueId.of("t", 2);

  private final List<Set<QueueId>> seen = new CopyOnWriteArrayList<>();
  private final AtomicInteger inside = new AtomicInteger();
  private final AtomicInteger maxInside = new AtomicInteger();
  private final List<Boolean> lockedDuringCall = new CopyOnWriteArrayList<>();
  private volatile Runnable duringCall = () -> {};
  private KafkaQueueAdapter adapter;
  private KafkaQueueBalancer balancer;

  @BeforeEach
  void start() {
    KafkaSettings settings =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers("localhost:9")
            .consumerGroupId("g")
            .topic("t", TopicConfig.existing())
            .staticAssignment()
            .build()
            .settings();
    ProviderContext context =
        new ProviderContext(
            "p", StreamProviderOptions.defaults(), new SimpleMeterRegistry(), Clock.systemUTC());
    adapter =
        KafkaQueueAdapter.forTest(
            settings,
            context,
            Map.of("t", 2),
            i -> {
              throw new UnsupportedOperationException("no consumer in this test");
            });
    balancer = adapter.balancer();
    balancer.start(adapter.mapper(), this::changed);
  }

  @AfterEach
  void stop() {
    adapter.close();
  }

  private CompletionStage<Void> changed(Set<QueueId> owned) {
    int n = inside.incrementAndGet();
    maxInside.accumulateAndGet(n, Math::max);
    lockedDuringCall.add(Thread.holdsLock(balancer));
    seen.add(owned);
    try {
      duringCall.run();
    } finally {
      inside.decrementAndGet();
    }
    return CompletableFuture.completedFuture(null);
  }

  @Test
  void start_tellsTheRuntimeEveryPartition_outsideTheBalancersMonitor() {
    assertThat(seen).containsExactly(Set.of(Q0, Q1));
    assertThat(lockedDuringCall).containsExactly(false);
    assertThat(balancer.myQueues()).containsExactlyInAnyOrder(Q0, Q1);
  }

  @Test
  void aChangeMadeWhileAnotherIsBeingTold_isToldAfterIt_byTheThreadTellingTheFirst()
      throws Exception {
    CountDownLatch firstInside = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    duringCall =
        () -> {
          if (seen.size() == 2) {
            firstInside.countDown();
            await(release);
          }
        };
    CompletableFuture<CompletionStage<Void>> added = new CompletableFuture<>();
    Thread adder = new Thread(() -> added.complete(balancer.add(List.of(Q2))), "adder");
    adder.start();
    assertThat(firstInside.await(WAIT_SECONDS, TimeUnit.SECONDS)).isTrue();

    // The adder's thread is inside the listener; this change is queued behind it, not told here.
    CompletableFuture<Void> removed = balancer.remove(List.of(Q0), null).toCompletableFuture();
    assertThat(removed).isNotDone();
    assertThat(seen).hasSize(2);
    assertThat(balancer.myQueues()).containsExactlyInAnyOrder(Q1, Q2);

    release.countDown();
    removed.get(WAIT_SECONDS, TimeUnit.SECONDS);
    added
        .get(WAIT_SECONDS, TimeUnit.SECONDS)
        .toCompletableFuture()
        .get(WAIT_SECONDS, TimeUnit.SECONDS);
    adder.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
    assertThat(seen).containsExactly(Set.of(Q0, Q1), Set.of(Q0, Q1, Q2), Set.of(Q1, Q2));
    assertThat(maxInside.get()).as("the listener is never called concurrently").isEqualTo(1);
    assertThat(lockedDuringCall).containsOnly(false);
  }

  @Test
  void concurrentChanges_endWithTheRuntimeKnowingTheFinalSet() throws Exception {
    int threads = 4;
    int rounds = 200;
    CountDownLatch go = new CountDownLatch(1);
    List<Thread> workers = new CopyOnWriteArrayList<>();
    for (int t = 0; t < threads; t++) {
      QueueId q = QueueId.of("t", 10 + t);
      Thread w =
          new Thread(
              () -> {
                await(go);
                for (int i = 0; i < rounds; i++) {
                  balancer.add(List.of(q));
                  balancer.remove(List.of(q), null);
                }
                balancer.add(List.of(q));
              });
      workers.add(w);
      w.start();
    }
    go.countDown();
    for (Thread w : workers) {
      w.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));
    }
    Set<QueueId> last = seen.get(seen.size() - 1);
    assertThat(last).isEqualTo(balancer.myQueues()).hasSize(2 + threads);
    assertThat(seen).hasSize(1 + threads * (2 * rounds + 1));
    assertThat(maxInside.get()).isEqualTo(1);
    assertThat(lockedDuringCall).containsOnly(false);
  }

  @Test
  void aListenerThatThrows_failsTheChangesStage() {
    duringCall =
        () -> {
          throw new IllegalStateException("rejected");
        };
    CompletableFuture<Void> added = balancer.add(List.of(Q2)).toCompletableFuture();
    assertThat(added).isCompletedExceptionally();
    assertThat(balancer.myQueues()).contains(Q2);
  }

  @Test
  void afterClose_changesAreNotTold() {
    balancer.close();
    assertThat(balancer.add(List.of(Q2)).toCompletableFuture()).isCompleted();
    assertThat(seen).hasSize(1);
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(WAIT_SECONDS, TimeUnit.SECONDS)) {
        throw new AssertionError("timed out");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
