package dev.tributary.examples.quickstart;

import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.kafka.ConsumeMode;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.kafka.TopicConfig;
import dev.tributary.testkit.kafka.KafkaBroker;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Orders from Kafka to one actor per customer.
 *
 * <p>Starts a local Kafka broker unless {@code --bootstrap-servers} is given, writes orders for a
 * few thousand customers with a plain {@link KafkaProducer} (Tributary is not the producer), and
 * consumes them through Tributary: every record key (the customer) is a stream, and an implicit
 * subscription gives each customer its own {@link OrderActor}. It prints live figures while it runs
 * and ends by checking that every order reached its customer, once and in order.
 *
 * <pre>
 * mvn -B -q -pl examples/quickstart -am package -DskipTests -Pquickstart
 * mvn ... -Dquickstart.args="--bootstrap-servers localhost:9092 --orders 500000 --customers 5000"
 * </pre>
 */
public final class Quickstart {
  private Quickstart() {}

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
    System.out.printf(
        "Kafka at %s, topic %s (%d partitions): %,d orders for %,d customers at %,d orders/s%n",
        bootstrap,
        topic,
        options.partitions,
        options.orders,
        options.customers,
        options.ratePerSecond);

    Stats stats = new Stats();
    Map<StreamId, OrderActor> actors = new ConcurrentHashMap<>();
    SimpleMeterRegistry registry = new SimpleMeterRegistry();

    KafkaQueueAdapterFactory factory =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers(bootstrap)
            .consumerGroupId("quickstart-" + topic)
            .consumeMode(ConsumeMode.LAST_COMMITTED_MESSAGE)
            .topic(
                topic,
                TopicConfig.autoCreate(options.partitions, (short) 1)
                    .withValueSerde(Serdes.String()))
            .build();
    StreamRuntime runtime =
        StreamRuntime.builder()
            .addProvider("kafka", factory)
            .implicitSubscription(
                "kafka",
                topic,
                customer -> actors.computeIfAbsent(customer, id -> new OrderActor(id, stats)))
            .meterRegistry(registry)
            .build();
    long startCalled = System.nanoTime();
    runtime.start();
    long startReturned = System.nanoTime();
    long joinDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (factory.ownedPartitions().size() < options.partitions
        && System.nanoTime() < joinDeadline) {
      Thread.sleep(5); // wait for the consumer group to assign the partitions before producing
    }
    long owned = System.nanoTime();
    System.out.printf(
        "Started: start() took %.0f ms, every partition owned %.0f ms after start()%n",
        (startReturned - startCalled) / 1e6, (owned - startCalled) / 1e6);
    System.out.printf(
        "Producing; the first %d s are the warm-up (the JVM compiles the delivery path), the rest"
            + " is steady state%n",
        options.warmupSeconds);

    long[] expected = new long[options.customers];
    long expectedCents = 0;
    ScheduledExecutorService printer = Executors.newSingleThreadScheduledExecutor();
    long start = System.nanoTime();
    long[] last = {0, start};
    long[][] lastLatency = {new long[0]};
    lastLatency[0] = stats.snapshot();
    // the histogram and count at the end of the warm-up, so the summary can show both phases
    long[][] atWarmupEnd = {null};
    long[] deliveredAtWarmupEnd = {0, 0};
    printer.schedule(
        () -> {
          deliveredAtWarmupEnd[0] = stats.delivered();
          deliveredAtWarmupEnd[1] = System.nanoTime();
          atWarmupEnd[0] = stats.snapshot();
        },
        options.warmupSeconds,
        TimeUnit.SECONDS);
    printer.scheduleAtFixedRate(
        () -> {
          long now = System.nanoTime();
          long delivered = stats.delivered();
          double rate = (delivered - last[0]) / ((now - last[1]) / 1e9);
          long[] latency = stats.snapshot();
          double p50 = Stats.percentileMillis(0.50, latency, lastLatency[0]);
          double p99 = Stats.percentileMillis(0.99, latency, lastLatency[0]);
          lastLatency[0] = latency;
          last[0] = delivered;
          last[1] = now;
          System.out.printf(
              "  %5.1fs  delivered %,9d  %,9.0f orders/s  lag %,7d  actors %,5d  last second: p50"
                  + " %5.1f ms  p99 %6.1f ms%s%n",
              (now - start) / 1e9,
              delivered,
              rate,
              lag(registry),
              stats.activations(),
              p50,
              p99,
              now - start <= TimeUnit.SECONDS.toNanos(options.warmupSeconds) + 100_000_000L
                  ? "  (warm-up)"
                  : "");
        },
        1,
        1,
        TimeUnit.SECONDS);

