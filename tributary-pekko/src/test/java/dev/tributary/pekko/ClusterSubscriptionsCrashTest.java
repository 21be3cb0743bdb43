package dev.tributary.pekko;

import static dev.tributary.pekko.PekkoTestSupport.WAIT;
import static dev.tributary.pekko.PekkoTestSupport.terminate;
import static dev.tributary.pekko.PekkoTestSupport.unique;
import static dev.tributary.pekko.SubscriberNodes.PROVIDER;
import static dev.tributary.pekko.SubscriberNodes.values;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.AsyncStream;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Cluster-wide subscriptions through a shared {@code KafkaPubSubStore}, across JVMs and restarts:
 * the node that owns the stream's partition, in a JVM of its own ({@link SubscriberNode}), is
 * SIGKILLed while it delivers to actors on another node, and another node takes the partition and
 * the subscriptions over; and every node of a cluster restarts, and the subscriptions are listed
 * from the store and resumed with new actors by id. Every delivery to every actor is counted,
 * repeats included, and each says which node asked it.
 */
class ClusterSubscriptionsCrashTest {
  private static final Logger log = LoggerFactory.getLogger(ClusterSubscriptionsCrashTest.class);
  static final KafkaBroker broker = KafkaBroker.shared();
  static final int KEYS = 3;

  @TempDir Path dir;
  private final List<ActorSystem<?>> systems = new ArrayList<>();
  private Process forked;

