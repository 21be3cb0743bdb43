package dev.tributary.pekko;

import static dev.tributary.pekko.PekkoTestSupport.WAIT;
import static dev.tributary.pekko.PekkoTestSupport.endOffsets;
import static dev.tributary.pekko.PekkoTestSupport.kafka;
import static dev.tributary.pekko.PekkoTestSupport.produce;
import static dev.tributary.pekko.PekkoTestSupport.rewind;
import static dev.tributary.pekko.PekkoTestSupport.system;
import static dev.tributary.pekko.PekkoTestSupport.terminate;
import static dev.tributary.pekko.PekkoTestSupport.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamRuntime;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;

/**
 * Entities that store their last token with their state apply every event once, although delivery
 * is at least once: after a "crash" (the group's committed offsets set back, as if the last commits
 * had not happened), the redelivered events are exactly the ones dropped.
 */
class EffectivelyOnceTest {
  static final KafkaBroker broker = KafkaBroker.shared();

  /** What an entity stores, in one write: what it applied and the watermark of it. */
  record Stored(List<String> applied, TokenWatermark watermark) {}

  private final Map<String, Stored> store = new ConcurrentHashMap<>();
  private final Set<String> dropped = ConcurrentHashMap.newKeySet();
  private final AtomicLong droppedCount = new AtomicLong();
  private final AtomicLong appliedCount = new AtomicLong();
  private final AtomicLong receivedCount = new AtomicLong();

  /** An entity whose state lives in {@link #store}, loaded when it is created. */
  private Behavior<Ledger.Msg> entity(EntityContext entity) {
    String key = entity.key();
    return Behaviors.setup(
        ctx -> {
          Stored[] state = {store.getOrDefault(key, new Stored(List.of(), TokenWatermark.NONE))};
          return Behaviors.receiveMessage(
              msg -> {
                Ledger.Event e = (Ledger.Event) msg;
                receivedCount.incrementAndGet();
                if (!state[0].watermark().isNew(e.context().token())) {
                  droppedCount.incrementAndGet();
                  assertThat(dropped.add(key + "@" + e.context().token()))
                      .as("%s dropped %s once", key, e.context().token())
                      .isTrue();
                } else {
                  List<String> applied = new ArrayList<>(state[0].applied());
                  applied.add(e.value());
                  state[0] =
                      new Stored(
                          List.copyOf(applied), state[0].watermark().advance(e.context().token()));
                  store.put(key, state[0]);
                  appliedCount.incrementAndGet();
                }
                e.replyTo().tell(StatusReply.ack());
                return Behaviors.same();
              });
        });
  }

  private StreamRuntime bind(ActorSystem<Void> system, String group, String topic) {
    ActorEntities<String, Ledger.Msg> entities =
        ActorEntities.<String, Ledger.Msg>builder(system, "accounts")
            .behavior(this::entity)
            .messageAdapter(Ledger.ADAPTER)
            .build();
    return PekkoRuntime.bind(
        system,
        StreamRuntime.builder()
            .nodeName(unique("node"))
            .addProvider("kafka", kafka(broker, group, topic, 2).build())
            .implicitSubscription("kafka", topic, entities)
            .threads(2)
            .build());
  }

  @Test
  void afterACrash_theRedeliveredEventsAreExactlyTheOnesDropped_andEachEventIsAppliedOnce() {
    String topic = unique("once");
    String group = unique("g");
    broker.createTopic(topic, 2);
    Map<String, List<String>> expected = produce(broker, topic, 10, 20, 0);

    ActorSystem<Void> first = system("once-1");
    bind(first, group, topic);
    await().atMost(WAIT).until(() -> appliedCount.get() >= 200);
    terminate(first);

    // The crash: partition 0 loses every commit, partition 1 the second half of them.
    Map<Integer, Long> ends = endOffsets(broker, topic, 2);
    long rewound1 = ends.get(1) / 2;
    rewind(broker, group, topic, Map.of(0, 0L, 1, rewound1));
    long redelivered = ends.get(0) + (ends.get(1) - rewound1);
    assertThat(redelivered).isGreaterThan(0);

    produce(broker, topic, 10, 5, 20).forEach((k, v) -> expected.get(k).addAll(v));
    ActorSystem<Void> second = system("once-2");
    try {
      bind(second, group, topic);
      await()
          .atMost(WAIT)
          .until(() -> appliedCount.get() >= 250 && droppedCount.get() >= redelivered);
    } finally {
      terminate(second);
    }

    assertThat(droppedCount.get()).as("redeliveries dropped").isEqualTo(redelivered);
    assertThat(appliedCount.get()).as("events applied").isEqualTo(250);
    assertThat(receivedCount.get()).isEqualTo(250 + redelivered);
    expected.forEach(
        (key, values) ->
            assertThat(store.get(key).applied()).as("applied by %s", key).isEqualTo(values));
  }
}
