package dev.tributary.pekko;

import static dev.tributary.pekko.PekkoTestSupport.WAIT;
import static dev.tributary.pekko.PekkoTestSupport.committed;
import static dev.tributary.pekko.PekkoTestSupport.endOffsets;
import static dev.tributary.pekko.PekkoTestSupport.terminate;
import static dev.tributary.pekko.PekkoTestSupport.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.spi.QueueId;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node of a two-node cluster, in a JVM of its own ({@link CrashNode}), is killed with SIGKILL
 * while records flow; the node in this JVM takes its partitions and shards over. Every message
 * either node's entities received is counted: this node's in a {@link ClusterNodes.Journal}, the
 * killed node's from the file it appended each one to before it replied.
 */
class ShardedEntitiesCrashTest {
  private static final Logger log = LoggerFactory.getLogger(ShardedEntitiesCrashTest.class);
  static final KafkaBroker broker = KafkaBroker.shared();
  static final int PARTITIONS = CrashNode.PARTITIONS;
  static final int KEYS = 100;

  @TempDir Path dir;
  private ActorSystem<Void> a;
  private Process b;

  @AfterEach
  void cleanUp() throws InterruptedException {
    if (b != null) {
      b.destroyForcibly();
      b.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS);
    }
    if (a != null) {
      terminate(a);
    }
  }

  @Test
  void aNodeKilledMidStream_theOtherTakesOver_losesNothing_repeatsOnlyWhatFollowsTheLastCommit()
      throws Exception {
    String topic = unique("crash");
    String group = unique("crash-group");
    broker.createTopic(topic, PARTITIONS);
    ClusterNodes.Journal journal = new ClusterNodes.Journal();
    a = ClusterNodes.node("node-a", ClusterNodes.DOWNING);
    ClusterNodes.form(List.of(a));
    // b starts in its own JVM meanwhile: it joins the cluster, then the group, and takes half the
    // partitions and their shards.
    Path deliveries = dir.resolve("node-b.deliveries");
    Path childLog = dir.resolve("node-b.log");
    b = fork(group, topic, ClusterNodes.address(a).toString(), deliveries, childLog);
    ShardedEntities<String, ClusterNodes.Event> entities =
        CrashNode.entities(a, group, topic, "node-a", key -> journal.entity(key, "node-a"));
    KafkaQueueAdapterFactory kafka =
        CrashNode.kafka(broker.bootstrapServers(), group, topic, entities);
    PekkoRuntime.bind(a, CrashNode.runtime(kafka, topic, "node-a", entities));

    Map<String, List<String>> expected;
    Map<String, Long> offsetOf;
    Set<Integer> bPartitions = new TreeSet<>();
    Map<Integer, PekkoTestSupport.Commit> lastCommit = new TreeMap<>();
    Map<String, Integer> aBeforeKill = new HashMap<>();
    List<CrashNode.Delivery> fromB;
    long producedAtKill;
    long killNanos;
    long takeoverNanos;
    try (Feed feed = new Feed(topic)) {
      awaitWhileBLives(
          childLog,
          () -> {
            int owned = kafka.ownedPartitions().size();
            List<CrashNode.Delivery> delivered = CrashNode.read(deliveries);
            if (owned == 0 || owned == PARTITIONS || delivered.size() < 300) {
              return false;
            }
            // ... and b committed some of what it delivered but not all: the kill then comes
            // between two of its commits (most often; its next commit may still slip in first)
            Map<Integer, PekkoTestSupport.Commit> c =
                PekkoTestSupport.commits(broker, group, topic);
            PekkoTestSupport.Commit none = new PekkoTestSupport.Commit(0, new BitSet());
            boolean someCommitted = false;
            boolean someNot = false;
            for (CrashNode.Delivery d : delivered) {
              boolean done =
                  c.getOrDefault(ShardedEntities.partitionOf(d.key(), PARTITIONS), none)
                      .done(d.offset());
              someCommitted |= done;
              someNot |= !done;
            }
            return someCommitted && someNot;
          });

      // SIGKILL: no drain, no commit, no leave. Its last commits are what the group holds for its
      // partitions now: a has not been assigned them (the group waits for b's session to expire).
      Set<Integer> aPartitions = partitions(kafka);
      for (int p = 0; p < PARTITIONS; p++) {
        if (!aPartitions.contains(p)) {
          bPartitions.add(p);
        }
      }
      for (int k = 0; k < KEYS; k++) {
        aBeforeKill.put("k" + k, journal.received("k" + k).size());
      }
      b.destroyForcibly();
      assertThat(b.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
      killNanos = System.nanoTime();
      producedAtKill = feed.produced();
      Map<Integer, PekkoTestSupport.Commit> committedAtKill =
          PekkoTestSupport.commits(broker, group, topic);
      for (int p : bPartitions) {
        lastCommit.put(
            p, committedAtKill.getOrDefault(p, new PekkoTestSupport.Commit(0, new BitSet())));
      }
      assertThat(partitions(kafka)).as("a has not taken b's partitions yet").isEqualTo(aPartitions);
      fromB = CrashNode.read(deliveries);

      // a takes every partition over; records keep flowing for a while after that.
      await().atMost(WAIT).until(() -> kafka.ownedPartitions().size() == PARTITIONS);
      takeoverNanos = System.nanoTime();
      long atTakeover = journal.count();
      await().atMost(WAIT).until(() -> journal.count() >= atTakeover + 1000);
      expected = feed.stop();
      offsetOf = feed.offsets();
    }
    long total = expected.values().stream().mapToLong(List::size).sum();
    assertThat(producedAtKill).as("records flowed through the kill").isLessThan(total);
    Set<String> bValues = new HashSet<>();
    fromB.forEach(d -> bValues.add(d.value()));
    await().atMost(WAIT).until(() -> distinct(journal, bValues) >= total);
    Map<Integer, Long> ends = endOffsets(broker, topic, PARTITIONS);
    await().atMost(WAIT).until(() -> committed(broker, group, topic).equals(ends));

    // Per key: what a delivered before the kill, then what b delivered, is the start of the key's
    // records, in order, none twice. b's last commit says which of them are done (below its offset
    // or listed in its metadata); a delivers every other record after the kill, in order, so the
    // repeats are exactly b's deliveries that its last commit did not cover.
    Map<String, List<CrashNode.Delivery>> bByKey = new HashMap<>();
    for (CrashNode.Delivery d : fromB) {
      assertThat(d.sentBy()).as("b's entity was fed by b's runtime").isEqualTo(CrashNode.NAME);
      bByKey.computeIfAbsent(d.key(), k -> new ArrayList<>()).add(d);
    }
    long repeats = 0;
    for (Map.Entry<String, List<String>> e : expected.entrySet()) {
      String key = e.getKey();
      List<String> want = e.getValue();
      PekkoTestSupport.Commit commit = lastCommit.get(ShardedEntities.partitionOf(key, PARTITIONS));
      List<String> aValues = journal.received(key);
      List<Long> aOffsets = journal.offsets(key);
      int pre = aBeforeKill.getOrDefault(key, 0);
      List<String> first = new ArrayList<>(aValues.subList(0, pre));
      List<Long> firstOffsets = new ArrayList<>(aOffsets.subList(0, pre));
      for (CrashNode.Delivery d : bByKey.getOrDefault(key, List.of())) {
        first.add(d.value());
        firstOffsets.add(d.offset());
      }
      assertThat(first)
          .as("%s: a's deliveries before the kill, then b's", key)
          .isEqualTo(want.subList(0, first.size()));
      List<String> again = new ArrayList<>();
      for (int i = 0; i < first.size(); i++) {
        assertThat(firstOffsets.get(i)).isEqualTo(offsetOf.get(first.get(i)));
        if (commit != null && !commit.done(firstOffsets.get(i))) {
          assertThat(i)
              .as("%s: only b delivered what no commit covers", key)
              .isGreaterThanOrEqualTo(pre);
          again.add(first.get(i));
        }
      }
      List<String> rest = new ArrayList<>(again);
      rest.addAll(want.subList(first.size(), want.size()));
      assertThat(aValues.subList(pre, aValues.size()))
          .as("%s: a's deliveries after the kill: b's uncommitted ones again, then the rest", key)
          .isEqualTo(rest);
      List<Long> after = aOffsets.subList(pre, aOffsets.size());
      for (int i = 1; i < after.size(); i++) {
        assertThat(after.get(i)).isGreaterThan(after.get(i - 1));
      }
      repeats += again.size();
    }
    long messages = journal.count() + fromB.size();
    log.info(
        "crash: {} records ({} produced before the kill), {} messages: {} on a, {} on b; {} repeats,"
            + " all of them a's redeliveries of what b delivered after its last commits {}; a owned"
            + " every partition {} ms after the kill; {} remote deliveries",
        total,
        producedAtKill,
        messages,
        journal.count(),
        fromB.size(),
        repeats,
        lastCommit,
        TimeUnit.NANOSECONDS.toMillis(takeoverNanos - killNanos),
        journal.remote());
    assertThat(bPartitions).isNotEmpty();
    assertThat(fromB).as("b delivered before it was killed").isNotEmpty();
    assertThat(messages).as("messages, repeats included").isEqualTo(total + repeats);
    assertThat(journal.remote()).as("deliveries that crossed the network").isZero();
  }

  /** The distinct records delivered: a's, and b's that a did not deliver again. */
  private static long distinct(ClusterNodes.Journal journal, Set<String> bValues) {
    Set<String> all = new HashSet<>(bValues);
    for (int k = 0; k < KEYS; k++) {
      all.addAll(journal.received("k" + k));
    }
    return all.size();
  }

  private static Set<Integer> partitions(KafkaQueueAdapterFactory kafka) {
    Set<Integer> out = new TreeSet<>();
    for (QueueId q : kafka.ownedPartitions()) {
      out.add(q.index());
    }
    return out;
  }

  /** Starts {@link CrashNode} in a JVM of its own, on this JVM's classpath. */
  private static Process fork(String group, String topic, String seed, Path deliveries, Path out)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx256m");
    command.add("-XX:+UseSerialGC");
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(CrashNode.class.getName());
    command.add(broker.bootstrapServers());
    command.add(group);
    command.add(topic);
    command.add(seed);
    command.add(deliveries.toString());
    command.add(Long.toString(ProcessHandle.current().pid()));
    log.info("forking {} with classpath of {} entries", CrashNode.NAME, classpathEntries());
    return new ProcessBuilder(command)
        .redirectErrorStream(true)
        .redirectOutput(out.toFile())
        .start();
  }

  private static int classpathEntries() {
    return System.getProperty("java.class.path").split(File.pathSeparator).length;
  }

  /** Waits for {@code condition}; fails at once, with the child's output, if the child exited. */
  private void awaitWhileBLives(Path childLog, Callable<Boolean> condition) throws IOException {
    try {
      await().atMost(WAIT).failFast("node-b exited", () -> !b.isAlive()).until(condition);
    } catch (ConditionTimeoutException | org.awaitility.core.TerminalFailureException e) {
      throw new AssertionError(
          "node-b did not get going; its output:\n"
              + Files.readString(childLog, StandardCharsets.UTF_8),
          e);
    }
  }

  /**
   * Writes one record per key every 100 ms with one producer, from the time it is created until
   * {@link #stop}; remembers each key's values in production order.
   */
  private static final class Feed implements AutoCloseable {
    private final String topic;
    private final KafkaProducer<String, String> producer;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    private final Map<String, List<String>> values = new HashMap<>();
    private final Map<String, Long> offsets = new ConcurrentHashMap<>();
    private final AtomicLong produced = new AtomicLong();
    private final AtomicReference<Exception> failure = new AtomicReference<>();
    private int batch;

    Feed(String topic) {
      this.topic = topic;
      Properties p = broker.adminProperties();
      p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
      producer = new KafkaProducer<>(p);
      timer.scheduleAtFixedRate(this::batch, 0, 100, TimeUnit.MILLISECONDS);
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
      produced.addAndGet(KEYS);
    }

    /** The offset of each value; complete once {@link #stop} returned. */
    Map<String, Long> offsets() {
      return offsets;
    }

    long produced() {
      return produced.get();
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
