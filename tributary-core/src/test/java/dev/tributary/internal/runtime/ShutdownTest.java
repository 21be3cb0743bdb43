package dev.tributary.internal.runtime;

import static dev.tributary.internal.runtime.RuntimeFixture.DONE;
import static dev.tributary.internal.runtime.RuntimeFixture.WAIT;
import static dev.tributary.internal.runtime.RuntimeFixture.join;
import static dev.tributary.internal.runtime.RuntimeFixture.onlyAgent;
import static dev.tributary.internal.runtime.RuntimeFixture.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.QueueId;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link StreamRuntime#close()}: idempotent, safe to call concurrently, waits for deliveries. */
class ShutdownTest {
  private static final QueueId Q0 = QueueId.of("mem", 0);
  private static final StreamId STREAM = StreamId.of("exp", "s");

  @RegisterExtension final RuntimeFixture fixture = new RuntimeFixture();

  private final MemoryQueueAdapterFactory memory =
      MemoryQueueAdapterFactory.builder().queueCount(1).build();

  private StreamRuntime runtime(Duration drainTimeout) {
    return fixture.start(
        fixture
            .builder()
            .addProvider("mem", memory, o -> o.cacheSize(16).drainTimeout(drainTimeout)));
  }

  /** Subscribes an observer whose first delivery completes only when {@code gate} does. */
  private List<Object> subscribeGated(StreamRuntime rt, CompletableFuture<Void> gate) {
    List<Object> got = new CopyOnWriteArrayList<>();
    join(
        rt.provider("mem").stream(STREAM)
            .subscribe(
                (item, token) -> {
                  got.add(item);
                  return got.size() == 1 ? gate : DONE;
                }));
    return got;
  }

  @Test
  void close_twice_isANoOp_andTheRuntimeCannotRestart() {
    StreamRuntime rt = runtime(Duration.ofSeconds(30));
    assertThat(rt.isRunning()).isTrue();
    rt.close();
    assertThat(rt.isRunning()).isFalse();
    rt.close();
    assertThat(rt.isRunning()).isFalse();
    assertThatThrownBy(rt::start)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> rt.provider("mem").stream(STREAM).onNext("late"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }

  @Test
  void close_beforeStart_isFine() {
    StreamRuntime rt = fixture.builder().addProvider("mem", memory).build();
    rt.close();
    assertThat(rt.isRunning()).isFalse();
    assertThatThrownBy(rt::start).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void concurrentClose_bothCallersReturnOnlyAfterTheInFlightDeliveryCompleted() throws Exception {
    StreamRuntime rt = runtime(Duration.ofSeconds(60));
    PullingAgent agent = onlyAgent(rt, "mem");
    CompletableFuture<Void> gate = new CompletableFuture<>();
    List<Object> got = subscribeGated(rt, gate);
    join(rt.provider("mem").stream(STREAM).onNext("e1"));
    await().atMost(WAIT).until(() -> got.size() == 1);

    AtomicBoolean released = new AtomicBoolean();
    ExecutorService closers = Executors.newFixedThreadPool(2);
    try {
      CompletableFuture<Boolean> first =
          CompletableFuture.supplyAsync(
              () -> {
                rt.close();
                return released.get();
              },
              closers);
      CompletableFuture<Boolean> second =
          CompletableFuture.supplyAsync(
              () -> {
                rt.close();
                return released.get();
              },
              closers);
      await().atMost(WAIT).until(() -> snapshot(agent).state().equals("STOPPING"));
      assertThat(first).isNotDone();
      assertThat(second).isNotDone();

      released.set(true);
      gate.complete(null);

      assertThat(first.get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
          .as("first close returned after the delivery completed")
          .isTrue();
      assertThat(second.get(WAIT.toMillis(), TimeUnit.MILLISECONDS))
          .as("second close returned after the delivery completed")
          .isTrue();
    } finally {
      gate.complete(null);
      closers.shutdownNow();
    }
    assertThat(rt.isRunning()).isFalse();
    assertThat(memory.acknowledgedCount(Q0)).as("the drained delivery is flushed").isEqualTo(1);
  }

  /**
   * On manual time: close waits for the stuck delivery exactly {@code drainTimeout}, not a moment
   * less, then stops without acknowledging it.
   */
  @Test
  void close_givesUpOnAStuckDeliveryAfterDrainTimeout_withoutAcknowledgingIt() {
    Duration drainTimeout = Duration.ofSeconds(45); // unlike any other timer of the runtime
    ManualTime time = new ManualTime();
    StreamRuntime rt =
        fixture.start(
            fixture
                .builder()
                .time(time)
                .addProvider(
                    "mem",
                    memory,
                    o ->
                        o.cacheSize(16)
                            .drainTimeout(drainTimeout)
                            .getQueueMessagesTimerPeriod(Duration.ofHours(1))));
    PullingAgent agent = onlyAgent(rt, "mem");
    CompletableFuture<Void> never = new CompletableFuture<>();
    List<Object> got = subscribeGated(rt, never);
    join(rt.provider("mem").stream(STREAM).onNext("stuck"));
    await().atMost(WAIT).until(() -> got.size() == 1);

    CompletableFuture<Void> closed = CompletableFuture.runAsync(rt::close);
    await().atMost(WAIT).until(() -> snapshot(agent).state().equals("STOPPING"));
    time.awaitScheduled(drainTimeout);
    time.advance(drainTimeout.minusMillis(1));
    assertThat(snapshot(agent).state())
        .as("still draining just before drainTimeout")
        .isEqualTo("STOPPING");
    assertThat(closed).isNotDone();

    time.advance(Duration.ofMillis(1));
    await().atMost(WAIT).until(closed::isDone);

    assertThat(closed).isCompleted();
    assertThat(never).isNotDone();
    assertThat(rt.isRunning()).isFalse();
    assertThat(memory.acknowledgedCount(Q0)).as("not delivered, so not acknowledged").isZero();
  }

  @Test
  void close_fromAnObserverThread_isRejected_andTheRuntimeKeepsRunning() {
    AtomicReference<StreamRuntime> self = new AtomicReference<>();
    AtomicReference<Throwable> rejection = new AtomicReference<>();
    StreamRuntime rt = runtime(Duration.ofSeconds(30));
    self.set(rt);
    List<Object> got = new CopyOnWriteArrayList<>();
    join(
        rt.provider("mem").stream(STREAM)
            .subscribe(
                (item, token) -> {
                  try {
                    self.get().close();
                  } catch (Throwable t) {
                    rejection.set(t);
                  }
                  got.add(item);
                  return DONE;
                }));
    join(rt.provider("mem").stream(STREAM).onNext("e1"));
    await().atMost(WAIT).until(() -> got.size() == 1);

    assertThat(rejection.get())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("close()")
        .hasMessageContaining("own threads");
    assertThat(rt.isRunning()).isTrue();
    join(rt.provider("mem").stream(STREAM).onNext("e2"));
    await().atMost(WAIT).until(() -> got.size() == 2);
  }
}
