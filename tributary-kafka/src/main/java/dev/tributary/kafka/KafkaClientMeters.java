package dev.tributary.kafka;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka clients' own metrics in the runtime's registry, through Micrometer's {@link
 * KafkaClientMetrics} binder: the adapter's group consumers and its producer, tagged {@code
 * provider} (the binder adds {@code client.id} and {@code kafka.version}). Names are the binder's:
 * {@code kafka.consumer.*}, {@code kafka.producer.*}.
 *
 * <p>The binders refresh their meter set on the housekeeping thread (lent as their scheduler, so
 * they start no thread of their own); {@link #close()} removes every meter they registered, so a
 * closed adapter leaves none behind. Thread-safe: consumers are bound by the thread that starts
 * them, the producer by the starting thread, close by the closing thread.
 */
final class KafkaClientMeters implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KafkaClientMeters.class);

  private final MeterRegistry registry;
  private final Tags tags;
  private final ScheduledExecutorService scheduler;
  private final List<KafkaClientMetrics> bound = new ArrayList<>(); // guarded by this
  private boolean closed; // guarded by this

  KafkaClientMeters(MeterRegistry registry, String provider, ScheduledExecutorService scheduler) {
    this.registry = registry;
    this.tags = Tags.of("provider", provider);
    this.scheduler = scheduler;
  }

  void bind(Consumer<?, ?> consumer) {
    add(new KafkaClientMetrics(consumer, tags, scheduler), "consumer");
  }

  void bind(Producer<?, ?> producer) {
    add(new KafkaClientMetrics(producer, tags, scheduler), "producer");
  }

  private void add(KafkaClientMetrics binder, String what) {
    synchronized (this) {
      if (closed) {
        return;
      }
      bound.add(binder);
    }
    try {
      binder.bindTo(registry);
    } catch (RuntimeException e) {
      // Metrics never stop the adapter: the client works without them.
      log.warn("Binding the Kafka {} metrics failed; they are not reported", what, e);
    }
  }

  /** Removes every bound meter; idempotent. */
  @Override
  public void close() {
    List<KafkaClientMetrics> all;
    synchronized (this) {
      closed = true;
      all = new ArrayList<>(bound);
      bound.clear();
    }
    for (KafkaClientMetrics m : all) {
      try {
        m.close();
      } catch (RuntimeException e) {
        log.debug("Closing Kafka client metrics failed", e);
      }
    }
  }
}
