package dev.tributary.chaos;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads every ledger of a run (and the dead-letter topic) and reports what happened to each
 * produced record: see {@link Report} for the figures and {@link #check} for the rules.
 */
final class Checker {

  /** One record as the producer's ledger has it. */
  record Produced(String key, long seq, int partition, long offset, long time, boolean poison) {}

  /** One processed event as a node's ledger has it. */
  record Delivery(
      String key,
      long seq,
      int partition,
      long offset,
      String node,
      int epoch,
      long call,
      long done) {}

  /** An ownership change or stall report of one node. */
  record NodeEvent(String node, char kind, int partition, long time, boolean stalled) {}

  /** A fault the runner applied. */
  record Fault(long time, String kind, String target, String detail) {}

  /** A dead letter: where it came from, why, when it was written. */
  record DeadLetter(int partition, long offset, String reason, long time) {}

  private Checker() {}

  /** Reads the dead-letter topic from its start to its end. */
  static List<DeadLetter> readDeadLetters(String bootstrap, String dlt) {
    Map<String, Object> p = new HashMap<>();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "chaos-checker");
    List<DeadLetter> out = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p)) {
      List<TopicPartition> tps = new ArrayList<>();
      for (PartitionInfo info : c.partitionsFor(dlt, Duration.ofSeconds(30))) {
        tps.add(new TopicPartition(dlt, info.partition()));
      }
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> end = c.endOffsets(tps, Duration.ofSeconds(30));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (tps.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("could not read the dead-letter topic to its end");
        }
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(500))) {
          out.add(
              new DeadLetter(
                  Integer.parseInt(header(r, "tributary.dlt.original.partition")),
                  Long.parseLong(header(r, "tributary.dlt.original.offset")),
                  header(r, "tributary.dlt.reason"),
                  r.timestamp()));
        }
      }
    }
    return out;
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? "" : new String(h.value(), StandardCharsets.UTF_8);
  }

  /** Writes the dead letters to {@code deadletters.ledger}, so that a run can be checked again. */
  static void saveDeadLetters(java.nio.file.Path dir, List<DeadLetter> deadLetters) {
    StringBuilder b = new StringBuilder();
    for (DeadLetter d : deadLetters) {
      b.append("DL\t").append(d.partition()).append('\t').append(d.offset()).append('\t');
      b.append(d.reason()).append('\t').append(d.time()).append('\n');
    }
    try {
      Files.writeString(dir.resolve("deadletters.ledger"), b.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The dead letters {@link #saveDeadLetters} wrote. */
  static List<DeadLetter> loadDeadLetters(java.nio.file.Path dir) {
    List<DeadLetter> out = new ArrayList<>();
    for (String[] l : Ledger.read(dir.resolve("deadletters.ledger"))) {
      out.add(
          new DeadLetter(Integer.parseInt(l[1]), Long.parseLong(l[2]), l[3], Long.parseLong(l[4])));
    }
    return out;
  }

  /** Checks a run directory; {@code deadLetters} come from {@link #readDeadLetters}. */
  static Report check(Path dir, List<DeadLetter> deadLetters, long stallTimeoutMs, long endTime) {
    Map<String, Produced> produced = new HashMap<>();
    int failedSends = 0;
    for (String[] l : Ledger.read(dir.resolve("produced.ledger"))) {
      if (l[0].equals("P")) {
        Produced p =
            new Produced(
                l[1],
                Long.parseLong(l[2]),
                Integer.parseInt(l[3]),
                Long.parseLong(l[4]),
                Long.parseLong(l[5]),
                l[6].equals("1"));
        produced.put(id(p.key(), p.seq()), p);
      } else if (l[0].equals("F")) {
        failedSends++;
      }
    }
    Map<String, List<Delivery>> deliveries = new HashMap<>();
    // per node, partition, epoch and key, in file order: the delivery runs
    Map<String, List<Delivery>> runs = new HashMap<>();
    List<NodeEvent> events = new ArrayList<>();
    long totalDeliveries = 0;
    int nodes = 0;
    for (Path file : nodeLedgers(dir)) {
      nodes++;
      String node = file.getFileName().toString().replace(".ledger", "");
      for (String[] l : Ledger.read(file)) {
        switch (l[0]) {
          case "D" -> {
            Delivery d =
                new Delivery(
                    l[1],
                    Long.parseLong(l[2]),
                    Integer.parseInt(l[3]),
                    Long.parseLong(l[4]),
                    l[5],
                    Integer.parseInt(l[7]),
                    Long.parseLong(l[8]),
                    Long.parseLong(l[9]));
            totalDeliveries++;
            deliveries.computeIfAbsent(id(d.key(), d.seq()), k -> new ArrayList<>()).add(d);
            runs.computeIfAbsent(
                    d.node() + "/" + d.partition() + "/" + d.epoch() + "/" + d.key(),
                    k -> new ArrayList<>())
                .add(d);
          }
          case "A", "R", "L" ->
              events.add(
                  new NodeEvent(
                      node, l[0].charAt(0), Integer.parseInt(l[1]), Long.parseLong(l[2]), false));
          case "S" ->
              events.add(
                  new NodeEvent(
                      node, 'S', Integer.parseInt(l[1]), Long.parseLong(l[2]), l[3].equals("1")));
          default -> {}
        }
      }
    }
    List<Fault> faults = new ArrayList<>();
    Path faultFile = dir.resolve("faults.ledger");
    if (Files.exists(faultFile)) {
      for (String[] l : Ledger.read(faultFile)) {
        faults.add(new Fault(Long.parseLong(l[1]), l[2], l[3], l.length > 4 ? l[4] : ""));
      }
    }
    Map<String, DeadLetter> dltByOffset = new HashMap<>();
    int deadLetterDuplicates = 0;
    for (DeadLetter d : deadLetters) {
      if (dltByOffset.putIfAbsent(d.partition() + "@" + d.offset(), d) != null) {
        deadLetterDuplicates++;
      }
    }

    Report.Builder r = new Report.Builder();
    r.nodes = nodes;
    r.failedSends = failedSends;
    r.totalDeliveries = totalDeliveries;
    r.deadLetterDuplicates = deadLetterDuplicates;
    r.faults = faults;
    Map<Integer, List<long[]>> partitionProgress = new TreeMap<>();
    for (Produced p : produced.values()) {
      r.produced++;
      DeadLetter dl = dltByOffset.get(p.partition() + "@" + p.offset());
      List<Delivery> ds = deliveries.get(id(p.key(), p.seq()));
      long resolved;
      if (p.poison()) {
        r.poison++;
        if (dl != null) {
          r.deadLettered++;
          resolved = dl.time();
        } else {
          r.lost++;
          r.lostExamples(p.toString());
          resolved = endTime;
        }
        if (ds != null) {
          r.poisonDelivered++;
        }
      } else if (ds != null) {
        r.deliveredUnique++;
        resolved = ds.stream().mapToLong(Delivery::done).min().orElseThrow();
        if (dl != null) {
          r.deadLettered++;
        }
      } else if (dl != null) {
        r.deadLettered++;
        resolved = dl.time();
      } else {
        r.lost++;
        r.lostExamples(p.toString());
        resolved = endTime;
      }
      partitionProgress
          .computeIfAbsent(p.partition(), k -> new ArrayList<>())
          .add(new long[] {p.time(), Math.max(p.time(), resolved)});
    }
    for (Map.Entry<String, List<Delivery>> e : deliveries.entrySet()) {
      Produced p = produced.get(e.getKey());
      if (p == null) {
        r.unexpected += e.getValue().size();
        continue;
      }
      List<Delivery> ds = new ArrayList<>(e.getValue());
      ds.sort(Comparator.comparingLong(Delivery::done));
      Delivery first = ds.get(0);
      for (Delivery again : ds.subList(1, ds.size())) {
        r.duplicates++;
        String why = explain(first, again, events, faults);
        r.duplicateReasons.merge(why, 1, Integer::sum);
        if (why.equals("unexplained")) {
          r.unexplainedExamples(first + " then " + again);
        }
      }
    }
    for (List<Delivery> run : runs.values()) {
      for (int i = 1; i < run.size(); i++) {
        if (run.get(i).seq() <= run.get(i - 1).seq()) {
          r.orderViolations++;
          r.orderExamples(run.get(i - 1) + " then " + run.get(i));
        }
      }
    }
    longestStall(r, partitionProgress, events, faults, stallTimeoutMs);
    failovers(r.failoversMs, "NODE_KILL", deliveries, events, faults);
    failovers(r.partitionFailoversMs, "NET_PARTITION", deliveries, events, faults);
    partitionMoves(r, events, faults);
    return r.build();
  }

  /**
   * How long after the runner sent SIGKILL the killed node may still have written to its ledger:
   * the signal is asynchronous. Found when ChaosCiTest seed 23 reported a "duplicate" of an event
   * the node logged 1 ms after the kill was stamped.
   */
  static final long KILL_LANDS_MS = 1_000;

  /**
   * Why {@code again} repeats {@code first}: the first node crashed after delivering it, or lost
   * the partition without a commit after delivering it, or had already released the partition when
   * the event completed (in flight at the hand-over, past the drain timeout). Anything else is
   * unexplained: a graceful hand-over or close commits what was delivered.
   */
  private static String explain(
      Delivery first, Delivery again, List<NodeEvent> events, List<Fault> faults) {
    for (Fault f : faults) {
      // The kill is stamped when SIGKILL is sent; the process runs on until the signal lands, so a
      // line it wrote up to KILL_LANDS_MS after the stamp was still written before its death.
      if (f.kind().equals("NODE_KILL")
          && f.target().equals(first.node())
          && f.time() + KILL_LANDS_MS >= first.done()
          && again.done() >= f.time()
          && !releasedBetween(events, first, f.time())) {
        return "crash of the first node";
      }
    }
    if (fencedRepeat(again, events)) {
      return "repeated by a fenced member that had not yet noticed its loss";
    }
    for (NodeEvent e : events) {
      if (!e.node().equals(first.node()) || e.partition() != first.partition()) {
        continue;
      }
      if (e.kind() == 'L' && e.time() >= first.done()) {
        return "partition lost (fenced) after delivery";
      }
      if (e.kind() == 'R' && e.time() <= first.done() && e.time() >= first.call()) {
        return "in flight at hand-over";
      }
    }
    for (NodeEvent e : events) {
      if (e.node().equals(first.node())
          && e.partition() == first.partition()
          && e.kind() == 'R'
          && e.time() >= first.done()
          && brokerDownAround(e.time(), faults)) {
        return "released while the broker was down (its commit failed)";
      }
    }
    for (NodeEvent e : events) {
      if (e.node().equals(first.node())
          && e.partition() == first.partition()
          && e.kind() == 'R'
          && e.time() >= first.done()
          && partitionedAround(first.node(), e.time(), faults)) {
        return "released while its network was partitioned (its commit failed)";
      }
    }
    return "unexplained";
  }

  /**
   * Whether {@code node} was cut off from the brokers at {@code time}: from a {@code NET_PARTITION}
   * of that node to a few seconds after its {@code NET_HEAL} (or the end).
   */
  private static boolean partitionedAround(String node, long time, List<Fault> faults) {
    long cutAt = -1;
    for (Fault f : faults) {
      if (!f.target().equals(node)) {
        continue;
      }
      if (f.kind().equals("NET_PARTITION")) {
        cutAt = f.time();
      } else if (f.kind().equals("NET_HEAL") && cutAt >= 0) {
        if (time >= cutAt && time <= f.time() + 5_000) {
          return true;
        }
        cutAt = -1;
      }
    }
    return cutAt >= 0 && time >= cutAt;
  }

  /**
   * Whether {@code again} came from a zombie: its node's delivery run of the partition ended in a
   * loss (the next ownership event after the repeat is {@code L}), and another node had been
   * assigned the partition after this node's assignment and before the repeat. That is a member the
   * group had expired (its network was partitioned longer than the session timeout) which delivered
   * from a fetch made after the network came back, before the consumer learned of its expiry:
   * Kafka's classic consumer tells a member it was fenced only at its next heartbeat.
   */
  private static boolean fencedRepeat(Delivery again, List<NodeEvent> events) {
    long assignedAt = Long.MIN_VALUE;
    char next = 0;
    long nextAt = Long.MAX_VALUE;
    for (NodeEvent e : events) {
      if (!e.node().equals(again.node()) || e.partition() != again.partition() || e.kind() == 'S') {
        continue;
      }
      if (e.kind() == 'A' && e.time() <= again.call()) {
        assignedAt = Math.max(assignedAt, e.time());
      }
      if (e.time() >= again.done() && e.time() < nextAt) {
        next = e.kind();
        nextAt = e.time();
      }
    }
    if (next != 'L') {
      return false;
    }
    long since = assignedAt;
    return events.stream()
        .anyMatch(
            e ->
                e.kind() == 'A'
                    && e.partition() == again.partition()
                    && !e.node().equals(again.node())
                    && e.time() > since
                    && e.time() <= again.call());
  }

  /** Whether the first node released the partition after the delivery and before {@code time}. */
  private static boolean releasedBetween(List<NodeEvent> events, Delivery first, long time) {
    for (NodeEvent e : events) {
      if (e.node().equals(first.node())
          && e.partition() == first.partition()
          && (e.kind() == 'R' || e.kind() == 'L')
          && e.time() >= first.done()
          && e.time() <= time) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether {@code time} falls in a broker outage: from a kill to a few seconds after the restart
   * completed, when a commit attempted during the outage times out.
   */
  private static boolean brokerDownAround(long time, List<Fault> faults) {
    long killedAt = -1;
    for (Fault f : faults) {
      if (f.kind().equals("BROKER_KILL")) {
        killedAt = f.time();
      } else if (f.kind().equals("BROKER_RESTART") && killedAt >= 0) {
        if (time >= killedAt && time <= f.time() + 5_000) {
          return true;
        }
        killedAt = -1;
      }
    }
    return killedAt >= 0 && time >= killedAt;
  }

  /** The longest time a partition had records produced and not yet resolved, without progress. */
  private static void longestStall(
      Report.Builder r,
      Map<Integer, List<long[]>> progress,
      List<NodeEvent> events,
      List<Fault> faults,
      long stallTimeoutMs) {
    for (Map.Entry<Integer, List<long[]>> e : progress.entrySet()) {
      List<long[]> marks = new ArrayList<>(); // {time, +1 produced | -1 resolved}
      for (long[] pr : e.getValue()) {
        marks.add(new long[] {pr[0], 1});
        marks.add(new long[] {pr[1], -1});
      }
      // a record produced and resolved at the same instant: production first
      marks.sort(Comparator.<long[]>comparingLong(m -> m[0]).thenComparingLong(m -> -m[1]));
      long lag = 0;
      long since = 0;
      for (long[] m : marks) {
        if (m[1] > 0) {
          if (lag == 0) {
            since = m[0];
          }
          lag++;
        } else {
          long stall = m[0] - since;
          if (stall > r.longestStallMs) {
            r.longestStallMs = stall;
            r.longestStallPartition = e.getKey();
            r.longestStallStart = since;
          }
          lag--;
          since = m[0];
        }
      }
    }
    long start = r.longestStallStart;
    long end = start + r.longestStallMs;
    boolean reported =
        events.stream()
            .anyMatch(
                ev ->
                    ev.kind() == 'S'
                        && ev.stalled()
                        && ev.partition() == r.longestStallPartition
                        && ev.time() >= start
                        && ev.time() <= end + 1000);
    boolean owned = ownedThroughout(events, faults, r.longestStallPartition, start, end);
    boolean cutOff = ownerCutOff(events, faults, r.longestStallPartition, start, end);
    r.watchdog =
        reported
            ? "reported"
            : r.longestStallMs < stallTimeoutMs + 1000
                ? "not expected (shorter than stallTimeout " + stallTimeoutMs + " ms)"
                : cutOff
                    ? "not reported: its owner was cut off from the brokers (NET_PARTITION), so"
                        + " it knew no lag beyond its last fetch"
                    : owned
                        ? "NOT reported although a live node owned the partition"
                        : "not reported: no live node owned the partition (a SIGKILLed member's"
                            + " partitions wait for its session timeout, a closed static member's for"
                            + " its replacement)";
  }

  /**
   * Whether a node that owned the partition when the window began was cut off from the brokers by a
   * {@code NET_PARTITION} during the window. Its stall watchdog measures lag from the high
   * watermark of its last fetch, so it cannot see records produced while it is cut off.
   */
  private static boolean ownerCutOff(
      List<NodeEvent> events, List<Fault> faults, int partition, long start, long end) {
    for (Fault f : faults) {
      if (!f.kind().equals("NET_PARTITION") || f.time() > end) {
        continue;
      }
      long healed =
          faults.stream()
              .filter(h -> h.kind().equals("NET_HEAL") && h.target().equals(f.target()))
              .mapToLong(Fault::time)
              .filter(t -> t >= f.time())
              .min()
              .orElse(Long.MAX_VALUE);
      if (healed >= start && owns(events, f.target(), partition, Math.max(start, f.time()))) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code node}'s last ownership event of {@code partition} before {@code time} is A. */
  private static boolean owns(List<NodeEvent> events, String node, int partition, long time) {
    char last = 0;
    long lastTime = Long.MIN_VALUE;
    for (NodeEvent e : events) {
      if (e.node().equals(node)
          && e.partition() == partition
          && e.kind() != 'S'
          && e.time() <= time
          && e.time() >= lastTime) {
        last = e.kind();
        lastTime = e.time();
      }
    }
    return last == 'A';
  }

  /**
   * Whether some live node had the partition assigned (not released, not killed) during the whole
   * window.
   */
  private static boolean ownedThroughout(
      List<NodeEvent> events, List<Fault> faults, int partition, long start, long end) {
    Map<String, Long> assignedAt = new HashMap<>();
    List<NodeEvent> sorted = new ArrayList<>(events);
    for (Fault f : faults) {
      if (f.kind().equals("NODE_KILL")) {
        // a killed node releases nothing, but owns nothing any more either
        sorted.add(new NodeEvent(f.target(), 'R', partition, f.time(), false));
      }
    }
    sorted.sort(Comparator.comparingLong(NodeEvent::time));
    for (NodeEvent e : sorted) {
      if (e.partition() != partition) {
        continue;
      }
      if (e.kind() == 'A') {
        assignedAt.put(e.node(), e.time());
      } else if (e.kind() == 'R' || e.kind() == 'L') {
        Long a = assignedAt.remove(e.node());
        if (a != null && a <= start && e.time() >= end) {
          return true;
        }
      }
    }
    return assignedAt.values().stream().anyMatch(a -> a <= start);
  }

  /**
   * For each fault of {@code kind} on a node (a SIGKILL, a network partition): the longest time one
   * of the partitions the node owned went without a delivery from another node (or, after a
   * partition, from the node itself once its network was healed).
   */
  private static void failovers(
      List<Long> out,
      String kind,
      Map<String, List<Delivery>> deliveries,
      List<NodeEvent> events,
      List<Fault> faults) {
    Map<Integer, List<Delivery>> byPartition = new HashMap<>();
    for (List<Delivery> ds : deliveries.values()) {
      for (Delivery d : ds) {
        byPartition.computeIfAbsent(d.partition(), k -> new ArrayList<>()).add(d);
      }
    }
    for (Fault f : faults) {
      if (!f.kind().equals(kind)) {
        continue;
      }
      Set<Integer> owned = new HashSet<>();
      events.stream()
          .filter(e -> e.node().equals(f.target()) && e.time() <= f.time() && e.kind() != 'S')
          .sorted(Comparator.comparingLong(NodeEvent::time))
          .forEach(
              e -> {
                if (e.kind() == 'A') {
                  owned.add(e.partition());
                } else {
                  owned.remove(e.partition());
                }
              });
      // A partitioned node that the group did not expire (or that got its partitions back) makes
      // progress again itself once healed: that ends the stall as well.
      long healed =
          kind.equals("NET_PARTITION")
              ? faults.stream()
                  .filter(h -> h.kind().equals("NET_HEAL") && h.target().equals(f.target()))
                  .mapToLong(Fault::time)
                  .filter(t -> t >= f.time())
                  .min()
                  .orElse(Long.MAX_VALUE)
              : Long.MAX_VALUE;
      long worst = -1;
      for (int partition : owned) {
        long next =
            byPartition.getOrDefault(partition, List.of()).stream()
                .filter(
                    d -> (!d.node().equals(f.target()) || d.call() > healed) && d.done() > f.time())
                .mapToLong(Delivery::done)
                .min()
                .orElse(-1);
        if (next > 0) {
          worst = Math.max(worst, next - f.time());
        }
      }
      if (worst >= 0) {
        out.add(worst);
      }
    }
  }

  private static final java.util.regex.Pattern LINK =
      java.util.regex.Pattern.compile("link (\\d+)");

  /**
   * From the start of a rolling restart to the closes at the end of the run: how many partition
   * assignments happened, and how many of them moved a partition to another client link (node slot)
   * than the one that owned it before. With static membership a replacement takes over its
   * predecessor's link and partitions, so nothing should move.
   */
  private static void partitionMoves(Report.Builder r, List<NodeEvent> events, List<Fault> faults) {
    long from =
        faults.stream()
            .filter(f -> f.kind().equals("ROLLING_RESTART"))
            .mapToLong(Fault::time)
            .min()
            .orElse(-1);
    if (from < 0) {
      return;
    }
    // the closes at the end of the run hand partitions around too; they are not the restart's
    long until =
        faults.stream()
            .filter(f -> f.kind().equals("END_CLOSE"))
            .mapToLong(Fault::time)
            .min()
            .orElse(Long.MAX_VALUE);
    Map<String, Integer> linkOf = new HashMap<>();
    for (Fault f : faults) {
      java.util.regex.Matcher m = LINK.matcher(f.detail());
      if (f.kind().endsWith("START") && m.find()) {
        linkOf.put(f.target(), Integer.parseInt(m.group(1)));
      }
    }
    Map<Integer, Integer> ownerLink = new HashMap<>();
    r.rollingAssignments = 0;
    r.rollingMoves = 0;
    List<NodeEvent> sorted = new ArrayList<>(events);
    sorted.sort(Comparator.comparingLong(NodeEvent::time));
    for (NodeEvent e : sorted) {
      if (e.kind() != 'A') {
        continue;
      }
      int link = linkOf.getOrDefault(e.node(), -1);
      Integer before = ownerLink.put(e.partition(), link);
      if (e.time() >= from && e.time() < until) {
        r.rollingAssignments++;
        if (before == null || before != link) {
          r.rollingMoves++;
        }
      }
    }
  }

  private static List<Path> nodeLedgers(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().matches("node-\\d+\\.ledger"))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String id(String key, long seq) {
    return key + "#" + seq;
  }
}
