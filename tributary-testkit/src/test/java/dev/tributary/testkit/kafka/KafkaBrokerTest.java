package dev.tributary.testkit.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

class KafkaBrokerTest {

  @RegisterExtension static KafkaBroker broker = KafkaBroker.create();

  /** SIGKILL is signal 9; Java reports a signalled child as 128 + signal. */
  private static final int KILLED_BY_SIGKILL = 128 + 9;

  @BeforeEach
  void brokerIsUp() {
    // a failed test may have left the broker stopped; start() brings it back
    broker.start();
  }

  @Test
  void recordsSurviveAKillAndClientsReconnectAfterRestart() throws Exception {
    assumeTrue(broker.backend() == KafkaBroker.Backend.LOCAL, "restart needs the local backend");
    String topic = "survives-kill";
    broker.createTopic(topic, 3);
    Map<String, String> sent = records("k", "v", 100);

    try (KafkaProducer<String, String> producer = producer(Map.of())) {
      for (Map.Entry<String, String> record : sent.entrySet()) {
        producer.send(new ProducerRecord<>(topic, record.getKey(), record.getValue()));
      }
      producer.flush();
      assertThat(readAll(topic, sent.size())).isEqualTo(sent);

      String bootstrap = broker.bootstrapServers();
      broker.kill();

      assertThat(broker.isRunning()).isFalse();
      assertThat(broker.lastExitValue()).hasValue(KILLED_BY_SIGKILL);
      try (KafkaProducer<String, String> late =
          producer(Map.of(ProducerConfig.MAX_BLOCK_MS_CONFIG, "1000"))) {
        assertThatThrownBy(() -> late.partitionsFor(topic)).isInstanceOf(TimeoutException.class);
      }

      broker.restart();

      assertThat(broker.isRunning()).isTrue();
      assertThat(broker.bootstrapServers()).isEqualTo(bootstrap);
      assertThat(readAll(topic, sent.size())).isEqualTo(sent);
      // the producer from before the crash reconnects to the same address by itself
      producer.send(new ProducerRecord<>(topic, "after", "restart")).get(30, TimeUnit.SECONDS);
    }
    Map<String, String> expected = new LinkedHashMap<>(sent);
    expected.put("after", "restart");
    assertThat(readAll(topic, expected.size())).isEqualTo(expected);
  }

  @Test
  void gracefulStopKeepsRecordsForRestart() throws Exception {
    assumeTrue(broker.backend() == KafkaBroker.Backend.LOCAL, "restart needs the local backend");
    String topic = "survives-stop";
    broker.createTopic(topic, 1, Map.of("cleanup.policy", "compact"));
    Map<String, String> sent = records("s", "w", 10);
    try (KafkaProducer<String, String> producer = producer(Map.of())) {
      for (Map.Entry<String, String> record : sent.entrySet()) {
        producer.send(new ProducerRecord<>(topic, record.getKey(), record.getValue()));
      }
      producer.flush();
    }

    broker.stop();
    assertThat(broker.isRunning()).isFalse();
    assertThat(broker.lastExitValue()).isPresent();
    assertThat(broker.lastExitValue().getAsInt()).isNotEqualTo(KILLED_BY_SIGKILL);
    broker.restart();

    assertThat(readAll(topic, sent.size())).isEqualTo(sent);
  }

  @Test
  void topicsAreNotCreatedByAccident() {
    try (KafkaProducer<String, String> producer =
        producer(Map.of(ProducerConfig.MAX_BLOCK_MS_CONFIG, "1000"))) {
      assertThatThrownBy(() -> producer.partitionsFor("never-created"))
          .isInstanceOf(TimeoutException.class);
    }
  }

  @Test
  void createTopicRejectsAnExistingTopic() {
    broker.createTopic("twice", 1);
    assertThatThrownBy(() -> broker.createTopic("twice", 1))
        .isInstanceOf(KafkaBrokerException.class)
        .hasMessageContaining("twice");
  }

  @Test
  void externalBackendUsesARunningBrokerButRefusesToManageIt() throws Exception {
    try (KafkaBroker external =
        KafkaBroker.builder().backend("external:" + broker.bootstrapServers()).build()) {
      assertThat(external.backend()).isEqualTo(KafkaBroker.Backend.EXTERNAL);
      external.start();
      assertThat(external.bootstrapServers()).isEqualTo(broker.bootstrapServers());
      external.createTopic("via-external", 2);
      try (var admin = broker.admin()) {
        List<String> partitions =
            admin
                .describeTopics(List.of("via-external"))
                .allTopicNames()
                .get(30, TimeUnit.SECONDS)
                .get("via-external")
                .partitions()
                .stream()
                .map(p -> "p" + p.partition())
                .collect(Collectors.toList());
        assertThat(partitions).containsExactly("p0", "p1");
      }
      assertThatThrownBy(external::kill)
          .isInstanceOf(UnsupportedOperationException.class)
          .hasMessageContaining("kill()")
          .hasMessageContaining("external");
      assertThatThrownBy(external::stop).isInstanceOf(UnsupportedOperationException.class);
      assertThatThrownBy(external::restart).isInstanceOf(UnsupportedOperationException.class);
    }
    assertThat(broker.isRunning()).isTrue();
  }

