package dev.tributary.benchmarks.e2e;

import com.typesafe.config.ConfigFactory;
import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.kafka.CommitterSettings;
import org.apache.pekko.kafka.ConsumerMessage.CommittableMessage;
import org.apache.pekko.kafka.ConsumerMessage.CommittableOffset;
import org.apache.pekko.kafka.ConsumerSettings;
import org.apache.pekko.kafka.Subscriptions;
import org.apache.pekko.kafka.javadsl.Committer;
import org.apache.pekko.kafka.javadsl.Consumer;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * The Pekko Connectors Kafka peers, run in a JVM of their own (see {@link ForkedPeerSystem}): its
 * classpath holds the kafka-clients Pekko Connectors was built against instead of the harness's.
 * Reads commands from standard input, one run per line, and answers each with a {@code RESULT} line
 * on standard output; everything else it prints is relayed by the harness. Ends at the end of its
 * input, so it cannot outlive the harness.
 *
 * <p>Two ways a Pekko user consumes a topic:
 *
 * <ul>
 *   <li>{@code partitioned}: {@code Consumer.committablePartitionedSource}, per partition {@code
 *       mapAsync(1)} into the handler and {@code Committer.sink}: records of a partition are
 *       handled one at a time, in order.
 *   <li>{@code ask}: {@code Consumer.committableSource}, {@code mapAsync(n)} with an ask to one
 *       typed actor per key, {@code Committer.sink}. Up to n records are in progress at once, and
 *       records of one key may be among them: the actor starts a record's work as it arrives and
 *       applies the record when the work completes, so a key's records can be applied out of order.
 *       The run counts those reorders, and how many records arrived at their actor while an earlier
 *       one of the same key was still in progress (overlaps).
 * </ul>
 *
 * <p>Command: {@code run MODE TOPIC PARTITIONS KEYS TARGET WORK_NANOS TIMEOUT_S PARALLELISM GROUP
 * PERKEY_FILE|-}. Answer: {@code RESULT records activeNanos wallNanos errors reorders overlaps
 * note|-}.
 */
public final class PekkoConnectorsPeer {
  private static final String CONFIG =
      """
      pekko.loglevel = WARNING
      pekko.log-dead-letters = 0
      pekko.jvm-shutdown-hooks = off
      pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
      """;
  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(60);
  private static final CompletableFuture<Done> DONE =
      CompletableFuture.completedFuture(Done.done());

  private final ActorSystem<Void> system;
  private final Map<String, String> consumerProperties;
  private int runNumber;

  private PekkoConnectorsPeer(Map<String, String> consumerProperties) {
    this.system =
        ActorSystem.create(
            Behaviors.empty(),
            "peer",
            ConfigFactory.parseString(CONFIG).withFallback(ConfigFactory.load()));
    this.consumerProperties = consumerProperties;
  }

