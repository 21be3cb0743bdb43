package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.assertComplete;
import static dev.tributary.kafka.KafkaTestSupport.committed;
import static dev.tributary.kafka.KafkaTestSupport.endOffsets;
import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.produce;
import static dev.tributary.kafka.KafkaTestSupport.strings;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static dev.tributary.testkit.DeliveryHarness.IMPLICIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A graceful close or hand-over delivers nothing twice, even in the middle of a backlog while a few
 * streams are behind the others: what was delivered beyond the oldest undelivered record of a
 * partition travels with the commit, and the next owner skips it. Every record is counted,
 * duplicates included, across all nodes of the group.
 */
class KafkaHandOverTest {
  private static final Logger log = LoggerFactory.getLogger(KafkaHandOverTest.class);
  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(120);
  static final int PARTITIONS = 8;
  static final int KEYS = 40;
  static final int PER_KEY = 100;

  /** One slow key per partition, so that every partition has a stream behind the others. */
  static final Set<String> SLOW = slowKeys();

  private static Set<String> slowKeys() {
    Map<Integer, String> firstKeyOfPartition = new java.util.TreeMap<>();
    for (int k = 0; k < KEYS; k++) {
      firstKeyOfPartition.putIfAbsent(
          KafkaStreamQueueMapper.partitionFor("k" + k, PARTITIONS), "k" + k);
    }
    return Set.copyOf(firstKeyOfPartition.values());
  }

  private static final ScheduledExecutorService slowness =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "slow-observers");
            t.setDaemon(true);
            return t;
          });

  @AfterAll
  static void stopSlowness() {
    slowness.shutdownNow();
  }

  /** Fast observers acknowledge at once; those of {@link #SLOW} keys after 30 ms each. */
  private static final Behavior SLOW_KEYS_LAG =
      (id, item, token, attempt) -> {
        if (!SLOW.contains(id.key())) {
          return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        slowness.schedule(() -> done.complete(null), 30, TimeUnit.MILLISECONDS);
        return done;
      };

  private static StreamRuntime node(String name, String group, String topic, DeliveryHarness rec) {
    KafkaQueueAdapterFactory f =
        factory(broker, group)
            .topic(topic, strings(PARTITIONS))
            .consumerProperty("heartbeat.interval.ms", "300")
            .build();
    return StreamRuntime.builder()
        .addProvider("kafka", f, o -> o.cacheSize(64))
        .implicitSubscription("kafka", topic, rec.observerFactory(IMPLICIT, SLOW_KEYS_LAG))
        .nodeName(name)
        .threads(2)
        .build();
  }

  /**
   * Every expected record reached its stream once, in order: offered to an observer once (counted
   * when called, acknowledged or not) and acknowledged once.
   */
  private static void assertEverythingOnce(
      DeliveryHarness rec, String topic, Map<String, List<String>> expected, int records) {
    log.info(
        "{}: {} calls, {} acknowledged records, {} distinct, {} duplicates",
        topic,
        rec.attempts(IMPLICIT),
        rec.count(),
        rec.distinctCount(),
        rec.duplicates());
    assertComplete(rec, topic, expected);
    assertThat(rec.duplicates()).as("records delivered twice").isZero();
    assertThat(rec.attempts(IMPLICIT)).as("observer calls").isEqualTo(records);
    assertThat(rec.count()).isEqualTo(records);
  }

  @Test
  void closeMidBacklog_thenRestart_deliversNothingTwice() {
    String topic = unique("close-backlog");
    String group = unique("g");
    broker.createTopic(topic, PARTITIONS);
    DeliveryHarness rec = DeliveryHarness.create();
    Map<String, List<String>> expected = produce(broker, topic, KEYS, PER_KEY, 0);
    try (StreamRuntime first = node("close-a", group, topic, rec)) {
      first.start();
      // Mid-backlog: the slow streams are far behind, the fast ones well ahead.
      await().atMost(WAIT).until(() -> rec.attempts(IMPLICIT) >= KEYS * PER_KEY / 3);
    }
    long beforeRestart = rec.attempts(IMPLICIT);
    assertThat(beforeRestart).as("closed in the middle of the backlog").isLessThan(KEYS * PER_KEY);
    try (StreamRuntime second = node("close-b", group, topic, rec)) {
      second.start();
      await().atMost(WAIT).until(() -> rec.distinctCount() >= KEYS * PER_KEY);
      Map<Integer, Long> ends = endOffsets(broker, topic, PARTITIONS);
      await().atMost(WAIT).until(() -> committed(broker, group, topic).equals(ends));
    }
    assertEverythingOnce(rec, topic, expected, KEYS * PER_KEY);
  }

  @Test
  void handOverMidBacklog_withSlowStreams_thenRestart_deliversNothingTwice() {
    String topic = unique("handover-backlog");
    String group = unique("g");
    broker.createTopic(topic, PARTITIONS);
    DeliveryHarness rec = DeliveryHarness.create();
    Map<String, List<String>> expected = produce(broker, topic, KEYS, PER_KEY, 0);
    try (StreamRuntime a = node("handover-a", group, topic, rec)) {
      a.start();
      await().atMost(WAIT).until(() -> rec.attempts(IMPLICIT) >= KEYS * PER_KEY / 4);
      // A second member joins mid-backlog: half of a's partitions are revoked and handed over.
      try (StreamRuntime b = node("handover-b", group, topic, rec)) {
        b.start();
        await().atMost(WAIT).until(() -> rec.distinctCount() >= KEYS * PER_KEY);
        Map<Integer, Long> ends = endOffsets(broker, topic, PARTITIONS);
        await().atMost(WAIT).until(() -> committed(broker, group, topic).equals(ends));
      }
    }
    long delivered = rec.attempts(IMPLICIT);
    // A restart after everything was committed delivers nothing at all.
    try (StreamRuntime c = node("handover-c", group, topic, rec)) {
      c.start();
      produce(broker, topic, 1, 1, PER_KEY);
      StreamId marker = StreamId.of(topic, "k0");
      await().atMost(WAIT).until(() -> rec.items(IMPLICIT, marker).contains("k0:" + PER_KEY));
    }
    assertThat(rec.attempts(IMPLICIT))
        .as("the restart delivered only the new record")
        .isEqualTo(delivered + 1);
    expected.get("k0").add("k0:" + PER_KEY);
    assertEverythingOnce(rec, topic, expected, KEYS * PER_KEY + 1);
  }
}
