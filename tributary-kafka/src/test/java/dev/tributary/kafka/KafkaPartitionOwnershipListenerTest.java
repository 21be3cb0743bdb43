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
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamRuntime;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * The public ownership hook, against the real broker: {@code onAssigned}'s stage holds the new
 * partitions' delivery back (and the consumer thread never waits for it), {@code onRevoked} comes
 * after the drain and the commit. Every record is counted, duplicates included, in per-key order.
 */
class KafkaPartitionOwnershipListenerTest {
  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(60);
  static final int PARTITIONS = 4;
  static final int KEYS = 20;
  static final int PER_KEY = 25;
  static final int RECORDS = KEYS * PER_KEY;

  /** Records what it is told; {@code onAssigned} answers with {@code stage}. */
  static final class Recording implements PartitionOwnershipListener {
    final List<Set<TopicPartition>> assigned = Collections.synchronizedList(new ArrayList<>());
    final List<Set<TopicPartition>> revoked = Collections.synchronizedList(new ArrayList<>());
    final Set<String> threads = ConcurrentHashMap.newKeySet();
    final Function<Set<TopicPartition>, CompletionStage<Void>> stage;
    volatile Runnable onRevoke = () -> {};

    Recording(Function<Set<TopicPartition>, CompletionStage<Void>> stage) {
      this.stage = stage;
    }

    @Override
    public CompletionStage<Void> onAssigned(Set<TopicPartition> partitions) {
      threads.add(Thread.currentThread().getName());
      assigned.add(partitions);
      return stage.apply(partitions);
    }

    @Override
    public void onRevoked(Set<TopicPartition> partitions) {
      threads.add(Thread.currentThread().getName());
      onRevoke.run();
      revoked.add(partitions);
    }

    Set<TopicPartition> allAssigned() {
      Set<TopicPartition> out = new HashSet<>();
      synchronized (assigned) {
        assigned.forEach(out::addAll);
      }
      return out;
    }

    Set<TopicPartition> allRevoked() {
      Set<TopicPartition> out = new HashSet<>();
      synchronized (revoked) {
        revoked.forEach(out::addAll);
      }
      return out;
    }
  }

  private static StreamRuntime node(
      String name,
      String topic,
      DeliveryHarness rec,
      KafkaQueueAdapterFactory.Builder kafka,
      PartitionOwnershipListener listener) {
    KafkaQueueAdapterFactory f =
        kafka
            .topic(topic, strings(PARTITIONS))
            .consumerProperty("heartbeat.interval.ms", "300")
            .partitionOwnershipListener(listener)
            .build();
    return StreamRuntime.builder()
        .addProvider("kafka", f)
        .implicitSubscription("kafka", topic, rec.observerFactory(IMPLICIT))
        .nodeName(name)
        .threads(2)
        .build();
  }

  private static Set<TopicPartition> partitions(String topic) {
    Set<TopicPartition> out = new HashSet<>();
    for (int p = 0; p < PARTITIONS; p++) {
      out.add(new TopicPartition(topic, p));
    }
    return out;
  }

  @Test
  void onAssigned_holdsDeliveryBackUntilItsStageCompletes() {
    String topic = unique("own-hold");
    broker.createTopic(topic, PARTITIONS);
    Map<String, List<String>> expected = produce(broker, topic, KEYS, PER_KEY, 0);
    DeliveryHarness rec = DeliveryHarness.create();
    CompletableFuture<Void> allowed = new CompletableFuture<>();
    Recording listener = new Recording(tps -> allowed);
    try (StreamRuntime rt = node("hold", topic, rec, factory(broker, unique("g")), listener)) {
      rt.start();
      await().atMost(WAIT).until(() -> listener.allAssigned().equals(partitions(topic)));
      await()
          .during(Duration.ofMillis(800))
          .atMost(Duration.ofSeconds(5))
          .until(() -> rec.attempts(IMPLICIT) == 0);
      // Completed on this (the test's) thread: the gate opens on whichever thread completes it.
      allowed.complete(null);
      await().atMost(WAIT).until(() -> rec.distinctCount() >= RECORDS);
    }
    assertComplete(rec, topic, expected);
    assertThat(rec.attempts(IMPLICIT)).as("observer calls").isEqualTo(RECORDS);
    assertThat(rec.duplicates()).isZero();
    assertThat(listener.threads).allMatch(t -> t.contains("kafka-consumer"));
    assertThat(listener.allRevoked()).as("released at close").isEqualTo(partitions(topic));
  }

