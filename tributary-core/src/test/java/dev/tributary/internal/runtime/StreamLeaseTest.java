package dev.tributary.internal.runtime;

import static dev.tributary.internal.runtime.RuntimeFixture.DONE;
import static dev.tributary.internal.runtime.RuntimeFixture.WAIT;
import static dev.tributary.internal.runtime.RuntimeFixture.join;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamProviderOptions;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSequenceToken;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueAdapter;
import dev.tributary.spi.QueueAdapterFactory;
import dev.tributary.spi.QueueAdapterReceiver;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamProviderDirection;
import dev.tributary.spi.StreamQueueMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * One stream reachable from two queues, delivered by one agent at a time: a receiver that renames
 * streams {@code "S|n"} to {@code "S"} makes the memory adapter carry one stream in both queues,
 * the way keyless Kafka records or partition growth do.
 */
class StreamLeaseTest {
  private static final StreamId S = StreamId.of("ns", "S");

  @RegisterExtension final RuntimeFixture fixture = new RuntimeFixture();

  /** A batch of stream {@code "S|n"} seen as a batch of {@code "S"}. */
  private record Renamed(BatchContainer original, StreamId streamId) implements BatchContainer {
    static Renamed of(BatchContainer b) {
      String key = b.streamId().key();
      int bar = key.indexOf('|');
      StreamId id =
          bar < 0 ? b.streamId() : StreamId.of(b.streamId().namespace(), key.substring(0, bar));
      return new Renamed(b, id);
    }

    @Override
    public StreamSequenceToken sequenceToken() {
      return original.sequenceToken();
    }

    @Override
    public int eventCount() {
      return original.eventCount();
    }

    @Override
    public Object event(int index) {
      return original.event(index);
    }
  }

  /** The memory adapter, with receivers that rename streams. */
  private static final class RenamingFactory implements QueueAdapterFactory {
    final MemoryQueueAdapterFactory memory;

    RenamingFactory(MemoryQueueAdapterFactory memory) {
      this.memory = memory;
    }

    @Override
    public QueueAdapter createAdapter(ProviderContext context) {
      QueueAdapter a = memory.createAdapter(context);
      return new QueueAdapter() {
        @Override
        public String name() {
          return a.name();
        }

        @Override
        public CompletionStage<Void> queueMessageBatch(
            StreamId s, List<?> e, StreamSequenceToken t, Map<String, byte[]> h) {
          return a.queueMessageBatch(s, e, t, h);
        }

        @Override
        public QueueAdapterReceiver createReceiver(QueueId q) {
          QueueAdapterReceiver r = a.createReceiver(q);
          return new QueueAdapterReceiver() {
            @Override
            public CompletionStage<Void> initialize(Duration timeout) {
              return r.initialize(timeout);
            }

            @Override
            public CompletionStage<List<BatchContainer>> getQueueMessages(int maxCount) {
              return r.getQueueMessages(maxCount)
                  .thenApply(
                      list -> {
                        List<BatchContainer> out = new ArrayList<>();
                        for (BatchContainer b : list) {
                          out.add(Renamed.of(b));
                        }
                        return out;
                      });
            }

            @Override
            public CompletionStage<Void> messagesDelivered(List<BatchContainer> messages) {
              List<BatchContainer> out = new ArrayList<>();
              for (BatchContainer b : messages) {
                out.add(((Renamed) b).original());
              }
              return r.messagesDelivered(out);
            }

            @Override
            public CompletionStage<Void> shutdown(Duration timeout) {
              return r.shutdown(timeout);
            }

            @Override
            public void setDataAvailableListener(Runnable listener) {
              r.setDataAvailableListener(listener);
            }
          };
        }

        @Override
        public boolean isRewindable() {
          return a.isRewindable();
        }

        @Override
        public StreamProviderDirection direction() {
          return a.direction();
        }
      };
    }

    @Override
    public StreamQueueMapper streamQueueMapper() {
      return memory.streamQueueMapper();
    }
  }

  private MemoryQueueAdapterFactory memory;

  private StreamRuntime.Builder builder() {
    return builder(StreamProviderOptions.DEFAULT_STREAM_INACTIVITY_PERIOD);
  }

  private StreamRuntime.Builder builder(Duration inactivity) {
    memory = MemoryQueueAdapterFactory.builder().queueCount(2).build();
    return fixture
        .builder()
        .addProvider(
            "mem",
            new RenamingFactory(memory),
            o ->
                o.getQueueMessagesTimerPeriod(Duration.ofMillis(5))
                    .streamInactivityPeriod(inactivity));
  }

  /** A key that the renaming turns into {@code S} and that the mapper puts on {@code queue}. */
  private String keyOn(int queue) {
    StreamQueueMapper m = memory.streamQueueMapper();
    for (int i = 0; ; i++) {
      String k = "S|" + i;
      if (m.queueForStream(StreamId.of("ns", k)).index() == queue) {
        return k;
      }
    }
  }

