package dev.tributary.internal.runtime;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The meters of one pulling agent, tagged by provider and queue. Listed in docs/operations.md.
 *
 * <p>Gauges read volatile snapshots the agent publishes after each pump, never the confined state.
 */
final class AgentMetrics {
  final Counter eventsRead;
  final Counter eventsDelivered;
  final Counter deliveryFailures;
  final Counter deliveryRetries;
  final Counter faultedSubscriptions;
  final Counter readErrors;
  final Counter cacheMisses;
  final Counter replays;
  final Counter eventsExpired;
  final Timer deliveryLatency;

  /**
   * False when the runtime has no registry of the user's ({@link NoMeters}): the agent then skips
   * the per-delivery meters, whose updates nobody can read, and the clock read the latency needs.
   */
  final boolean perDelivery;

  volatile int cacheSize;
  volatile int underPressure;
  volatile int activeStreams;
  volatile int activeSubscriptions;

  /** Written by the agent's thread only. */
  volatile int replaysActive;

  private final MeterRegistry registry;
  private final List<Meter> meters = new ArrayList<>();

  AgentMetrics(MeterRegistry registry, String provider, String queue) {
    this.registry = registry;
    this.perDelivery = !(registry instanceof NoMeters);
    Tags tags = Tags.of("provider", provider, "queue", queue);
    eventsRead = counter("tributary.events.read", "Events read from the queue", tags);
    eventsDelivered =
        counter("tributary.events.delivered", "Events acknowledged by a subscription", tags);
    deliveryFailures =
        counter(
            "tributary.delivery.failures",
            "Events given up on for a subscription after maxEventDeliveryTime",
            tags);
    deliveryRetries =
        counter("tributary.delivery.retries", "Failed delivery attempts that were retried", tags);
    faultedSubscriptions =
        counter("tributary.subscriptions.faulted", "Explicit subscriptions faulted", tags);
    readErrors = counter("tributary.read.errors", "Failed reads from the queue", tags);
    cacheMisses =
        counter("tributary.cache.misses", "Subscriptions that asked for evicted events", tags);
    replays =
        counter(
            "tributary.replays",
            "Subscriptions that started before the cache and replayed from the queue",
            tags);
    eventsExpired =
        counter(
            "tributary.replay.expired",
            "Replays that found events they needed removed by the queue's retention",
            tags);
    deliveryLatency =
        add(
            Timer.builder("tributary.delivery.latency")
                .description("From the event's queue timestamp to the subscription's ack")
                .tags(tags)
                .register(registry));
    gauge("tributary.cache.size", "Batches held by the queue cache", tags, () -> cacheSize);
    gauge(
        "tributary.cache.pressure",
        "1 while the cache is full and reading is paused (backpressure)",
        tags,
        () -> underPressure);
    gauge("tributary.streams.active", "Streams the agent tracks", tags, () -> activeStreams);
    gauge(
        "tributary.subscriptions.active",
        "Subscriptions with a cursor in the agent",
        tags,
        () -> activeSubscriptions);
    gauge(
        "tributary.replays.active",
        "Subscriptions reading their stream's past from the queue",
        tags,
        () -> replaysActive);
  }

  private Counter counter(String name, String description, Tags tags) {
    return add(Counter.builder(name).description(description).tags(tags).register(registry));
  }

  private void gauge(String name, String description, Tags tags, Supplier<Number> value) {
    add(Gauge.builder(name, value).description(description).tags(tags).register(registry));
  }

  private <M extends Meter> M add(M meter) {
    meters.add(meter);
    return meter;
  }

  /**
   * The registry of a runtime built without {@code meterRegistry}: an empty composite that never
   * gets a registry, so its meters record nothing.
   */
  static final class NoMeters
      extends io.micrometer.core.instrument.composite.CompositeMeterRegistry {}

  /** Removes the agent's meters: a stopped agent's queue may now be another node's. */
  void close() {
    for (Meter m : meters) {
      registry.remove(m);
    }
    meters.clear();
  }
}
