package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.EventMetadata;
import dev.tributary.MetadataBatchStreamObserver;
import dev.tributary.MetadataStreamObserver;
import dev.tributary.SequentialItem;
import dev.tributary.StreamId;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.testkit.DeliveryHarness;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.transport.ReceiverContext;
import io.micrometer.observation.transport.SenderContext;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Observers that ask for metadata get each event's token, stream, queue, write time and the headers
 * it was produced with; and with an ObservationRegistry, producing and delivering are observed, the
 * producer's context travelling in the event's headers.
 */
class EventMetadataTest extends MemoryRuntimeTest {

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void metadataObserver_getsTokenStreamQueueTimeAndHeaders() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "meta");
    List<EventMetadata> seen = new CopyOnWriteArrayList<>();
    List<Object> items = new CopyOnWriteArrayList<>();
    MetadataStreamObserver<Object> observer =
        (item, metadata) -> {
          items.add(item);
          seen.add(metadata);
          return CompletableFuture.completedFuture(null);
        };
    h.join(h.stream(s).subscribe(observer), "subscribe");
    h.subscribe("plain", s);
    long before = System.currentTimeMillis();
    h.join(h.stream(s).onNext("a", Map.of("k", utf8("v1"))), "produce a");
    h.join(h.stream(s).onNext("b"), "produce b");
    h.awaitCount("plain", s, 2);
    h.awaitThat("both seen", () -> seen.size() == 2);

    assertThat(items).containsExactly("a", "b");
    EventMetadata first = seen.get(0);
    assertThat(first.streamId()).isEqualTo(s);
    assertThat(first.token()).isEqualTo(h.tokens("plain", s).get(0));
    assertThat(first.queue()).isEqualTo(queueOf(s).toString());
    assertThat(first.timestampMillis()).isBetween(before, System.currentTimeMillis());
    assertThat(first.headers()).containsOnlyKeys("k");
    assertThat(new String(first.headers().get("k"), StandardCharsets.UTF_8)).isEqualTo("v1");
    assertThat(seen.get(1).headers()).isEmpty();
    assertThat(seen.get(1).token()).isEqualTo(h.tokens("plain", s).get(1));
  }

  @Test
  void batchObservers_getMetadataOnlyWhenTheyAskForIt() {
    DeliveryHarness h =
        start(MemoryQueueAdapterFactory.builder().queueCount(1).build(), o -> {}, (x, b) -> {});
    StreamId s = StreamId.of("orders", "batch-meta");
    List<SequentialItem<Object>> asked = new CopyOnWriteArrayList<>();
    List<SequentialItem<Object>> notAsked = new CopyOnWriteArrayList<>();
    MetadataBatchStreamObserver<Object> withMetadata =
        batch -> {
          asked.addAll(batch);
          return CompletableFuture.completedFuture(null);
        };
    h.join(h.stream(s).subscribe(withMetadata), "subscribe with metadata");
    h.join(
        h.stream(s)
            .subscribe(
                (List<SequentialItem<Object>> batch) -> {
                  notAsked.addAll(batch);
                  return CompletableFuture.completedFuture(null);
                }),
        "subscribe without");
    h.join(h.stream(s).onNext("x", Map.of("h", utf8("1"))), "produce");
    h.awaitThat("delivered to both", () -> asked.size() == 1 && notAsked.size() == 1);

    assertThat(notAsked.get(0).metadata()).isNull();
    EventMetadata m = asked.get(0).metadata();
    assertThat(m).isNotNull();
    assertThat(m.token()).isEqualTo(asked.get(0).token());
    assertThat(m.streamId()).isEqualTo(s);
    assertThat(m.headers()).containsOnlyKeys("h");
  }

  /** Records every observation's context when it stops. */
  private static final class Recorded implements ObservationHandler<Observation.Context> {
    final List<Observation.Context> stopped = new CopyOnWriteArrayList<>();

    @Override
    public boolean supportsContext(Observation.Context context) {
      return true;
    }

    @Override
    public void onStart(Observation.Context context) {
      if (context instanceof SenderContext<?> sender) {
        // Stands in for a propagating tracing handler: writes "its" context into the carrier.
        @SuppressWarnings("unchecked")
        SenderContext<Object> c = (SenderContext<Object>) sender;
        c.getSetter().set(c.getCarrier(), "trace-id", "t-" + System.identityHashCode(context));
      }
    }

    @Override
    public void onStop(Observation.Context context) {
      stopped.add(context);
    }
  }

  @Test
  void withAnObservationRegistry_produceAndDeliverAreObserved_contextInTheHeaders() {
    ObservationRegistry registry = ObservationRegistry.create();
    Recorded recorded = new Recorded();
    registry.observationConfig().observationHandler(recorded);
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(1).build(),
            o -> {},
            (x, b) -> b.observationRegistry(registry));
    StreamId s = StreamId.of("orders", "traced");
    List<EventMetadata> seen = new CopyOnWriteArrayList<>();
    MetadataStreamObserver<Object> observer =
        (item, metadata) -> {
          seen.add(metadata);
          return CompletableFuture.completedFuture(null);
        };
    h.join(h.stream(s).subscribe(observer), "subscribe");
    h.join(h.stream(s).onNext("a", Map.of("app", utf8("x"))), "produce");
    h.awaitThat("delivered and observed", () -> seen.size() == 1 && recorded.stopped.size() == 2);

    // Either may stop first: the memory queue delivers before the producer's stage returns.
    Observation.Context produce =
        recorded.stopped.stream().filter(c -> c instanceof SenderContext).findFirst().orElseThrow();
    Observation.Context deliver =
        recorded.stopped.stream()
            .filter(c -> c instanceof ReceiverContext)
            .findFirst()
            .orElseThrow();
    assertThat(produce.getName()).isEqualTo("tributary.produce");
    assertThat(deliver.getName()).isEqualTo("tributary.deliver");
    for (Observation.Context c : List.of(produce, deliver)) {
      assertThat(c.getLowCardinalityKeyValue("provider").getValue()).isEqualTo(MEM);
      assertThat(c.getLowCardinalityKeyValue("namespace").getValue()).isEqualTo("orders");
      assertThat(c.getLowCardinalityKeyValue("queue").getValue()).isEqualTo(queueOf(s).toString());
      assertThat(c.getHighCardinalityKeyValue("stream.key").getValue()).isEqualTo("traced");
    }
    // The producer's context went into the event's headers, beside the application's own.
    String traceId = "t-" + System.identityHashCode(produce);
    assertThat(seen.get(0).headers()).containsKeys("app", "trace-id");
    assertThat(new String(seen.get(0).headers().get("trace-id"), StandardCharsets.UTF_8))
        .isEqualTo(traceId);
    @SuppressWarnings("unchecked")
    ReceiverContext<Map<String, byte[]>> receiver = (ReceiverContext<Map<String, byte[]>>) deliver;
    assertThat(receiver.getGetter().get(receiver.getCarrier(), "trace-id")).isEqualTo(traceId);
  }

  /** Tracing must never cost a delivery: a handler that throws is logged, the events arrive. */
  @Test
  void aThrowingObservationHandler_neitherStopsNorRepeatsDelivery() {
    ObservationRegistry registry = ObservationRegistry.create();
    registry
        .observationConfig()
        .observationHandler(
            new ObservationHandler<Observation.Context>() {
              @Override
              public boolean supportsContext(Observation.Context context) {
                return true;
              }

              @Override
              public void onStart(Observation.Context context) {
                throw new IllegalStateException("broken tracing handler (start)");
              }

              @Override
              public void onScopeOpened(Observation.Context context) {
                throw new IllegalStateException("broken tracing handler (scope)");
              }

              @Override
              public void onStop(Observation.Context context) {
                throw new IllegalStateException("broken tracing handler (stop)");
              }
            });
    DeliveryHarness h =
        start(
            MemoryQueueAdapterFactory.builder().queueCount(1).build(),
            o -> {},
            (x, b) -> b.observationRegistry(registry));
    StreamId s = StreamId.of("orders", "broken-tracing");
    h.subscribe("plain", s);
    for (int i = 0; i < 20; i++) {
      h.join(h.stream(s).onNext(i), "produce " + i);
    }
    h.awaitCount("plain", s, 20).assertExactly("plain", s, ints(0, 20)).assertNoErrors();
  }

  @Test
  void withoutARegistry_nothingIsAddedToTheHeaders() {
    DeliveryHarness h = start();
    StreamId s = StreamId.of("orders", "untraced");
    List<EventMetadata> seen = new CopyOnWriteArrayList<>();
    MetadataStreamObserver<Object> observer =
        (item, metadata) -> {
          seen.add(metadata);
          return CompletableFuture.completedFuture(null);
        };
    h.join(h.stream(s).subscribe(observer), "subscribe");
    h.join(h.stream(s).onNext("a", Map.of("app", utf8("x"))), "produce");
    h.join(h.stream(s).onNext("b"), "produce");
    h.awaitThat("delivered", () -> seen.size() == 2);
    assertThat(seen.get(0).headers()).containsOnlyKeys("app");
    assertThat(seen.get(1).headers()).isEmpty();
  }
}
