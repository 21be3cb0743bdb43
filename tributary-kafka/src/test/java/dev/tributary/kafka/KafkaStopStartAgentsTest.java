package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.assertComplete;
import static dev.tributary.kafka.KafkaTestSupport.committed;
import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.produce;
import static dev.tributary.kafka.KafkaTestSupport.strings;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static dev.tributary.testkit.DeliveryHarness.IMPLICIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.AgentState;
import dev.tributary.HealthStatus;
import dev.tributary.ProviderStatus;
import dev.tributary.QueueStatus;
import dev.tributary.StreamProvider;
import dev.tributary.StreamRuntime;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.kafka.KafkaBroker;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * The operator's stop and start of a Kafka provider's agents on a real broker: nothing is delivered
 * while stopped, the in-flight delivery drains, the delivered watermark is committed, the node
 * stays in the group with its partitions (no rebalance), and after the restart every event arrives
 * exactly once, in order.
 */
class KafkaStopStartAgentsTest {
  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void stopAgents_midStream_nothingDeliveredWhileStopped_startAgents_nothingLostOrDuplicated()
      throws Exception {
    String topic = unique("stopstart");
    String group = unique("g");
    broker.createTopic(topic, 2);
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    DeliveryHarness rec = DeliveryHarness.create();
    CompletableFuture<Void> held = new CompletableFuture<>();
    CompletableFuture<Void> entered = new CompletableFuture<>();
    Behavior holdK020 =
        (id, item, token, attempt) -> {
          if (item.equals("k0:20")) {
            entered.complete(null);
            return held;
          }
          return CompletableFuture.completedFuture(null);
        };
    KafkaQueueAdapterFactory f = factory(broker, group).topic(topic, strings(2)).build();
    try (StreamRuntime rt =
        StreamRuntime.builder()
            .addProvider("kafka", f, o -> o.cacheSize(128))
            .implicitSubscription("kafka", topic, rec.observerFactory(IMPLICIT, holdK020))
            .meterRegistry(registry)
            .threads(2)
            .build()) {
      rt.start();
      StreamProvider kafka = rt.provider("kafka");
      Map<String, List<String>> expected = produce(broker, topic, 10, 30, 0);
      entered.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      // Everything but k0:20..29, which wait behind the event in flight.
      await().atMost(WAIT).until(() -> rec.count() >= 290);
      Map<TopicPartition, PartitionState> states = states(f, topic);
      assertThat(states).hasSize(2);
      Set<String> membersBefore = members(group);
      double rebalancesBefore = rebalances(registry);

      CompletableFuture<Void> stop = kafka.stopAgents().toCompletableFuture();
      await()
          .during(Duration.ofMillis(500))
          .atMost(Duration.ofSeconds(10))
          .until(() -> !stop.isDone());
      held.complete(null);
      stop.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      long atStop = rec.count();
      assertThat(atStop).as("k0:20 completed; k0:21.. not delivered once stopped").isEqualTo(291);

      // Commits flushed: what the group committed is each partition's delivered watermark.
      ProviderStatus status = kafka.status();
      assertThat(status.agentsStopped()).isTrue();
      assertThat(status.queues()).hasSize(2);
      Map<Integer, Long> groupCommitted = committed(broker, group, topic);
      for (QueueStatus q : status.queues()) {
        assertThat(q.agentState()).isEqualTo(AgentState.SUSPENDED);
        assertThat(q.committedOffset()).as(q.queue()).isEqualTo(q.deliveredOffset());
        int partition = Integer.parseInt(q.queue().substring(q.queue().lastIndexOf('-') + 1));
        assertThat(groupCommitted.get(partition)).as(q.queue()).isEqualTo(q.committedOffset());
      }
      assertThat(rt.health().status()).isEqualTo(HealthStatus.DEGRADED);
      assertThat(rt.health().readiness().ok()).isFalse();

      Map<String, List<String>> more = produce(broker, topic, 10, 20, 30);
      more.forEach((k, v) -> expected.get(k).addAll(v));
      await()
          .during(Duration.ofSeconds(2))
          .atMost(Duration.ofSeconds(10))
          .until(() -> rec.count() == atStop);
      // Still in the group with the same partitions: same states, same members, no rebalance.
      assertThat(states(f, topic)).isEqualTo(states);
      assertThat(states.values()).allMatch(s -> s.held && !s.closed);
      assertThat(members(group)).isEqualTo(membersBefore);

      kafka.startAgents().toCompletableFuture().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      await().atMost(WAIT).until(() -> rec.count() >= 500);
      assertComplete(rec, topic, expected);
      assertThat(rec.count()).as("every event once, duplicates included").isEqualTo(500);
      assertThat(rec.duplicates()).isZero();
      assertThat(states(f, topic)).isEqualTo(states);
      assertThat(states.values()).noneMatch(s -> s.held);
      assertThat(members(group)).isEqualTo(membersBefore);
      assertThat(rebalances(registry)).isEqualTo(rebalancesBefore);
      await().atMost(WAIT).until(() -> rt.health().status() == HealthStatus.UP);
      assertThat(kafka.status().agentsStopped()).isFalse();
      await()
          .atMost(WAIT)
          .until(
              () ->
                  committed(broker, group, topic).values().stream().mapToLong(x -> x).sum()
                      == 500L);
    }
  }

  private static Map<TopicPartition, PartitionState> states(
      KafkaQueueAdapterFactory f, String topic) {
    Map<TopicPartition, PartitionState> out = new HashMap<>();
    for (int p = 0; p < 2; p++) {
      TopicPartition tp = new TopicPartition(topic, p);
      PartitionState s = f.adapter().state(tp);
      if (s != null) {
        out.put(tp, s);
      }
    }
    return out;
  }

  /** The group's members with their assignments, as "memberId=partitions". */
  private static Set<String> members(String group) throws Exception {
    try (Admin admin = broker.admin()) {
      ConsumerGroupDescription d =
          admin.describeConsumerGroups(List.of(group)).describedGroups().get(group).get();
      Set<String> out = new TreeSet<>();
      for (MemberDescription m : d.members()) {
        Set<String> tps = new TreeSet<>();
        m.assignment().topicPartitions().forEach(tp -> tps.add(tp.toString()));
        out.add(m.consumerId() + "=" + tps);
      }
      return out;
    }
  }

  /** The consumer's own rebalance count, from the Kafka client metrics bound to the registry. */
  private static double rebalances(SimpleMeterRegistry registry) {
    FunctionCounter c =
        registry.find("kafka.consumer.coordinator.rebalance.total").functionCounter();
    assertThat(c).as("kafka.consumer.coordinator.rebalance.total is bound").isNotNull();
    return c.count();
  }
}
