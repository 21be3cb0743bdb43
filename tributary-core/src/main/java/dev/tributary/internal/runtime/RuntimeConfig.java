package dev.tributary.internal.runtime;

import dev.tributary.StreamFilter;
import dev.tributary.StreamId;
import dev.tributary.StreamProviderOptions;
import dev.tributary.spi.PubSubStore;
import dev.tributary.spi.QueueAdapterFactory;
import dev.tributary.spi.RuntimeTime;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.time.Clock;
import java.util.List;
import java.util.function.Function;

/**
 * Everything {@link dev.tributary.StreamRuntime.Builder} collected, handed to {@link Runtimes}: the
 * plumbing between the public builder and the runtime, kept out of the API (this package is not
 * exported).
 *
 * @param providers the providers, in the order they were added
 * @param implicits the implicit subscriptions
 * @param meterRegistry where metrics go; null for none
 * @param streamFilter the filter for subscriptions with filter data
 * @param pubSubStore where explicit subscription records are kept
 * @param time the runtime's time (clock and scheduler of every delay); null for the default: {@code
 *     clock} and a timer thread of the runtime's own
 * @param clock the clock of the default time; ignored when {@code time} is set
 * @param threads worker threads
 * @param nodeName this node's name for threads, logs and metrics
 * @param observationRegistry where producing and delivering are observed (traced); null for none
 * @param subscriberResolver turns addresses of cluster-wide subscriptions into observers; null for
 *     none
 */
public record RuntimeConfig(
    List<ProviderSpec> providers,
    List<ImplicitSpec> implicits,
    MeterRegistry meterRegistry,
    StreamFilter streamFilter,
    PubSubStore pubSubStore,
    RuntimeTime time,
    Clock clock,
    int threads,
    String nodeName,
    ObservationRegistry observationRegistry,
    dev.tributary.spi.SubscriberResolver subscriberResolver) {

  /** One provider's configuration. */
  public record ProviderSpec(
      String name, QueueAdapterFactory factory, StreamProviderOptions options) {}

  /** One implicit subscription. */
  public record ImplicitSpec(
      String provider, String namespace, Function<StreamId, Object> observerFactory) {}
}