  @Test
  void lifecycleCallsBeforeStartAreRejected() {
    KafkaBroker unstarted = KafkaBroker.builder().backend("local").build();
    assertThat(unstarted.isRunning()).isFalse();
    assertThatThrownBy(unstarted::bootstrapServers)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("start()");
    assertThatThrownBy(unstarted::kill).isInstanceOf(IllegalStateException.class);
    unstarted.close(); // harmless
  }

  /**
   * The broker must not outlive its JVM even when that JVM is SIGKILLed and no shutdown hook runs.
   */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void brokerDiesWithItsParentJvm() throws Exception {
    assumeTrue(broker.backend() == KafkaBroker.Backend.LOCAL, "only local brokers are forked");
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process parent =
        new ProcessBuilder(
                java.toString(),
                "-Xmx128m",
                "-cp",
                System.getProperty("java.class.path"),
                ParentJvm.class.getName())
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    long brokerPid = -1;
    Path brokerDir = null;
    try {
      try (BufferedReader out =
          new BufferedReader(
              new InputStreamReader(parent.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while (brokerPid < 0 && (line = out.readLine()) != null) {
          if (line.startsWith("BROKER ")) {
            String[] parts = line.split(" ", 3);
            brokerPid = Long.parseLong(parts[1]);
            brokerDir = Path.of(parts[2]);
          }
        }
      }
      assertThat(brokerPid).as("the parent JVM reported its broker").isPositive();
      ProcessHandle brokerProcess = ProcessHandle.of(brokerPid).orElseThrow();
      assertThat(brokerProcess.isAlive()).isTrue();

      parent.destroyForcibly();
      assertThat(parent.waitFor(30, TimeUnit.SECONDS)).isTrue();

      await().atMost(Duration.ofSeconds(15)).until(() -> !brokerProcess.isAlive());
    } finally {
      parent.destroyForcibly();
      if (brokerPid > 0) {
        ProcessHandle.of(brokerPid).ifPresent(ProcessHandle::destroyForcibly);
      }
      deleteRecursively(brokerDir);
    }
  }

  @Test
  void sharedBrokerIsOnePerJvm() {
    KafkaBroker shared = KafkaBroker.shared();
    try {
      assertThat(KafkaBroker.shared()).isSameAs(shared);
      assertThat(shared.isRunning()).isTrue();
      assertThat(shared.bootstrapServers()).isNotEqualTo(broker.bootstrapServers());
    } finally {
      shared.close(); // keeps the machine lean; a later shared() starts a fresh broker
    }
  }

  /** A JVM that starts a broker, reports it and waits to be killed. */
  public static final class ParentJvm {
    public static void main(String[] args) throws Exception {
      KafkaBroker child = KafkaBroker.builder().backend("local").heap("256m").build().start();
      ProcessHandle brokerProcess = ProcessHandle.current().children().findFirst().orElseThrow();
      Path dir = child.logFile().orElseThrow().getParent();
      System.out.println("BROKER " + brokerProcess.pid() + " " + dir);
      System.out.flush();
      new java.util.concurrent.CountDownLatch(1).await();
    }
  }

  // ---------------------------------------------------------------- helpers

  private static Map<String, String> records(String keyPrefix, String valuePrefix, int count) {
    Map<String, String> records = new LinkedHashMap<>();
    IntStream.range(0, count).forEach(i -> records.put(keyPrefix + i, valuePrefix + i));
    return records;
  }

  private static KafkaProducer<String, String> producer(Map<String, String> overrides) {
    Properties props = broker.adminProperties();
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    props.putAll(overrides);
    return new KafkaProducer<>(props);
  }

  /** Reads a topic from the beginning until {@code expected} records arrived; key to value. */
  private static Map<String, String> readAll(String topic, int expected) {
    Properties props = broker.adminProperties();
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
      List<TopicPartition> partitions = new ArrayList<>();
      infos.forEach(info -> partitions.add(new TopicPartition(topic, info.partition())));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      List<ConsumerRecord<String, String>> received = new ArrayList<>();
      await()
          .atMost(Duration.ofSeconds(30))
          .pollInSameThread() // a consumer must not be used by two threads
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(1))
          .until(
              () -> {
                consumer.poll(Duration.ofMillis(200)).forEach(received::add);
                return received.size() >= expected;
              });
      assertThat(received).hasSize(expected);
      Map<String, String> byKey = new LinkedHashMap<>();
      received.forEach(r -> byKey.put(r.key(), r.value()));
      return byKey;
    }
  }

  private static void deleteRecursively(Path root) throws IOException {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    }
  }
}