  @AfterEach
  void cleanUp() throws InterruptedException {
    if (forked != null) {
      forked.destroyForcibly();
      forked.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS);
    }
    for (int i = systems.size() - 1; i >= 0; i--) {
      terminate(systems.get(i));
    }
  }

  @Test
  void theOwnerKilledMidStream_anotherNodeTakesOver_theSubscribersOnCLoseNothing()
      throws Exception {
    String topic = unique("subs-crash");
    String group = unique("subs-crash-group");
    String storeTopic = unique("subs-crash-store");
    broker.createTopic(topic, 1);
    String servers = broker.bootstrapServers();
    SubscriberNodes.Failures failures = new SubscriberNodes.Failures();
    SubscriberNodes.Inbox inbox = new SubscriberNodes.Inbox();

    // C forms the cluster (the oldest node, which the split brain resolver keeps), B joins; A
    // joins from its own JVM, reads the topic first and so owns its partition; B reads too and
    // stands by (the cooperative assignor leaves the partition where it is).
    ActorSystem<Void> c = started(SubscriberNodes.node("node-c", ClusterNodes.DOWNING));
    ClusterNodes.form(List.of(c));
    ActorSystem<Void> b = started(SubscriberNodes.node("node-b", ClusterNodes.DOWNING));
    Cluster.get(b).manager().tell(Join.create(ClusterNodes.address(c)));
    awaitUp(c, 2);
    PekkoSubscribers subscribersC = SubscriberNodes.subscribers(c);
    StreamRuntime runtimeC =
        SubscriberNodes.runtime(
            c,
            "node-c",
            SubscriberNodes.kafka(servers, group, topic, 1, false, failures),
            SubscriberNodes.store(servers, storeTopic),
            subscribersC);
    Path childLog = dir.resolve("node-a.log");
    forked = fork(group, topic, storeTopic, ClusterNodes.address(c).toString(), childLog);
    awaitChild(childLog, "READY");
    awaitUp(c, 3);
    KafkaQueueAdapterFactory kafkaB =
        SubscriberNodes.kafka(servers, group, topic, 1, true, failures);
    SubscriberNodes.runtime(
        b,
        "node-b",
        kafkaB,
        SubscriberNodes.store(servers, storeTopic),
        SubscriberNodes.subscribers(b));
    await().atMost(WAIT).until(() -> groupMembers(group) == 2);
    assertThat(kafkaB.ownedPartitions()).as("B stands by").isEmpty();

    Map<String, UUID> subscription = new HashMap<>();
    for (int k = 0; k < KEYS; k++) {
      String key = "k" + k;
      AsyncStream<String> stream = runtimeC.provider(PROVIDER).stream(topic, key);
      ActorRef<StreamDelivery<String>> actor = inbox.spawn(c, "crash-" + key);
      StreamSubscriptionHandle<String> h =
          SubscriberNodes.join(subscribersC.subscribe(stream, actor));
      subscription.put(key, h.subscriptionId());
    }
    Map<String, List<String>> expected;
    Map<String, Long> offsetOf;
    PekkoTestSupport.Commit lastCommit;
    try (Feed feed = new Feed(topic)) {
      await()
          .atMost(WAIT)
          .failFast("node-a exited", () -> !forked.isAlive())
          .until(
              () -> {
                int n = 0;
                for (int k = 0; k < KEYS; k++) {
                  n += inbox.count("crash-k" + k);
                }
                Long committed = PekkoTestSupport.committed(broker, group, topic).get(0);
                return n >= 300 && committed != null && committed > 0;
              });
      forked.destroyForcibly();
      assertThat(forked.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
      // A's last commit: nobody else commits until B is assigned the partition.
      lastCommit =
          PekkoTestSupport.commits(broker, group, topic)
              .getOrDefault(0, new PekkoTestSupport.Commit(0, new BitSet()));
      await().atMost(WAIT).until(() -> kafkaB.ownedPartitions().size() == 1);
      String bAddress = ClusterNodes.address(b).toString();
      await()
          .atMost(WAIT)
          .until(
              () -> {
                int n = 0;
                for (int k = 0; k < KEYS; k++) {
                  n +=
                      inbox.got("crash-k" + k).stream()
                          .filter(g -> g.deliveredFrom().equals(bAddress))
                          .count();
                }
                return n >= 300;
              });
      expected = feed.stop();
      offsetOf = feed.offsets();
    }
    for (Map.Entry<String, List<String>> e : expected.entrySet()) {
      List<String> want = e.getValue();
      inbox.awaitLast("crash-" + e.getKey(), want);
    }

    // Per key: A's deliveries are the start of the key's records, in order, once each; B's are
    // those of A's that A's last commit did not cover, then every record after them, in order,
    // once each; all of A's arrived before any of B's.
    String bAddress = ClusterNodes.address(b).toString();
    long total = 0;
    long repeats = 0;
    long byA = 0;
    for (Map.Entry<String, List<String>> e : expected.entrySet()) {
      String key = e.getKey();
      List<String> want = e.getValue();
      List<SubscriberNodes.Got> got = inbox.got("crash-" + key);
      int firstFromB = 0;
      while (firstFromB < got.size() && !got.get(firstFromB).deliveredFrom().equals(bAddress)) {
        firstFromB++;
      }
      List<SubscriberNodes.Got> a = got.subList(0, firstFromB);
      List<SubscriberNodes.Got> fromB = got.subList(firstFromB, got.size());
      assertThat(fromB)
          .as("%s: after B's first delivery, only B delivers", key)
          .allSatisfy(g -> assertThat(g.deliveredFrom()).isEqualTo(bAddress));
      List<String> aValues = a.stream().map(SubscriberNodes.Got::value).toList();
      assertThat(aValues).as("%s: A's deliveries", key).isEqualTo(want.subList(0, aValues.size()));
      List<String> again = new ArrayList<>();
      for (SubscriberNodes.Got g : a) {
        assertThat(g.offset()).isEqualTo(offsetOf.get(g.value()));
        if (!lastCommit.done(g.offset())) {
          again.add(g.value());
        }
      }
      List<String> rest = new ArrayList<>(again);
      rest.addAll(want.subList(aValues.size(), want.size()));
      assertThat(fromB.stream().map(SubscriberNodes.Got::value).toList())
          .as("%s: B's deliveries: A's uncommitted ones again, then the rest", key)
          .isEqualTo(rest);
      assertThat(got)
          .allSatisfy(g -> assertThat(g.subscriptionId()).isEqualTo(subscription.get(key)));
      total += want.size();
      repeats += again.size();
      byA += a.size();
    }
    long deliveries = 0;
    for (int k = 0; k < KEYS; k++) {
      deliveries += inbox.count("crash-k" + k);
    }
    log.info(
        "owner crash: {} records to {} subscribers on C; {} deliveries ({} asked by A, {} by B);"
            + " {} repeats, all after A's last commit {}",
        total,
        KEYS,
        deliveries,
        byA,
        deliveries - byA,
        repeats,
        lastCommit);
    assertThat(byA).as("A delivered before it was killed").isPositive();
    assertThat(deliveries).as("deliveries, repeats included").isEqualTo(total + repeats);
    assertThat(failures.deliveryFailures).isEmpty();
  }

  @Test
  void allNodesRestart_theSubscriptionsAreListedFromTheStore_andResumedWithNewActorsById()
      throws Exception {
    String topic = unique("subs-restart");
    String group = unique("subs-restart-group");
    String storeTopic = unique("subs-restart-store");
    broker.createTopic(topic, 2);
    String servers = broker.bootstrapServers();
    SubscriberNodes.Failures failures = new SubscriberNodes.Failures();
    SubscriberNodes.Inbox inbox = new SubscriberNodes.Inbox();

    // First life: A reads, the actors live on C.
    ActorSystem<Void> a1 = started(SubscriberNodes.node("node-a", ""));
    ActorSystem<Void> c1 = started(SubscriberNodes.node("node-c", ""));
    ClusterNodes.form(List.of(a1, c1));
    KafkaQueueAdapterFactory kafkaA1 =
        SubscriberNodes.kafka(servers, group, topic, 2, true, failures);
    SubscriberNodes.runtime(
        a1,
        "node-a",
        kafkaA1,
        SubscriberNodes.store(servers, storeTopic),
        SubscriberNodes.subscribers(a1));
    PekkoSubscribers subscribersC1 = SubscriberNodes.subscribers(c1);
    StreamRuntime runtimeC1 =
        SubscriberNodes.runtime(
            c1,
            "node-c",
            SubscriberNodes.kafka(servers, group, topic, 2, false, failures),
            SubscriberNodes.store(servers, storeTopic),
            subscribersC1);
    await().atMost(WAIT).until(() -> kafkaA1.ownedPartitions().size() == 2);
    Map<String, UUID> ids = new HashMap<>();
    Map<String, List<String>> firstLife = new HashMap<>();
    for (int k = 0; k < KEYS; k++) {
      String key = "r" + k;
      AsyncStream<String> stream = runtimeC1.provider(PROVIDER).stream(topic, key);
      ids.put(
          key,
          SubscriberNodes.join(subscribersC1.subscribe(stream, inbox.spawn(c1, "first-" + key)))
              .subscriptionId());
      firstLife.put(key, SubscriberNodes.produce(stream, key, 0, 100));
    }
    for (int k = 0; k < KEYS; k++) {
      inbox.awaitLast("first-r" + k, firstLife.get("r" + k));
    }
    terminate(c1);
    terminate(a1);

    // While every node is down, more records come.
    Map<String, List<String>> secondLife = new HashMap<>();
    Properties p = producerProperties();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      for (int k = 0; k < KEYS; k++) {
        String key = "r" + k;
        List<String> v = values(key, 100, 200);
        for (String value : v) {
          producer.send(new ProducerRecord<>(topic, key, value)).get();
        }
        secondLife.put(key, new ArrayList<>(v));
      }
    }

    // Second life: new systems, new stores reading the same topic. C lists each stream's
    // subscriptions and resumes them at new actors by id, then A starts reading and confirms.
    ActorSystem<Void> a2 = started(SubscriberNodes.node("node-a", ""));
    ActorSystem<Void> c2 = started(SubscriberNodes.node("node-c", ""));
    ClusterNodes.form(List.of(a2, c2));
    PekkoSubscribers subscribersC2 = SubscriberNodes.subscribers(c2);
    StreamRuntime runtimeC2 =
        SubscriberNodes.runtime(
            c2,
            "node-c",
            SubscriberNodes.kafka(servers, group, topic, 2, false, failures),
            SubscriberNodes.store(servers, storeTopic),
            subscribersC2);
    List<java.util.concurrent.CompletableFuture<StreamSubscriptionHandle<String>>> resumed =
        new ArrayList<>();
    for (int k = 0; k < KEYS; k++) {
      String key = "r" + k;
      AsyncStream<String> stream = runtimeC2.provider(PROVIDER).stream(topic, key);
      List<StreamSubscriptionHandle<String>> listed = SubscriberNodes.join(stream.subscriptions());
      assertThat(listed)
          .as("%s: listed from the store", key)
          .singleElement()
          .satisfies(h -> assertThat(h.subscriptionId()).isEqualTo(ids.get(key)))
          .satisfies(h -> assertThat(h.subscriber()).isPresent());
      resumed.add(
          subscribersC2
              .resume(stream, ids.get(key), inbox.spawn(c2, "second-" + key))
              .toCompletableFuture());
    }
    KafkaQueueAdapterFactory kafkaA2 =
        SubscriberNodes.kafka(servers, group, topic, 2, true, failures);
    SubscriberNodes.runtime(
        a2,
        "node-a",
        kafkaA2,
        SubscriberNodes.store(servers, storeTopic),
        SubscriberNodes.subscribers(a2));
    for (int k = 0; k < KEYS; k++) {
      StreamSubscriptionHandle<String> h = SubscriberNodes.join(resumed.get(k));
      assertThat(h.subscriptionId()).isEqualTo(ids.get("r" + k));
    }
    for (int k = 0; k < KEYS; k++) {
      String key = "r" + k;
      secondLife
          .get(key)
          .addAll(
              SubscriberNodes.produce(
                  runtimeC2.provider(PROVIDER).stream(topic, key), key, 200, 300));
      inbox.awaitLast("second-" + key, secondLife.get(key));
    }
    long deliveries = 0;
    for (int k = 0; k < KEYS; k++) {
      String key = "r" + k;
      inbox.assertExactly("first-" + key, firstLife.get(key));
      inbox.assertExactly("second-" + key, secondLife.get(key));
      deliveries += inbox.count("first-" + key) + inbox.count("second-" + key);
    }
    assertThat(deliveries).isEqualTo(KEYS * 300L);
    assertThat(failures.deliveryFailures).isEmpty();
  }

  private ActorSystem<Void> started(ActorSystem<Void> system) {
    systems.add(system);
    return system;
  }

  private static void awaitUp(ActorSystem<?> system, int members) {
    await()
        .atMost(WAIT)
        .until(
            () -> {
              int up = 0;
              for (var m : Cluster.get(system).state().getMembers()) {
                up += m.status() == MemberStatus.up() ? 1 : 0;
              }
              return up == members;
            });
  }

  private static int groupMembers(String group) {
    try (var admin = broker.admin()) {
      return admin.describeConsumerGroups(List.of(group)).all().get().get(group).members().size();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static Properties producerProperties() {
    Properties p = broker.adminProperties();
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
    return p;
  }

  /** Starts {@link SubscriberNode} in a JVM of its own, on this JVM's classpath. */
  private static Process fork(String group, String topic, String storeTopic, String seed, Path out)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    command.add("-XX:+UseSerialGC");
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(SubscriberNode.class.getName());
    command.add(broker.bootstrapServers());
    command.add(group);
    command.add(topic);
    command.add("1");
    command.add(storeTopic);
    command.add(seed);
    command.add(Long.toString(ProcessHandle.current().pid()));
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(out.toFile())
        .start();
  }

  /** Waits for {@code line} in the child's output; fails at once, with it, if the child exited. */
  private void awaitChild(Path childLog, String line) throws IOException {
    try {
      await()
          .atMost(WAIT)
          .failFast("node-a exited", () -> !forked.isAlive())
          .until(
              () ->
                  Files.exists(childLog)
                      && Files.readString(childLog, StandardCharsets.UTF_8).contains(line));
    } catch (ConditionTimeoutException | org.awaitility.core.TerminalFailureException e) {
      throw new AssertionError(
          "node-a did not get going; its output:\n"
              + Files.readString(childLog, StandardCharsets.UTF_8),
          e);
    }
  }

  /**
   * Writes one record per key every 20 ms with one producer until {@link #stop}; remembers each
   * key's values in production order and each value's offset.
   */
  private static final class Feed implements AutoCloseable {
    private final String topic;
    private final KafkaProducer<String, String> producer;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private final Map<String, List<String>> values = new HashMap<>();
    private final Map<String, Long> offsets = new ConcurrentHashMap<>();
    private final AtomicReference<Exception> failure = new AtomicReference<>();
    private int batch;

    Feed(String topic) {
      this.topic = topic;
      producer = new KafkaProducer<>(producerProperties());
      timer.scheduleAtFixedRate(this::batch, 0, 20, TimeUnit.MILLISECONDS);
    }

    private void batch() {
      for (int k = 0; k < KEYS; k++) {
        String key = "k" + k;
        String value = key + ":" + batch;
        producer.send(
            new ProducerRecord<>(topic, key, value),
            (md, e) -> {
              if (e != null) {
                failure.compareAndSet(null, e);
              } else {
                offsets.put(value, md.offset());
              }
            });
        values.computeIfAbsent(key, x -> new ArrayList<>()).add(value);
      }
      batch++;
    }

    Map<String, Long> offsets() {
      return offsets;
    }

    /** Stops producing, waits for every ack and returns the values per key. */
    Map<String, List<String>> stop() throws InterruptedException {
      timer.shutdown();
      assertThat(timer.awaitTermination(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
      producer.flush();
      assertThat(failure.get()).as("producer failure").isNull();
      return values;
    }

    @Override
    public void close() {
      timer.shutdownNow();
      producer.close();
    }
  }
}
