package dev.tributary.pekko;

import static dev.tributary.pekko.PekkoTestSupport.WAIT;
import static dev.tributary.pekko.PekkoTestSupport.committed;
import static dev.tributary.pekko.PekkoTestSupport.endOffsets;
import static dev.tributary.pekko.PekkoTestSupport.kafka;
import static dev.tributary.pekko.PekkoTestSupport.produce;
import static dev.tributary.pekko.PekkoTestSupport.system;
import static dev.tributary.pekko.PekkoTestSupport.terminate;
import static dev.tributary.pekko.PekkoTestSupport.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamId;
import dev.tributary.StreamProviderOptions;
import dev.tributary.StreamRuntime;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.kafka.TopicConfig;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Local entities fed from a real broker: one typed actor per key, acknowledged by its reply, with
 * passivation, re-creation and every way an entity can fail. Every test counts each message that
 * reached an entity (repeats included) and checks the order per key.
 */
class ActorEntitiesTest {
  static final KafkaBroker broker = KafkaBroker.shared();
  static final BackoffPolicy FAST_RETRY =
      BackoffPolicy.exponential(Duration.ofMillis(10), Duration.ofMillis(100));

  private ActorSystem<Void> system;
  private final Ledger ledger = new Ledger();

  @BeforeEach
  void createSystem() {
    system = system("entities");
  }

  @AfterEach
  void terminateSystem() {
    terminate(system);
  }

  private ActorEntities.Builder<String, Ledger.Msg> entities(Ledger.Script script) {
    return ActorEntities.<String, Ledger.Msg>builder(system, unique("e"))
        .behavior(e -> ledger.entity(e, script))
        .messageAdapter(Ledger.ADAPTER);
  }

  private StreamRuntime bind(
      KafkaQueueAdapterFactory kafka,
      String topic,
      ActorEntities<String, Ledger.Msg> entities,
      Consumer<StreamProviderOptions.Builder> options) {
    return PekkoRuntime.bind(
        system,
        StreamRuntime.builder()
            .nodeName(unique("node"))
            .addProvider("kafka", kafka, options.andThen(o -> o.deliveryBackoff(FAST_RETRY)))
            .implicitSubscription("kafka", topic, entities)
            .threads(2)
            .build());
  }

  @Test
  void tenThousandKeys_eachEventAcknowledgedOnceInOrder_timeoutsAndErrorRepliesRetried() {
    String topic = unique("tenk");
    broker.createTopic(topic, 4);
    // Keys 0, 500, 1000, ... never answer the first copy of an event (the ask times out); keys 1,
    // 501, ... reject it; both get it again from the runtime's retry.
    Ledger.Script script =
        (key, value, copy) -> {
          int k = Integer.parseInt(key.substring(1));
          if (copy == 1 && k % 500 == 0) {
            return Ledger.Action.IGNORE;
          }
          if (copy == 1 && k % 500 == 1) {
            return Ledger.Action.REJECT;
          }
          return Ledger.Action.ACK;
        };
    ActorEntities<String, Ledger.Msg> entities =
        entities(script).askTimeout(Duration.ofSeconds(1)).build();
    bind(kafka(broker, unique("g"), topic, 4).build(), topic, entities, o -> o.cacheSize(4096));

    Map<String, List<String>> expected = produce(broker, topic, 10_000, 3, 0);
    await().atMost(WAIT).until(() -> ledger.ackedCount() >= 30_000);

    ledger.assertAckedExactly(expected);
    ledger.assertReceivedInOrder(expected);
    assertThat(ledger.receivedCount()).as("messages, repeats included").isEqualTo(30_000 + 40 * 3);
    assertThat(ledger.received("k500"))
        .containsExactly("k500:0", "k500:0", "k500:1", "k500:1", "k500:2", "k500:2");
    assertThat(ledger.createdTotal()).as("one entity per key").isEqualTo(10_000);
  }

