package dev.tributary.examples.pekko;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tributary.StreamRuntime;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.kafka.TopicConfig;
import dev.tributary.pekko.PekkoRuntime;
import dev.tributary.pekko.ShardedEntities;
import dev.tributary.spi.QueueId;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;

/**
 * Orders from Kafka to one cluster-sharded Pekko actor per customer, on a two-node Pekko cluster.
 *
 * <p>Starts a local Kafka broker unless {@code --bootstrap-servers} is given, forms a cluster of
 * two actor systems in this JVM on loopback, and gives each node a Tributary runtime in one
 * consumer group feeding {@link ShardedEntities}: each customer's {@link CustomerActor} lives on
 * the node whose consumer owns the customer's partition, so every order is a local ask. It writes
 * orders with a plain {@link KafkaProducer}, prints live figures per node, makes node-2 leave the
 * cluster gracefully half-way (its partitions and customers move to node-1), and ends by checking
 * that every order reached its customer once and in order.
 *
 * <pre>
 * mvn -B -q -pl examples/pekko-orders -am package -DskipTests -Ppekko-orders
 * mvn ... -Dpekko-orders.args="--bootstrap-servers localhost:9092 --orders 200000 --stay"
 * </pre>
 */
public final class PekkoOrders {
  private PekkoOrders() {}

  /** Loopback cluster nodes with a free port each, short intervals, Java serialization. */
  static final String CLUSTER_CONFIG =
      """
      pekko.loglevel = WARNING
      pekko.actor.provider = cluster
      pekko.actor.allow-java-serialization = on
      pekko.actor.warn-about-java-serializer-usage = off
      pekko.remote.artery.canonical.hostname = 127.0.0.1
      pekko.remote.artery.canonical.port = 0
      pekko.cluster.jmx.enabled = off
      pekko.cluster.log-info = off
      pekko.cluster.gossip-interval = 200ms
      pekko.cluster.leader-actions-interval = 200ms
      pekko.cluster.distributed-data.gossip-interval = 200ms
      pekko.cluster.sharding.rebalance-interval = 2s
      pekko.cluster.sharding.distributed-data.majority-min-cap = 1
      pekko.cluster.sharding.coordinator-state.write-majority-plus = 0
      pekko.cluster.sharding.coordinator-state.read-majority-plus = 0
      pekko.coordinated-shutdown.phases.service-requests-done.timeout = 30s
      pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off
      pekko.log-dead-letters = 0
      """;

  /** One node of the cluster: its actor system, its customers and its runtime. */
  record Node(
      String name,
      ActorSystem<Void> system,
      ShardedEntities<String, CustomerActor.Command> customers,
      KafkaQueueAdapterFactory kafka) {

    Set<Integer> partitions() {
      Set<Integer> out = new TreeSet<>();
      for (QueueId q : kafka.ownedPartitions()) {
        out.add(q.index());
      }
      return out;
    }
  }

  public static void main(String[] args) throws Exception {
    Options options = Options.parse(args);
    KafkaBroker broker = null;
    String bootstrap = options.bootstrapServers;
    if (bootstrap == null) {
      System.out.println("No --bootstrap-servers given: starting a local Kafka broker ...");
      broker = KafkaBroker.builder().backend("local").build().start();
      bootstrap = broker.bootstrapServers();
    }
    int exit;
    try {
      exit = run(options, bootstrap);
    } finally {
      if (broker != null) {
        broker.close();
      }
    }
    System.exit(exit);
  }

