package dev.tributary.chaos;

import dev.tributary.EventMetadata;
import dev.tributary.MetadataStreamObserver;
import dev.tributary.StreamRuntime;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.kafka.PartitionOwnershipListener;
import dev.tributary.kafka.TopicConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * One Tributary node of a chaos run, in a JVM of its own: a runtime with an implicit subscription
 * on the chaos topic whose observer appends every event it processed to this node's ledger, and
 * acknowledges it only once the line is in the file (see {@link LedgerWriter}).
 *
 * <p>It also writes its partition ownership changes ({@code A}, {@code R}, {@code L}), the stall
 * watchdog's gauge changes ({@code S}) and its start and close to the ledger (line formats in
 * {@link Ledger}). It reads commands from stdin, one per line (see {@link NodeCommand}); stdin
 * closing means the runner is gone, and the node halts.
 *
 * <p>Usage: {@code NodeMain --bootstrap B --topic T --dlt D --group G --node N --ledger FILE --run
 * R [--partitions P] [--consumer-prop k=v]... [--stall-timeout-ms MS] [--drain-timeout-ms MS]}.
 */
public final class NodeMain {

  private final String node;
  private final String run;
  private final LedgerWriter ledger;
  private final ScheduledExecutorService scheduler =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "chaos-node-scheduler");
            t.setDaemon(true);
            return t;
          });
  private final Map<Integer, AtomicInteger> epochs = new ConcurrentHashMap<>();
  private final Map<String, Double> stalled = new ConcurrentHashMap<>();

  private volatile long slowUntil;
  private volatile long slowDelayMs;
  private volatile long throwUntil;
  private volatile long holdDurationMs;
  private final AtomicBoolean holdArmed = new AtomicBoolean();

  private NodeMain(String node, String run, LedgerWriter ledger) {
    this.node = node;
    this.run = run;
    this.ledger = ledger;
  }

  /** Starts the node, reads commands until {@code close} or the end of stdin. */
  public static void main(String[] args) throws Exception {
    Args a = Args.parse(args);
    String node = a.required("node");
    String run = a.required("run");
    LedgerWriter ledger = new LedgerWriter(Path.of(a.required("ledger")));
    NodeMain main = new NodeMain(node, run, ledger);
    main.runNode(a);
  }

  private void runNode(Args a) throws Exception {
    String topic = a.required("topic");
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    KafkaQueueAdapterFactory.Builder kafka =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers(a.required("bootstrap"))
            .consumerGroupId(a.required("group"))
            .topic(
                topic, TopicConfig.existing().withValueDeserializer(new ChaosValueDeserializer()))
            .deadLetterTopic(a.required("dlt"))
            .stallTimeout(Duration.ofMillis(Long.parseLong(a.get("stall-timeout-ms", "5000"))))
            .partitionOwnershipListener(new OwnershipLog());
    for (String kv : a.all("consumer-prop")) {
      int eq = kv.indexOf('=');
      kafka.consumerProperty(kv.substring(0, eq), kv.substring(eq + 1));
    }
    Duration drain = Duration.ofMillis(Long.parseLong(a.get("drain-timeout-ms", "5000")));
    StreamRuntime runtime =
        StreamRuntime.builder()
            .nodeName(node)
            .addProvider("kafka", kafka.build(), o -> o.drainTimeout(drain))
            .implicitSubscription("kafka", topic, id -> new LedgerObserver())
            .meterRegistry(registry)
            .threads(2)
            .build();
    runtime.start();
    scheduler.scheduleWithFixedDelay(() -> sampleStalls(registry), 250, 250, TimeUnit.MILLISECONDS);
    ledger.append(Ledger.start(node, run, System.currentTimeMillis())).join();
    System.out.println("READY " + node);
    System.out.flush();

    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      NodeCommand command = NodeCommand.parse(line);
      long now = System.currentTimeMillis();
      switch (command.kind()) {
        case SLOW -> {
          slowDelayMs = command.value();
          slowUntil = now + command.durationMs();
        }
        case THROW -> throwUntil = now + command.durationMs();
        case HOLD -> {
          holdDurationMs = command.durationMs();
          holdArmed.set(true);
        }
        case CLEAR -> {
          slowUntil = 0;
          throwUntil = 0;
          holdArmed.set(false);
        }
        case CLOSE -> {
          runtime.close();
          sampleStalls(registry);
          ledger.append(Ledger.closed(System.currentTimeMillis())).join();
          ledger.close();
          System.out.println("CLOSED " + node);
          System.out.flush();
          System.exit(0);
        }
      }
      System.out.println("OK " + line);
      System.out.flush();
    }
    // The runner is gone (its end of the pipe closed): nobody will read this ledger any more.
    Runtime.getRuntime().halt(3);
  }

  private void sampleStalls(SimpleMeterRegistry registry) {
    for (Gauge g : registry.find("tributary.kafka.partition.stalled").gauges()) {
      String partition = g.getId().getTag("partition");
      double value = g.value();
      Double old = stalled.put(partition, value);
      if (old == null ? value != 0 : old != value) {
        ledger.append(
            Ledger.stall(Integer.parseInt(partition), System.currentTimeMillis(), value != 0));
      }
    }
  }

  /** The ledger's view of the group's assignments. */
  private final class OwnershipLog implements PartitionOwnershipListener {
    @Override
    public CompletionStage<Void> onAssigned(Set<TopicPartition> partitions) {
      long now = System.currentTimeMillis();
      for (TopicPartition tp : partitions) {
        epochs.computeIfAbsent(tp.partition(), p -> new AtomicInteger()).incrementAndGet();
        ledger.append(Ledger.ownership('A', tp.partition(), now));
      }
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public void onRevoked(Set<TopicPartition> partitions) {
      log('R', partitions);
    }

    @Override
    public void onLost(Set<TopicPartition> partitions) {
      log('L', partitions);
    }

    private void log(char kind, Set<TopicPartition> partitions) {
      long now = System.currentTimeMillis();
      for (TopicPartition tp : partitions) {
        ledger.append(Ledger.ownership(kind, tp.partition(), now));
      }
    }
  }

  /**
   * The observer of one stream: applies the consumer fault in force, then writes the delivery and
   * acknowledges once it is written.
   */
  private final class LedgerObserver implements MetadataStreamObserver<String> {
    @Override
    public CompletionStage<Void> onNext(String item, EventMetadata metadata) {
      long call = System.currentTimeMillis();
      String queue = metadata.queue();
      int partition = Integer.parseInt(queue.substring(queue.lastIndexOf('-') + 1));
      long offset = metadata.token().sequenceNumber();
      String key = metadata.streamId().key();
      long seq = ChaosValues.sequence(item);
      int epoch = epochs.computeIfAbsent(partition, p -> new AtomicInteger()).get();
      if (call < throwUntil) {
        return CompletableFuture.failedFuture(
            new IllegalStateException("chaos: the consumer throws for a while"));
      }
      CompletableFuture<Void> work;
      if (holdArmed.compareAndSet(true, false)) {
        ledger.append(Ledger.hold(key, seq, call, holdDurationMs));
        work = after(holdDurationMs);
      } else if (call < slowUntil) {
        work = after(slowDelayMs);
      } else {
        work = CompletableFuture.completedFuture(null);
      }
      return work.thenCompose(
          v ->
              ledger.append(
                  Ledger.delivery(
                      key,
                      seq,
                      partition,
                      offset,
                      node,
                      run,
                      epoch,
                      call,
                      System.currentTimeMillis())));
    }
  }

  private CompletableFuture<Void> after(long ms) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    scheduler.schedule(() -> f.complete(null), ms, TimeUnit.MILLISECONDS);
    return f;
  }

  /** Values are {@code key:seq}; values starting with {@code POISON} cannot be decoded. */
  static final class ChaosValueDeserializer implements Deserializer<String> {
    @Override
    public String deserialize(String topic, byte[] data) {
      String s = new String(data, StandardCharsets.UTF_8);
      if (s.startsWith(ChaosValues.POISON)) {
        throw new IllegalArgumentException("chaos: a poison record: " + s);
      }
      return s;
    }
  }

  /** {@code --name value} arguments; repeated names collect. */
  record Args(Map<String, List<String>> values) {
    static Args parse(String[] args) {
      Map<String, List<String>> m = new ConcurrentHashMap<>();
      for (int i = 0; i < args.length; i++) {
        if (!args[i].startsWith("--") || i + 1 >= args.length) {
          throw new IllegalArgumentException("expected --name value at " + args[i]);
        }
        m.computeIfAbsent(args[i].substring(2), k -> new ArrayList<>()).add(args[++i]);
      }
      return new Args(m);
    }

    String required(String name) {
      List<String> v = values.get(name);
      if (v == null) {
        throw new IllegalArgumentException("--" + name + " is required");
      }
      return v.get(0);
    }

    String get(String name, String otherwise) {
      List<String> v = values.get(name);
      return v == null ? otherwise : v.get(0);
    }

    List<String> all(String name) {
      return values.getOrDefault(name, List.of());
    }
  }
}
