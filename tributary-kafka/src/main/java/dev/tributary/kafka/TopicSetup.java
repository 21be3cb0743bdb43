package dev.tributary.kafka;

import dev.tributary.StreamingException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Start-up checks of a Kafka provider: the cluster answers, auto-create topics exist (created when
 * missing), the other topics exist. Runs on the thread that starts the runtime and blocks it, at
 * most for {@code startupTimeout}, because a runtime that starts against a missing topic would only
 * fail later and less clearly.
 */
final class TopicSetup {

  private TopicSetup() {}

  /** Returns the partition count of every consumed topic; throws naming every problem. */
  static Map<String, Integer> run(Admin admin, KafkaSettings s, String provider) {
    long deadline = System.nanoTime() + s.startupTimeout().toNanos();
    try {
      int ms = (int) Math.max(1, s.startupTimeout().toMillis());
      admin
          .describeCluster(new DescribeClusterOptions().timeoutMs(ms))
          .clusterId()
          .get(ms + 1000L, TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw unreachable(s, provider, e instanceof ExecutionException ? e.getCause() : e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StreamingException("Kafka provider '" + provider + "': start-up interrupted", e);
    }

    Map<String, TopicConfig> all = new LinkedHashMap<>(s.topics());
    if (s.deadLetterTopic() != null) {
      all.put(s.deadLetterTopic(), s.deadLetterTopicConfig());
    }
    Map<String, Integer> counts = new LinkedHashMap<>();
    List<String> missing = new ArrayList<>();
    List<NewTopic> toCreate = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    Map<String, KafkaFuture<TopicDescription>> described = describe(admin, all.keySet(), deadline);
    for (Map.Entry<String, TopicConfig> e : all.entrySet()) {
      String topic = e.getKey();
      try {
        TopicDescription d = described.get(topic).get(remaining(deadline), TimeUnit.NANOSECONDS);
        counts.put(topic, d.partitions().size());
      } catch (ExecutionException ex) {
        if (ex.getCause() instanceof UnknownTopicOrPartitionException) {
          if (e.getValue().isAutoCreate()) {
            TopicConfig c = e.getValue();
            toCreate.add(
                new NewTopic(
                        topic,
                        Optional.of(c.partitions()),
                        c.replicationFactor() == -1
                            ? Optional.empty()
                            : Optional.of(c.replicationFactor()))
                    .configs(c.configs()));
          } else {
            missing.add(topic);
          }
        } else {
          problems.add("topic '" + topic + "' could not be described: " + ex.getCause());
        }
      } catch (TimeoutException ex) {
        throw unreachable(s, provider, ex);
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        throw new StreamingException("Kafka provider '" + provider + "': start-up interrupted", ex);
      }
    }
    for (String topic : missing) {
      problems.add(
          "topic '"
              + topic
              + "' does not exist and is configured with TopicConfig.existing(). Create it (for"
              + " example: kafka-topics.sh --bootstrap-server "
              + s.bootstrapServers()
              + " --create --topic "
              + topic
              + " --partitions N) or configure it with TopicConfig.autoCreate(partitions,"
              + " replicationFactor)");
    }
    if (!toCreate.isEmpty()) {
      Map<String, KafkaFuture<Void>> created = admin.createTopics(toCreate).values();
      for (NewTopic t : toCreate) {
        try {
          created.get(t.name()).get(remaining(deadline), TimeUnit.NANOSECONDS);
        } catch (ExecutionException ex) {
          if (!(ex.getCause() instanceof TopicExistsException)) {
            problems.add(
                "topic '"
                    + t.name()
                    + "' could not be created with "
                    + all.get(t.name())
                    + ": "
                    + ex.getCause());
          }
        } catch (TimeoutException ex) {
          problems.add(
              "creating topic '"
                  + t.name()
                  + "' did not finish within startupTimeout "
                  + s.startupTimeout());
        } catch (InterruptedException ex) {
          Thread.currentThread().interrupt();
          throw new StreamingException(
              "Kafka provider '" + provider + "': start-up interrupted", ex);
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new StreamingException(
          "Kafka provider '"
              + provider
              + "' cannot start ("
              + problems.size()
              + (problems.size() == 1 ? " problem" : " problems")
              + "):\n  - "
              + String.join("\n  - ", problems));
    }
    for (NewTopic t : toCreate) {
      counts.put(t.name(), awaitLeaders(admin, t, deadline, s, provider));
    }
    Map<String, Integer> consumed = new LinkedHashMap<>();
    for (String topic : s.topics().keySet()) {
      consumed.put(topic, counts.get(topic));
    }
    return consumed;
  }

  private static Map<String, KafkaFuture<TopicDescription>> describe(
      Admin admin, java.util.Collection<String> topics, long deadline) {
    int ms = (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(remaining(deadline)));
    return admin
        .describeTopics(topics, new DescribeTopicsOptions().timeoutMs(ms))
        .topicNameValues();
  }

  /**
   * Waits, at most until {@code deadline}, until a topic this start-up created is described with a
   * leader for every partition, and returns its partition count: {@code start()} then returns with
   * topics that producers and consumers can use at once. Probes are scheduled on a delayed executor
   * rather than slept between.
   */
  private static int awaitLeaders(
      Admin admin, NewTopic topic, long deadline, KafkaSettings s, String provider) {
    CompletableFuture<Integer> led = new CompletableFuture<>();
    probe(admin, topic.name(), deadline, led);
    try {
      int n = led.get(remaining(deadline) + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS);
      if (n > 0) {
        return n;
      }
    } catch (ExecutionException | TimeoutException e) {
      // Reported below.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StreamingException("Kafka provider '" + provider + "': start-up interrupted", e);
    }
    throw new StreamingException(
        "Kafka provider '"
            + provider
            + "': topic '"
            + topic.name()
            + "' was created but not every partition had a leader within startupTimeout "
            + s.startupTimeout()
            + "; check the brokers' health, or raise startupTimeout");
  }

  private static void probe(
      Admin admin, String topic, long deadline, CompletableFuture<Integer> led) {
    if (remaining(deadline) <= 0) {
      led.complete(-1);
      return;
    }
    describe(admin, List.of(topic), deadline)
        .get(topic)
        .whenComplete(
            (d, error) -> {
              if (error == null && !d.partitions().isEmpty() && allLed(d)) {
                led.complete(d.partitions().size());
              } else {
                CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS)
                    .execute(() -> probe(admin, topic, deadline, led));
              }
            });
  }

  private static boolean allLed(TopicDescription d) {
    for (var p : d.partitions()) {
      if (p.leader() == null || p.leader().isEmpty()) {
        return false;
      }
    }
    return true;
  }

  private static long remaining(long deadline) {
    return Math.max(0, deadline - System.nanoTime());
  }

  static StreamingException unreachable(KafkaSettings s, String provider, Throwable cause) {
    return new StreamingException(
        "Kafka provider '"
            + provider
            + "' cannot reach the Kafka cluster at bootstrapServers '"
            + s.bootstrapServers()
            + "' within startupTimeout "
            + s.startupTimeout()
            + ". Check that the brokers are running and reachable from this host (host names,"
            + " ports, firewalls, security.protocol), or raise startupTimeout. Cause: "
            + cause,
        cause);
  }
}
