package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.strings;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamObserver;
import dev.tributary.StreamRuntime;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.Delivery;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One stream reachable from several partitions (here: keyless records under {@code
 * NullKeyPolicy.emptyKey()}) is delivered by one agent at a time: its observers are never called
 * concurrently, and within each partition its records arrive in offset order. By default keyless
 * records stay per partition instead.
 */
class KafkaOneStreamManyPartitionsTest {
  private static final Logger log = LoggerFactory.getLogger(KafkaOneStreamManyPartitionsTest.class);
  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(60);
  static final int PARTITIONS = 3;
  static final int RECORDS = 600;

  private static final ScheduledExecutorService acks =
      Executors.newScheduledThreadPool(
          2,
          r -> {
            Thread t = new Thread(r, "late-acks");
            t.setDaemon(true);
            return t;
          });

  @AfterAll
  static void stopAcks() {
    acks.shutdownNow();
  }

  @Test
  void keylessRecordsOfThreePartitionsInOneStream_areNeverDeliveredConcurrently() throws Exception {
    String topic = unique("one-stream");
    broker.createTopic(topic, PARTITIONS);
    KafkaQueueAdapterFactory f =
        factory(broker, unique("g"))
            .topic(topic, strings(PARTITIONS))
            .nullKeyPolicy(NullKeyPolicy.emptyKey())
            .build();
    AtomicInteger open = new AtomicInteger();
    AtomicInteger maxOpen = new AtomicInteger();
    AtomicInteger overlaps = new AtomicInteger();
    AtomicInteger observersCreated = new AtomicInteger();
    // Recorded per partition: offsets are ordered within a partition, not across the stream.
    DeliveryHarness rec = DeliveryHarness.create();
    Behavior lateAck =
        (id, item, token, attempt) -> {
          CompletableFuture<Void> done = new CompletableFuture<>();
          acks.schedule(
              () -> {
                open.decrementAndGet();
                done.complete(null);
              },
              200,
              TimeUnit.MICROSECONDS);
          return done;
        };
    try (StreamRuntime rt =
            StreamRuntime.builder()
                .addProvider("kafka", f, o -> o.cacheSize(64))
                .implicitSubscription(
                    "kafka",
                    topic,
                    id -> {
                      observersCreated.incrementAndGet();
                      return (StreamObserver<String>)
                          (item, token) -> {
                            int now = open.incrementAndGet();
                            maxOpen.accumulateAndGet(now, Math::max);
                            if (now > 1) {
                              overlaps.incrementAndGet();
                            }
                            String partition = "partition-" + item.substring(1, 2);
                            return rec.<String>recorder(partition, id, lateAck).onNext(item, token);
                          };
                    })
                .threads(3)
                .build();
        KafkaProducer<byte[], byte[]> p = KafkaTestSupport.producer(broker)) {
      rt.start();
      await().atMost(WAIT).until(() -> f.ownedPartitions().size() == PARTITIONS);
      List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
      for (int i = 0; i < RECORDS; i++) {
        int partition = i % PARTITIONS;
        String value = "p" + partition + "-" + i;
        sent.add(
            p.send(new ProducerRecord<>(topic, partition, null, KafkaTestSupport.utf8(value))));
      }
      for (var s : sent) {
        s.get();
      }
      await().atMost(WAIT).until(() -> rec.count() >= RECORDS);
      log.info(
          "{}: {} deliveries, max {} at once, {} overlapping calls, {} observers created",
          topic,
          rec.count(),
          maxOpen.get(),
          overlaps.get(),
          observersCreated.get());
      assertThat(overlaps).as("calls while another call of the stream was open").hasValue(0);
      assertThat(maxOpen).hasValue(1);
      List<Object> got = new ArrayList<>();
      for (int partition = 0; partition < PARTITIONS; partition++) {
        List<Delivery> ofPartition = rec.deliveries("partition-" + partition);
        assertThat(ofPartition)
            .as("deliveries of partition %s", partition)
            .hasSize(RECORDS / PARTITIONS);
        ofPartition.forEach(d -> got.add(d.item()));
      }
      assertThat(got).doesNotHaveDuplicates().hasSize(RECORDS);
      // Within each partition, offsets strictly increase.
      rec.assertInOrderNoDuplicates();
    }
  }
}
