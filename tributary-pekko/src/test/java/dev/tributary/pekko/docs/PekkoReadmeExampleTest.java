package dev.tributary.pekko.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.tributary.StreamRuntime;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.kafka.TopicConfig;
import dev.tributary.pekko.ActorEntities;
import dev.tributary.pekko.EventContext;
import dev.tributary.pekko.PekkoRuntime;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;

/**
 * Runs the README's Pekko example against a real broker, and checks that the README shows exactly
 * this code.
 */
class PekkoReadmeExampleTest {
  static final KafkaBroker broker = KafkaBroker.shared();

  /** Orders seen per customer, in the order the customer's actor processed them. */
  static final Map<String, List<String>> ORDERS = new ConcurrentHashMap<>();

  /** One actor per customer: the record key of the orders topic. */
  static final class CustomerActor {
    interface Command {}

    record OrderPlaced(String order, EventContext context, ActorRef<StatusReply<Done>> replyTo)
        implements Command {}

    static Behavior<Command> create(String customerId) {
      return Behaviors.receive(Command.class)
          .onMessage(
              OrderPlaced.class,
              placed -> {
                ORDERS.computeIfAbsent(customerId, c -> new ArrayList<>()).add(placed.order());
                placed.replyTo().tell(StatusReply.ack()); // the acknowledgement
                return Behaviors.same();
              })
          .build();
    }
  }

  @Test
  void readmeExampleFeedsEveryOrderToItsCustomersActorInOrder() throws Exception {
    String bootstrapServers = broker.bootstrapServers();
    Config config =
        ConfigFactory.parseString("pekko.coordinated-shutdown.run-by-jvm-shutdown-hook = off");
    // tag::readme[]
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "shop", config);
    ActorEntities<String, CustomerActor.Command> customers =
        ActorEntities.<String, CustomerActor.Command>builder(system, "customers")
            .behavior(entity -> CustomerActor.create(entity.key()))
            .messageAdapter(CustomerActor.OrderPlaced::new) // (order, context, replyTo)
            .build();
    StreamRuntime runtime =
        PekkoRuntime.bind( // starts it; CoordinatedShutdown closes it before the actors stop
            system,
            StreamRuntime.builder()
                .addProvider(
                    "kafka",
                    KafkaQueueAdapterFactory.builder()
                        .bootstrapServers(bootstrapServers)
                        .consumerGroupId("shop")
                        .topic(
                            "orders",
                            TopicConfig.autoCreate(4, (short) 1).withValueSerde(Serdes.String()))
                        .build())
                .implicitSubscription("kafka", "orders", customers) // an actor per record key
                .build());
    // end::readme[]
    produceOrders();
    await().atMost(Duration.ofSeconds(60)).until(() -> total() == 30);
    // tag::terminate[]
    system.terminate(); // closes the runtime (drain, commit), then stops the actors
    // end::terminate[]
    system.getWhenTerminated().toCompletableFuture().join();
    assertThat(runtime.isRunning()).isFalse();
    for (int c = 0; c < 3; c++) {
      List<String> expected = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        expected.add("customer-" + c + ":order-" + i);
      }
      assertThat(ORDERS.get("customer-" + c)).isEqualTo(expected);
    }
  }

  private static int total() {
    return ORDERS.values().stream().mapToInt(List::size).sum();
  }

  private static void produceOrders() throws Exception {
    Properties p = broker.adminProperties();
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(p)) {
      for (int i = 0; i < 10; i++) {
        for (int c = 0; c < 3; c++) {
          String customer = "customer-" + c;
          producer.send(new ProducerRecord<>("orders", customer, customer + ":order-" + i)).get();
        }
      }
    }
  }

  @Test
  void readmeShowsThisExample() throws IOException {
    String source =
        Files.readString(
            Path.of("src/test/java/dev/tributary/pekko/docs/PekkoReadmeExampleTest.java"),
            StandardCharsets.UTF_8);
    String snippet =
        dedent(between(source, "// tag::readme[]\n", "    // end::readme[]"))
            + "// ... each customer's orders reach its actor one at a time, in offset order\n"
            + dedent(between(source, "// tag::terminate[]\n", "    // end::terminate[]"));
    String readme = Files.readString(Path.of("../README.md"), StandardCharsets.UTF_8);
    String shown =
        between(
            readme, "<!-- pekko-example:start -->\n```java\n", "```\n<!-- pekko-example:end -->");
    assertThat(shown)
        .as("README.md's Pekko example must be the code of PekkoReadmeExampleTest between the tags")
        .isEqualTo(snippet);
  }

  private static String between(String text, String start, String end) {
    int s = text.indexOf(start);
    assertThat(s).as("marker %s", start).isNotNegative();
    int e = text.indexOf(end, s + start.length());
    assertThat(e).as("marker %s", end).isNotNegative();
    return text.substring(s + start.length(), e);
  }

  private static String dedent(String block) {
    StringBuilder out = new StringBuilder();
    for (String line : block.split("\n", -1)) {
      out.append(line.startsWith("    ") ? line.substring(4) : line.strip()).append('\n');
    }
    return out.toString().replaceAll("\n+$", "\n");
  }
}
