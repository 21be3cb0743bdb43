package dev.tributary.kafka;

import dev.tributary.StreamingException;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.DescribeConfigsOptions;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/**
 * Start-up of the subscription store's topic: the cluster answers, the topic exists (created
 * compacted when missing and allowed) and is compacted. Runs on the store's tail thread and blocks
 * it, at most until the start deadline. A topic this start created is not described again: its
 * configs are the store's, and a broker may not know a topic for a few milliseconds after its
 * creation; the clients wait for its leaders themselves.
 */
final class StoreTopic {

  private StoreTopic() {}

  /**
   * Returns the topic's partition count.
   *
   * @throws IllegalStateException when the topic is missing and may not be created, or is not
   *     compacted
   * @throws StreamingException when the cluster does not answer in time
   */
  static int setUp(Admin admin, StoreSettings s, long deadline) throws InterruptedException {
    try {
      admin
          .describeCluster(new DescribeClusterOptions().timeoutMs(ms(deadline)))
          .clusterId()
          .get(remaining(deadline) + 1_000_000_000L, TimeUnit.NANOSECONDS);
      Optional<TopicDescription> d = describe(admin, s.topic(), deadline);
      if (d.isEmpty()) {
        if (!s.createTopic()) {
          throw new IllegalStateException(
              "subscription store topic '"
                  + s.topic()
                  + "' does not exist and createTopic is false. Create it compacted (for"
                  + " example: kafka-topics.sh --bootstrap-server "
                  + s.bootstrapServers()
                  + " --create --topic "
                  + s.topic()
                  + " --partitions 1 --config cleanup.policy=compact) or set createTopic(true)");
        }
        if (create(admin, s, deadline)) {
          return s.partitions();
        }
        d = describe(admin, s.topic(), deadline);
        if (d.isEmpty()) {
          throw new IllegalStateException(
              "subscription store topic '"
                  + s.topic()
                  + "' was reported as existing when it was created, but cannot be described");
        }
      }
      validate(admin, s, deadline);
      return d.get().partitions().size();
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      if (!(cause instanceof TimeoutException)
          && !(cause instanceof org.apache.kafka.common.errors.TimeoutException)) {
        // The cluster answered, with an error: authorization, an invalid config, and so on.
        throw new StreamingException(
            "subscription store on topic '"
                + s.topic()
                + "' could not be set up at bootstrapServers '"
                + s.bootstrapServers()
                + "': "
                + cause,
            cause);
      }
      throw new StreamingException(
          "subscription store on topic '"
              + s.topic()
              + "' cannot reach the Kafka cluster at bootstrapServers '"
              + s.bootstrapServers()
              + "' within startTimeout "
              + s.startTimeout()
              + ". Check that the brokers are running and reachable, or raise startTimeout."
              + " Cause: "
              + cause,
          cause);
    }
  }

  private static Optional<TopicDescription> describe(Admin admin, String topic, long deadline)
      throws ExecutionException, TimeoutException, InterruptedException {
    try {
      return Optional.of(
          admin
              .describeTopics(List.of(topic), new DescribeTopicsOptions().timeoutMs(ms(deadline)))
              .topicNameValues()
              .get(topic)
              .get(remaining(deadline), TimeUnit.NANOSECONDS));
    } catch (ExecutionException e) {
      if (e.getCause() instanceof UnknownTopicOrPartitionException) {
        return Optional.empty();
      }
      throw e;
    }
  }

  /** Creates the topic; false when another node created it first. */
  private static boolean create(Admin admin, StoreSettings s, long deadline)
      throws ExecutionException, TimeoutException, InterruptedException {
    NewTopic t =
        new NewTopic(
                s.topic(),
                Optional.of(s.partitions()),
                s.replicationFactor() == -1 ? Optional.empty() : Optional.of(s.replicationFactor()))
            .configs(s.topicConfigs());
    try {
      admin.createTopics(List.of(t)).all().get(remaining(deadline), TimeUnit.NANOSECONDS);
      return true;
    } catch (ExecutionException e) {
      if (!(e.getCause() instanceof TopicExistsException)) {
        throw new IllegalStateException(
            "subscription store topic '"
                + s.topic()
                + "' could not be created with "
                + s.partitions()
                + " partitions, replicationFactor "
                + (s.replicationFactor() == -1 ? "broker default" : s.replicationFactor())
                + " and configs "
                + s.topicConfigs()
                + ": "
                + e.getCause(),
            e.getCause());
      }
      // Another node created it at the same time: validated like any existing topic.
      return false;
    }
  }

  /**
   * Checks that the topic keeps the latest record of every key forever: {@code cleanup.policy} must
   * contain {@code compact}, and {@code compact,delete} only without time and size retention, which
   * would delete subscriptions that were simply not written for a while.
   */
  private static void validate(Admin admin, StoreSettings s, long deadline)
      throws ExecutionException, TimeoutException, InterruptedException {
    ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, s.topic());
    Config c =
        admin
            .describeConfigs(List.of(r), new DescribeConfigsOptions().timeoutMs(ms(deadline)))
            .all()
            .get(remaining(deadline), TimeUnit.NANOSECONDS)
            .get(r);
    String policy = value(c, "cleanup.policy", "delete");
    List<String> parts =
        List.of(policy.toLowerCase(Locale.ROOT).replace(" ", "").split(",", -1)).stream()
            .filter(p -> !p.isEmpty())
            .toList();
    String alter =
        "kafka-configs.sh --bootstrap-server "
            + s.bootstrapServers()
            + " --alter --entity-type topics --entity-name "
            + s.topic()
            + " --add-config cleanup.policy=compact";
    if (!parts.contains("compact")) {
      throw new IllegalStateException(
          "subscription store topic '"
              + s.topic()
              + "' has cleanup.policy="
              + policy
              + " but it must be compact: with delete, retention removes subscriptions that"
              + " were not rewritten within retention.ms, and they would be lost after the next"
              + " restart. Make it compacted ("
              + alter
              + ") or configure the store with another topic");
    }
    if (parts.contains("delete")) {
      String retentionMs = value(c, "retention.ms", "604800000");
      String retentionBytes = value(c, "retention.bytes", "-1");
      if (!retentionMs.equals("-1") || !retentionBytes.equals("-1")) {
        throw new IllegalStateException(
            "subscription store topic '"
                + s.topic()
                + "' has cleanup.policy="
                + policy
                + " with retention.ms="
                + retentionMs
                + " and retention.bytes="
                + retentionBytes
                + " but it must be compact only: its delete part would remove subscriptions"
                + " that were not rewritten within the retention. Make it compacted only ("
                + alter
                + ") or set retention.ms=-1 and retention.bytes=-1");
      }
    }
  }

  private static String value(Config c, String name, String absent) {
    ConfigEntry e = c == null ? null : c.get(name);
    return e == null || e.value() == null ? absent : e.value();
  }

  private static int ms(long deadline) {
    return (int)
        Math.max(
            1, Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(remaining(deadline))));
  }

  private static long remaining(long deadline) {
    return Math.max(0, deadline - System.nanoTime());
  }
}