  /** An observer that adds every item to {@code got} and acknowledges at once. */
  private static StreamObserver<Object> recorder(List<Object> got) {
    return (item, token) -> {
      got.add(item);
      return DONE;
    };
  }

  private void produce(StreamRuntime rt, String key, Object item) {
    join(rt.provider("mem").stream(StreamId.of("ns", key)).onNext(item));
  }

  /**
   * The agent that delivered the stream first goes idle; the other queue's event of the stream must
   * not wait for the first agent's next event (or its inactivity timeout): a claim that finds the
   * holder idle gets the lease handed on at once.
   */
  @Test
  void anIdleHolder_handsTheLeaseOnAsSoonAsAnotherQueueWaits() {
    List<Object> got = new CopyOnWriteArrayList<>();
    StreamRuntime rt =
        fixture.start(builder().implicitSubscription("mem", "ns", id -> recorder(got)));
    produce(rt, keyOn(0), "a");
    await().atMost(WAIT).until(() -> got.size() == 1);
    produce(rt, keyOn(1), "b");
    await().atMost(WAIT).until(() -> got.size() == 2);
    produce(rt, keyOn(0), "c");
    await().atMost(WAIT).until(() -> got.size() == 3);
    assertThat(got).containsExactly("a", "b", "c");
  }

  /**
   * A stream parked by the agent that delivered it holds no lease: the other queue's agent delivers
   * its next event without a hand-over, and the first agent claims the lease again with the event
   * after that. Every event once, in order.
   */
  @Test
  void aParkedStream_givesItsLeaseUp_andClaimsItAgainWithItsNextBatch() {
    List<Object> got = new CopyOnWriteArrayList<>();
    StreamRuntime rt =
        fixture.start(
            builder(Duration.ofSeconds(3)) // parked after 0.3 s idle, dropped after 3 s
                .implicitSubscription("mem", "ns", id -> recorder(got)));
    StreamLeases leases = RuntimeFixture.provider(rt, "mem").leases();
    produce(rt, keyOn(0), "a");
    await().atMost(WAIT).until(() -> got.size() == 1);
    PullingAgent first =
        RuntimeFixture.agents(rt, "mem").values().stream()
            .filter(a -> a.queueId().index() == 0)
            .findFirst()
            .orElseThrow();
    await()
        .atMost(WAIT)
        .pollInterval(Duration.ofMillis(20))
        .untilAsserted(
            () -> {
              PullingAgent.Snapshot parked = RuntimeFixture.snapshot(first);
              assertThat(parked.streams()).as("still tracked").isEqualTo(1);
              assertThat(parked.cursors()).as("parked").isZero();
              assertThat(leases.heldCount()).as("a parked stream holds no lease").isZero();
            });
    produce(rt, keyOn(1), "b");
    await().atMost(WAIT).until(() -> got.size() == 2);
    produce(rt, keyOn(0), "c");
    await().atMost(WAIT).until(() -> got.size() == 3);
    assertThat(got).containsExactly("a", "b", "c");
  }

