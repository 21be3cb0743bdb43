package dev.tributary;

import dev.tributary.internal.runtime.RuntimeConfig;
import dev.tributary.internal.runtime.RuntimeConfig.ImplicitSpec;
import dev.tributary.internal.runtime.RuntimeConfig.ProviderSpec;
import dev.tributary.internal.runtime.Runtimes;
import dev.tributary.spi.InMemoryPubSubStore;
import dev.tributary.spi.PubSubStore;
import dev.tributary.spi.QueueAdapterFactory;
import dev.tributary.spi.RuntimeTime;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.observation.ObservationRegistry;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The streaming runtime of one node: its providers, their pulling agents and subscriptions.
 *
 * <pre>{@code
 * StreamRuntime runtime = StreamRuntime.builder()
 *     .addProvider("memory", MemoryQueueAdapterFactory.builder().queueCount(4).build())
 *     .build();
 * runtime.start();
 * }</pre>
 *
 * <p>Thread-safe. {@link #close()} drains in-flight deliveries, flushes delivered progress and
 * stops every agent; it is idempotent.
 */
public interface StreamRuntime extends AutoCloseable {

  /** Returns a new builder. */
  static Builder builder() {
    return new Builder();
  }

  /** Starts an agent for every queue this node owns; called once. */
  void start();

  /** True between {@link #start()} and {@link #close()}. */
  boolean isRunning();

  /**
   * Returns the provider called {@code name}.
   *
   * @throws IllegalArgumentException naming the known providers when there is no such provider
   */
  StreamProvider provider(String name);

  /** Every provider, in the order they were added. */
  Collection<StreamProvider> providers();

  /** Stops reading, drains in-flight deliveries, flushes progress, shuts receivers down. */
  @Override
  void close();

  /**
   * This node's health: DOWN when the runtime is not running, else the worst of its providers'
   * ({@link StreamProvider#health()}), with the reasons; {@link Health#readiness()} and {@link
   * Health#liveness} are the views for probes. Any thread, observers included; never blocks.
   */
  @Incubating
  default Health health() {
    throw new UnsupportedOperationException("health() is not supported by " + getClass());
  }

  /**
   * Builds a {@link StreamRuntime}. Each setter checks its input at once; {@link #build()} checks
   * how they fit together.
   */
  final class Builder {
    private final Map<String, ProviderSpec> providers = new LinkedHashMap<>();
    private final List<ImplicitSpec> implicits = new ArrayList<>();
    private MeterRegistry meterRegistry;
    private ObservationRegistry observationRegistry;
    private StreamFilter streamFilter;
    private PubSubStore pubSubStore;
    private dev.tributary.spi.SubscriberResolver subscriberResolver;
    private RuntimeTime time;
    private Clock clock;
    private Integer threads;
    private String nodeName;

    private Builder() {}

    /** Adds a provider with default agent options. */
    public Builder addProvider(String name, QueueAdapterFactory factory) {
      return addProvider(name, factory, options -> {});
    }

    /** Adds a provider and configures its agents. */
    public Builder addProvider(
        String name, QueueAdapterFactory factory, Consumer<StreamProviderOptions.Builder> agents) {
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("provider name was '" + name + "' but it must be set");
      }
      Objects.requireNonNull(
          factory, () -> "factory of provider '" + name + "' was null but it must be set");
      Objects.requireNonNull(agents, "agents was null but it must be set");
      if (providers.containsKey(name)) {
        throw new IllegalArgumentException("provider '" + name + "' was already added");
      }
      StreamProviderOptions.Builder options = StreamProviderOptions.builder();
      agents.accept(options);
      providers.put(name, new ProviderSpec(name, factory, options.build()));
      return this;
    }

    /**
     * Subscribes every stream of {@code namespace} in {@code provider} implicitly: on a stream's
     * first event the factory creates its observer, the hook an actor system uses to activate the
     * actor for that key. Implicit subscriptions are never faulted.
     */
    public <T> Builder implicitSubscription(
        String provider,
        String namespace,
        Function<StreamId, ? extends StreamObserver<T>> factory) {
      return addImplicit(provider, namespace, factory);
    }

    /** Like {@link #implicitSubscription} with a batch observer per stream. */
    public <T> Builder implicitBatchSubscription(
        String provider,
        String namespace,
        Function<StreamId, ? extends BatchStreamObserver<T>> factory) {
      return addImplicit(provider, namespace, factory);
    }

    private Builder addImplicit(String provider, String namespace, Function<StreamId, ?> factory) {
      Objects.requireNonNull(provider, "provider was null but it must be set");
      Objects.requireNonNull(namespace, "namespace was null but it must be set");
      Objects.requireNonNull(factory, "observer factory was null but it must be set");
      for (ImplicitSpec s : implicits) {
        if (s.provider().equals(provider) && s.namespace().equals(namespace)) {
          throw new IllegalArgumentException(
              "implicit subscription for namespace '"
                  + namespace
                  + "' of provider '"
                  + provider
                  + "' was already added");
        }
      }
      @SuppressWarnings("unchecked")
      Function<StreamId, Object> f = (Function<StreamId, Object>) factory;
      implicits.add(new ImplicitSpec(provider, namespace, f));
      return this;
    }

    /** Registers metrics in {@code registry} [none]. */
    public Builder meterRegistry(MeterRegistry registry) {
      once("meterRegistry", meterRegistry);
      meterRegistry = Objects.requireNonNull(registry, "meterRegistry was null but it must be set");
      return this;
    }

    /**
     * Observes producing and delivering with Micrometer Observation [none]: {@code onNext} opens a
     * producer observation ({@code tributary.produce}) whose context the registry's propagating
     * handler writes into the event's headers, and each delivery call runs in a consumer
     * observation ({@code tributary.deliver}) whose parent is read from the event's headers, so a
     * trace crosses the queue (docs/operations.md, "Tracing"). Without a registry nothing is
     * observed and nothing is added to headers.
     */
    @Incubating
    public Builder observationRegistry(ObservationRegistry registry) {
      once("observationRegistry", observationRegistry);
      observationRegistry =
          Objects.requireNonNull(registry, "observationRegistry was null but it must be set");
      return this;
    }

    /** Sets the filter that subscriptions' filter data is given to [all events pass]. */
    public Builder streamFilter(StreamFilter filter) {
      once("streamFilter", streamFilter);
      streamFilter = Objects.requireNonNull(filter, "streamFilter was null but it must be set");
      return this;
    }

    /** Sets where explicit subscriptions are kept [in memory]. */
    public Builder pubSubStore(PubSubStore store) {
      once("pubSubStore", pubSubStore);
      pubSubStore = Objects.requireNonNull(store, "pubSubStore was null but it must be set");
      return this;
    }

    /**
     * Sets how the addresses of cluster-wide subscriptions ({@link
     * AsyncStream#subscribe(SubscriberAddress)}) become observers on this node; tributary-pekko's
     * {@code PekkoSubscribers} delivers to actors anywhere in the cluster. [none: only observers of
     * this JVM can subscribe]
     */
    @Incubating
    public Builder subscriberResolver(dev.tributary.spi.SubscriberResolver resolver) {
      once("subscriberResolver", subscriberResolver);
      subscriberResolver =
          Objects.requireNonNull(resolver, "subscriberResolver was null but it must be set");
      return this;
    }

    /**
     * Sets the runtime's time: the clock of inactivity, delivery deadlines and latencies, and the
     * scheduler of every delay (read ticks, retry backoffs, the initialization, subscribe and drain
     * time-outs); adapters get it too, as {@code ProviderContext.time()}. The caller owns it: the
     * runtime cancels what it scheduled when it closes but does not stop {@code time}. [the system
     * UTC clock, and a timer thread of the runtime's own, {@code <nodeName>-timer-1}]
     */
    @Incubating
    public Builder time(RuntimeTime t) {
      once("time", time);
      time = Objects.requireNonNull(t, "time was null but it must be set");
      return this;
    }

    /**
     * Sets only the clock of inactivity, delivery deadlines and latencies; delays still run on the
     * runtime's timer thread, on real time. To drive both, set {@link #time(RuntimeTime)} instead.
     * [system UTC]
     */
    @Incubating
    public Builder clock(Clock c) {
      once("clock", clock);
      clock = Objects.requireNonNull(c, "clock was null but it must be set");
      return this;
    }

    /** Sets the number of threads that run agents and deliveries [available processors]. */
    public Builder threads(int count) {
      once("threads", threads);
      if (count < 1 || count > 1024) {
        throw new IllegalArgumentException("threads was " + count + " but it must be 1 to 1024");
      }
      threads = count;
      return this;
    }

    /** Sets this node's name for logs, thread names and metric tags [tributary]. */
    public Builder nodeName(String name) {
      once("nodeName", nodeName);
      if (name == null || name.isBlank()) {
        throw new IllegalArgumentException("nodeName was '" + name + "' but it must be set");
      }
      nodeName = name;
      return this;
    }

    /** Builds the runtime; nothing runs until {@link StreamRuntime#start()}. */
    public StreamRuntime build() {
      if (providers.isEmpty()) {
        throw new IllegalStateException(
            "no provider was added; call addProvider(name, factory) at least once");
      }
      if (time != null && clock != null) {
        throw new IllegalStateException(
            "both clock and time were set; set only time: its clock() is the runtime's clock");
      }
      for (ImplicitSpec s : implicits) {
        if (!providers.containsKey(s.provider())) {
          throw new IllegalStateException(
              "implicit subscription for namespace '"
                  + s.namespace()
                  + "' names provider '"
                  + s.provider()
                  + "' but the providers are "
                  + providers.keySet());
        }
      }
      return Runtimes.create(
          new RuntimeConfig(
              List.copyOf(providers.values()),
              List.copyOf(implicits),
              meterRegistry,
              streamFilter != null ? streamFilter : StreamFilter.ALL,
              pubSubStore != null ? pubSubStore : new InMemoryPubSubStore(),
              time,
              clock != null ? clock : Clock.systemUTC(),
              threads != null ? threads : Runtime.getRuntime().availableProcessors(),
              nodeName != null ? nodeName : "tributary",
              observationRegistry,
              subscriberResolver));
    }

    private static void once(String name, Object current) {
      if (current != null) {
        throw new IllegalStateException(name + " was already set to " + current);
      }
    }
  }
}