  @Test
  void onAssigned_thatNeverCompletesOrThrows_deliversAfterTheTimeoutOrAtOnce() {
    String topic = unique("own-timeout");
    broker.createTopic(topic, PARTITIONS);
    Map<String, List<String>> expected = produce(broker, topic, KEYS, PER_KEY, 0);
    DeliveryHarness rec = DeliveryHarness.create();
    Recording never = new Recording(tps -> new CompletableFuture<>());
    try (StreamRuntime rt =
        node(
            "timeout",
            topic,
            rec,
            factory(broker, unique("g")).partitionOwnershipTimeout(Duration.ofMillis(300)),
            never)) {
      rt.start();
      await().atMost(WAIT).until(() -> rec.distinctCount() >= RECORDS);
    }
    assertComplete(rec, topic, expected);
    assertThat(rec.attempts(IMPLICIT)).isEqualTo(RECORDS);

    String topic2 = unique("own-throws");
    broker.createTopic(topic2, PARTITIONS);
    Map<String, List<String>> expected2 = produce(broker, topic2, KEYS, PER_KEY, 0);
    DeliveryHarness rec2 = DeliveryHarness.create();
    Recording throwing =
        new Recording(
            tps -> {
              throw new IllegalStateException("listener bug");
            });
    // The timeout is an hour: only the throw lets the partitions deliver.
    try (StreamRuntime rt =
        node(
            "throws",
            topic2,
            rec2,
            factory(broker, unique("g")).partitionOwnershipTimeout(Duration.ofHours(1)),
            throwing)) {
      rt.start();
      await().atMost(WAIT).until(() -> rec2.distinctCount() >= RECORDS);
    }
    assertComplete(rec2, topic2, expected2);
    assertThat(rec2.attempts(IMPLICIT)).isEqualTo(RECORDS);
  }

  @Test
  void onRevoked_comesAfterTheRevokedPartitionsWereCommitted() {
    String topic = unique("own-revoke");
    String group = unique("g");
    broker.createTopic(topic, PARTITIONS);
    Map<String, List<String>> expected = produce(broker, topic, KEYS, PER_KEY, 0);
    Map<Integer, Long> ends = endOffsets(broker, topic, PARTITIONS);
    DeliveryHarness rec = DeliveryHarness.create();
    Recording first = new Recording(tps -> CompletableFuture.completedFuture(null));
    Map<Integer, Long> committedAtRevoke = new ConcurrentHashMap<>();
    // Test only: a synchronous read on the consumer thread, to see what was committed by then.
    first.onRevoke = () -> committedAtRevoke.putAll(committed(broker, group, topic));
    // No periodic commits: only the revoke (and the close) commit.
    KafkaQueueAdapterFactory.Builder noPeriodic =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers(broker.bootstrapServers())
            .consumerGroupId(group)
            .commitInterval(Duration.ofHours(1))
            .commitEveryRecords(Integer.MAX_VALUE)
            .closeTimeout(Duration.ofSeconds(5));
    try (StreamRuntime a = node("revoke-a", topic, rec, noPeriodic, first)) {
      a.start();
      await().atMost(WAIT).until(() -> rec.distinctCount() >= RECORDS);
      assertThat(committed(broker, group, topic)).as("nothing committed before").isEmpty();
      Recording second = new Recording(tps -> CompletableFuture.completedFuture(null));
      try (StreamRuntime b = node("revoke-b", topic, rec, factory(broker, group), second)) {
        b.start();
        await().atMost(WAIT).until(() -> !first.allRevoked().isEmpty());
        Set<TopicPartition> moved = first.allRevoked();
        for (TopicPartition tp : moved) {
          assertThat(committedAtRevoke.get(tp.partition()))
              .as("committed offset of %s when onRevoked ran", tp)
              .isEqualTo(ends.get(tp.partition()));
        }
        await().atMost(WAIT).until(() -> second.allAssigned().containsAll(moved));
      }
    }
    assertComplete(rec, topic, expected);
    assertThat(rec.attempts(IMPLICIT)).as("nothing delivered twice").isEqualTo(RECORDS);
  }