  @Test
  void idleEntities_arePassivated_andTheNextEventsCreateThemAgain() {
    String topic = unique("idle");
    broker.createTopic(topic, 2);
    AtomicInteger created = new AtomicInteger();
    AtomicInteger passivated = new AtomicInteger();
    ActorEntities<String, Ledger.Msg> entities =
        entities(Ledger.Script.ACK)
            .passivateIdleAfter(Duration.ofMillis(200))
            .listener(
                new ActorEntities.Listener() {
                  @Override
                  public void created(StreamId streamId) {
                    created.incrementAndGet();
                  }

                  @Override
                  public void stopped(StreamId streamId, boolean byPassivation) {
                    if (byPassivation) {
                      passivated.incrementAndGet();
                    }
                  }
                })
            .build();
    bind(kafka(broker, unique("g"), topic, 2).build(), topic, entities, o -> {});

    Map<String, List<String>> expected = produce(broker, topic, 50, 5, 0);
    await().atMost(WAIT).until(() -> ledger.ackedCount() >= 250);
    await().atMost(WAIT).until(() -> ledger.stopped() == 50);
    assertThat(ledger.live()).isZero();
    assertThat(passivated).as("stops the listener saw as passivations").hasValue(50);

    produce(broker, topic, 50, 5, 5).forEach((k, v) -> expected.get(k).addAll(v));
    await().atMost(WAIT).until(() -> ledger.ackedCount() >= 500);
    ledger.assertAckedExactly(expected);
    assertThat(ledger.receivedCount()).isEqualTo(500);
    for (String key : expected.keySet()) {
      assertThat(ledger.created(key)).as("incarnations of %s", key).isEqualTo(2);
    }
    assertThat(created).hasValue(100);
  }

  @ParameterizedTest(name = "with a stop message: {0}")
  @ValueSource(booleans = {false, true})
  void entitiesThatPassivateThemselvesMidStream_loseAndRepeatNothing(boolean stopMessage) {
    String topic = unique("passivate");
    broker.createTopic(topic, 2);
    // Every fifth event, the entity asks to be passivated right after acknowledging it.
    Ledger.Script script =
        (key, value, copy) ->
            Integer.parseInt(value.substring(value.indexOf(':') + 1)) % 5 == 4
                ? Ledger.Action.ACK_AND_PASSIVATE
                : Ledger.Action.ACK;
    ActorEntities.Builder<String, Ledger.Msg> b = entities(script);
    if (stopMessage) {
      b.stopMessage(Ledger.Stop.INSTANCE);
    }
    bind(kafka(broker, unique("g"), topic, 2).build(), topic, b.build(), o -> {});

    Map<String, List<String>> expected = produce(broker, topic, 20, 30, 0);
    await().atMost(WAIT).until(() -> ledger.ackedCount() >= 600);
    await().atMost(WAIT).until(() -> ledger.stopped() == 20 * 6);

    ledger.assertAckedExactly(expected);
    assertThat(ledger.receivedCount()).as("no event repeated").isEqualTo(600);
    for (String key : expected.keySet()) {
      // stopped after events 4, 9, .., 29; created again for 5, 10, .., 25
      assertThat(ledger.created(key)).as("incarnations of %s", key).isEqualTo(6);
    }
  }

  @Test
  void anEntityThatThrows_isCreatedAgain_andItsEventRetriedWithoutWaitingForTheAskTimeout() {
    String topic = unique("throws");
    broker.createTopic(topic, 2);
    Ledger.Script script =
        (key, value, copy) ->
            value.endsWith(":3") && copy == 1 ? Ledger.Action.THROW : Ledger.Action.ACK;
    // An ask timeout longer than the wait: only the supervisor's notice that the entity stopped
    // can fail those deliveries in time.
    ActorEntities<String, Ledger.Msg> entities =
        entities(script).askTimeout(Duration.ofMinutes(5)).build();
    bind(kafka(broker, unique("g"), topic, 2).build(), topic, entities, o -> {});

    Map<String, List<String>> expected = produce(broker, topic, 20, 10, 0);
    await().atMost(WAIT).until(() -> ledger.ackedCount() >= 200);

    ledger.assertAckedExactly(expected);
    ledger.assertReceivedInOrder(expected);
    assertThat(ledger.receivedCount()).isEqualTo(200 + 20);
    for (String key : expected.keySet()) {
      assertThat(ledger.created(key)).as("incarnations of %s", key).isEqualTo(2);
    }
  }

  @Test
  void anEventAnEntityNeverAcknowledges_goesToTheDeadLetterTopic_andItsStreamGoesOn() {
    String topic = unique("mute");
    String dlt = topic + "-dlt";
    String group = unique("g");
    broker.createTopic(topic, 2);
    Ledger.Script script =
        (key, value, copy) -> value.equals("k0:4") ? Ledger.Action.IGNORE : Ledger.Action.ACK;
    ActorEntities<String, Ledger.Msg> entities =
        entities(script).askTimeout(Duration.ofMillis(200)).build();
    KafkaQueueAdapterFactory kafka =
        kafka(broker, group, topic, 2)
            .deadLetterTopic(dlt, TopicConfig.autoCreate(1, (short) 1))
            .build();
    bind(kafka, topic, entities, o -> o.maxEventDeliveryTime(Duration.ofSeconds(1)));

    Map<String, List<String>> expected = produce(broker, topic, 5, 10, 0);
    expected.get("k0").remove("k0:4");
    await().atMost(WAIT).until(() -> ledger.ackedCount() >= 49);
    await()
        .atMost(WAIT)
        .until(() -> committed(broker, group, topic).equals(endOffsets(broker, topic, 2)));

    ledger.assertAckedExactly(expected);
    int attempts = ledger.received("k0").size() - 9;
    assertThat(attempts)
        .as("attempts at k0:4 within maxEventDeliveryTime")
        .isGreaterThanOrEqualTo(2);
    assertThat(ledger.receivedCount()).isEqualTo(49 + attempts);
    assertThat(readAll(dlt, 1)).containsExactly("k0:4");
  }