  private static int run(Options options, String bootstrap) throws Exception {
    String topic = "orders-" + Long.toHexString(System.nanoTime());
    String group = "pekko-orders-" + topic;
    System.out.printf(
        "Kafka at %s, topic %s (%d partitions): %,d orders for %,d customers at %,d orders/s%n",
        bootstrap,
        topic,
        options.partitions,
        options.orders,
        options.customers,
        options.ratePerSecond);

    Accounts accounts = new Accounts();
    ActorSystem<Void> system1 = ActorSystem.create(Behaviors.empty(), "orders", clusterConfig());
    ActorSystem<Void> system2 = ActorSystem.create(Behaviors.empty(), "orders", clusterConfig());
    formCluster(system1, system2);
    System.out.println("Pekko cluster up: node-1 and node-2 on 127.0.0.1");
    List<Node> nodes =
        List.of(
            startNode("node-1", system1, bootstrap, group, topic, options.partitions, accounts),
            startNode("node-2", system2, bootstrap, group, topic, options.partitions, accounts));

    ScheduledExecutorService printer = Executors.newSingleThreadScheduledExecutor();
    long start = System.nanoTime();
    long[] last = new long[nodes.size()];
    printer.scheduleAtFixedRate(
        () -> {
          StringBuilder line = new StringBuilder(String.format("  %5.1fs", secondsSince(start)));
          for (int i = 0; i < nodes.size(); i++) {
            Node n = nodes.get(i);
            long d = accounts.delivered(n.name());
            line.append(
                String.format(
                    "  | %s: %,8d orders %,6d/s, partitions %-12s actors started %,5d",
                    n.name(),
                    d,
                    d - last[i],
                    n.partitions().toString().replace(" ", ""),
                    accounts.activations(n.name())));
            last[i] = d;
          }
          System.out.println(line);
        },
        1,
        1,
        TimeUnit.SECONDS);

    long[] expected = new long[options.customers];
    long expectedCents = produce(options, bootstrap, topic, expected, nodes.get(1), start);
    accounts.expect(options.orders);
    System.out.printf(
        "Produced %,d orders in %.1f s; waiting for delivery ...%n",
        options.orders, secondsSince(start));
    boolean complete;
    try {
      accounts.allApplied().get(options.timeoutSeconds, TimeUnit.SECONDS);
      complete = true;
    } catch (TimeoutException e) {
      complete = false;
    }
    double seconds = secondsSince(start);
    printer.shutdownNow();
    // Each node's CoordinatedShutdown closes its runtime (drain, commit) before its actors stop.
    system1.terminate();
    system2.terminate();
    system1.getWhenTerminated().toCompletableFuture().join();
    system2.getWhenTerminated().toCompletableFuture().join();
    return summary(options, accounts, nodes, expected, expectedCents, seconds, complete);
  }

  private static Config clusterConfig() {
    return ConfigFactory.parseString(CLUSTER_CONFIG).withFallback(ConfigFactory.load());
  }

  /** node-1 joins itself, node-2 joins node-1; returns once both are Up. */
  private static void formCluster(ActorSystem<Void> first, ActorSystem<Void> second) {
    Address seed = Cluster.get(first).selfMember().address();
    List<CompletableFuture<Void>> up = new ArrayList<>();
    for (ActorSystem<Void> s : List.of(first, second)) {
      CompletableFuture<Void> f = new CompletableFuture<>();
      org.apache.pekko.cluster.Cluster.get(s.classicSystem())
          .registerOnMemberUp(() -> f.complete(null));
      up.add(f);
      Cluster.get(s).manager().tell(Join.create(seed));
    }
    up.forEach(CompletableFuture::join);
  }

  private static Node startNode(
      String name,
      ActorSystem<Void> system,
      String bootstrapServers,
      String group,
      String topic,
      int partitions,
      Accounts accounts) {
    // tag::readme[]
    ShardedEntities<String, CustomerActor.Command> customers =
        ShardedEntities.<String, CustomerActor.Command>builder(
                system, CustomerActor.Command.class, group) // type key = the group
            .topic(topic, partitions) // shard id = the customer's Kafka partition
            .behavior(entity -> CustomerActor.create(entity.getEntityId(), name, accounts))
            .messageAdapter(
                (order, ctx, replyTo) ->
                    new CustomerActor.OrderPlaced(
                        order, ctx.token().sequenceNumber(), name, replyTo))
            .build();
    KafkaQueueAdapterFactory kafka =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers(bootstrapServers)
            .consumerGroupId(group)
            .topic(
                topic,
                TopicConfig.autoCreate(partitions, (short) 1).withValueSerde(Serdes.String()))
            .partitionOwnershipListener(customers) // shards follow the partitions
            .build();
    PekkoRuntime.bind( // starts it; CoordinatedShutdown closes it before the actors stop
        system,
        StreamRuntime.builder()
            .nodeName(name)
            .addProvider("kafka", kafka)
            .implicitSubscription("kafka", topic, customers) // an actor per customer
            .build());
    // end::readme[]
    return new Node(name, system, customers, kafka);
  }

