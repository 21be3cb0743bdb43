package dev.tributary.benchmarks.e2e;

import com.typesafe.config.ConfigFactory;
import dev.tributary.StreamRuntime;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.pekko.ActorEntities;
import dev.tributary.pekko.PekkoRuntime;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;

/**
 * (b') Tributary + Pekko local entities: the Kafka provider exactly as {@link TributarySystem} sets
 * it up, bound to an actor system with {@link PekkoRuntime}, and an implicit subscription whose
 * observers are {@link ActorEntities}: one typed actor per key, each record an ask (runtime ->
 * supervisor actor -> entity, the entity's {@code StatusReply.ack()} back). The entity checks that
 * its key's sequence numbers arrive 0, 1, 2, ... and replies at once; the difference with (b) is
 * the price of the ask round trip per record.
 *
 * <p>A fresh actor system per run (Pekko's defaults: the default fork-join dispatcher), terminated
 * at the end of the run, which closes the runtime in CoordinatedShutdown.
 */
public final class PekkoEntitiesSystem implements SystemUnderTest {
  private static final String CONFIG =
      """
      pekko.loglevel = WARNING
      pekko.jvm-shutdown-hooks = off
      pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
      pekko.coordinated-shutdown.phases.service-requests-done.timeout = 60s
      pekko.log-dead-letters = 0
      """;

  private final TributarySystem tributary;
  private final BenchOptions options;

  public PekkoEntitiesSystem(BenchKafka kafka, BenchOptions options) {
    this.tributary = new TributarySystem(kafka, options);
    this.options = options;
  }

  @Override
  public String name() {
    return "pekko";
  }

  @Override
  public String describe() {
    return tributary.describe().replace("; implicit subscription, one observer per key", "")
        + "; bound to a Pekko ActorSystem (defaults), ActorEntities: one typed actor per key, each"
        + " record an ask through the supervisor actor, per-key order checked by the actor";
  }

  /** The entity's message: the record's value and where the acknowledgement goes. */
  record Rec(byte[] value, ActorRef<StatusReply<Done>> replyTo) {}

  @Override
  public RunResult run(RunSpec spec) {
    Tally tally =
        new Tally(
            spec.target(),
            spec.latencySamples(),
            spec.perKey() == null ? 0 : Tally.keysWithRecords(spec.perKey()));
    AtomicIntegerArray seen = new AtomicIntegerArray(spec.keys());
    ActorSystem<Void> system =
        ActorSystem.create(Behaviors.empty(), "bench", ConfigFactory.parseString(CONFIG));
    ActorEntities<byte[], Rec> entities =
        ActorEntities.<byte[], Rec>builder(system, "keys")
            .behavior(e -> entity(Records.keyIndex(e.key()), tally, seen, spec.perKey()))
            .messageAdapter((value, ctx, replyTo) -> new Rec(value, replyTo))
            .build();
    String group = BenchKafka.freshGroup(name());
    KafkaQueueAdapterFactory factory = tributary.factory(spec, group, null, false);
    StreamRuntime.Builder rb =
        StreamRuntime.builder()
            .addProvider(
                "kafka",
                factory,
                agents -> {
                  if (options.cacheSize != null) {
                    agents.cacheSize(options.cacheSize);
                  }
                })
            .implicitSubscription("kafka", spec.topic(), entities);
    if (options.runtimeThreads != null) {
      rb.threads(options.runtimeThreads);
    }
    ThreadCpu cpuBefore = ThreadCpu.snapshot();
    long start = System.nanoTime();
    PekkoRuntime.bind(system, rb.build());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (factory.ownedPartitions().size() < spec.partitions()
        && System.nanoTime() - deadline < 0) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
    spec.onReady().run();
    String note = null;
    long last = tally.awaitTarget(spec.timeoutSeconds());
    if (last > 0) {
      System.out.println(
          "                " + ThreadCpu.snapshot().perRecordSince(cpuBefore, spec.target()));
    } else {
      note = "timeout after " + spec.timeoutSeconds() + " s with " + tally.progress();
      last = System.nanoTime();
    }
    // Closes the runtime (drain, commit) in CoordinatedShutdown, then stops the actors.
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().join();
    long errors = tally.orderErrors();
    String firstError = tally.firstError();
    if (spec.perKey() != null) {
      for (int k = 0; k < spec.keys(); k++) {
        if (seen.get(k) != spec.perKey()[k]) {
          errors++;
          if (firstError == null) {
            firstError = "key " + k + ": saw " + seen.get(k) + " of " + spec.perKey()[k];
          }
        }
      }
    }
    if (note == null && firstError != null) {
      note = errors + " errors, first: " + firstError;
    }
    return new RunResult(
        name(),
        Math.max(0, tally.delivered()),
        last - tally.firstNanos(),
        last - start,
        errors,
        note,
        tally.latencies());
  }

  /** The entity of key {@code keyIndex}: checks the sequence, counts, acknowledges. */
  private static Behavior<Rec> entity(
      int keyIndex, Tally tally, AtomicIntegerArray seen, int[] perKey) {
    tally.firstAt(System.nanoTime());
    int expected = perKey == null ? -1 : perKey[keyIndex];
    int[] next = {0};
    return Behaviors.receive(Rec.class)
        .onMessage(
            Rec.class,
            r -> {
              int k = Records.keyIndex(r.value());
              int seq = Records.sequence(r.value());
              if (k != keyIndex || seq != next[0]) {
                tally.orderError(
                    "entity k" + keyIndex + ": expected #" + next[0] + " got k" + k + "#" + seq);
              }
              next[0] = seq + 1;
              seen.set(keyIndex, next[0]);
              tally.counted(r.value());
              if (next[0] == expected) {
                tally.keyDone();
              }
              r.replyTo().tell(StatusReply.ack());
              return Behaviors.same();
            })
        .build();
  }
}
