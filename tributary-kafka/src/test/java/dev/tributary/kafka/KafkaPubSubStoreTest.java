package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamId;
import dev.tributary.SubscriberAddress;
import dev.tributary.spi.PubSubStore;
import dev.tributary.spi.SubscriptionRecord;
import dev.tributary.testkit.kafka.KafkaBroker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.LogDirDescription;
import org.apache.kafka.clients.admin.ReplicaInfo;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** {@link KafkaPubSubStore} against a real broker: several stores sharing one topic. */
class KafkaPubSubStoreTest {
  private static final Logger log = LoggerFactory.getLogger(KafkaPubSubStoreTest.class);

  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(30);
  static final String P = "kafka";

  private final List<KafkaPubSubStore> stores = new CopyOnWriteArrayList<>();

  @AfterEach
  void closeStores() {
    stores.forEach(KafkaPubSubStore::close);
  }

  KafkaPubSubStore.Builder builder(String topic) {
    return KafkaPubSubStore.builder()
        .bootstrapServers(broker.bootstrapServers())
        .topic(topic)
        .startTimeout(Duration.ofSeconds(20));
  }

  KafkaPubSubStore started(KafkaPubSubStore.Builder b) {
    KafkaPubSubStore s = b.build();
    stores.add(s);
    join(s.start());
    return s;
  }

  KafkaPubSubStore started(String topic) {
    return started(builder(topic));
  }

  static <T> T join(java.util.concurrent.CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static SubscriptionRecord addressed(StreamId stream, String address) {
    return new SubscriptionRecord(
        UUID.randomUUID(),
        P,
        stream,
        "filter",
        false,
        SubscriberAddress.of(address),
        UUID.randomUUID(),
        false);
  }

  @Test
  void twoStores_seeEachOthersPutRemoveConfirm_inLogOrder() {
    String topic = unique("store-two");
    KafkaPubSubStore a = started(topic);
    KafkaPubSubStore b = started(topic);
    StoreEvents ea = new StoreEvents();
    StoreEvents eb = new StoreEvents();
    a.watch(ea);
    b.watch(eb);
    StreamId stream = StreamId.of("orders", "customer-42");
    SubscriptionRecord s1 = addressed(stream, "node-a/sub-1");
    SubscriptionRecord s2 = addressed(stream, "node-b/sub-2");
    SubscriptionRecord s2faulted = s2.asFaulted();
    SubscriptionRecord s1removed = s1.asRemoved();

    join(a.put(s1));
    join(b.put(s2));
    join(b.confirm(P, stream, s1.subscriptionId(), s1.revision()));
    join(a.put(s2faulted));
    join(a.put(s1removed));
    join(b.remove(P, stream, s1.subscriptionId()));

    List<String> expected =
        List.of(
            StoreEvents.put(s1),
            StoreEvents.put(s2),
            StoreEvents.confirmed(s1.subscriptionId(), s1.revision()),
            StoreEvents.put(s2faulted),
            StoreEvents.put(s1removed),
            StoreEvents.remove(s1.subscriptionId()));
    await().atMost(WAIT).untilAsserted(() -> assertThat(ea.lines()).isEqualTo(expected));
    await().atMost(WAIT).untilAsserted(() -> assertThat(eb.lines()).isEqualTo(expected));
    assertThat(ea.overlapped() || eb.overlapped()).isFalse();
    assertThat(join(a.subscriptions(P, stream))).containsExactly(s2faulted);
    assertThat(join(b.subscriptions(P, stream))).containsExactly(s2faulted);
    assertThat(ea.puts().get(0)).isEqualTo(s1); // every field, as written
  }

  @Test
  void concurrentWriters_everyListenerSeesOneOrder_andEachWriteIsReadBackBeforeItCompletes() {
    String topic = unique("store-concurrent");
    KafkaPubSubStore a = started(builder(topic).partitions(2));
    KafkaPubSubStore b = started(topic);
    StoreEvents ea = new StoreEvents();
    StoreEvents eb = new StoreEvents();
    a.watch(ea);
    b.watch(eb);
    List<String> notReadBack = new CopyOnWriteArrayList<>();
    List<CompletableFuture<Void>> writes = new ArrayList<>();
    List<String> issuedByA = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      StreamId stream = StreamId.of("orders", "k" + (i % 7));
      for (KafkaPubSubStore s : List.of(a, b)) {
        SubscriptionRecord r = addressed(stream, "sub-" + i);
        if (s == a) {
          issuedByA.add(StoreEvents.put(r));
        }
        writes.add(
            s.put(r)
                .thenRun(
                    () -> {
                      if (!join(s.subscriptions(P, stream)).contains(r)) {
                        notReadBack.add(r.subscriptionId().toString());
                      }
                    })
                .toCompletableFuture());
      }
    }
    join(CompletableFuture.allOf(writes.toArray(new CompletableFuture<?>[0])));
    join(a.sync());
    join(b.sync());
    assertThat(notReadBack).isEmpty();
    assertThat(ea.lines()).hasSize(200);
    // Both stores read every partition in its log order; across partitions their interleaving may
    // differ, so compare stream by stream.
    for (int k = 0; k < 7; k++) {
      StreamId stream = StreamId.of("orders", "k" + k);
      assertThat(linesOf(ea, stream)).isEqualTo(linesOf(eb, stream));
    }
    // One store's writes of one stream are in the log in the order it issued them.
    for (int k = 0; k < 7; k++) {
      StreamId stream = StreamId.of("orders", "k" + k);
      List<String> issued = new ArrayList<>();
      for (int i = k; i < 100; i += 7) {
        issued.add(issuedByA.get(i));
      }
      assertThat(linesOf(ea, stream).stream().filter(issued::contains).toList()).isEqualTo(issued);
    }
    assertThat(ea.overlapped() || eb.overlapped()).isFalse();
  }

