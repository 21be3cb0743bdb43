package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.unique;
import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.StreamId;
import dev.tributary.SubscriberAddress;
import dev.tributary.spi.SubscriptionRecord;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link KafkaPubSubStore} while its broker is down: a broker of its own, killed and restarted. */
class KafkaPubSubStoreBrokerDownTest {

  // A loaded machine can take more than the default minute to start or restart a broker.
  @RegisterExtension
  static final KafkaBroker broker =
      KafkaBroker.builder().startTimeout(Duration.ofMinutes(3)).build();

  static final Duration WAIT = Duration.ofSeconds(90);
  static final String P = "kafka";

  private final List<KafkaPubSubStore> stores = new CopyOnWriteArrayList<>();

  @BeforeEach
  void brokerUp() {
    broker.start();
  }

  @AfterEach
  void closeStores() {
    stores.forEach(KafkaPubSubStore::close);
  }

  KafkaPubSubStore started(String topic) {
    KafkaPubSubStore s =
        KafkaPubSubStore.builder()
            .bootstrapServers(broker.bootstrapServers())
            .topic(topic)
            .startTimeout(Duration.ofSeconds(20))
            .closeTimeout(Duration.ofMillis(200))
            .clientProperty("reconnect.backoff.max.ms", "500")
            .build();
    stores.add(s);
    join(s.start());
    return s;
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
        null,
        false,
        SubscriberAddress.of(address),
        UUID.randomUUID(),
        false);
  }

  @Test
  void syncWhileTheBrokerIsDown_waitsForIt_andCompletesOnlyAfterTheWritesWereSeen() {
    String topic = unique("store-down");
    KafkaPubSubStore a = started(topic);
    KafkaPubSubStore b = started(topic);
    StoreEvents events = new StoreEvents();
    b.watch(events);
    StreamId stream = StreamId.of("orders", "k");
    SubscriptionRecord before = addressed(stream, "before");
    join(a.put(before)); // acknowledged; B may or may not have read it yet

    broker.kill();
    CompletableFuture<Void> synced = b.sync().toCompletableFuture();
    SubscriptionRecord during = addressed(stream, "during");
    CompletableFuture<Void> written = a.put(during).toCompletableFuture();
    assertThat(synced).as("sync() with the broker down").isNotDone();
    assertThat(written).as("a put with the broker down").isNotDone();
    // What the listener holds when sync completes, checked on the completing thread.
    CompletableFuture<List<String>> seenAtSync = synced.thenApply(v -> events.lines());

    broker.restart();
    assertThat(join(seenAtSync)).contains(StoreEvents.put(before));
    join(written);
    join(b.sync());
    assertThat(events.lines()).contains(StoreEvents.put(before), StoreEvents.put(during));
    assertThat(join(b.subscriptions(P, stream))).containsExactly(before, during);
  }

  @Test
  void close_failsPendingStagesClearly() {
    String topic = unique("store-close");
    KafkaPubSubStore a = started(topic);
    StreamId stream = StreamId.of("orders", "k");
    broker.kill();
    CompletableFuture<Void> put = a.put(addressed(stream, "x")).toCompletableFuture();
    CompletableFuture<Void> confirm =
        a.confirm(P, stream, UUID.randomUUID(), UUID.randomUUID()).toCompletableFuture();
    CompletableFuture<Void> synced = a.sync().toCompletableFuture();
    assertThat(put).isNotDone();
    assertThat(synced).isNotDone();

    a.close();
    for (CompletableFuture<Void> f : List.of(put, confirm, synced)) {
      assertThat(f)
          .failsWithin(WAIT)
          .withThrowableOfType(ExecutionException.class)
          .havingCause()
          .isInstanceOf(IllegalStateException.class)
          .withMessageContaining("subscription store on topic '" + topic + "' was closed before");
    }
    assertThat(a.put(addressed(stream, "y")).toCompletableFuture())
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withMessageContaining("was closed before");
  }
}
