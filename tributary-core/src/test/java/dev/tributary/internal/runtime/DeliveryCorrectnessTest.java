package dev.tributary.internal.runtime;

import static dev.tributary.internal.runtime.RuntimeFixture.DONE;
import static dev.tributary.internal.runtime.RuntimeFixture.WAIT;
import static dev.tributary.internal.runtime.RuntimeFixture.join;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.BatchStreamObserver;
import dev.tributary.EventSequenceToken;
import dev.tributary.SequentialItem;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.DeliveryFailure;
import dev.tributary.spi.QueueId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The delivery contract at the boundaries where it used to break: exact acknowledgement while one
 * stream is behind, every event of a given-up batch reported, resume as one step on the agent, and
 * every observer call on the agent's thread whatever the observer kind.
 */
class DeliveryCorrectnessTest {
  private static final QueueId Q0 = QueueId.of("mem", 0);
  private static final StreamId SLOW = StreamId.of("ns", "slow");
  private static final StreamId FAST = StreamId.of("ns", "fast");
  private static final StreamId BLOCKER = StreamId.of("ns", "blocker");

  @RegisterExtension final RuntimeFixture fixture = new RuntimeFixture();

  private final ExecutorService completer =
      Executors.newSingleThreadExecutor(r -> new Thread(r, "test-completer"));

  @AfterEach
  void stopCompleter() {
    completer.shutdownNow();
  }

  /**
   * Blocks the (only) agent's thread with an observer that waits, so that tasks queue up behind it
   * in a known order; returns the latch that lets it go.
   */
  private static CountDownLatch holdAgent(StreamRuntime rt) throws InterruptedException {
    CountDownLatch blocking = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    join(
        rt.provider("mem").stream(BLOCKER)
            .subscribe(
                (item, token) -> {
                  blocking.countDown();
                  awaitQuietly(release);
                  return DONE;
                }));
    produce(rt, BLOCKER, "hold the agent");
    assertThat(blocking.await(20, TimeUnit.SECONDS)).as("the agent is held").isTrue();
    return release;
  }

  /** Blocks the agent's thread on purpose, so that tasks queue up behind it in a known order. */
  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(20, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void produce(StreamRuntime rt, StreamId id, Object item) {
    join(rt.provider("mem").stream(id).onNext(item));
  }

  private StreamRuntime start(
      MemoryQueueAdapterFactory memory,
      java.util.function.UnaryOperator<dev.tributary.StreamProviderOptions.Builder> options) {
    return fixture.start(
        fixture
            .builder()
            .addProvider(
                "mem",
                memory,
                o -> options.apply(o.getQueueMessagesTimerPeriod(Duration.ofMillis(5)))));
  }

  /**
   * Item 1 of the delivery-correctness issue: a stream whose observer is behind used to hold the
   * acknowledgement of every later batch of its queue (bucket-granular purge), so a close acked
   * nothing that was delivered after it. Now each batch is acknowledged once every subscription of
   * its stream passed it, and close acknowledges exactly what was delivered.
   */
  @Test
  void slowStream_doesNotHoldBackTheAcknowledgementOfOthers_onCloseNeither() {
    List<Object> acked = new CopyOnWriteArrayList<>();
    MemoryQueueAdapterFactory memory =
        MemoryQueueAdapterFactory.builder()
            .queueCount(1)
            .acknowledgementListener(b -> acked.add(b.event(0)))
            .build();
    StreamRuntime rt = start(memory, o -> o.cacheSize(100).drainTimeout(Duration.ofMillis(200)));
    CompletableFuture<Void> never = new CompletableFuture<>();
    List<Object> slowGot = new CopyOnWriteArrayList<>();
    List<Object> fastGot = new CopyOnWriteArrayList<>();
    join(
        rt.provider("mem").stream(SLOW)
            .subscribe(
                (item, token) -> {
                  slowGot.add(item);
                  return never;
                }));
    join(
        rt.provider("mem").stream(FAST)
            .subscribe(
                (item, token) -> {
                  fastGot.add(item);
                  return DONE;
                }));
    produce(rt, SLOW, "s0");
    produce(rt, SLOW, "s1");
    List<Object> fastProduced = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      produce(rt, FAST, "f" + i);
      fastProduced.add("f" + i);
    }
    await().atMost(WAIT).until(() -> fastGot.size() == 30);
    await()
        .atMost(WAIT)
        .untilAsserted(
            () ->
                assertThat(acked)
                    .as("every delivered batch of the fast stream, none of the slow one")
                    .containsExactlyInAnyOrderElementsOf(fastProduced));

    rt.close();

    assertThat(acked)
        .as("close acknowledges what was delivered, nothing that was not, nothing twice")
        .containsExactlyInAnyOrderElementsOf(fastProduced);
    assertThat(slowGot).containsExactly("s0");
  }