  /**
   * The holder hands the lease on only when none of the stream's subscriptions has anything left:
   * here the implicit subscription's delivery of a1 ends while the other queue's agent waits, and
   * the explicit subscription has a1 cached but not yet taken from its cursor. Handing over then
   * would leave it asleep with a1 (this agent no longer holds or waits for the lease).
   */
  @Test
  void theLeaseIsHandedOnOnlyWhenEverySubscriptionOfTheStreamIsDone() throws Exception {
    List<Object> implicit = new CopyOnWriteArrayList<>();
    List<Object> explicit = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> slowB0 = new CompletableFuture<>();
    CountDownLatch inA1 = new CountDownLatch(1);
    CountDownLatch finishA1 = new CountDownLatch(1);
    StreamRuntime rt =
        fixture.start(
            builder()
                .implicitSubscription(
                    "mem",
                    "ns",
                    id ->
                        (StreamObserver<Object>)
                            (item, token) -> {
                              implicit.add(item);
                              if ("b0".equals(item)) {
                                return slowB0;
                              }
                              if ("a1".equals(item)) {
                                // Synchronous, on the agent's thread: held until the other agent
                                // waits for the lease.
                                inA1.countDown();
                                try {
                                  assertThat(finishA1.await(WAIT.toSeconds(), TimeUnit.SECONDS))
                                      .isTrue();
                                } catch (InterruptedException e) {
                                  Thread.currentThread().interrupt();
                                }
                              }
                              return DONE;
                            }));
    StreamLeases leases = RuntimeFixture.provider(rt, "mem").leases();
    int home = memory.streamQueueMapper().queueForStream(S).index();
    join(rt.provider("mem").stream(S).subscribe(recorder(explicit)));
    // The other queue's agent B takes the lease with b0, which stays in flight.
    produce(rt, keyOn(1 - home), "b0");
    await().atMost(WAIT).until(() -> implicit.contains("b0") && explicit.contains("b0"));
    // The home agent A reads a1 and waits for the lease.
    produce(rt, keyOn(home), "a1");
    await().atMost(WAIT).until(() -> leases.hasWaiters(S));
    // B finishes b0 and hands the lease to A, whose implicit subscription takes a1 first.
    slowB0.complete(null);
    assertThat(inA1.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
    // Meanwhile B reads b1 and waits for the lease in turn.
    produce(rt, keyOn(1 - home), "b1");
    await().atMost(WAIT).until(() -> leases.hasWaiters(S));
    finishA1.countDown();
    await()
        .atMost(WAIT)
        .untilAsserted(
            () -> {
              assertThat(explicit).as("the explicit subscription").contains("a1", "b1");
              assertThat(implicit).as("the implicit subscription").contains("a1", "b1");
            });
    assertThat(explicit).hasSize(3);
    assertThat(implicit).hasSize(3);
  }

  /**
   * An explicit subscription attaches on the stream's own queue; events of the stream read from the
   * other queue reach it too, the second subscription starts there at the event produced after it
   * subscribed, and neither waits for the other queue's agent to act.
   */
  @Test
  void explicitSubscriptions_receiveTheStreamsEventsFromTheOtherQueueToo() {
    StreamRuntime rt = fixture.start(builder());
    int home = memory.streamQueueMapper().queueForStream(S).index();
    String other = keyOn(1 - home);
    List<Object> first = new CopyOnWriteArrayList<>();
    List<Object> second = new CopyOnWriteArrayList<>();
    join(
        rt.provider("mem").stream(S)
            .subscribe(
                (StreamObserver<Object>)
                    (i, t) -> {
                      first.add(i);
                      return DONE;
                    }));
    produce(rt, other, "a");
    await().atMost(WAIT).until(() -> first.size() == 1);
    join(
        rt.provider("mem").stream(S)
            .subscribe(
                (StreamObserver<Object>)
                    (i, t) -> {
                      second.add(i);
                      return DONE;
                    }));
    produce(rt, other, "b");
    await().atMost(WAIT).until(() -> first.size() == 2 && second.size() == 1);
    assertThat(first).containsExactly("a", "b");
    assertThat(second).containsExactly("b");
  }

  /**
   * An explicit subscribe reaches the agent that waits for the stream's lease after the holder
   * handed it on but before that agent ran its release notice. The attach claims the lease; every
   * consumer that waited for it must be woken then, not only the new one (the notice, run later,
   * finds the lease held and wakes nobody), or the implicit subscription's cached event waits for
   * the queue's next event of the stream.
   */
  @Test
  void anAttachThatClaimsAReleasedLease_wakesTheConsumersThatWaitedForIt() throws Exception {
    List<Object> got = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> slow = new CompletableFuture<>();
    CountDownLatch blocked = new CountDownLatch(1);
    CountDownLatch unblock = new CountDownLatch(1);
    StreamRuntime rt =
        fixture.start(
            builder()
                .implicitSubscription(
                    "mem",
                    "ns",
                    id ->
                        (StreamObserver<Object>)
                            (item, token) -> {
                              got.add(item);
                              return "b1".equals(item) ? slow : DONE;
                            })
                .implicitSubscription(
                    "mem",
                    "blk",
                    id ->
                        (StreamObserver<Object>)
                            (item, token) -> {
                              // Holds the home agent's thread, so its tasks queue up in order.
                              blocked.countDown();
                              try {
                                unblock.await();
                              } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                              }
                              return DONE;
                            }));
    int home = memory.streamQueueMapper().queueForStream(S).index();
    StreamLeases leases = RuntimeFixture.provider(rt, "mem").leases();
    PullingAgent homeAgent =
        RuntimeFixture.agents(rt, "mem").values().stream()
            .filter(a -> a.queueId().index() == home)
            .findFirst()
            .orElseThrow();
    // The other queue's agent holds the lease, b1 in flight.
    produce(rt, keyOn(1 - home), "b1");
    await().atMost(WAIT).until(() -> got.contains("b1"));
    // The home agent reads a1 and waits for the lease, a1 cached.
    produce(rt, keyOn(home), "a1");
    await().atMost(WAIT).until(() -> RuntimeFixture.snapshot(homeAgent).streams() == 1);
    String blockKey = null;
    for (int i = 0; blockKey == null; i++) {
      if (memory.streamQueueMapper().queueForStream(StreamId.of("blk", "k" + i)).index() == home) {
        blockKey = "k" + i;
      }
    }
    join(rt.provider("mem").stream(StreamId.of("blk", blockKey)).onNext("x"));
    assertThat(blocked.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
    // Queued on the home agent: the attach first, then the release notice.
    // The in-memory subscription store stores synchronously, so the attach is queued on the home
    // agent when subscribe returns.
    rt.provider("mem").stream(S).subscribe((StreamObserver<Object>) (i, t) -> DONE);
    slow.complete(null);
    // The other agent handed S's lease on; the home agent, busy, has not run the notice yet.
    await().atMost(WAIT).until(() -> leases.holder(S) == null);
    unblock.countDown();
    await()
        .atMost(Duration.ofSeconds(5))
        .untilAsserted(() -> assertThat(got).as("a1 reaches its implicit observer").contains("a1"));
  }
}
