package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.committed;
import static dev.tributary.kafka.KafkaTestSupport.endOffsets;
import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.produce;
import static dev.tributary.kafka.KafkaTestSupport.strings;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static dev.tributary.kafka.KafkaTestSupport.utf8;
import static dev.tributary.testkit.DeliveryHarness.IMPLICIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.EventSequenceToken;
import dev.tributary.EventsExpiredException;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.Gate;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rewinding beyond the cache reads the partition again: a subscription from any retained offset or
 * time gets exactly its stream's records from there, then live ones, with no gap and no duplicate
 * at the seam, while the group's consumer, the live deliveries and the commits go on unaffected.
 * Every test counts every event of the rewound subscriptions and checks their order.
 */
class KafkaReplayTest {
  private static final Logger log = LoggerFactory.getLogger(KafkaReplayTest.class);
  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(60);

  private static DeliveryHarness start(KafkaQueueAdapterFactory f, String topic) {
    return start(f, topic, Duration.ofSeconds(10));
  }

  private static DeliveryHarness start(
      KafkaQueueAdapterFactory f, String topic, Duration drainTimeout) {
    DeliveryHarness h = DeliveryHarness.create().timeout(WAIT);
    h.start(
        h.runtimeBuilder()
            .addProvider("kafka", f, o -> o.cacheSize(64).drainTimeout(drainTimeout))
            .implicitSubscription("kafka", topic, h.observerFactory()));
    return h;
  }