  /**
   * Item 2: with {@code batchContainerBatchSize > 1} a batch observer that keeps failing used to
   * hand only the last event of the call to the failure handler; every event of a given-up call
   * reaches it now, and every one is then acknowledged (handled by the policy).
   */
  @Test
  void givenUpBatchCall_reportsEveryEventToTheFailureHandler() {
    List<DeliveryFailure> reported = new CopyOnWriteArrayList<>();
    MemoryQueueAdapterFactory memory =
        MemoryQueueAdapterFactory.builder()
            .queueCount(1)
            .failureHandler(RuntimeFixture.recordingFailures(reported))
            .build();
    StreamRuntime rt =
        start(
            memory,
            o ->
                o.cacheSize(100)
                    .batchContainerBatchSize(4)
                    .maxEventDeliveryTime(Duration.ZERO)
                    .deliveryBackoff(BackoffPolicy.fixed(Duration.ofMillis(1))));
    CompletableFuture<Void> gate = new CompletableFuture<>();
    AtomicInteger calls = new AtomicInteger();
    List<Integer> callSizes = new CopyOnWriteArrayList<>();
    join(
        rt.provider("mem").stream(SLOW)
            .subscribe(
                (BatchStreamObserver<Object>)
                    items -> {
                      callSizes.add(items.size());
                      if (calls.getAndIncrement() == 0) {
                        // Hold the first call so that the rest queue up and are batched.
                        return gate.thenCompose(
                            v -> CompletableFuture.failedFuture(new IllegalStateException("no")));
                      }
                      return CompletableFuture.failedFuture(new IllegalStateException("no"));
                    }));
    int produced = 13;
    for (int i = 0; i < produced; i++) {
      produce(rt, SLOW, i);
    }
    await().atMost(WAIT).until(() -> memory.unreadCount(Q0) == 0);
    gate.complete(null);
    await().atMost(WAIT).until(() -> memory.acknowledgedCount(Q0) == produced);

    assertThat(callSizes).as("some call carried several events").anyMatch(n -> n > 1);
    List<Long> sequences = new ArrayList<>();
    for (DeliveryFailure f : reported) {
      sequences.add(f.token().sequenceNumber());
      assertThat(f.batch().sequenceToken()).isEqualTo(f.token());
    }
    assertThat(sequences)
        .as("every event given up reaches the failure handler once (calls %s)", callSizes)
        .containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L);
  }

  /**
   * Item 6: resume used to swap the observer on the caller's thread while the agent kept delivering
   * at the old position until its resume task ran, so the new observer first got an event from the
   * old position. The agent is held busy here so that the old position's next delivery is queued
   * before the resume: the new observer's first event must be the one at the token, and its tokens
   * must increase.
   */
  @Test
  void resumeWithToken_newObserverStartsAtTheToken_neverAtTheOldPosition() throws Exception {
    MemoryQueueAdapterFactory memory = MemoryQueueAdapterFactory.builder().queueCount(1).build();
    StreamRuntime rt = start(memory, o -> o.cacheSize(100));
    CompletableFuture<Void> third = new CompletableFuture<>();
    List<Long> oldGot = new CopyOnWriteArrayList<>();
    StreamSubscriptionHandle<Object> handle =
        join(
            rt.provider("mem").stream(SLOW)
                .subscribe(
                    (item, token) -> {
                      oldGot.add(token.sequenceNumber());
                      return oldGot.size() == 3 ? third : DONE;
                    }));
    // Another subscription of the stream holds event 2 throughout, so that 2..4 stay cached
    // whenever the resume runs.
    CompletableFuture<Void> anchorGate = new CompletableFuture<>();
    join(
        rt.provider("mem").stream(SLOW)
            .subscribe((item, token) -> token.sequenceNumber() == 2 ? anchorGate : DONE));
    for (int i = 0; i < 5; i++) {
      produce(rt, SLOW, i);
    }
    await().atMost(WAIT).until(() -> oldGot.size() == 3);
    CountDownLatch release = holdAgent(rt);

    // Both queue up behind the blocked agent: first the old stage's completion, then the resume.
    third.complete(null);
    List<Long> newGot = new CopyOnWriteArrayList<>();
    AtomicInteger open = new AtomicInteger();
    AtomicInteger overlapping = new AtomicInteger();
    StreamObserver<Object> fresh =
        (item, token) -> {
          if (open.incrementAndGet() > 1) {
            overlapping.incrementAndGet();
          }
          newGot.add(token.sequenceNumber());
          open.decrementAndGet();
          return DONE;
        };
    // Event 2 is still cached: the old observer's stage for it is open, and the anchor holds it.
    StreamSequenceToken fromThird = new EventSequenceToken(2);
    CompletionStage<StreamSubscriptionHandle<Object>> resumed = handle.resume(fresh, fromThird);
    release.countDown();
    join(resumed);
    await().atMost(WAIT).until(() -> newGot.contains(4L));

    assertThat(newGot)
        .as("the new observer starts at the token and goes forward (old observer got %s)", oldGot)
        .containsExactly(2L, 3L, 4L);
    assertThat(overlapping).hasValue(0);
    anchorGate.complete(null);
  }

  /**
   * Resuming away from an observer whose stage is open and back to it with a token: it is not
   * called again before that stage completes, however many resumes came between.
   */
  @Test
  void resumeAwayAndBackWithAToken_neverCallsAnObserverWithAStageOpen() {
    MemoryQueueAdapterFactory memory = MemoryQueueAdapterFactory.builder().queueCount(1).build();
    StreamRuntime rt = start(memory, o -> o.cacheSize(100));
    CompletableFuture<Void> firstStage = new CompletableFuture<>();
    AtomicInteger open = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    List<Long> got = new CopyOnWriteArrayList<>();
    StreamObserver<Object> a =
        (item, token) -> {
          if (open.incrementAndGet() > 1) {
            overlaps.incrementAndGet();
          }
          got.add(token.sequenceNumber());
          if (got.size() == 1) {
            return firstStage.whenComplete((v, e) -> open.decrementAndGet());
          }
          open.decrementAndGet();
          return DONE;
        };
    StreamObserver<Object> b = (item, token) -> DONE;
    // A second subscription keeps events 0..2 cached for the rewind.
    CompletableFuture<Void> anchor = new CompletableFuture<>();
    join(rt.provider("mem").stream(SLOW).subscribe((item, token) -> anchor));
    StreamSubscriptionHandle<Object> h1 = join(rt.provider("mem").stream(SLOW).subscribe(a));
    for (int i = 0; i < 3; i++) {
      produce(rt, SLOW, i);
    }
    await().atMost(WAIT).until(() -> got.size() == 1);
    StreamSubscriptionHandle<Object> h2 = join(h1.resume(b));
    join(h2.resume(a, new EventSequenceToken(0)));
    firstStage.complete(null);
    await().atMost(WAIT).until(() -> got.size() == 4);

    assertThat(got).as("the stale call, then from the token").containsExactly(0L, 0L, 1L, 2L);
    assertThat(overlaps).as("calls while a stage of a was open").hasValue(0);
    anchor.complete(null);
  }

  /**
   * Item 7: a batch observer replaced by a single-event one while its batch waits for a retry used
   * to get the batch chained on the completion of each stage, so events were delivered on whatever
   * thread completed the previous stage, outside the agent. Every call must be on the agent.
   */
  @Test
  void batchObserverReplacedBySingleOne_everyCallOnTheAgentsThread() throws Exception {
    MemoryQueueAdapterFactory memory = MemoryQueueAdapterFactory.builder().queueCount(1).build();
    StreamRuntime rt =
        start(
            memory,
            o ->
                o.cacheSize(100)
                    .batchContainerBatchSize(3)
                    .deliveryBackoff(BackoffPolicy.fixed(Duration.ofMillis(1))));
    CompletableFuture<Void> firstBatch = new CompletableFuture<>();
    List<List<Long>> batchCalls = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> batchGate = new CompletableFuture<>();
    StreamSubscriptionHandle<Object> handle =
        join(
            rt.provider("mem").stream(SLOW)
                .subscribe(
                    (BatchStreamObserver<Object>)
                        items -> {
                          List<Long> seqs = new ArrayList<>();
                          for (SequentialItem<Object> i : items) {
                            seqs.add(i.token().sequenceNumber());
                          }
                          batchCalls.add(seqs);
                          return batchCalls.size() == 1 ? batchGate : firstBatch;
                        }));
    // The first call carries event 0 and is held; 1..3 are cached meanwhile.
    produce(rt, SLOW, 0);
    await().atMost(WAIT).until(() -> batchCalls.size() == 1);
    for (int i = 1; i <= 3; i++) {
      produce(rt, SLOW, i);
    }
    await().atMost(WAIT).until(() -> memory.unreadCount(Q0) == 0);
    batchGate.complete(null);
    // The second call carries 1..3 and stays open until it fails, below, behind the blocked agent.
    await().atMost(WAIT).until(() -> batchCalls.size() == 2);

    CountDownLatch release = holdAgent(rt);
    firstBatch.completeExceptionally(new IllegalStateException("retry me"));

    List<String> threads = new CopyOnWriteArrayList<>();
    List<Long> singleGot = new CopyOnWriteArrayList<>();
    StreamObserver<Object> single =
        (item, token) -> {
          threads.add(Thread.currentThread().getName());
          singleGot.add(token.sequenceNumber());
          // Completed on another thread: the next call must still come from the agent.
          return CompletableFuture.runAsync(() -> {}, completer);
        };
    CompletionStage<StreamSubscriptionHandle<Object>> resumed = handle.resume(single);
    release.countDown();
    join(resumed);
    await().atMost(WAIT).until(() -> singleGot.size() == 3);

    assertThat(singleGot).containsExactly(1L, 2L, 3L);
    assertThat(threads)
        .as("every call on one of the runtime's worker threads")
        .allMatch(name -> name.contains("-worker-"));
  }
}