  @Test
  void deliveries_startNoThreadPerEvent() {
    // Pekko's javadsl ActorContext.ask continues on the common pool, which starts a thread per
    // task when its parallelism is 1 (2 cores or fewer, like this project's CI machine).
    String topic = unique("threads");
    broker.createTopic(topic, 2);
    bind(
        kafka(broker, unique("g"), topic, 2).build(),
        topic,
        entities(Ledger.Script.ACK).build(),
        o -> {});
    Map<String, List<String>> expected = produce(broker, topic, 20, 5, 0);
    await().atMost(WAIT).until(() -> ledger.ackedCount() >= 100);
    long threadsBefore = threadsCreated();
    produce(broker, topic, 20, 100, 5).forEach((k, v) -> expected.get(k).addAll(v));
    await().atMost(WAIT).until(() -> ledger.ackedCount() >= 2100);
    long started = threadsCreated() - threadsBefore - 1;

    ledger.assertAckedExactly(expected);
    assertThat(ledger.receivedCount()).as("messages, repeats included").isEqualTo(2100);
    assertThat(started).as("threads created while 2000 events were delivered").isLessThan(50);
  }

  @Test
  void theEntitysMessage_carriesTheRecordsTimestampAndHeaders() throws Exception {
    String topic = unique("metadata");
    broker.createTopic(topic, 2);
    bind(
        kafka(broker, unique("g"), topic, 2).build(),
        topic,
        entities(Ledger.Script.ACK).build(),
        o -> {});

    // Records written with their own timestamp (1 000 000 000 000 + n) and a "trace" header.
    long base = 1_000_000_000_000L;
    Map<String, List<String>> expected = new HashMap<>();
    Properties p = broker.adminProperties();
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      for (int n = 0; n < 10; n++) {
        for (int k = 0; k < 20; k++) {
          String key = "k" + k;
          String value = key + ":" + n;
          ProducerRecord<String, String> r =
              new ProducerRecord<>(topic, null, base + k * 100L + n, key, value);
          r.headers().add("trace", PekkoTestSupport.utf8("t-" + value));
          producer.send(r).get();
          expected.computeIfAbsent(key, x -> new ArrayList<>()).add(value);
        }
      }
    }
    await().atMost(WAIT).until(() -> ledger.ackedCount() >= 200);

    ledger.assertAckedExactly(expected);
    assertThat(ledger.receivedCount()).as("messages, repeats included").isEqualTo(200);
    for (int k = 0; k < 20; k++) {
      String key = "k" + k;
      List<EventContext> contexts = ledger.contexts(key);
      assertThat(contexts).hasSize(10);
      for (int n = 0; n < 10; n++) {
        EventContext ctx = contexts.get(n);
        assertThat(ctx.key()).isEqualTo(key);
        assertThat(ctx.timestampMillis())
            .as("timestamp of %s:%d", key, n)
            .isEqualTo(base + k * 100L + n);
        assertThat(ctx.headers()).containsOnlyKeys("trace");
        assertThat(new String(ctx.headers().get("trace"), StandardCharsets.UTF_8))
            .isEqualTo("t-" + key + ":" + n);
      }
    }
  }

  /** Threads created in this JVM so far: thread ids are handed out in sequence at creation. */
  private static long threadsCreated() {
    return new Thread(() -> {}).getId();
  }

  private List<String> readAll(String topic, int expected) {
    Properties p = broker.adminProperties();
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    List<String> out = new ArrayList<>();
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> tps = List.of(new TopicPartition(topic, 0));
      c.assign(tps);
      c.seekToBeginning(tps);
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (out.size() < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
          out.add(r.value());
        }
      }
      // one more poll: a record beyond the expected ones would show here
      c.poll(Duration.ofMillis(200)).forEach(r -> out.add(r.value()));
    }
    return out;
  }
}
