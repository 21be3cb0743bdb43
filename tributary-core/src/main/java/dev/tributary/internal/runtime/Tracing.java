package dev.tributary.internal.runtime;

import dev.tributary.StreamId;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.transport.Kind;
import io.micrometer.observation.transport.ReceiverContext;
import io.micrometer.observation.transport.SenderContext;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Micrometer Observations around producing and delivering, when the runtime has an {@code
 * ObservationRegistry}: a producer observation per {@code onNext} whose context its registry's
 * propagating handler writes into the event's headers, and a consumer observation per delivery call
 * whose parent its handler reads back from the headers of the call's first event. So a record
 * written by any instrumented Kafka producer continues its trace into the observer, and an event
 * produced here continues into any instrumented consumer. Headers carry text as UTF-8 bytes, as
 * Kafka instrumentations do.
 *
 * <p>Tags: low cardinality {@code provider}, {@code namespace}, {@code queue}; high cardinality
 * {@code stream.key} and, on deliveries, {@code subscription}. Without a registry the runtime holds
 * no {@code Tracing} and nothing of this runs. Thread-safe: it holds only the registry.
 */
final class Tracing {
  private static final Logger log = LoggerFactory.getLogger(Tracing.class);
  static final String PRODUCE = "tributary.produce";
  static final String DELIVER = "tributary.deliver";

  private final ObservationRegistry registry;

  private Tracing(ObservationRegistry registry) {
    this.registry = registry;
  }

  /**
   * The tracing of {@code registry}, or null without one. A registry without handlers yet is kept:
   * Micrometer makes its observations no-ops until handlers are added, whenever that is.
   */
  static Tracing of(ObservationRegistry registry) {
    return registry == null ? null : new Tracing(registry);
  }

  /**
   * Starts the observation of producing to {@code id}: its context goes into {@code carrier}, which
   * must be mutable and is what the adapter then writes with the event.
   */
  Observation startProduce(
      String provider, StreamId id, String queue, Map<String, byte[]> carrier) {
    try {
      return produceObservation(provider, id, queue, carrier);
    } catch (Throwable t) {
      log.warn("Starting the producer observation of {} failed; it is not traced", id, t);
      return Observation.NOOP;
    }
  }

  private Observation produceObservation(
      String provider, StreamId id, String queue, Map<String, byte[]> carrier) {
    SenderContext<Map<String, byte[]>> context =
        new SenderContext<>(
            (c, key, value) -> c.put(key, value.getBytes(StandardCharsets.UTF_8)), Kind.PRODUCER);
    context.setCarrier(carrier);
    context.setRemoteServiceName(provider);
    return Observation.createNotStarted(PRODUCE, () -> context, registry)
        .contextualName(id.namespace() + " send")
        .lowCardinalityKeyValue("provider", provider)
        .lowCardinalityKeyValue("namespace", id.namespace())
        .lowCardinalityKeyValue("queue", queue)
        .highCardinalityKeyValue("stream.key", id.key())
        .start();
  }

  /**
   * Starts the observation of one delivery call to subscription {@code subscription} of {@code id};
   * its parent is read from {@code headers}, those of the call's first event.
   */
  Observation startDeliver(
      String provider, StreamId id, String queue, UUID subscription, Map<String, byte[]> headers) {
    try {
      return deliverObservation(provider, id, queue, subscription, headers);
    } catch (Throwable t) {
      log.warn("Starting the delivery observation of {} failed; it is not traced", id, t);
      return Observation.NOOP;
    }
  }

  private Observation deliverObservation(
      String provider, StreamId id, String queue, UUID subscription, Map<String, byte[]> headers) {
    ReceiverContext<Map<String, byte[]>> context =
        new ReceiverContext<>(
            (c, key) -> {
              byte[] v = c.get(key);
              return v == null ? null : new String(v, StandardCharsets.UTF_8);
            },
            Kind.CONSUMER);
    context.setCarrier(headers);
    context.setRemoteServiceName(provider);
    return Observation.createNotStarted(DELIVER, () -> context, registry)
        .contextualName(id.namespace() + " process")
        .lowCardinalityKeyValue("provider", provider)
        .lowCardinalityKeyValue("namespace", id.namespace())
        .lowCardinalityKeyValue("queue", queue)
        .highCardinalityKeyValue("stream.key", id.key())
        .highCardinalityKeyValue("subscription", String.valueOf(subscription))
        .start();
  }

  /**
   * Runs {@code call} once inside {@code observation}'s scope. A handler that throws while the
   * scope opens or closes is logged: it neither prevents the call nor repeats it.
   */
  static <T> T inScope(Observation observation, Supplier<T> call) {
    Observation.Scope scope = null;
    try {
      scope = observation.openScope();
    } catch (Throwable t) {
      log.warn("Opening the scope of {} failed", observation, t);
    }
    try {
      return call.get();
    } finally {
      if (scope != null) {
        try {
          scope.close();
        } catch (Throwable t) {
          log.warn("Closing the scope of {} failed", observation, t);
        }
      }
    }
  }

  /** Stops {@code observation} when {@code stage} completes, with its error if it failed. */
  static <T> CompletionStage<T> stopWhenDone(Observation observation, CompletionStage<T> stage) {
    stage.whenComplete(
        (v, e) -> {
          try {
            if (e != null) {
              observation.error(PullingAgent.unwrap(e));
            }
            observation.stop();
          } catch (Throwable t) {
            log.warn("Stopping {} failed", observation, t);
          }
        });
    return stage;
  }
}