  private static List<String> linesOf(StoreEvents events, StreamId stream) {
    List<String> out = new ArrayList<>();
    for (SubscriptionRecord r : events.puts()) {
      if (r.streamId().equals(stream)) {
        out.add(StoreEvents.put(r));
      }
    }
    return out;
  }

  @Test
  void restartedStore_materializesTheState_tombstonedOnesGone() {
    String topic = unique("store-restart");
    StreamId stream = StreamId.of("orders", "k1");
    StreamId other = StreamId.of("payments", "k1");
    SubscriptionRecord kept = addressed(stream, "a");
    SubscriptionRecord removed = addressed(stream, "b");
    SubscriptionRecord local = new SubscriptionRecord(UUID.randomUUID(), P, other, null, true);
    SubscriptionRecord flagged = addressed(other, "c").asRemoved();
    UUID confirmedRevision = kept.revision();
    try (KafkaPubSubStore a = builder(topic).build()) {
      join(a.start());
      join(a.put(kept));
      join(a.put(removed));
      join(a.confirm(P, stream, removed.subscriptionId(), removed.revision()));
      join(a.confirm(P, stream, kept.subscriptionId(), confirmedRevision));
      join(a.put(local));
      join(a.put(flagged));
      join(a.remove(P, stream, removed.subscriptionId()));
      join(a.remove(P, stream, UUID.randomUUID())); // unknown: not an error
    }
    KafkaPubSubStore b = started(topic);
    assertThat(join(b.subscriptions(P, stream))).containsExactly(kept);
    assertThat(join(b.subscriptions(P, other))).containsExactly(local, flagged);
    assertThat(join(b.subscriptions("other-provider", stream))).isEmpty();
    assertThat(b.confirmation(P, stream, kept.subscriptionId())).isEqualTo(confirmedRevision);
    assertThat(b.confirmation(P, stream, removed.subscriptionId())).isNull();
  }