  /** {@code args[0]}: a properties file with the consumer configuration all systems share. */
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    try (InputStream in = new FileInputStream(args[0])) {
      p.load(in);
    }
    Map<String, String> props = new HashMap<>();
    p.stringPropertyNames().forEach(k -> props.put(k, p.getProperty(k)));
    PekkoConnectorsPeer peer = new PekkoConnectorsPeer(props);
    System.out.println("READY " + ProcessHandle.current().pid());
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    try {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.startsWith("run ")) {
          String result;
          try {
            result = peer.run(line.substring(4).split(" "));
          } catch (Exception | Error e) {
            e.printStackTrace();
            result = "0 0 0 1 0 0 " + ("failed: " + e).replace(' ', '_');
          }
          System.out.println("RESULT " + result);
        }
      }
    } finally {
      peer.system.terminate();
      peer.system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private String run(String[] a) throws Exception {
    String mode = a[0];
    String topic = a[1];
    int partitions = Integer.parseInt(a[2]);
    int keys = Integer.parseInt(a[3]);
    long target = Long.parseLong(a[4]);
    long work = Long.parseLong(a[5]);
    int timeout = Integer.parseInt(a[6]);
    int parallelism = Integer.parseInt(a[7]);
    String group = a[8];
    int[] perKey = a[9].equals("-") ? null : readPerKey(Path.of(a[9]), keys);
    runNumber++;
    for (int i = 0; i < 2; i++) {
      System.gc(); // as the harness does in its own JVM before each run
      Thread.sleep(50);
    }

    ThreadCpu cpuBefore = ThreadCpu.snapshot();
    Tally tally = new Tally(target, 0, perKey == null ? 0 : Tally.keysWithRecords(perKey));
    long start = System.nanoTime();
    Map<String, String> props = new HashMap<>(consumerProperties);
    props.put("group.id", group);
    ConsumerSettings<byte[], byte[]> settings =
        ConsumerSettings.create(system, new ByteArrayDeserializer(), new ByteArrayDeserializer())
            .withProperties(props);
    CommitterSettings committer = CommitterSettings.create(system);
    Checker checker = new Checker(keys, perKey, tally);
    Consumer.DrainingControl<Done> control;
    ActorRef<EntityMsg>[] entities = null;
    if (mode.equals("partitioned")) {
      control =
          Consumer.committablePartitionedSource(settings, Subscriptions.topics(topic))
              .mapAsyncUnordered(
                  Math.max(partitions, 1),
                  pair ->
                      pair.second()
                          .mapAsync(1, msg -> checker.handle(msg, work))
                          .runWith(Committer.sink(committer), system))
              .toMat(Sink.ignore(), Consumer::createDrainingControl)
              .run(system);
    } else if (mode.equals("ask")) {
      @SuppressWarnings({"unchecked", "rawtypes"})
      ActorRef<EntityMsg>[] refs = new ActorRef[keys];
      entities = refs;
      int run = runNumber;
      control =
          Consumer.committableSource(settings, Subscriptions.topics(topic))
              .mapAsync(
                  parallelism,
                  msg -> {
                    byte[] v = msg.record().value();
                    int k = Records.keyIndex(v);
                    ActorRef<EntityMsg> e = refs[k];
                    if (e == null) {
                      e =
                          system.systemActorOf(
                              Entity.create(k, checker, work), "e" + run + "-" + k, Props.empty());
                      refs[k] = e;
                    }
                    // The entity answers with the offset itself: no continuation on the ask's
                    // stage, which on 2 cores would run on a new thread per record (the common
                    // pool's parallelism is 1; docs/pekko.md, "No thread per ask").
                    return AskPattern.<EntityMsg, CommittableOffset>ask(
                        e, replyTo -> new Process(msg, replyTo), ASK_TIMEOUT, system.scheduler());
                  })
              .toMat(Committer.sink(committer), Consumer::createDrainingControl)
              .run(system);
    } else {
      throw new IllegalArgumentException("mode " + mode);
    }
    String note = null;
    long last = tally.awaitTarget(timeout);
    if (last < 0) {
      note = "timeout after " + timeout + " s with " + tally.progress();
      last = System.nanoTime();
    }
    long records = Math.max(0, Math.min(tally.delivered(), target));
    if (records > 0) {
      System.out.println(
          "                " + ThreadCpu.snapshot().perRecordSince(cpuBefore, records));
    }
    control.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
    if (entities != null) {
      for (ActorRef<EntityMsg> e : entities) {
        if (e != null) {
          e.tell(Stop.INSTANCE);
        }
      }
    }
    long errors = tally.orderErrors();
    String firstError = tally.firstError();
    if (perKey != null) {
      for (int k = 0; k < keys; k++) {
        if (checker.applied.get(k) != perKey[k]) {
          errors++;
          if (firstError == null) {
            firstError = "key " + k + ": saw " + checker.applied.get(k) + " of " + perKey[k];
          }
        }
      }
    }
    if (note == null && firstError != null) {
      note = errors + " errors, first: " + firstError;
    }
    return String.format(
        Locale.ROOT,
        "%d %d %d %d %d %d %s",
        records,
        last - tally.firstNanos(),
        last - start,
        errors,
        checker.reorders.sum(),
        checker.overlaps.sum(),
        note == null ? "-" : note.replace(' ', '_'));
  }

  private static int[] readPerKey(Path file, int keys) throws IOException {
    String[] parts = Files.readString(file).trim().split(",");
    int[] perKey = new int[keys];
    for (int k = 0; k < keys; k++) {
      perKey[k] = Integer.parseInt(parts[k]);
    }
    return perKey;
  }

  /**
   * The handler both peers call: decodes the record as the raw loop does (key to a String, value
   * header) and applies it, checking its key's order. In {@code partitioned} mode a partition's
   * records reach it one at a time, so an out-of-order record is a bug ({@code orderError}); in
   * {@code ask} mode an actor applies a record when its work completes, and a record applied after
   * a later one of its key is a reorder, counted, not an error.
   */
  static final class Checker {
    final AtomicIntegerArray applied;
    final AtomicIntegerArray highest;
    final int[] perKey;
    final Tally tally;
    final LongAdder reorders = new LongAdder();
    final LongAdder overlaps = new LongAdder();

    Checker(int keys, int[] perKey, Tally tally) {
      this.applied = new AtomicIntegerArray(keys);
      this.highest = new AtomicIntegerArray(keys);
      this.perKey = perKey;
      this.tally = tally;
      for (int k = 0; k < keys; k++) {
        highest.set(k, -1);
      }
    }

    /** Partitioned mode: checks and applies, then completes after the work. */
    CompletionStage<CommittableOffset> handle(CommittableMessage<byte[], byte[]> msg, long work) {
      apply(msg.record().key(), msg.record().value(), true);
      CompletionStage<Done> done = work == 0 ? DONE : delay(work);
      return done.thenApply(d -> msg.committableOffset());
    }

    /**
     * Applies one record; {@code strict}: a record out of order is an error, else one applied after
     * a later record of its key is counted as a reorder (completeness is checked at the end).
     */
    void apply(byte[] keyBytes, byte[] v, boolean strict) {
      String key = new String(keyBytes, StandardCharsets.UTF_8);
      int k = Records.keyIndex(v);
      int seq = Records.sequence(v);
      int high = highest.get(k);
      if (k != Records.keyIndex(key)) {
        tally.orderError("key " + key + " carries the value of key " + k);
      }
      if (strict && seq != high + 1) {
        tally.orderError("key " + k + ": expected " + (high + 1) + " got " + seq);
      } else if (seq < high) {
        reorders.increment();
      }
      if (seq > high) {
        highest.set(k, seq);
      }
      int n = applied.incrementAndGet(k);
      tally.delivered(v);
      if (perKey != null && n == perKey[k]) {
        tally.keyDone();
      }
    }
  }

  static CompletionStage<Done> delay(long nanos) {
    CompletableFuture<Done> f = new CompletableFuture<>();
    WorkTimer.get().schedule(() -> f.complete(Done.done()), nanos, TimeUnit.NANOSECONDS);
    return f;
  }

  /** What an entity actor receives. */
  sealed interface EntityMsg permits Process, Finished, Stop {}

  /** A record to handle, asked by the stream. */
  record Process(CommittableMessage<byte[], byte[]> msg, ActorRef<CommittableOffset> replyTo)
      implements EntityMsg {}

  /** A record's work completed: apply it and answer the ask. */
  record Finished(CommittableMessage<byte[], byte[]> msg, ActorRef<CommittableOffset> replyTo)
      implements EntityMsg {}

  /** The run is over. */
  enum Stop implements EntityMsg {
    INSTANCE
  }

  /**
   * One actor per key, as an actor user would write it for I/O-bound work: it does not block its
   * dispatcher thread, it starts a record's work and takes the next message; the record is applied
   * when its work completes ({@code pipeToSelf}). With no work it applies at once.
   */
  static final class Entity {
    private Entity() {}

    static Behavior<EntityMsg> create(int key, Checker checker, long work) {
      return Behaviors.setup(
          ctx -> {
            int[] inProgress = new int[1];
            return Behaviors.receive(EntityMsg.class)
                .onMessage(
                    Process.class,
                    p -> {
                      if (work == 0) {
                        checker.apply(p.msg().record().key(), p.msg().record().value(), false);
                        p.replyTo().tell(p.msg().committableOffset());
                        return Behaviors.same();
                      }
                      if (inProgress[0] > 0) {
                        checker.overlaps.increment();
                      }
                      inProgress[0]++;
                      ctx.pipeToSelf(delay(work), (d, err) -> new Finished(p.msg(), p.replyTo()));
                      return Behaviors.same();
                    })
                .onMessage(
                    Finished.class,
                    f -> {
                      inProgress[0]--;
                      checker.apply(f.msg().record().key(), f.msg().record().value(), false);
                      f.replyTo().tell(f.msg().committableOffset());
                      return Behaviors.same();
                    })
                .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
                .build();
          });
    }
  }
}
