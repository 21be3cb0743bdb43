package dev.tributary.chaos;

import dev.tributary.testkit.kafka.ClientLink;
import dev.tributary.testkit.kafka.LocalKafkaCluster;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one chaos run: a local cluster of one or three brokers (forked {@code kafka.Kafka} JVMs), a
 * producer, node JVMs in one consumer group, each reaching the brokers through a client link of its
 * own (proxies the runner can impair), and the seeded fault schedule; then heals everything, waits
 * until every produced record was resolved (or the settle time-out passed), closes the nodes and
 * checks the ledgers.
 */
final class ChaosRunner {

  private static final Logger LOG = LoggerFactory.getLogger(ChaosRunner.class);

  private final ChaosConfig config;
  private final Random targets;
  private final List<NodeProcess> live = new ArrayList<>();
  private final List<CompletableFuture<Void>> closing = new ArrayList<>();
  private final ExecutorService closer =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "chaos-node-closer");
            t.setDaemon(true);
            return t;
          });
  private final String topic;
  private final String dlt;
  private final String group;
  private final String run;
  private final NodeProcess[] linkHolders = new NodeProcess[ChaosConfig.LINKS];

  /** Ends of timed faults (a broker restart, a latency's or a partition's end), soonest first. */
  private final PriorityQueue<Timed> timed =
      new PriorityQueue<>(Comparator.comparingLong(Timed::atNanos));

  private LocalKafkaCluster broker;

  /**
   * The broker restart under way, on a thread of its own so that the schedule goes on meanwhile (a
   * restart of a cluster member waits until its replicas are in sync again).
   */
  private volatile CompletableFuture<Void> brokerRestart = CompletableFuture.completedFuture(null);

  private LedgerWriter faults;
  private int nodeCount;

  /** An action due at {@code atNanos} (System.nanoTime). */
  private record Timed(long atNanos, Runnable action) {}

  ChaosRunner(ChaosConfig config) {
    this.config = config;
    this.targets = new Random(config.seed() * 31 + 7);
    this.topic = "chaos-" + config.seed();
    this.dlt = topic + "-dlt";
    this.group = "chaos-group-" + config.seed();
    this.run = "seed-" + config.seed() + "-" + System.currentTimeMillis();
  }

  /** Runs the schedule and returns the checker's report. */
  Report run() {
    try {
      Files.createDirectories(config.dir());
      // A run directory reused (CI's fixed one) must not add a previous run's lines to this one's.
      try (Stream<Path> old = Files.list(config.dir())) {
        for (Path p : old.filter(Files::isRegularFile).toList()) {
          Files.delete(p);
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    FaultSchedule schedule =
        FaultSchedule.generate(
            config.seed(),
            config.duration().toMillis(),
            config.faultsPerKind(),
            config.kinds(),
            config.sessionTimeoutMs());
    LOG.info(
        "chaos run {}: seed {}, {} s, {} faults, ledgers in {}",
        run,
        config.seed(),
        config.duration().toSeconds(),
        schedule.entries().size(),
        config.dir());
    broker =
        LocalKafkaCluster.builder()
            .brokers(config.brokers())
            .clientLinks(ChaosConfig.LINKS)
            .heap(config.brokers() > 1 ? "256m" : "384m")
            .build();
    faults = new LedgerWriter(config.dir().resolve("faults.ledger"));
    try {
      broker.start();
      broker.createTopic(topic, config.partitions());
      broker.createTopic(dlt, 1);
      for (int i = 0; i < config.initialNodes(); i++) {
        startNode("INITIAL_START");
      }
      awaitCondition(
          "the initial nodes to start",
          Duration.ofSeconds(90),
          () -> live.stream().allMatch(NodeProcess::isReady));
      try (ChaosProducer producer =
          new ChaosProducer(
              broker.bootstrapServers(),
              topic,
              config.keys(),
              config.ratePerSecond(),
              config.dir())) {
        producer.start();
        long start = System.nanoTime();
        List<FaultSchedule.Entry> pending = new ArrayList<>(schedule.entries());
        while (!pending.isEmpty() || !timed.isEmpty()) {
          long nextFault =
              pending.isEmpty()
                  ? Long.MAX_VALUE
                  : start + TimeUnit.MILLISECONDS.toNanos(pending.get(0).atMs());
          long nextTimed = timed.isEmpty() ? Long.MAX_VALUE : timed.peek().atNanos();
          waitUntil(Math.min(nextFault, nextTimed));
          if (nextTimed <= nextFault) {
            timed.poll().action().run();
          } else {
            apply(pending.remove(0), producer);
          }
        }
        waitUntil(start + config.duration().toNanos());
        producer.stop();
        LOG.info(
            "records: {} sent, {} acknowledged, {} failed",
            producer.sent(),
            producer.acked(),
            producer.failed());
      }
      heal();
      long settleStart = System.nanoTime();
      Report settled = awaitSettled();
      LOG.info(
          "settled in {} ms: lost {}",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - settleStart),
          settled.lost());
      closeAll();
      long end = System.currentTimeMillis();
      faults.close();
      List<Checker.DeadLetter> deadLetters =
          Checker.readDeadLetters(broker.bootstrapServers(), dlt);
      Checker.saveDeadLetters(config.dir(), deadLetters);
      Files.writeString(config.dir().resolve("end.time"), Long.toString(end));
      Report report = Checker.check(config.dir(), deadLetters, config.stallTimeoutMs(), end);
      Files.writeString(config.dir().resolve("report.txt"), report + "\n");
      return report;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      for (NodeProcess n : live) {
        n.kill();
      }
      closer.shutdownNow();
      broker.close();
    }
  }

  /** Applies one fault, and schedules its end if it has one. */
  private void apply(FaultSchedule.Entry e, ChaosProducer producer) {
    switch (e.kind()) {
      case BROKER_KILL -> {
        if (!brokerRestart.isDone() || !broker.allRunning()) {
          record("SKIPPED", "broker", "BROKER_KILL while a broker is down");
          return;
        }
        int index = broker.brokers() == 1 ? 0 : targets.nextInt(broker.brokers());
        record("BROKER_KILL", brokerName(index), "down " + e.durationMs() + " ms");
        broker.kill(index);
        CompletableFuture<Void> restarting = new CompletableFuture<>();
        brokerRestart = restarting;
        after(
            e.durationMs(),
            () ->
                CompletableFuture.runAsync(() -> restartBroker(index), closer)
                    .whenComplete(
                        (v, err) -> {
                          if (err != null) {
                            LOG.error("broker restart failed", err);
                          }
                          restarting.complete(null);
                        }));
      }
      case NODE_KILL -> {
        if (live.size() <= 1) {
          startNode();
          return;
        }
        NodeProcess n = live.remove(targets.nextInt(live.size()));
        record("NODE_KILL", n.name(), "pid " + n.pid());
        n.kill();
      }
      case NODE_CLOSE -> {
        if (live.size() <= 1) {
          startNode();
          return;
        }
        NodeProcess n = live.remove(targets.nextInt(live.size()));
        record("NODE_CLOSE", n.name(), "");
        closing.add(CompletableFuture.runAsync(() -> closeNode(n), closer));
      }
      case NODE_START -> {
        if (live.size() >= config.maxNodes()) {
          record("SKIPPED", "node", "NODE_START at " + live.size() + " nodes");
          return;
        }
        startNode();
      }
      case NET_LATENCY -> {
        NodeProcess n = live.get(targets.nextInt(live.size()));
        ClientLink link = broker.link(n.link());
        record("NET_LATENCY", n.name(), e.value() + " ms each way for " + e.durationMs() + " ms");
        link.latency(Duration.ofMillis(e.value()));
        after(
            e.durationMs(),
            () -> {
              link.latency(Duration.ZERO);
              record("NET_LATENCY_END", n.name(), "");
            });
      }
      case NET_DROP -> {
        NodeProcess n = live.get(targets.nextInt(live.size()));
        ClientLink link = broker.link(n.link());
        record("NET_DROP", n.name(), link.openConnections() + " connections");
        link.dropConnections();
      }
      case NET_PARTITION -> {
        NodeProcess n = live.get(targets.nextInt(live.size()));
        ClientLink link = broker.link(n.link());
        if (link.isPartitioned()) {
          record("SKIPPED", n.name(), "NET_PARTITION while partitioned");
          return;
        }
        record("NET_PARTITION", n.name(), "for " + e.durationMs() + " ms");
        link.partition();
        after(
            e.durationMs(),
            () -> {
              // the link may have passed to a new node meanwhile, whose start healed it
              if (link.isPartitioned()) {
                link.heal();
                record("NET_HEAL", n.name(), "");
              }
            });
      }
      case ROLLING_RESTART -> rollingRestart();
      case SLOW -> command(e, NodeCommand.slow(e.value(), e.durationMs()));
      case THROW -> command(e, NodeCommand.throwing(e.durationMs()));
      case HOLD -> command(e, NodeCommand.hold(e.durationMs()));
      case POISON -> {
        record("POISON", "producer", e.value() + " records");
        producer.injectPoison((int) e.value());
      }
    }
  }

  private void after(long ms, Runnable action) {
    timed.add(new Timed(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms), action));
  }

  private static String brokerName(int index) {
    return "broker-" + (index + 1);
  }

  /**
   * Closes every live node in turn and starts its replacement on the same client link (so, with
   * static membership, with the same {@code group.instance.id}), waiting until each replacement is
   * ready before the next close: an operator's rolling restart.
   */
  private void rollingRestart() {
    record("ROLLING_RESTART", "all", live.size() + " nodes");
    for (NodeProcess old : List.copyOf(live)) {
      live.remove(old);
      record("ROLLING_CLOSE", old.name(), "link " + old.link());
      closeNode(old);
      NodeProcess fresh = startNode("ROLLING_START", old.link());
      awaitCondition(
          "the replacement of " + old.name() + " to start", Duration.ofSeconds(90), fresh::isReady);
    }
    record("ROLLING_DONE", "all", "");
  }

  private void command(FaultSchedule.Entry e, NodeCommand c) {
    NodeProcess n = live.get(targets.nextInt(live.size()));
    record(e.kind().name(), n.name(), c.line());
    n.send(c);
  }

  private void startNode() {
    startNode("NODE_START");
  }

  private NodeProcess startNode(String kind) {
    for (int link = 0; link < linkHolders.length; link++) {
      if (linkHolders[link] == null || !linkHolders[link].isAlive()) {
        return startNode(kind, link);
      }
    }
    record("SKIPPED", "node", kind + ": every client link is held by a live process");
    return null;
  }

  private NodeProcess startNode(String kind, int link) {
    String name = "node-" + ++nodeCount;
    ClientLink l = broker.link(link);
    l.heal(); // a fault its previous node left behind is not this node's
    List<String> args = new ArrayList<>();
    args.addAll(List.of("--bootstrap", l.bootstrapServers(), "--topic", topic));
    args.addAll(List.of("--dlt", dlt, "--group", group, "--run", run));
    args.addAll(List.of("--stall-timeout-ms", Long.toString(config.stallTimeoutMs())));
    args.addAll(List.of("--drain-timeout-ms", Long.toString(config.drainTimeoutMs())));
    for (String kv : config.nodeConsumerProperties()) {
      args.addAll(List.of("--consumer-prop", kv));
    }
    if (config.staticMembership()) {
      args.addAll(List.of("--consumer-prop", "group.instance.id=chaos-member-" + link));
    }
    NodeProcess n = NodeProcess.start(name, link, config.dir(), args);
    linkHolders[link] = n;
    record(kind, name, "pid " + n.pid() + " link " + link);
    live.add(n);
    return n;
  }

  private void closeNode(NodeProcess n) {
    boolean ok = n.close(Duration.ofSeconds(60));
    if (ok && n.exitValue() == 0) {
      record("NODE_CLOSED", n.name(), "exit 0");
    } else {
      record("NODE_CLOSE_FAILED", n.name(), ok ? "exit " + n.exitValue() : "did not exit in 60 s");
      LOG.error("{} did not close cleanly; its log:\n{}", n.name(), n.logTail());
      n.kill();
    }
  }

  private void restartBroker(int index) {
    broker.restart(index);
    record("BROKER_RESTART", brokerName(index), "");
  }

  /**
   * Ends every fault: every broker runs, every link is healed, consumer faults are cleared, at
   * least one node lives.
   */
  private void heal() {
    brokerRestart.orTimeout(5, TimeUnit.MINUTES).join();
    for (int i = 0; i < broker.brokers(); i++) {
      if (!broker.isRunning(i)) {
        restartBroker(i);
      }
    }
    for (int i = 0; i < broker.clientLinks(); i++) {
      broker.link(i).heal();
    }
    for (NodeProcess n : live) {
      n.send(NodeCommand.clear());
    }
    if (live.isEmpty()) {
      startNode("HEAL_START");
    }
    record("HEALED", "all", "");
  }

  private Report awaitSettled() {
    long deadline = System.nanoTime() + config.settleTimeout().toNanos();
    Report last;
    while (true) {
      last =
          Checker.check(
              config.dir(),
              Checker.readDeadLetters(broker.bootstrapServers(), dlt),
              config.stallTimeoutMs(),
              System.currentTimeMillis());
      if (last.lost() == 0 || System.nanoTime() > deadline) {
        return last;
      }
      LOG.info("waiting for {} records", last.lost());
      parkMillis(2_000);
    }
  }

  private void closeAll() {
    for (NodeProcess n : live) {
      record("END_CLOSE", n.name(), "end of run");
      closing.add(CompletableFuture.runAsync(() -> closeNode(n), closer));
    }
    live.clear();
    CompletableFuture.allOf(closing.toArray(new CompletableFuture<?>[0]))
        .orTimeout(120, TimeUnit.SECONDS)
        .join();
  }

  private void record(String kind, String target, String detail) {
    LOG.info("fault {} {} {}", kind, target, detail);
    faults.append(Ledger.fault(System.currentTimeMillis(), kind, target, detail));
  }

  /** Waits for a scheduled instant (the schedule's clock, not a synchronisation). */
  private static void waitUntil(long nanos) {
    for (long wait = nanos - System.nanoTime(); wait > 0; wait = nanos - System.nanoTime()) {
      LockSupport.parkNanos(wait);
    }
  }

  private static void parkMillis(long ms) {
    waitUntil(System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms));
  }

  private void awaitCondition(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        StringBuilder logs = new StringBuilder();
        for (NodeProcess n : live) {
          logs.append("\n--- ").append(n.name()).append('\n').append(n.logTail());
        }
        throw new IllegalStateException("timed out waiting for " + what + logs);
      }
      parkMillis(200);
    }
  }
}