  @Test
  void watchBeforeStart_seesTheTopicAsItIsRead_andSyncBeforeStartWaitsForIt() {
    String topic = unique("store-early");
    KafkaPubSubStore a = started(topic);
    StreamId stream = StreamId.of("orders", "k");
    SubscriptionRecord r1 = addressed(stream, "a");
    SubscriptionRecord r2 = addressed(stream, "b");
    join(a.put(r1));
    join(a.put(r2));
    join(a.remove(P, stream, r1.subscriptionId()));

    KafkaPubSubStore b = builder(topic).build();
    stores.add(b);
    StoreEvents early = new StoreEvents();
    b.watch(early);
    assertThat(early.lines()).isEmpty();
    CompletableFuture<Void> synced = b.sync().toCompletableFuture();
    join(b.start());
    join(synced);
    assertThat(early.lines())
        .containsExactly(
            StoreEvents.put(r1), StoreEvents.put(r2), StoreEvents.remove(r1.subscriptionId()));
  }

  /**
   * With compaction forced (tiny segments, no dirty-ratio or tombstone delay), the cleaner removes
   * superseded records and tombstones: a store started afterwards holds the same state, and sync
   * completes although the log has gaps below its end offset.
   */
  @Test
  void afterCompaction_aNewStoreHoldsTheSameState_andSyncStepsOverTheGaps() throws Exception {
    String topic = unique("store-compacted");
    KafkaPubSubStore a =
        started(
            builder(topic)
                .topicConfig("segment.ms", "100")
                .topicConfig("min.cleanable.dirty.ratio", "0.01")
                .topicConfig("delete.retention.ms", "0")
                .topicConfig("min.compaction.lag.ms", "0")
                .topicConfig("file.delete.delay.ms", "0"));
    StreamId stream = StreamId.of("orders", "k");
    SubscriptionRecord kept = addressed(stream, "kept");
    int written = 0;
    for (int i = 0; i < 30; i++) {
      join(a.put(kept.withSubscriber(SubscriberAddress.of("kept-" + i))));
      written++;
    }
    SubscriptionRecord last = kept.withSubscriber(SubscriberAddress.of("kept-last"));
    join(a.put(last));
    written++;
    for (int i = 0; i < 10; i++) {
      SubscriptionRecord gone = addressed(stream, "gone-" + i);
      join(a.put(gone));
      join(a.remove(P, stream, gone.subscriptionId()));
      written += 3;
    }
    int total = written;
    // New appends roll the segments that compaction may clean; wait until it has.
    StreamId other = StreamId.of("orders", "roll");
    SubscriptionRecord roll = addressed(other, "roll");
    await()
        .atMost(Duration.ofMinutes(2))
        .pollInterval(Duration.ofSeconds(1))
        .until(
            () -> {
              join(a.put(roll));
              return countRecords(topic) < total / 2;
            });
    KafkaPubSubStore b = started(topic);
    assertThat(join(b.subscriptions(P, stream))).containsExactly(last);
    assertThat(join(b.subscriptions(P, other))).containsExactly(roll);
    join(b.sync());
    join(a.sync());
    assertThat(join(a.subscriptions(P, stream))).containsExactly(last);
    assertThat(b.skippedRecords()).isZero();
  }

