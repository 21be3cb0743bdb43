package dev.tributary.pekko;

import static dev.tributary.pekko.PekkoTestSupport.WAIT;
import static dev.tributary.pekko.PekkoTestSupport.terminate;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import dev.tributary.EventMetadata;
import dev.tributary.EventSequenceToken;
import dev.tributary.MetadataStreamObserver;
import dev.tributary.StreamId;
import dev.tributary.SubscriberAddress;
import dev.tributary.SubscriberGoneException;
import dev.tributary.spi.SubscriptionRecord;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link PekkoSubscribers} and {@link StreamDeliverySerializer} in one actor system, Java
 * serialization off: addresses, the ask and its reply, DeathWatch, rejected addresses, the
 * serializer's round trip and its binding from {@code reference.conf}.
 */
class PekkoSubscribersTest {
  static final StreamId STREAM = StreamId.of("orders", "c-1");

  private ActorSystem<Void> system;
  private PekkoSubscribers subscribers;

  @BeforeEach
  void createSystem() {
    system =
        ActorSystem.create(
            Behaviors.empty(),
            "subscribers",
            ConfigFactory.parseString(
                PekkoTestSupport.CONFIG + "pekko.actor.allow-java-serialization = off\n"));
    subscribers = PekkoSubscribers.builder(system).askTimeout(Duration.ofMinutes(1)).build();
  }

  @AfterEach
  void stopSystem() {
    terminate(system);
  }

  static SubscriptionRecord record(SubscriberAddress address) {
    return new SubscriptionRecord(
        UUID.randomUUID(), "kafka", STREAM, null, false, address, UUID.randomUUID(), false);
  }

  @SuppressWarnings("unchecked")
  MetadataStreamObserver<Object> resolve(SubscriberAddress address, SubscriptionRecord r) {
    return (MetadataStreamObserver<Object>) subscribers.resolve(address, r);
  }

  static EventMetadata metadata(long offset) {
    Map<String, byte[]> headers = new LinkedHashMap<>();
    headers.put("trace", new byte[] {1, 2, 3});
    headers.put("empty", null);
    return EventMetadata.of(STREAM, new EventSequenceToken(offset), "orders-3", 1234L, headers);
  }

  @Test
  void anAddressResolvesToAnObserverThatAsksTheActor_andCompletesOnItsAck() throws Exception {
    TestProbe<StreamDelivery<String>> probe = TestProbe.create(system);
    SubscriberAddress address = subscribers.address(probe.ref());
    assertThat(address.value()).startsWith("pekko://subscribers/");
    SubscriptionRecord r = record(address);
    MetadataStreamObserver<Object> observer = resolve(address, r);

    CompletableFuture<Void> acked = observer.onNext("e0", metadata(7)).toCompletableFuture();
    StreamDelivery<String> d = probe.receiveMessage(WAIT);
    assertThat(d.event()).isEqualTo("e0");
    assertThat(d.subscriptionId()).isEqualTo(r.subscriptionId());
    assertThat(d.context().streamId()).isEqualTo(STREAM);
    assertThat(d.context().token()).isEqualTo(new EventSequenceToken(7));
    assertThat(d.context().timestampMillis()).isEqualTo(1234L);
    assertThat(acked).isNotDone();
    d.ack();
    assertThat(acked).succeedsWithin(WAIT);

    CompletableFuture<Void> rejected = observer.onNext("e1", metadata(8)).toCompletableFuture();
    probe.receiveMessage(WAIT).reject("not now");
    assertThat(rejected)
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(StatusReply.ErrorMessage.class);
  }

  @Test
  void anActorThatStops_failsTheDeliveryInFlightAndEveryLaterOne_asGone_beforeTheAskTimesOut() {
    ActorRef<StreamDelivery<String>> once =
        system.systemActorOf(
            Behaviors.receive((ctx, d) -> Behaviors.stopped()), "stops", Props.empty());
    SubscriberAddress address = subscribers.address(once);
    MetadataStreamObserver<Object> observer = resolve(address, record(address));
    // The ask timeout is a minute: only DeathWatch can fail these within WAIT as gone.
    assertThat(observer.onNext("e0", metadata(1)).toCompletableFuture())
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(SubscriberGoneException.class);
    assertThat(observer.onNext("e1", metadata(2)).toCompletableFuture())
        .failsWithin(Duration.ZERO)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(SubscriberGoneException.class);
    // Resolved again (another subscription of the same dead actor): gone at its first delivery.
    MetadataStreamObserver<Object> again = resolve(address, record(address));
    assertThat(again.onNext("e2", metadata(3)).toCompletableFuture())
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(SubscriberGoneException.class);
  }