    Properties producerProps = new Properties();
    producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    producerProps.put(ProducerConfig.LINGER_MS_CONFIG, "1");
    producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
    Random random = new Random(42);
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(producerProps, new StringSerializer(), new StringSerializer())) {
      long pace = options.ratePerSecond > 0 ? 1_000_000_000L / options.ratePerSecond : 0;
      for (int i = 0; i < options.orders; i++) {
        int customer = random.nextInt(options.customers);
        long cents = 100 + random.nextInt(100_000);
        expectedCents += cents;
        String value = expected[customer]++ + " " + cents + " " + System.nanoTime();
        producer.send(new ProducerRecord<>(topic, "customer-" + customer, value));
        if (pace > 0 && i % 100 == 99) {
          long ahead = start + (i + 1) * pace - System.nanoTime();
          if (ahead > 0) {
            LockSupport.parkNanos(ahead);
          }
        }
      }
      producer.flush();
    }
    System.out.printf(
        "Produced %,d orders in %.1f s; waiting for delivery ...%n",
        options.orders, (System.nanoTime() - start) / 1e9);

    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(options.timeoutSeconds);
    while (stats.delivered() < options.orders && System.nanoTime() < deadline) {
      Thread.sleep(50); // a demo's wait loop, not test synchronization
    }
    long end = System.nanoTime();
    double seconds = (end - start) / 1e9;
    printer.shutdownNow();
    printer.awaitTermination(5, TimeUnit.SECONDS);
    runtime.close();

    Phases phases =
        new Phases(
            (startReturned - startCalled) / 1e6,
            (owned - startCalled) / 1e6,
            stats.firstDeliveryNanos() == 0
                ? Double.NaN
                : (stats.firstDeliveryNanos() - start) / 1e6,
            atWarmupEnd[0],
            deliveredAtWarmupEnd[0],
            atWarmupEnd[0] == null ? Double.NaN : (end - deliveredAtWarmupEnd[1]) / 1e9);
    return summary(options, topic, stats, actors, expected, expectedCents, seconds, phases);
  }

  private static long lag(SimpleMeterRegistry registry) {
    double lag = 0;
    for (Gauge g : registry.find("tributary.kafka.partition.lag").gauges()) {
      double v = g.value();
      if (!Double.isNaN(v)) {
        lag += v;
      }
    }
    return (long) lag;
  }

  private static int summary(
      Options options,
      String topic,
      Stats stats,
      Map<StreamId, OrderActor> actors,
      long[] expected,
      long expectedCents,
      double seconds,
      Phases phases) {
    long received = 0;
    long outOfOrder = 0;
    long duplicates = 0;
    long cents = 0;
    List<String> problems = new ArrayList<>();
    int customersWithOrders = 0;
    for (int c = 0; c < options.customers; c++) {
      if (expected[c] == 0) {
        continue;
      }
      customersWithOrders++;
      OrderActor actor = actors.get(StreamId.of(topic, "customer-" + c));
      long got = actor == null ? 0 : actor.received();
      if (got != expected[c] && problems.size() < 10) {
        problems.add("customer-" + c + ": expected " + expected[c] + " orders, got " + got);
      }
    }
    for (OrderActor actor : actors.values()) {
      received += actor.received();
      outOfOrder += actor.outOfOrder();
      duplicates += actor.duplicates();
      cents += actor.totalCents();
    }
    System.out.println();
    System.out.println("Summary");
    System.out.printf("  orders produced        %,12d%n", options.orders);
    System.out.printf("  orders delivered       %,12d  (%,d duplicates)%n", received, duplicates);
    System.out.printf("  customers / actors     %,12d / %,d%n", customersWithOrders, actors.size());
    System.out.printf("  out-of-order           %,12d%n", outOfOrder);
    System.out.printf(
        "  revenue                %,12.2f  (expected %,.2f)%n",
        cents / 100.0, expectedCents / 100.0);
    System.out.printf(
        "  throughput             %,12.0f orders/s over %.1f s%n", received / seconds, seconds);
    System.out.println("  start-up");
    System.out.printf(
        "    start()              %8.0f ms; every partition owned after %.0f ms%n",
        phases.startMillis(), phases.ownedMillis());
    System.out.printf(
        "    first order          %8.0f ms from the first send to its actor%n",
        phases.firstDeliveryMillis());
    long[] all = stats.snapshot();
    if (phases.atWarmupEnd() != null) {
      long[] none = new long[all.length];
      System.out.printf(
          "    latency p50 / p99    %8.1f ms / %.1f ms  (first %d s: warm-up)%n",
          Stats.percentileMillis(0.50, phases.atWarmupEnd(), none),
          Stats.percentileMillis(0.99, phases.atWarmupEnd(), none),
          options.warmupSeconds);
      System.out.println("  steady state (after the warm-up)");
      System.out.printf(
          "    latency p50 / p99    %8.1f ms / %.1f ms  (producer send -> actor)%n",
          Stats.percentileMillis(0.50, all, phases.atWarmupEnd()),
          Stats.percentileMillis(0.99, all, phases.atWarmupEnd()));
      System.out.printf(
          "    throughput           %,8.0f orders/s (the producer's pace: %,d orders/s)%n",
          (received - phases.deliveredAtWarmupEnd()) / phases.steadySeconds(),
          options.ratePerSecond);
    }
    System.out.printf(
        "  whole run: latency p50 / p99 %.1f ms / %.1f ms%n",
        stats.percentileMillis(0.50), stats.percentileMillis(0.99));
    boolean ok =
        received == options.orders
            && outOfOrder == 0
            && cents == expectedCents
            && actors.size() == customersWithOrders
            && stats.errors() == 0
            && problems.isEmpty();
    problems.forEach(p -> System.out.println("  PROBLEM " + p));
    System.out.println(
        ok
            ? "OK: every order reached its customer's actor, in order, none lost."
            : "FAILED: see the problems above.");
    return ok ? 0 : 1;
  }

  /**
   * Start-up figures and the split between warm-up and steady state.
   *
   * @param startMillis how long {@code runtime.start()} took
   * @param ownedMillis from {@code start()} until every partition was owned
   * @param firstDeliveryMillis from the first send until the first order reached its actor
   * @param atWarmupEnd the latency histogram at the end of the warm-up, null if the run was shorter
   * @param deliveredAtWarmupEnd orders delivered by then
   * @param steadySeconds from the end of the warm-up to the end of the run
   */
  private record Phases(
      double startMillis,
      double ownedMillis,
      double firstDeliveryMillis,
      long[] atWarmupEnd,
      long deliveredAtWarmupEnd,
      double steadySeconds) {}

  /** Command-line options. */
  private static final class Options {
    String bootstrapServers;
    int orders = 200_000;
    int customers = 5_000;
    int partitions = 8;
    int ratePerSecond = 20_000;
    int timeoutSeconds = 60;
    int warmupSeconds = 5;

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
          case "--warmup-seconds" -> o.warmupSeconds = positive(a, v);
          case "--help", "-h" -> {
            System.out.println(
                "options: --bootstrap-servers host:port  --orders N [200000]  --customers N [5000]"
                    + "  --partitions N [8]  --rate orders/s [20000]  --timeout-seconds N [60]"
                    + "  --warmup-seconds N [5]");
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