  @Test
  void revokeOfAHeldBackPartition_neverWaitsForTheStage() {
    String topic = unique("own-held-revoke");
    String group = unique("g");
    broker.createTopic(topic, PARTITIONS);
    Map<String, List<String>> expected = produce(broker, topic, KEYS, PER_KEY, 0);
    DeliveryHarness rec = DeliveryHarness.create();
    Recording held = new Recording(tps -> new CompletableFuture<>());
    StreamRuntime a =
        node(
            "held-a",
            topic,
            rec,
            factory(broker, group).partitionOwnershipTimeout(Duration.ofHours(1)),
            held);
    try {
      a.start();
      await().atMost(WAIT).until(() -> held.allAssigned().equals(partitions(topic)));
      // a holds every partition back forever; the group still moves some to b, whose listener
      // lets them deliver, and a's close hands b the rest.
      Recording open = new Recording(tps -> CompletableFuture.completedFuture(null));
      try (StreamRuntime b = node("held-b", topic, rec, factory(broker, group), open)) {
        b.start();
        await().atMost(WAIT).until(() -> !held.allRevoked().isEmpty());
        await().atMost(WAIT).until(() -> rec.distinctCount() > 0);
        assertThat(rec.attempts(IMPLICIT)).isLessThan(RECORDS);
        a.close();
        await().atMost(WAIT).until(() -> rec.distinctCount() >= RECORDS);
      }
    } finally {
      a.close();
    }
    assertComplete(rec, topic, expected);
    assertThat(rec.attempts(IMPLICIT)).isEqualTo(RECORDS);
  }

  @Test
  void staticAssignment_holdsEachPartitionBack_andReportsTheReleaseAtClose() {
    String topic = unique("own-static");
    broker.createTopic(topic, PARTITIONS);
    Map<String, List<String>> expected = produce(broker, topic, KEYS, PER_KEY, 0);
    DeliveryHarness rec = DeliveryHarness.create();
    CompletableFuture<Void> allowed = new CompletableFuture<>();
    Recording listener = new Recording(tps -> allowed);
    try (StreamRuntime rt =
        node("static", topic, rec, factory(broker, unique("g")).staticAssignment(), listener)) {
      rt.start();
      await().atMost(WAIT).until(() -> listener.allAssigned().equals(partitions(topic)));
      assertThat(listener.assigned).allMatch(s -> s.size() == 1);
      await()
          .during(Duration.ofMillis(500))
          .atMost(Duration.ofSeconds(5))
          .until(() -> rec.attempts(IMPLICIT) == 0);
      allowed.complete(null);
      await().atMost(WAIT).until(() -> rec.distinctCount() >= RECORDS);
    }
    assertComplete(rec, topic, expected);
    assertThat(rec.attempts(IMPLICIT)).isEqualTo(RECORDS);
    assertThat(listener.allRevoked()).isEqualTo(partitions(topic));
  }

  @Test
  void builder_checksTheListenerAndItsTimeout() {
    assertThatThrownBy(
            () ->
                KafkaQueueAdapterFactory.builder()
                    .bootstrapServers("localhost:9092")
                    .consumerGroupId("g")
                    .topic("t", strings(1))
                    .partitionOwnershipListener(null)
                    .partitionOwnershipTimeout(Duration.ZERO)
                    .build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("partitionOwnershipListener was null")
        .hasMessageContaining("partitionOwnershipTimeout was PT0S but it must be between");
  }
}
