package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.assertComplete;
import static dev.tributary.kafka.KafkaTestSupport.committed;
import static dev.tributary.kafka.KafkaTestSupport.endOffsets;
import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.offsets;
import static dev.tributary.kafka.KafkaTestSupport.produce;
import static dev.tributary.kafka.KafkaTestSupport.strings;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static dev.tributary.testkit.DeliveryHarness.IMPLICIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamRuntime;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.Delivery;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Where reading starts: each ConsumeMode, a fresh group, and a restart after commits. */
class KafkaConsumeModeTest {
  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(60);
  static final int PARTITIONS = 2;

  private static StreamRuntime runtime(
      KafkaQueueAdapterFactory f, String topic, DeliveryHarness rec) {
    return StreamRuntime.builder()
        .addProvider("kafka", f, o -> o.cacheSize(128))
        .implicitSubscription("kafka", topic, rec.observerFactory())
        .threads(2)
        .build();
  }

  /** Runs a runtime until it delivered {@code count} events and committed the log end. */
  private static void consumeAll(
      KafkaQueueAdapterFactory f, String topic, String group, DeliveryHarness rec, int n) {
    try (StreamRuntime rt = runtime(f, topic, rec)) {
      rt.start();
      await().atMost(WAIT).until(() -> rec.count() >= n);
      Map<Integer, Long> ends = endOffsets(broker, topic, f.streamQueueMapper().allQueues().size());
      await().atMost(WAIT).until(() -> committed(broker, group, topic).equals(ends));
    }
  }

  @Test
  void lastCommitted_freshGroup_readsTheBacklog_thenARestartResumesAfterTheLastCommit() {
    String topic = unique("lcm");
    String group = unique("g");
    broker.createTopic(topic, PARTITIONS);
    Map<String, List<String>> first = produce(broker, topic, 5, 40, 0);

    DeliveryHarness rec1 = DeliveryHarness.create();
    consumeAll(
        factory(broker, group).topic(topic, strings(PARTITIONS)).build(), topic, group, rec1, 200);
    assertComplete(rec1, topic, first);
    assertThat(rec1.count()).isEqualTo(200);

    Map<String, List<String>> second = produce(broker, topic, 5, 40, 40);
    DeliveryHarness rec2 = DeliveryHarness.create();
    consumeAll(
        factory(broker, group).topic(topic, strings(PARTITIONS)).build(), topic, group, rec2, 200);
    assertComplete(rec2, topic, second);
    // Close committed everything delivered, so the restart delivers nothing twice.
    assertThat(rec2.count()).isEqualTo(200);
  }

  @Test
  void restartAfterAnUndrainedClose_deliversExactlyWhatWasNotDeliveredBefore() {
    String topic = unique("redeliver");
    String group = unique("g");
    broker.createTopic(topic, 1);
    Map<String, List<String>> all = produce(broker, topic, 5, 20, 0);
    // Run 1: k0:5 never completes, so the watermark (and every commit) stays at its offset while
    // the other streams are delivered past it; close gives up draining after drainTimeout, like a
    // crash would leave things.
    DeliveryHarness rec1 = DeliveryHarness.create();
    AtomicLong heldOffset = new AtomicLong(-1);
    Behavior holdK05 =
        (id, item, token, attempt) -> {
          if (item.equals("k0:5")) {
            heldOffset.set(token.sequenceNumber());
            return new CompletableFuture<Void>();
          }
          return CompletableFuture.completedFuture(null);
        };
    KafkaQueueAdapterFactory f1 = factory(broker, group).topic(topic, strings(1)).build();
    try (StreamRuntime rt =
        StreamRuntime.builder()
            .addProvider("kafka", f1, o -> o.cacheSize(256).drainTimeout(Duration.ofMillis(500)))
            .implicitSubscription("kafka", topic, rec1.observerFactory(IMPLICIT, holdK05))
            .threads(2)
            .build()) {
      rt.start();
      await().atMost(WAIT).until(() -> rec1.count() >= 100 - 15);
    }
    // The commit stays at the held event; what the other streams received beyond it travels
    // with the commit as delivered offsets.
    long lastCommit = committed(broker, group, topic).getOrDefault(0, 0L);
    assertThat(lastCommit).isEqualTo(heldOffset.get());
    assertThat(offsets(rec1).stream().mapToLong(o -> o).max()).hasValue(99);
    assertThat(rec1.duplicates()).isZero();

    // Run 2 resumes at the last commit and skips what run 1 delivered beyond it: exactly the
    // events run 1 never delivered (the held one and its stream's later events), once each.
    DeliveryHarness rec2 = DeliveryHarness.create();
    int missing = (int) (100 - rec1.count());
    consumeAll(
        factory(broker, group).topic(topic, strings(1)).build(), topic, group, rec2, missing);
    assertThat(rec2.count()).isEqualTo(missing);
    assertThat(offsets(rec2)).allMatch(o -> o >= lastCommit).doesNotHaveDuplicates();
    // Together every event arrived, in per-stream order, and none twice: run 1's deliveries, then
    // run 2's, recorded again as one sequence per stream.
    DeliveryHarness both = DeliveryHarness.create();
    for (DeliveryHarness r : List.of(rec1, rec2)) {
      for (Delivery d : r.deliveries(IMPLICIT)) {
        both.recorder(IMPLICIT, d.streamId())
            .onNext(d.item(), d.token())
            .toCompletableFuture()
            .join();
      }
    }
    assertComplete(both, topic, all);
    assertThat(both.duplicates()).isZero();
    assertThat(both.count()).isEqualTo(100);
  }

  @Test
  void streamStart_ignoresCommittedOffsets_andReadsFromTheBeginning() {
    String topic = unique("start");
    String group = unique("g");
    broker.createTopic(topic, PARTITIONS);
    Map<String, List<String>> all = produce(broker, topic, 4, 25, 0);
    consumeAll(
        factory(broker, group).topic(topic, strings(PARTITIONS)).build(),
        topic,
        group,
        DeliveryHarness.create(),
        100);

    DeliveryHarness rec = DeliveryHarness.create();
    KafkaQueueAdapterFactory f =
        factory(broker, group)
            .topic(topic, strings(PARTITIONS))
            .consumeMode(ConsumeMode.STREAM_START)
            .build();
    try (StreamRuntime rt = runtime(f, topic, rec)) {
      rt.start();
      await().atMost(WAIT).until(() -> rec.count() >= 100);
      assertComplete(rec, topic, all);
    }
  }

  @Test
  void streamEnd_skipsTheBacklog_andDeliversWhatIsWrittenAfterAssignment() {
    String topic = unique("end");
    broker.createTopic(topic, PARTITIONS);
    produce(broker, topic, 4, 25, 0);
    DeliveryHarness rec = DeliveryHarness.create();
    KafkaQueueAdapterFactory f =
        factory(broker, unique("g"))
            .topic(topic, strings(PARTITIONS))
            .consumeMode(ConsumeMode.STREAM_END)
            .build();
    try (StreamRuntime rt = runtime(f, topic, rec)) {
      rt.start();
      // Positions are resolved before a partition counts as owned.
      await().atMost(WAIT).until(() -> f.ownedPartitions().size() == PARTITIONS);
      Map<String, List<String>> fresh = produce(broker, topic, 4, 25, 25);
      await().atMost(WAIT).until(() -> rec.count() >= 100);
      assertComplete(rec, topic, fresh);
      assertThat(rec.count()).isEqualTo(100);
    }
  }
}