  @Test
  void noReplyWithinTheAskTimeout_isAnOrdinaryFailure_notAGoneSubscriber() {
    PekkoSubscribers quick =
        PekkoSubscribers.builder(system).askTimeout(Duration.ofMillis(200)).build();
    TestProbe<StreamDelivery<String>> silent = TestProbe.create(system);
    SubscriberAddress address = quick.address(silent.ref());
    @SuppressWarnings("unchecked")
    MetadataStreamObserver<Object> observer =
        (MetadataStreamObserver<Object>) quick.resolve(address, record(address));
    CompletableFuture<Void> stage = observer.onNext("e0", metadata(1)).toCompletableFuture();
    silent.receiveMessage(WAIT);
    assertThat(stage)
        .failsWithin(WAIT)
        .withThrowableOfType(ExecutionException.class)
        .withCauseInstanceOf(java.util.concurrent.TimeoutException.class)
        .satisfies(e -> assertThat(e.getCause()).isNotInstanceOf(SubscriberGoneException.class));
    // The actor is alive: the retry reaches it.
    CompletableFuture<Void> retry = observer.onNext("e0", metadata(1)).toCompletableFuture();
    silent.receiveMessage(WAIT).ack();
    assertThat(retry).succeedsWithin(WAIT);
  }

  @Test
  void addressesThatAreNotActorsOfThisSystem_areGone() {
    for (String bad :
        new String[] {
          "not an address", "pekko://other/user/x", "pekko://subscribers@127.0.0.1:notaport/user/x"
        }) {
      SubscriberAddress address = SubscriberAddress.of(bad);
      assertThatThrownBy(() -> subscribers.resolve(address, record(address)))
          .as(bad)
          .isInstanceOf(SubscriberGoneException.class)
          .hasMessageContaining(bad);
    }
  }

  @Test
  void builder_validatesItsOptions() {
    assertThatThrownBy(() -> PekkoSubscribers.builder(system).askTimeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("askTimeout was PT0S but it must be at least 1 ms");
    assertThatThrownBy(
            () ->
                PekkoSubscribers.builder(system)
                    .askTimeout(Duration.ofSeconds(1))
                    .askTimeout(Duration.ofSeconds(2)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("askTimeout was already set");
    assertThat(PekkoSubscribers.create(system).askTimeout())
        .isEqualTo(PekkoSubscribers.DEFAULT_ASK_TIMEOUT);
  }

  @Test
  void theSerializerIsBoundByReferenceConf_andRoundTripsADelivery_withTheEventNested() {
    Serialization serialization = SerializationExtension.get(system);
    TestProbe<StatusReply<org.apache.pekko.Done>> replyTo = TestProbe.create(system);
    UUID id = UUID.randomUUID();
    for (Object event : new Object[] {"a string", new byte[] {4, 5, 6}}) {
      StreamDelivery<Object> d =
          new StreamDelivery<>(event, EventContext.of(STREAM, metadata(42)), id, replyTo.ref());
      assertThat(serialization.findSerializerFor(d).identifier())
          .isEqualTo(StreamDeliverySerializer.IDENTIFIER);
      byte[] bytes = serialization.serialize(d).get();
      StreamDelivery<?> back =
          (StreamDelivery<?>)
              serialization
                  .deserialize(
                      bytes, StreamDeliverySerializer.IDENTIFIER, StreamDeliverySerializer.MANIFEST)
                  .get();
      if (event instanceof byte[] b) {
        assertThat((byte[]) back.event()).isEqualTo(b);
      } else {
        assertThat(back.event()).isEqualTo(event);
      }
      assertThat(back.subscriptionId()).isEqualTo(id);
      assertThat(back.replyTo()).isEqualTo(replyTo.ref());
      assertThat(back.context()).isEqualTo(d.context());
      assertThat(back.context().timestampMillis()).isEqualTo(1234L);
      assertThat(back.context().headers()).containsOnlyKeys("trace", "empty");
      assertThat(Arrays.equals(back.context().headers().get("trace"), new byte[] {1, 2, 3}))
          .isTrue();
      assertThat(back.context().headers().get("empty")).isNull();
      back.ack();
      assertThat(replyTo.receiveMessage(WAIT).isSuccess()).isTrue();
    }
    // An event type with no serializer binding (and Java serialization off) cannot cross.
    record Unbound(int n) {}
    StreamDelivery<Object> d =
        new StreamDelivery<>(
            new Unbound(1), EventContext.of(STREAM, metadata(43)), id, replyTo.ref());
    assertThat(serialization.serialize(d).isFailure()).isTrue();
  }
}
