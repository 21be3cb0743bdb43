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
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamRuntime;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.Test;

/** A runtime bound to an actor system: started with it, closed before its actors stop. */
class PekkoRuntimeLifecycleTest {
  static final KafkaBroker broker = KafkaBroker.shared();

  private static StreamRuntime runtime(
      KafkaQueueAdapterFactory kafka, String topic, ActorEntities<String, Ledger.Msg> entities) {
    return StreamRuntime.builder()
        .nodeName(unique("node"))
        .addProvider("kafka", kafka, o -> o.cacheSize(256))
        .implicitSubscription("kafka", topic, entities)
        .threads(2)
        .build();
  }

  @Test
  void terminatingTheSystem_closesTheRuntimeBeforeItsEntitiesStop_commitsAll_leavesNoThread() {
    String topic = unique("life");
    String group = unique("g");
    String node = unique("node");
    KafkaQueueAdapterFactory kafka = kafka(broker, group, topic, 2).build();
    ActorSystem<Void> system = system("lifecycle");
    Ledger ledger = new Ledger();
    AtomicInteger stoppedWhileRunning = new AtomicInteger();
    StreamRuntime[] bound = new StreamRuntime[1];
    ledger.onPostStop(
        () -> {
          if (bound[0].isRunning()) {
            stoppedWhileRunning.incrementAndGet();
          }
        });
    ActorEntities<String, Ledger.Msg> entities =
        ActorEntities.<String, Ledger.Msg>builder(system, "life")
            .behavior(e -> ledger.entity(e, Ledger.Script.ACK))
            .messageAdapter(Ledger.ADAPTER)
            .build();
    StreamRuntime rt =
        StreamRuntime.builder()
            .nodeName(node)
            .addProvider("kafka", kafka, o -> o.cacheSize(256))
            .implicitSubscription("kafka", topic, entities)
            .threads(2)
            .build();
    bound[0] = PekkoRuntime.bind(system, rt);
    assertThat(rt.isRunning()).as("bind starts the runtime").isTrue();

    Map<String, List<String>> expected = produce(broker, topic, 20, 50, 0);
    await().atMost(WAIT).until(() -> ledger.ackedCount() >= 1000);
    terminate(system);

    assertThat(rt.isRunning()).isFalse();
    assertThat(ledger.stopped()).as("entities stopped with the system").isEqualTo(20);
    assertThat(stoppedWhileRunning).as("entities stopped while the runtime ran").hasValue(0);
    ledger.assertAckedExactly(expected);
    assertThat(ledger.receivedCount()).isEqualTo(1000);
    assertThat(committed(broker, group, topic)).isEqualTo(endOffsets(broker, topic, 2));
    assertThat(tributaryThreads(node)).as("threads of the runtime after terminate").isEmpty();
  }

  @Test
  void terminatingMidStream_drainsAndCommits_soTheNextNodeRepeatsNothing() {
    String topic = unique("drain");
    String group = unique("g");
    Ledger ledger = new Ledger();
    // Entities answer after a short delay, so that records are in flight when the system stops.
    Ledger.Script slow = (key, value, copy) -> Ledger.Action.ACK;
    broker.createTopic(topic, 4);
    Map<String, List<String>> expected = produce(broker, topic, 40, 50, 0);

    ActorSystem<Void> first = system("drain-1");
    ActorEntities<String, Ledger.Msg> entities1 =
        ActorEntities.<String, Ledger.Msg>builder(first, "drain")
            .behavior(e -> SlowEntity.wrap(ledger.entity(e, slow), Duration.ofMillis(2)))
            .messageAdapter(Ledger.ADAPTER)
            .build();
    StreamRuntime rt1 =
        PekkoRuntime.bind(first, runtime(kafka(broker, group, topic, 4).build(), topic, entities1));
    await().atMost(WAIT).until(() -> ledger.ackedCount() >= 200);
    terminate(first);
    assertThat(rt1.isRunning()).isFalse();
    long acknowledgedByFirst = ledger.ackedCount();
    assertThat(acknowledgedByFirst).as("the first node stopped mid-stream").isLessThan(2000);

    ActorSystem<Void> second = system("drain-2");
    try {
      ActorEntities<String, Ledger.Msg> entities2 =
          ActorEntities.<String, Ledger.Msg>builder(second, "drain")
              .behavior(e -> ledger.entity(e, Ledger.Script.ACK))
              .messageAdapter(Ledger.ADAPTER)
              .build();
      PekkoRuntime.bind(second, runtime(kafka(broker, group, topic, 4).build(), topic, entities2));
      await().atMost(WAIT).until(() -> ledger.ackedCount() >= 2000);
    } finally {
      terminate(second);
    }
    // A graceful stop drains and commits exactly: the second node starts where the first ended.
    ledger.assertAckedExactly(expected);
    assertThat(ledger.receivedCount()).as("messages in all, repeats included").isEqualTo(2000);
  }

  @Test
  void bind_rejectsAPhaseAfterTheActorsStop_andASystemThatIsShuttingDown() {
    ActorSystem<Void> system = system("bind-checks");
    KafkaQueueAdapterFactory kafka = kafka(broker, unique("g"), unique("t"), 1).build();
    StreamRuntime rt = StreamRuntime.builder().addProvider("kafka", kafka).threads(1).build();
    try {
      assertThatThrownBy(() -> PekkoRuntime.bind(system, rt, "actor-system-terminate"))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("phase was 'actor-system-terminate'")
          .hasMessageContaining("service-requests-done");
      assertThat(rt.isRunning()).isFalse();
    } finally {
      terminate(system);
    }
    assertThatThrownBy(() -> PekkoRuntime.bind(system, rt))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("is shutting down");
    assertThat(rt.isRunning()).isFalse();
  }

  /** Live threads of the runtime {@code node} and of any Tributary adapter. */
  static List<String> tributaryThreads(String node) {
    List<String> out = new ArrayList<>();
    Map<Thread, StackTraceElement[]> all = new HashMap<>(Thread.getAllStackTraces());
    for (Thread t : all.keySet()) {
      String n = t.getName();
      if (t.isAlive()
          && (n.startsWith(node) || n.startsWith("tributary-") || n.contains("| tributary-"))) {
        out.add(n);
      }
    }
    return out;
  }
}
