package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamProviderOptions;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueId;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Two consumer loops of one node, driven by Kafka's MockConsumer: the group moves a partition from
 * loop 0 to loop 1, and loop 1's assignment runs before loop 0 learns that it lost (or has to
 * revoke) the partition. Loop 1 must keep reading and committing it.
 */
class ConsumerLoopHandOverTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private final TopicPartition tp = new TopicPartition("t", 0);
  private final QueueId queue = QueueId.of("t", 0);
  private final ListeningMockConsumer[] mocks = new ListeningMockConsumer[2];

  /** Every ownership set the balancer gave the runtime, in order. */
  private final List<Set<QueueId>> ownership = new CopyOnWriteArrayList<>();

  private KafkaQueueAdapter adapter;

  /** Remembers the rebalance listener, so that a test can report a lost partition. */
  static final class ListeningMockConsumer extends MockConsumer<byte[], byte[]> {
    volatile ConsumerRebalanceListener listener;

    ListeningMockConsumer(String offsetResetStrategy) {
      super(offsetResetStrategy);
    }

    @Override
    public void subscribe(Collection<String> topics, ConsumerRebalanceListener listener) {
      this.listener = listener;
      super.subscribe(topics, listener);
    }
  }

  @BeforeEach
  void start() {
    KafkaSettings settings =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers("localhost:9")
            .consumerGroupId("g")
            .topic("t", TopicConfig.existing())
            .consumerThreads(2)
            .commitInterval(Duration.ofMillis(10))
            .pollTimeout(Duration.ofMillis(5))
            .retryBackoff(BackoffPolicy.fixed(Duration.ofMillis(5)))
            .revokeTimeout(Duration.ofSeconds(1))
            .closeTimeout(Duration.ofSeconds(1))
            .build()
            .settings();
    ProviderContext context =
        new ProviderContext(
            "p", StreamProviderOptions.defaults(), new SimpleMeterRegistry(), Clock.systemUTC());
    KafkaQueueAdapter[] self = new KafkaQueueAdapter[1];
    adapter =
        KafkaQueueAdapter.forTest(
            settings,
            context,
            Map.of("t", 1),
            i -> {
              // The reset policy the adapter gives its real consumers.
              Object reset =
                  self[0]
                      .clientProperties()
                      .consumer(i)
                      .get(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG);
              ListeningMockConsumer m = new ListeningMockConsumer((String) reset);
              m.updateBeginningOffsets(Map.of(tp, 0L));
              mocks[i] = m;
              return m;
            });
    self[0] = adapter;
    // Starts the consumers; the listener stands in for the runtime's pulling manager.
    adapter
        .balancer()
        .start(
            adapter.mapper(),
            owned -> {
              ownership.add(owned);
              return CompletableFuture.completedFuture(null);
            });
  }

  @AfterEach
  void stop() {
    adapter.close();
  }

  private static ConsumerRecord<byte[], byte[]> record(long offset, String value) {
    return new ConsumerRecord<>(
        "t",
        0,
        offset,
        "k".getBytes(StandardCharsets.UTF_8),
        value.getBytes(StandardCharsets.UTF_8));
  }

  /** Runs {@code task} on the thread of loop {@code i}, inside its next poll, and waits for it. */
  private void onLoop(int i, Runnable task) throws InterruptedException {
    CountDownLatch done = new CountDownLatch(1);
    mocks[i].schedulePollTask(
        () -> {
          try {
            task.run();
          } finally {
            done.countDown();
          }
        });
    assertThat(done.await(WAIT.toMillis(), TimeUnit.MILLISECONDS))
        .as("loop %s ran the task", i)
        .isTrue();
  }

  private String ownerOf(TopicPartition p) {
    PartitionState s = adapter.state(p);
    return s == null || s.closed ? null : s.owner.name();
  }

  @ParameterizedTest(name = "loop 0 {0} the partition late")
  @ValueSource(strings = {"loses", "revokes"})
  void aPartitionMovedToAnotherLoop_staysWithItsNewOwner_whenTheOldOwnerLetsGoLate(String how)
      throws Exception {
    onLoop(0, () -> mocks[0].rebalance(List.of(tp)));
    await().atMost(WAIT).until(() -> ownerOf(tp) != null && ownerOf(tp).endsWith("-consumer-0"));

    // The group gives the partition to loop 1 before loop 0 hears about it.
    onLoop(1, () -> mocks[1].rebalance(List.of(tp)));
    await().atMost(WAIT).until(() -> ownerOf(tp) != null && ownerOf(tp).endsWith("-consumer-1"));

    // Loop 0 still fetches a few records of it, then lets it go.
    onLoop(
        0,
        () -> {
          for (long o = 0; o < 5; o++) {
            mocks[0].addRecord(record(o, "stale-" + o));
          }
        });
    onLoop(
        0,
        () -> {
          if (how.equals("loses")) {
            mocks[0].listener.onPartitionsLost(List.of(tp));
          } else {
            mocks[0].rebalance(List.of());
          }
        });

    assertThat(ownerOf(tp)).as("owner of %s after loop 0 let go", tp).endsWith("-consumer-1");
    // The agent of loop 0's state was stopped and one for loop 1's started; loop 0's late release
    // did not take the queue away.
    assertThat(ownership)
        .as("ownership sets given to the runtime")
        .containsExactly(Set.of(queue), Set.of(), Set.of(queue));
    assertThat(adapter.balancer().myQueues()).containsExactly(queue);

    KafkaAdapterReceiver receiver = (KafkaAdapterReceiver) adapter.createReceiver(queue);
    receiver.initialize(WAIT).toCompletableFuture().get(10, TimeUnit.SECONDS);
    onLoop(
        1,
        () -> {
          for (long o = 0; o < 10; o++) {
            mocks[1].addRecord(record(o, "v-" + o));
          }
        });

    List<BatchContainer> got = new ArrayList<>();
    await()
        .atMost(WAIT)
        .until(
            () -> {
              got.addAll(receiver.getQueueMessages(100).toCompletableFuture().join());
              return got.size() >= 10;
            });
    List<String> values = new ArrayList<>();
    for (BatchContainer b : got) {
      values.add(new String((byte[]) b.event(0), StandardCharsets.UTF_8));
    }
    assertThat(values)
        .containsExactly("v-0", "v-1", "v-2", "v-3", "v-4", "v-5", "v-6", "v-7", "v-8", "v-9");

    receiver.messagesDelivered(got);
    await().atMost(WAIT).until(() -> committed(mocks[1]) == 10L);
    assertThat(ownerOf(tp)).endsWith("-consumer-1");
    // Loop 0 committed its start position before the hand-over at most: the stale records it
    // fetched afterwards were neither buffered nor committed.
    assertThat(committed(mocks[0])).isLessThanOrEqualTo(0L);
  }

  private long committed(MockConsumer<byte[], byte[]> mock) {
    var m = mock.committed(Set.of(tp));
    return m.get(tp) == null ? -1 : m.get(tp).offset();
  }
}