  /** The records the topic's only partition holds now, read with a consumer of the test's own. */
  private static int countRecords(String topic) {
    java.util.Properties p = broker.adminProperties();
    p.put("key.deserializer", org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
    p.put("value.deserializer", org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
    try (var c = new org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]>(p)) {
      TopicPartition tp = new TopicPartition(topic, 0);
      c.assign(List.of(tp));
      c.seekToBeginning(List.of(tp));
      long end = c.endOffsets(List.of(tp)).get(tp);
      int n = 0;
      while (c.position(tp) < end) {
        n += c.poll(Duration.ofMillis(200)).count();
      }
      return n;
    }
  }

  @Test
  void lateWatch_getsTheSnapshotFirst_thenChanges() {
    String topic = unique("store-late");
    KafkaPubSubStore a = started(topic);
    StreamId stream = StreamId.of("orders", "k");
    SubscriptionRecord s1 = addressed(stream, "a");
    SubscriptionRecord s2 = new SubscriptionRecord(UUID.randomUUID(), P, stream, null, false);
    join(a.put(s1));
    join(a.put(s2));
    join(a.confirm(P, stream, s1.subscriptionId(), s1.revision()));
    KafkaPubSubStore b = started(topic);

    StoreEvents late = new StoreEvents();
    AutoCloseable handle = b.watch(late);
    // The snapshot is handed over before watch returns.
    assertThat(late.lines())
        .containsExactly(
            StoreEvents.put(s1),
            StoreEvents.put(s2),
            StoreEvents.confirmed(s1.subscriptionId(), s1.revision()));

    SubscriptionRecord s3 = addressed(stream, "c");
    join(a.put(s3));
    join(b.sync());
    assertThat(late.lines()).hasSize(4).last().isEqualTo(StoreEvents.put(s3));

    // A closed handle ends the registration; another listener still hears.
    StoreEvents second = new StoreEvents();
    b.watch(second);
    try {
      handle.close();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    join(a.remove(P, stream, s3.subscriptionId()));
    join(b.sync());
    assertThat(late.lines()).hasSize(4);
    assertThat(second.lines()).last().isEqualTo(StoreEvents.remove(s3.subscriptionId()));
  }

  @Test
  void sync_aPutAcknowledgedOnA_reachesBsListenerBeforeBsSyncCompletes() {
    String topic = unique("store-sync");
    KafkaPubSubStore a = started(topic);
    KafkaPubSubStore b = started(topic);
    StreamId stream = StreamId.of("orders", "k");
    List<String> seenAtSync = new CopyOnWriteArrayList<>();
    StoreEvents events = new StoreEvents();
    b.watch(events);
    for (int i = 0; i < 20; i++) {
      SubscriptionRecord r = addressed(stream, "sub-" + i);
      join(a.put(r));
      // Acknowledged on A: B's sync must not complete before B's listener was told.
      CompletableFuture<Void> synced = b.sync().toCompletableFuture();
      join(
          synced.thenRun(
              () -> {
                if (!events.lines().contains(StoreEvents.put(r))) {
                  seenAtSync.add("missing " + r.subscriptionId());
                }
              }));
    }
    assertThat(seenAtSync).isEmpty();
    assertThat(join(b.subscriptions(P, stream))).hasSize(20);
  }

  @Test
  void listenerThatThrows_isLogged_andOthersStillHear() {
    String topic = unique("store-throw");
    KafkaPubSubStore a = started(topic);
    StreamId stream = StreamId.of("orders", "k");
    join(a.put(addressed(stream, "x")));
    a.watch(
        new PubSubStore.Listener() {
          @Override
          public void onPut(SubscriptionRecord record) {
            throw new IllegalStateException("listener bug (expected by the test)");
          }

          @Override
          public void onRemove(String providerName, StreamId streamId, UUID subscriptionId) {
            throw new IllegalStateException("listener bug (expected by the test)");
          }

          @Override
          public void onConfirmed(
              String providerName, StreamId streamId, UUID subscriptionId, UUID revision) {}
        });
    StoreEvents events = new StoreEvents();
    a.watch(events);
    SubscriptionRecord r = addressed(stream, "y");
    join(a.put(r));
    join(a.remove(P, stream, r.subscriptionId()));
    join(a.sync());
    assertThat(events.lines()).endsWith(StoreEvents.put(r), StoreEvents.remove(r.subscriptionId()));
  }

  @Test
  void streamKeysWithSeparatorsUnicodeAndEmpty_roundTrip() {
    String topic = unique("store-keys");
    KafkaPubSubStore a = started(builder(topic).partitions(3));
    List<StreamId> streams =
        List.of(
            StreamId.of("orders", ""),
            StreamId.of("orders", "a/b"),
            StreamId.of("orders/a", "b"),
            StreamId.of("orders", "a\u0000b|c:d#e\\"),
            StreamId.of("\u65e5\u672c", "\ud83d\ude00 \u00fc\u00e9"),
            StreamId.of("orders", "x".repeat(10_000)));
    List<SubscriptionRecord> written = new ArrayList<>();
    for (StreamId s : streams) {
      SubscriptionRecord r =
          new SubscriptionRecord(
              UUID.randomUUID(),
              "prov/\u00e9",
              s,
              "filter " + s.key().length(),
              false,
              SubscriberAddress.of("addr \u00e9 " + s.namespace()),
              UUID.randomUUID(),
              false);
      written.add(r);
      join(a.put(r));
    }
    KafkaPubSubStore b = started(builder(topic));
    for (SubscriptionRecord r : written) {
      assertThat(join(b.subscriptions("prov/\u00e9", r.streamId()))).containsExactly(r);
    }
    assertThat(join(b.subscriptions("prov", StreamId.of("\u00e9/orders", "")))).isEmpty();
  }

  @Test
  void undecodableRecords_areSkipped_neverFatal() throws Exception {
    String topic = unique("store-garbage");
    KafkaPubSubStore a = started(topic);
    StreamId stream = StreamId.of("orders", "k");
    SubscriptionRecord before = addressed(stream, "before");
    join(a.put(before));
    try (KafkaProducer<byte[], byte[]> p = KafkaTestSupport.producer(broker)) {
      p.send(new ProducerRecord<>(topic, 0, KafkaTestSupport.utf8("not a store key"), new byte[3]))
          .get();
      byte[] key =
          StoreRecordCodec.key(StoreRecordCodec.SUBSCRIPTION, P, stream, UUID.randomUUID());
      p.send(new ProducerRecord<>(topic, 0, key, new byte[] {7, 0})).get(); // unknown format
      p.send(new ProducerRecord<>(topic, 0, key, new byte[] {1, 0x10, 1})).get(); // truncated
    }
    SubscriptionRecord after = addressed(stream, "after");
    join(a.put(after));
    join(a.sync());
    assertThat(join(a.subscriptions(P, stream))).containsExactly(before, after);
    assertThat(a.skippedRecords()).isEqualTo(3);
    // A store that starts reads past them too.
    KafkaPubSubStore b = started(topic);
    assertThat(join(b.subscriptions(P, stream))).containsExactly(before, after);
    assertThat(b.skippedRecords()).isEqualTo(3);
  }

  @Test
  void createdTopic_isCompacted_withTheDocumentedConfigs() throws Exception {
    String topic = unique("store-created");
    started(builder(topic).partitions(2).topicConfig("segment.ms", "600000"));
    try (Admin admin = broker.admin()) {
      assertThat(admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic).partitions())
          .hasSize(2);
      ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      Config c = admin.describeConfigs(List.of(r)).all().get().get(r);
      assertThat(c.get("cleanup.policy").value()).isEqualTo("compact");
      assertThat(c.get("segment.ms").value()).isEqualTo("600000");
      assertThat(c.get("segment.bytes").value()).isEqualTo(Integer.toString(16 << 20));
      assertThat(c.get("min.cleanable.dirty.ratio").value()).isEqualTo("0.1");
      assertThat(c.get("delete.retention.ms").value()).isEqualTo("86400000");
    }
  }

  @Test
  void existingDeleteTopic_failsStart_namingTopicPolicyAndFix() {
    String topic = unique("store-delete");
    broker.createTopic(topic, 1, Map.of("cleanup.policy", "delete"));
    KafkaPubSubStore s = builder(topic).build();
    stores.add(s);
    assertThat(s.start().toCompletableFuture())
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .havingCause()
        .isInstanceOf(IllegalStateException.class)
        .withMessageContaining("subscription store topic '" + topic + "' has cleanup.policy=delete")
        .withMessageContaining("but it must be compact")
        .withMessageContaining(
            "kafka-configs.sh --bootstrap-server "
                + broker.bootstrapServers()
                + " --alter --entity-type topics --entity-name "
                + topic
                + " --add-config cleanup.policy=compact");
    // Its writes fail clearly rather than hang.
    assertThat(s.sync().toCompletableFuture()).failsWithin(WAIT);
  }

  @Test
  void existingCompactDeleteTopicWithRetention_failsStart() {
    String topic = unique("store-compact-delete");
    broker.createTopic(topic, 1, Map.of("cleanup.policy", "compact,delete"));
    KafkaPubSubStore s = builder(topic).build();
    stores.add(s);
    assertThat(s.start().toCompletableFuture())
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .havingCause()
        .isInstanceOf(IllegalStateException.class)
        .withMessageContaining("has cleanup.policy=compact,delete with retention.ms=604800000");
  }

  @Test
  void existingCompactedTopic_isUsed_andMissingOneWithoutCreate_failsStart() {
    String topic = unique("store-existing");
    broker.createTopic(topic, 2, Map.of("cleanup.policy", "compact"));
    KafkaPubSubStore a = started(builder(topic).createTopic(false));
    StreamId stream = StreamId.of("o", "k");
    SubscriptionRecord r = addressed(stream, "x");
    join(a.put(r));
    assertThat(join(a.subscriptions(P, stream))).containsExactly(r);

    String missing = unique("store-missing");
    KafkaPubSubStore m = builder(missing).createTopic(false).build();
    stores.add(m);
    assertThat(m.start().toCompletableFuture())
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .havingCause()
        .isInstanceOf(IllegalStateException.class)
        .withMessageContaining("subscription store topic '" + missing + "' does not exist")
        .withMessageContaining("--config cleanup.policy=compact");
  }

  @Test
  void metrics_countRecordsAndLag() {
    String topic = unique("store-metrics");
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    KafkaPubSubStore a = started(builder(topic).meterRegistry(registry));
    StreamId stream = StreamId.of("o", "k");
    SubscriptionRecord r = addressed(stream, "x");
    join(a.put(r));
    join(a.confirm(P, stream, r.subscriptionId(), r.revision()));
    join(a.sync());
    assertThat(registry.get("tributary.pubsub.store.subscriptions").gauge().value()).isEqualTo(1);
    assertThat(registry.get("tributary.pubsub.store.confirmations").gauge().value()).isEqualTo(1);
    await()
        .atMost(WAIT)
        .until(() -> registry.get("tributary.pubsub.store.lag").gauge().value() == 0);
    a.close();
    assertThat(registry.find("tributary.pubsub.store.subscriptions").gauges()).isEmpty();
  }

  /**
   * Measures the bytes one subscription takes in the topic's log (docs/kafka.md): a thousand
   * addressed subscriptions with a typical Pekko address, and as many confirmations.
   */
  @Test
  void bytesPerSubscription_measured() throws Exception {
    String topic = unique("store-size");
    KafkaPubSubStore a = started(topic);
    int n = 1000;
    List<CompletableFuture<Void>> acks = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      StreamId stream = StreamId.of("orders", "customer-" + (100_000 + i));
      SubscriptionRecord r =
          new SubscriptionRecord(
              UUID.randomUUID(),
              P,
              stream,
              null,
              false,
              SubscriberAddress.of(
                  "pekko://orders@10.0.0.12:25520/system/sharding/Subscriber/7/sub-"
                      + (100_000 + i)
                      + "#1234567890"),
              UUID.randomUUID(),
              false);
      acks.add(a.put(r).toCompletableFuture());
      acks.add(a.confirm(P, stream, r.subscriptionId(), r.revision()).toCompletableFuture());
    }
    join(CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0])));
    long bytes;
    try (Admin admin = broker.admin()) {
      List<Integer> ids =
          admin.describeCluster().nodes().get().stream().map(node -> node.id()).toList();
      Map<Integer, Map<String, LogDirDescription>> dirs =
          admin.describeLogDirs(ids).allDescriptions().get();
      bytes = 0;
      for (LogDirDescription d :
          dirs.values().stream().flatMap(m -> m.values().stream()).toList()) {
        ReplicaInfo info = d.replicaInfos().get(new TopicPartition(topic, 0));
        if (info != null) {
          bytes += info.size();
        }
      }
    }
    double perSubscription = (double) bytes / n;
    log.info(
        "Subscription store size: {} bytes for {} subscriptions with confirmations: {} bytes per"
            + " subscription (record + confirmation)",
        bytes,
        n,
        String.format(java.util.Locale.ROOT, "%.1f", perSubscription));
    assertThat(perSubscription).isBetween(50.0, 400.0);
  }
}
