package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.factory;
import static dev.tributary.kafka.KafkaTestSupport.strings;
import static dev.tributary.kafka.KafkaTestSupport.unique;
import static dev.tributary.kafka.KafkaTestSupport.utf8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import brave.Tracing;
import brave.handler.MutableSpan;
import brave.handler.SpanHandler;
import brave.propagation.ThreadLocalCurrentTraceContext;
import brave.propagation.TraceContext;
import brave.sampler.Sampler;
import dev.tributary.AsyncStream;
import dev.tributary.EventMetadata;
import dev.tributary.MetadataStreamObserver;
import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.testkit.kafka.KafkaBroker;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.tracing.Span;
import io.micrometer.tracing.Tracer;
import io.micrometer.tracing.brave.bridge.BraveBaggageManager;
import io.micrometer.tracing.brave.bridge.BraveCurrentTraceContext;
import io.micrometer.tracing.brave.bridge.BravePropagator;
import io.micrometer.tracing.brave.bridge.BraveTracer;
import io.micrometer.tracing.handler.DefaultTracingObservationHandler;
import io.micrometer.tracing.handler.PropagatingReceiverTracingObservationHandler;
import io.micrometer.tracing.handler.PropagatingSenderTracingObservationHandler;
import io.micrometer.tracing.propagation.Propagator;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A trace crosses the Kafka hop: with a real tracer (Brave, through Micrometer Tracing's bridge)
 * behind the runtime's ObservationRegistry, the consumer span of a delivery is a child of the
 * producer span of its {@code onNext}, also when the record was written by a plain KafkaProducer
 * that only set a propagation header, and the observer runs inside that consumer span.
 */
class KafkaTracingTest {
  static final KafkaBroker broker = KafkaBroker.shared();
  static final Duration WAIT = Duration.ofSeconds(60);

  private final List<MutableSpan> finished = new CopyOnWriteArrayList<>();
  private Tracing brave;
  private Tracer tracer;
  private ObservationRegistry registry;

  @BeforeEach
  void tracing() {
    brave =
        Tracing.newBuilder()
            .localServiceName("tributary-test")
            .currentTraceContext(ThreadLocalCurrentTraceContext.newBuilder().build())
            .sampler(Sampler.ALWAYS_SAMPLE)
            .addSpanHandler(
                new SpanHandler() {
                  @Override
                  public boolean end(TraceContext context, MutableSpan span, Cause cause) {
                    finished.add(span);
                    return true;
                  }
                })
            .build();
    tracer =
        new BraveTracer(
            brave.tracer(),
            new BraveCurrentTraceContext(brave.currentTraceContext()),
            new BraveBaggageManager());
    Propagator propagator = new BravePropagator(brave);
    registry = ObservationRegistry.create();
    registry
        .observationConfig()
        .observationHandler(
            new ObservationHandler.FirstMatchingCompositeObservationHandler(
                new PropagatingSenderTracingObservationHandler<>(tracer, propagator),
                new PropagatingReceiverTracingObservationHandler<>(tracer, propagator),
                new DefaultTracingObservationHandler(tracer)));
  }

  @AfterEach
  void closeTracing() {
    brave.close();
  }

  private MutableSpan span(String kind) {
    return finished.stream()
        .filter(s -> s.kind() != null && s.kind().name().equals(kind))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no " + kind + " span in " + finished));
  }

  @Test
  void theConsumerSpanIsAChildOfTheProducerSpan_acrossTheKafkaHop() throws Exception {
    String topic = unique("traced");
    broker.createTopic(topic, 2);
    KafkaQueueAdapterFactory f = factory(broker, unique("g")).topic(topic, strings(2)).build();
    List<String> spanInObserver = new CopyOnWriteArrayList<>();
    List<EventMetadata> seen = new CopyOnWriteArrayList<>();
    try (StreamRuntime rt =
        StreamRuntime.builder()
            .addProvider("kafka", f)
            .observationRegistry(registry)
            .implicitSubscription(
                "kafka",
                topic,
                id ->
                    (MetadataStreamObserver<String>)
                        (item, metadata) -> {
                          Span current = tracer.currentSpan();
                          spanInObserver.add(current == null ? "none" : current.context().spanId());
                          seen.add(metadata);
                          return CompletableFuture.completedFuture(null);
                        })
            .build()) {
      rt.start();
      await().atMost(WAIT).until(() -> f.ownedPartitions().size() == 2);
      AsyncStream<String> stream = rt.provider("kafka").stream(StreamId.of(topic, "k1"));
      stream
          .onNext("hello", Map.of("app", utf8("1")))
          .toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
      await().atMost(WAIT).until(() -> seen.size() == 1 && finished.size() >= 2);
    }

    MutableSpan producer = span("PRODUCER");
    MutableSpan consumer = span("CONSUMER");
    assertThat(consumer.traceId()).isEqualTo(producer.traceId());
    assertThat(consumer.parentId()).isEqualTo(producer.id());
    assertThat(producer.name()).isEqualTo(topic + " send");
    assertThat(consumer.name()).isEqualTo(topic + " process");
    assertThat(consumer.tags())
        .containsEntry("provider", "kafka")
        .containsEntry("namespace", topic)
        .containsEntry("stream.key", "k1");
    assertThat(spanInObserver).containsExactly(consumer.id());
    // The application's header and the propagation header both reached the observer.
    assertThat(seen.get(0).headers()).containsKey("app").containsKey("X-B3-TraceId");
  }

  @Test
  void aRecordFromAnyInstrumentedProducer_continuesItsTrace() throws Exception {
    String topic = unique("traced-external");
    broker.createTopic(topic, 1);
    KafkaQueueAdapterFactory f = factory(broker, unique("g")).topic(topic, strings(1)).build();
    List<EventMetadata> seen = new CopyOnWriteArrayList<>();
    String traceId = "463ac35c9f6413ad48485a3953bb6124";
    String parentSpan = "a2fb4a1d1a96d312";
    try (StreamRuntime rt =
            StreamRuntime.builder()
                .addProvider("kafka", f)
                .observationRegistry(registry)
                .implicitSubscription(
                    "kafka",
                    topic,
                    id ->
                        (MetadataStreamObserver<String>)
                            (item, metadata) -> {
                              seen.add(metadata);
                              return CompletableFuture.completedFuture(null);
                            })
                .build();
        KafkaProducer<byte[], byte[]> p = KafkaTestSupport.producer(broker)) {
      rt.start();
      await().atMost(WAIT).until(() -> f.ownedPartitions().size() == 1);
      RecordHeaders headers = new RecordHeaders();
      headers.add("b3", utf8(traceId + "-" + parentSpan + "-1"));
      p.send(new ProducerRecord<>(topic, 0, utf8("k"), utf8("v"), headers)).get();
      await().atMost(WAIT).until(() -> seen.size() == 1 && !finished.isEmpty());
    }

    MutableSpan consumer = span("CONSUMER");
    assertThat(consumer.traceId()).isEqualTo(traceId);
    assertThat(consumer.parentId()).isEqualTo(parentSpan);
  }
}