  private static List<String> values(String key, int from, int to) {
    List<String> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      out.add(key + ":" + i);
    }
    return out;
  }

  @Test
  void rewindToOffsetZero_onABusyTopic_handsOverToTheCacheWhileProducersRun_onceInOrder()
      throws Exception {
    String topic = unique("replay-busy");
    int partitions = 4;
    int keys = 40;
    broker.createTopic(topic, partitions);
    KafkaQueueAdapterFactory f =
        factory(broker, unique("g")).topic(topic, strings(partitions)).build();
    DeliveryHarness h = start(f, topic);
    await().atMost(WAIT).until(() -> f.ownedPartitions().size() == partitions);
    produce(broker, topic, keys, 100, 0);
    h.awaitCount(IMPLICIT, keys * 100);
    StreamId s = StreamId.of(topic, "k7");

    // Producers keep writing every key until the replay has handed over to the cache.
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger rounds = new AtomicInteger(100);
    AtomicBoolean failed = new AtomicBoolean();
    Thread producer =
        new Thread(
            () -> {
              try {
                while (!stop.get()) {
                  produce(broker, topic, keys, 10, rounds.get());
                  rounds.addAndGet(10);
                }
              } catch (Throwable t) {
                failed.set(true);
              }
            },
            "replay-test-producer");
    producer.start();
    h.subscribe("rewound", s, new EventSequenceToken(0));
    await()
        .atMost(WAIT)
        .until(
            () ->
                h.counter("tributary.replays", "provider", "kafka") == 1.0
                    && h.gaugeMax("tributary.replays.active", "provider", "kafka") == 0.0);
    assertThat(producer.isAlive()).as("the producer still writes at the hand-over").isTrue();
    stop.set(true);
    producer.join(WAIT.toMillis());
    assertThat(failed).isFalse();
    int total = rounds.get();

    h.awaitCount(IMPLICIT, s, total).awaitCount("rewound", s, total);
    h.assertExactly("rewound", s, values("k7", 0, total))
        .assertInOrderNoDuplicates()
        .assertNoErrors();
    assertThat(h.tokens("rewound", s)).isEqualTo(h.tokens(IMPLICIT, s));
    double read = h.counter(KafkaMetrics.REPLAY_READ, "provider", "kafka");
    double delivered = h.counter(KafkaMetrics.REPLAY_DELIVERED, "provider", "kafka");
    log.info(
        "replay of {}: {} records read, {} of the stream delivered, {} of the stream in all",
        s,
        read,
        delivered,
        total);
    assertThat(delivered).isPositive().isLessThanOrEqualTo(total);
    assertThat(read).isGreaterThan(delivered);
  }

  @Test
  void rewindToAnEventDeliveredAMomentAgo_replaysItAlthoughTheCachePurgedIt() {
    String topic = unique("replay-recent");
    broker.createTopic(topic, 2);
    KafkaQueueAdapterFactory f = factory(broker, unique("g")).topic(topic, strings(2)).build();
    DeliveryHarness h = start(f, topic);
    await().atMost(WAIT).until(() -> f.ownedPartitions().size() == 2);
    produce(broker, topic, 5, 20, 0);
    StreamId s = StreamId.of(topic, "k3");
    h.awaitCount(IMPLICIT, s, 20);
    StreamSequenceToken last = h.tokens(IMPLICIT, s).get(19);

    h.subscribe("again", s, last);
    h.awaitCount("again", s, 1);
    produce(broker, topic, 5, 3, 20);

    h.awaitCount("again", s, 4).awaitCount(IMPLICIT, s, 23);
    h.assertExactly("again", s, values("k3", 19, 23)).assertInOrderNoDuplicates().assertNoErrors();
    assertThat(h.counter("tributary.cache.misses", "provider", "kafka")).isZero();
  }

  @Test
  void manyReplaysOfOnePartition_oneSlow_neitherLiveDeliveryNorCommitsWait() {
    String topic = unique("replay-many");
    broker.createTopic(topic, 1);
    String group = unique("g");
    KafkaQueueAdapterFactory f =
        factory(broker, group).topic(topic, strings(1)).maxConcurrentReplays(2).build();
    DeliveryHarness h = start(f, topic);
    await().atMost(WAIT).until(() -> f.ownedPartitions().size() == 1);
    int keys = 6;
    produce(broker, topic, keys, 50, 0);
    h.awaitCount(IMPLICIT, keys * 50);

    Gate slow = h.gate();
    StreamId slowStream = StreamId.of(topic, "k0");
    h.subscribe("slow", h.<Object>stream(slowStream), new EventSequenceToken(0), null, slow);
    slow.awaitHeld(1, WAIT);
    List<StreamId> others = new ArrayList<>();
    for (int k = 1; k < 5; k++) {
      StreamId s = StreamId.of(topic, "k" + k);
      others.add(s);
      h.subscribe("replay-" + k, s, new EventSequenceToken(0));
    }
    // Two replays at most run at once: the slow one holds a slot, the others take turns.
    for (int k = 1; k < 5; k++) {
      h.awaitCount("replay-" + k, others.get(k - 1), 50);
    }

    // Live records flow and are committed while the slow replay sits on its first event.
    produce(broker, topic, keys, 50, 50);
    h.awaitCount(IMPLICIT, keys * 100);
    long end = endOffsets(broker, topic, 1).get(0);
    await().atMost(WAIT).until(() -> committed(broker, group, topic).getOrDefault(0, -1L) == end);

    slow.open();
    h.awaitCount("slow", slowStream, 100);
    h.assertExactly("slow", slowStream, values("k0", 0, 100));
    for (int k = 1; k < 5; k++) {
      h.awaitCount("replay-" + k, others.get(k - 1), 100);
      h.assertExactly("replay-" + k, others.get(k - 1), values("k" + k, 0, 100));
    }
    h.assertInOrderNoDuplicates().assertNoErrors();
    assertThat(h.counter("tributary.replays", "provider", "kafka")).isEqualTo(5.0);
  }

  @Test
  void fromATimestamp_startsAtTheFirstRecordAtOrAfterIt_beforeTheLogAtTheStart_futureIsLive()
      throws Exception {
    String topic = unique("replay-time");
    broker.createTopic(topic, 1);
    KafkaQueueAdapterFactory f = factory(broker, unique("g")).topic(topic, strings(1)).build();
    DeliveryHarness h = start(f, topic);
    await().atMost(WAIT).until(() -> f.ownedPartitions().size() == 1);
    long base = Instant.now().minus(Duration.ofHours(1)).toEpochMilli();
    try (KafkaProducer<byte[], byte[]> p = KafkaTestSupport.producer(broker)) {
      for (int i = 0; i < 10; i++) {
        p.send(new ProducerRecord<>(topic, 0, base + i * 1000L, utf8("k"), utf8("k:" + i))).get();
        p.send(new ProducerRecord<>(topic, 0, base + i * 1000L, utf8("x"), utf8("x:" + i))).get();
      }
    }
    StreamId s = StreamId.of(topic, "k");
    h.awaitCount(IMPLICIT, s, 10);

    h.join(
        h.<Object>stream(s)
            .subscribeFrom(h.recorder("from-4.5s", s), Instant.ofEpochMilli(base + 4500)),
        "subscribeFrom base+4.5s");
    h.join(
        h.<Object>stream(s).subscribeFrom(h.recorder("from-epoch", s), Instant.EPOCH),
        "subscribeFrom epoch");
    StreamSequenceToken future =
        h.join(h.stream(s).tokenAt(Instant.now().plus(Duration.ofHours(1))), "tokenAt future");
    assertThat(future).isNull();
    h.join(
        h.<Object>stream(s)
            .subscribeFrom(h.recorder("from-future", s), Instant.now().plus(Duration.ofHours(1))),
        "subscribeFrom the future");

    h.awaitCount("from-4.5s", s, 5).awaitCount("from-epoch", s, 10);
    try (KafkaProducer<byte[], byte[]> p = KafkaTestSupport.producer(broker)) {
      p.send(new ProducerRecord<>(topic, 0, utf8("k"), utf8("k:10"))).get();
    }
    h.awaitCount("from-4.5s", s, 6).awaitCount("from-epoch", s, 11).awaitCount("from-future", s, 1);
    h.assertExactly("from-4.5s", s, values("k", 5, 11))
        .assertExactly("from-epoch", s, values("k", 0, 11))
        .assertExactly("from-future", s, values("k", 10, 11))
        .assertInOrderNoDuplicates()
        .assertNoErrors();
  }

  @Test
  void tokenBelowTheLogStart_reportsEventsExpired_andStartsAtTheEarliestRetained()
      throws Exception {
    String topic = unique("replay-deleted");
    broker.createTopic(topic, 1);
    KafkaQueueAdapterFactory f = factory(broker, unique("g")).topic(topic, strings(1)).build();
    DeliveryHarness h = start(f, topic);
    await().atMost(WAIT).until(() -> f.ownedPartitions().size() == 1);
    produce(broker, topic, 1, 100, 0);
    StreamId s = StreamId.of(topic, "k0");
    h.awaitCount(IMPLICIT, s, 100);
    try (Admin admin = broker.admin()) {
      admin
          .deleteRecords(Map.of(new TopicPartition(topic, 0), RecordsToDelete.beforeOffset(40)))
          .all()
          .get();
    }

    h.subscribe("rewound", s, new EventSequenceToken(10));
    h.awaitErrors("rewound", s, 1).awaitCount("rewound", s, 60);

    Throwable error = h.errors("rewound", s).get(0);
    assertThat(error)
        .isInstanceOf(EventsExpiredException.class)
        .hasMessageContaining("[10,0]")
        .hasMessageContaining("[40,0]");
    assertThat(((EventsExpiredException) error).requested()).isEqualTo(new EventSequenceToken(10));
    assertThat(((EventsExpiredException) error).earliest()).isEqualTo(new EventSequenceToken(40));
    h.assertExactly("rewound", s, values("k0", 40, 100)).assertInOrderNoDuplicates();
    assertThat(h.counter("tributary.replay.expired", "provider", "kafka")).isEqualTo(1.0);
  }

  @Test
  void tokenPastTheLogEnd_waitsForLiveRecords() throws Exception {
    String topic = unique("replay-future");
    broker.createTopic(topic, 1);
    KafkaQueueAdapterFactory f = factory(broker, unique("g")).topic(topic, strings(1)).build();
    DeliveryHarness h = start(f, topic);
    await().atMost(WAIT).until(() -> f.ownedPartitions().size() == 1);
    produce(broker, topic, 1, 10, 0);
    StreamId s = StreamId.of(topic, "k0");
    h.awaitCount(IMPLICIT, s, 10);

    h.subscribe("ahead", s, new EventSequenceToken(15));
    produce(broker, topic, 1, 10, 10);

    h.awaitCount(IMPLICIT, s, 20).awaitCount("ahead", s, 5);
    h.assertExactly("ahead", s, values("k0", 15, 20)).assertInOrderNoDuplicates().assertNoErrors();
  }

  /**
   * The partition moves to another node while its subscription replays it: the subscription is told
   * at once, and when the partition comes back to its node the replay continues where it was. An
   * observer-object subscription lives on its node (a cluster-wide one would move with the
   * partition).
   */
  @Test
  void partitionHandedOverMidReplay_subscriptionIsToldAndContinuesWhenItComesBack() {
    String topic = unique("replay-moved");
    broker.createTopic(topic, 2);
    String group = unique("g");
    KafkaQueueAdapterFactory fa = factory(broker, group).topic(topic, strings(2)).build();
    // The held deliveries are abandoned after a second when the partition is revoked.
    DeliveryHarness a = start(fa, topic, Duration.ofSeconds(1));
    await().atMost(WAIT).until(() -> fa.ownedPartitions().size() == 2);
    // One key per partition.
    String[] keys = new String[2];
    for (int k = 0; keys[0] == null || keys[1] == null; k++) {
      int p = KafkaStreamQueueMapper.partitionFor("k" + k, 2);
      if (keys[p] == null) {
        keys[p] = "k" + k;
      }
    }
    produce(broker, topic, 40, 30, 0);
    a.awaitCount(IMPLICIT, 40 * 30);
    Gate[] gates = {a.gate(), a.gate()};
    StreamId[] streams = {StreamId.of(topic, keys[0]), StreamId.of(topic, keys[1])};
    AtomicInteger released = new AtomicInteger();
    for (int p = 0; p < 2; p++) {
      a.subscribe(
          "rewound", a.<Object>stream(streams[p]), new EventSequenceToken(0), null, gates[p]);
      gates[p].awaitHeld(1, WAIT);
    }

    KafkaQueueAdapterFactory fb = factory(broker, group).topic(topic, strings(2)).build();
    DeliveryHarness b = start(fb, topic);
    await()
        .atMost(WAIT)
        .until(() -> fa.ownedPartitions().size() == 1 && fb.ownedPartitions().size() == 1);
    int moved = fb.ownedPartitions().iterator().next().index();
    for (Gate g : gates) {
      g.open();
      released.incrementAndGet();
    }
    a.awaitErrors("rewound", streams[moved], 1);
    assertThat(a.errors("rewound", streams[moved]).get(0))
        .hasMessageContaining("stopped")
        .hasMessageContaining(streams[moved].toString());
    int kept = 1 - moved;
    a.awaitCount("rewound", streams[kept], 30);

    b.close();
    await().atMost(WAIT).until(() -> fa.ownedPartitions().size() == 2);
    a.awaitCount("rewound", streams[moved], 30);
    produce(broker, topic, 40, 5, 30);
    a.awaitCount("rewound", streams[moved], 35).awaitCount("rewound", streams[kept], 35);
    a.assertExactly("rewound", streams[kept], values(keys[kept], 0, 35));
    a.assertDeliveredAtLeastOnce("rewound", streams[moved], values(keys[moved], 0, 35));
    // It went on where it was: at most the event held at the hand-over came twice.
    assertThat(a.count("rewound", streams[moved])).isLessThanOrEqualTo(36);
    log.info(
        "moved partition {}: {} deliveries of {} records to the rewound subscription",
        moved,
        a.count("rewound", streams[moved]),
        35);
    assertThat(a.errors("rewound", streams[kept])).isEmpty();
    assertThat(released).hasValue(2);
  }
}
