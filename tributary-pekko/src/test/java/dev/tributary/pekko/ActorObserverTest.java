package dev.tributary.pekko;

import static dev.tributary.pekko.PekkoTestSupport.WAIT;
import static dev.tributary.pekko.PekkoTestSupport.kafka;
import static dev.tributary.pekko.PekkoTestSupport.system;
import static dev.tributary.pekko.PekkoTestSupport.terminate;
import static dev.tributary.pekko.PekkoTestSupport.unique;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.tributary.AsyncStream;
import dev.tributary.StreamEventDeliveryFailureException;
import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** An actor as the observer of an explicit subscription, on a real broker. */
class ActorObserverTest {
  static final KafkaBroker broker = KafkaBroker.shared();

  /** The auditor's messages. */
  interface Msg {}

  record Seen(String value, EventContext context, ActorRef<StatusReply<Done>> replyTo)
      implements Msg {}

  record Failed(Throwable error) implements Msg {}

  enum Completed implements Msg {
    INSTANCE
  }

  private ActorSystem<Void> system;
  private final List<String> seen = Collections.synchronizedList(new ArrayList<>());
  private final List<StreamSequenceToken> tokens = Collections.synchronizedList(new ArrayList<>());
  private final List<Object> signals = Collections.synchronizedList(new ArrayList<>());

  @BeforeEach
  void createSystem() {
    system = system("observers");
  }

  @AfterEach
  void terminateSystem() {
    terminate(system);
  }

  /** Records every event; rejects the values that start with "bad". */
  private Behavior<Msg> auditor(StreamId expectedStream) {
    return Behaviors.receive(
        (ctx, msg) -> {
          if (msg instanceof Seen s) {
            seen.add(s.value());
            assertThat(s.context().streamId()).isEqualTo(expectedStream);
            if (s.value().startsWith("bad")) {
              s.replyTo().tell(StatusReply.error("no " + s.value()));
            } else {
              tokens.add(s.context().token());
              s.replyTo().tell(StatusReply.ack());
            }
          } else {
            signals.add(msg);
          }
          return Behaviors.same();
        });
  }

  private StreamRuntime runtime(KafkaQueueAdapterFactory kafka) {
    return PekkoRuntime.bind(
        system,
        StreamRuntime.builder()
            .nodeName(unique("node"))
            .addProvider(
                "kafka",
                kafka,
                o ->
                    o.maxEventDeliveryTime(Duration.ofMillis(500))
                        .deliveryBackoff(ActorEntitiesTest.FAST_RETRY))
            .threads(2)
            .build());
  }

  @Test
  void anActorSubscribedToAStream_getsEveryLaterEventInOrder_andOnErrorAsAMessage() {
    String topic = unique("explicit");
    broker.createTopic(topic, 2);
    KafkaQueueAdapterFactory kafka = kafka(broker, unique("g"), topic, 2).build();
    StreamRuntime rt = runtime(kafka);
    await().atMost(WAIT).until(() -> kafka.ownedPartitions().size() == 2);
    StreamId id = StreamId.of(topic, "audited");
    AsyncStream<String> stream = rt.provider("kafka").stream(id);
    ActorRef<Msg> auditor =
        system.systemActorOf(auditor(id), "auditor", org.apache.pekko.actor.typed.Props.empty());

    StreamSubscriptionHandle<String> handle =
        ActorObserver.<String, Msg>builder(system, auditor)
            .messageAdapter(Seen::new)
            .errorMessage(Failed::new)
            .completedMessage(Completed.INSTANCE)
            .askTimeout(Duration.ofSeconds(5))
            .subscribe(stream)
            .toCompletableFuture()
            .join();
    assertThat(handle.streamId()).isEqualTo(id);

    List<String> expected = new ArrayList<>();
    List<CompletableFuture<Void>> writes = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      String v = i == 50 ? "bad-50" : "v" + i;
      writes.add(stream.onNext(v).toCompletableFuture());
      if (i != 50) {
        expected.add(v);
      }
    }
    CompletableFuture.allOf(writes.toArray(new CompletableFuture<?>[0])).join();
    await().atMost(WAIT).until(() -> tokens.size() >= 99 && !signals.isEmpty());

    synchronized (seen) {
      List<String> good = seen.stream().filter(v -> !v.startsWith("bad")).toList();
      assertThat(good).as("acknowledged, in order, once each").isEqualTo(expected);
      assertThat(seen.stream().filter(v -> v.startsWith("bad")).count())
          .as("the rejected event was retried within maxEventDeliveryTime")
          .isGreaterThanOrEqualTo(2);
    }
    synchronized (tokens) {
      for (int i = 1; i < tokens.size(); i++) {
        assertThat(tokens.get(i).isNewerThan(tokens.get(i - 1))).isTrue();
      }
    }
    assertThat(signals).hasSize(1);
    assertThat(((Failed) signals.get(0)).error())
        .isInstanceOf(StreamEventDeliveryFailureException.class);

    handle.unsubscribe().toCompletableFuture().join();
    int before = seen.size();
    stream.onNext("after-unsubscribe").toCompletableFuture().join();
    // The subscription is gone: a second subscription sees the next event, the auditor does not.
    TestProbe<Msg> probe = TestProbe.create(system);
    ActorObserver.<String, Msg>builder(system, probe.ref())
        .messageAdapter(Seen::new)
        .subscribe(stream)
        .toCompletableFuture()
        .join();
    stream.onNext("later").toCompletableFuture().join();
    Seen later = probe.expectMessageClass(Seen.class, WAIT);
    assertThat(later.value()).isEqualTo("later");
    later.replyTo().tell(StatusReply.ack());
    assertThat(seen).hasSize(before);
  }

  @Test
  void onCompleted_isToldToTheActor_andTheBuilderChecksItsOptions() {
    TestProbe<Msg> probe = TestProbe.create(system);
    ActorObserver<String, Msg> observer =
        ActorObserver.<String, Msg>builder(system, probe.ref())
            .messageAdapter(Seen::new)
            .completedMessage(Completed.INSTANCE)
            .build(StreamId.of("t", "k"));
    observer.onCompleted();
    probe.expectMessage(Completed.INSTANCE);
    assertThat(observer.streamId()).isEqualTo(StreamId.of("t", "k"));

    assertThatThrownBy(
            () ->
                ActorObserver.<String, Msg>builder(system, probe.ref())
                    .build(StreamId.of("t", "k")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("needs messageAdapter");
    assertThatThrownBy(
            () -> ActorObserver.<String, Msg>builder(system, probe.ref()).askTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("askTimeout was PT0S but it must be at least 1 ms");
  }
}