  /**
   * Writes the orders, each customer's numbered from 0, and makes {@code leaver} leave the cluster
   * when half are written (unless {@code --stay}); returns the revenue.
   */
  private static long produce(
      Options options, String bootstrap, String topic, long[] expected, Node leaver, long start) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.LINGER_MS_CONFIG, "1");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    Random random = new Random(42);
    long cents = 0;
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(p, new StringSerializer(), new StringSerializer())) {
      long pace = 1_000_000_000L / options.ratePerSecond;
      for (int i = 0; i < options.orders; i++) {
        if (i == options.orders / 2 && !options.stay) {
          System.out.printf(
              "  %5.1fs  %s leaves the cluster gracefully: its partitions and customers move to"
                  + " the other node%n",
              secondsSince(start), leaver.name());
          leaver.system().terminate();
        }
        int customer = random.nextInt(options.customers);
        long amount = 100 + random.nextInt(100_000);
        cents += amount;
        String value = expected[customer]++ + " " + amount + " " + System.nanoTime();
        producer.send(new ProducerRecord<>(topic, "customer-" + customer, value));
        if (i % 100 == 99) {
          long ahead = start + (i + 1) * pace - System.nanoTime();
          if (ahead > 0) {
            LockSupport.parkNanos(ahead); // pacing the producer, not waiting for anything
          }
        }
      }
      producer.flush();
    }
    return cents;
  }

  private static int summary(
      Options options,
      Accounts accounts,
      List<Node> nodes,
      long[] expected,
      long expectedCents,
      double seconds,
      boolean complete) {
    long applied = 0;
    long duplicates = 0;
    long gaps = 0;
    long cents = 0;
    List<String> problems = new ArrayList<>();
    int customersWithOrders = 0;
    Map<String, Accounts.Account> all = accounts.accounts();
    for (int c = 0; c < options.customers; c++) {
      if (expected[c] == 0) {
        continue;
      }
      customersWithOrders++;
      Accounts.Account a = all.get("customer-" + c);
      long got = a == null ? 0 : a.orders;
      if (got != expected[c] && problems.size() < 10) {
        problems.add("customer-" + c + ": expected " + expected[c] + " orders, got " + got);
      }
    }
    for (Accounts.Account a : all.values()) {
      applied += a.orders;
      duplicates += a.duplicates;
      gaps += a.gaps;
      cents += a.cents;
    }
    System.out.println();
    System.out.println("Summary");
    System.out.printf("  orders produced        %,12d%n", options.orders);
    System.out.printf(
        "  messages to actors     %,12d  (%,d duplicates)%n", accounts.delivered(), duplicates);
    for (Node n : nodes) {
      System.out.printf(
          "    on %s            %,12d  (%,d customer actors started there)%n",
          n.name(), accounts.delivered(n.name()), accounts.activations(n.name()));
    }
    System.out.printf("  orders applied         %,12d%n", applied);
    System.out.printf("  customers              %,12d / %,d%n", all.size(), customersWithOrders);
    System.out.printf("  out of order or gaps   %,12d%n", gaps);
    System.out.printf("  asks across nodes      %,12d%n", accounts.remote());
    System.out.printf(
        "  revenue                %,12.2f  (expected %,.2f)%n",
        cents / 100.0, expectedCents / 100.0);
    System.out.printf(
        "  throughput             %,12.0f orders/s over %.1f s%n", applied / seconds, seconds);
    System.out.printf(
        "  latency, mean          %12.1f ms  (producer send -> actor)%n",
        accounts.meanLatencyMillis());
    boolean ok =
        complete
            && applied == options.orders
            && gaps == 0
            && cents == expectedCents
            && all.size() == customersWithOrders
            && problems.isEmpty();
    problems.forEach(p -> System.out.println("  PROBLEM " + p));
    System.out.println(
        ok
            ? "OK: every order reached its customer's actor, in order, none lost."
            : "FAILED: see the problems above.");
    return ok ? 0 : 1;
  }

  private static double secondsSince(long start) {
    return (System.nanoTime() - start) / 1e9;
  }

  /** Command-line options. */
  private static final class Options {
    String bootstrapServers;
    int orders = 40_000;
    int customers = 2_000;
    int partitions = 8;
    int ratePerSecond = 2_000;
    int timeoutSeconds = 120;
    boolean stay;

    static Options parse(String[] args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String a = args[i];
        String v = i + 1 < args.length ? args[i + 1] : null;
        switch (a) {
          case "--bootstrap-servers" -> o.bootstrapServers = require(a, v);
          case "--orders" -> o.orders = positive(a, v);
          case "--customers" -> o.customers = positive(a, v);
          case "--partitions" -> o.partitions = positive(a, v);
          case "--rate" -> o.ratePerSecond = positive(a, v);
          case "--timeout-seconds" -> o.timeoutSeconds = positive(a, v);
          case "--stay" -> {
            o.stay = true;
            continue;
          }
          case "--help", "-h" -> {
            System.out.println(
                "options: --bootstrap-servers host:port  --orders N [40000]  --customers N [2000]"
                    + "  --partitions N [8]  --rate orders/s [2000]  --timeout-seconds N [120]"
                    + "  --stay (node-2 does not leave half-way)");
            System.exit(0);
          }
          default -> throw new IllegalArgumentException("unknown option " + a + "; try --help");
        }
        i++;
      }
      return o;
    }

    private static String require(String option, String value) {
      if (value == null || value.isBlank()) {
        throw new IllegalArgumentException(option + " needs a value");
      }
      return value;
    }

    private static int positive(String option, String value) {
      try {
        int n = Integer.parseInt(require(option, value));
        if (n < 1) {
          throw new IllegalArgumentException(option + " was " + n + " but it must be >= 1");
        }
        return n;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(option + " was '" + value + "' but it must be a number");
      }
    }
  }
}
