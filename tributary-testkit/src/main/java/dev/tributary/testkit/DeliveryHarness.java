package dev.tributary.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.AsyncStream;
import dev.tributary.BatchStreamObserver;
import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamProvider;
import dev.tributary.StreamProviderOptions;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.spi.QueueAdapterFactory;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.search.Search;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Drives a {@link StreamRuntime} in a test: produces events, records what every subscription
 * receives, and checks it. Adapter-agnostic: it works through the public API only, so the same
 * checks run on memory queues and on Kafka.
 *
 * <p>Deliveries are recorded per <em>subscriber</em> (a label the test chooses, one per
 * subscription) and per stream. A delivery counts once the observer's {@link Behavior} acknowledged
 * it. Every recorded sequence is checked as it is written: tokens must strictly increase, so a
 * duplicate or a reordering is caught whenever it happens.
 *
 * <pre>{@code
 * DeliveryHarness h = DeliveryHarness.create();
 * h.start(h.runtimeBuilder()
 *     .addProvider("memory", MemoryQueueAdapterFactory.builder().build())
 *     .implicitSubscription("memory", "orders", h.observerFactory()));
 * StreamId id = StreamId.of("orders", "42");
 * h.subscribe("audit", id);
 * h.produce(id, "a", "b", "c");
 * h.awaitCount("audit", id, 3).awaitCount("implicit", id, 3);
 * h.assertExactly(id, List.of("a", "b", "c")).assertInOrderNoDuplicates();
 * h.close();
 * }</pre>
 *
 * <p>Thread-safe. {@link #close()} opens every {@link Gate} the harness made and closes the
 * runtime.
 */
public final class DeliveryHarness implements AutoCloseable {

  /** The subscriber label {@link #observerFactory()} records under. */
  public static final String IMPLICIT = "implicit";

  /** How long awaits and joins wait unless told otherwise: 10 seconds. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  private record Key(String subscriber, StreamId streamId) {}

  private final ConcurrentHashMap<Key, Track> tracks = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Key, AtomicInteger> activations = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<StreamId, List<Object>> produced = new ConcurrentHashMap<>();
  private final AtomicLong delivered = new AtomicLong();
  private final AtomicLong producedCount = new AtomicLong();
  private final List<Gate> gates = new CopyOnWriteArrayList<>();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private volatile StreamRuntime runtime;
  private volatile String defaultProvider;
  private volatile Duration timeout = DEFAULT_TIMEOUT;
  private volatile boolean closed;

  private DeliveryHarness() {}

  /**
   * A harness without a runtime yet: get its observer factories, then {@link #start}. Created on a
   * test's thread, it is closed and checked after the test by {@link RuntimeInvariantsExtension}.
   */
  public static DeliveryHarness create() {
    DeliveryHarness h = new DeliveryHarness();
    RuntimeInvariantsExtension.created(h);
    return h;
  }

  /**
   * A started harness over one provider, with a recording implicit subscription (subscriber {@link
   * #IMPLICIT}) for each of {@code implicitNamespaces}, and the harness's meter registry.
   */
  public static DeliveryHarness start(
      String providerName,
      QueueAdapterFactory factory,
      Consumer<StreamProviderOptions.Builder> options,
      String... implicitNamespaces) {
    DeliveryHarness h = create();
    StreamRuntime.Builder b = h.runtimeBuilder().addProvider(providerName, factory, options);
    for (String ns : implicitNamespaces) {
      b.implicitSubscription(providerName, ns, h.observerFactory());
    }
    return h.start(b);
  }

  /** A runtime builder that already reports to {@link #meterRegistry()}. */
  public StreamRuntime.Builder runtimeBuilder() {
    return StreamRuntime.builder().meterRegistry(registry);
  }

  /** Builds and starts the runtime; the harness owns it and closes it. */
  public DeliveryHarness start(StreamRuntime.Builder builder) {
    StreamRuntime rt = builder.build();
    wrap(rt);
    rt.start();
    return this;
  }

  /**
   * Takes over {@code rt}, started or not: the harness produces to it and closes it. Its first
   * provider becomes the default one.
   */
  public DeliveryHarness wrap(StreamRuntime rt) {
    Objects.requireNonNull(rt, "runtime");
    if (runtime != null) {
      throw new IllegalStateException("this harness already drives a runtime: " + runtime);
    }
    runtime = rt;
    defaultProvider = rt.providers().iterator().next().name();
    return this;
  }

  /** Sets how long awaits and joins wait [10 s]. */
  public DeliveryHarness timeout(Duration t) {
    timeout = Objects.requireNonNull(t, "timeout");
    return this;
  }

  /** How long awaits and joins wait. */
  public Duration timeout() {
    return timeout;
  }

  /** The runtime. */
  public StreamRuntime runtime() {
    StreamRuntime rt = runtime;
    if (rt == null) {
      throw new IllegalStateException("the harness has no runtime yet; call start() or wrap()");
    }
    return rt;
  }

  /** True once {@link #start} or {@link #wrap} gave the harness a runtime. */
  boolean hasRuntime() {
    return runtime != null;
  }

  /** The meter registry of {@link #runtimeBuilder()}. */
  public MeterRegistry meterRegistry() {
    return registry;
  }

  /** The name of the provider {@link #stream(StreamId)} and {@link #produce} use. */
  public String defaultProvider() {
    runtime();
    return defaultProvider;
  }

  /** Makes {@code name} the provider {@link #stream(StreamId)} and {@link #produce} use. */
  public DeliveryHarness defaultProvider(String name) {
    runtime().provider(name);
    defaultProvider = name;
    return this;
  }

  // ------------------------------------------------------------------ producing

  /** Stream {@code id} of the default provider. */
  public <T> AsyncStream<T> stream(StreamId id) {
    return stream(defaultProvider(), id);
  }

  /** Stream {@code id} of {@code provider}. */
  public <T> AsyncStream<T> stream(String provider, StreamId id) {
    StreamProvider p = runtime().provider(provider);
    return p.stream(id);
  }

  /** Produces {@code items} to {@code id} one by one, each accepted before the next is sent. */
  public DeliveryHarness produce(StreamId id, Object... items) {
    return produce(defaultProvider(), id, Arrays.asList(items));
  }

  /** Produces {@code items} to {@code id} one by one, each accepted before the next is sent. */
  public DeliveryHarness produce(StreamId id, List<?> items) {
    return produce(defaultProvider(), id, items);
  }

  /** Produces {@code items} to {@code id} of {@code provider}, one by one, in order. */
  public DeliveryHarness produce(String provider, StreamId id, List<?> items) {
    AsyncStream<Object> s = stream(provider, id);
    for (Object item : items) {
      join(s.onNext(item), "produce " + item + " to " + id);
      produced(id, List.of(item));
    }
    return this;
  }

  /** Produces {@code items} to {@code id} as one batch. */
  public DeliveryHarness produceBatch(StreamId id, List<?> items) {
    AsyncStream<Object> s = stream(id);
    join(s.onNextBatch(new ArrayList<>(items)), "produce a batch of " + items.size() + " to " + id);
    produced(id, items);
    return this;
  }

  private void produced(StreamId id, List<?> items) {
    List<Object> list =
        produced.computeIfAbsent(id, k -> Collections.synchronizedList(new ArrayList<>()));
    list.addAll(items);
    producedCount.addAndGet(items.size());
  }

  /** What the harness produced to {@code id}, in order of acceptance. */
  public List<Object> produced(StreamId id) {
    List<Object> list = produced.get(id);
    if (list == null) {
      return List.of();
    }
    synchronized (list) {
      return List.copyOf(list);
    }
  }

  /** How many events the harness produced. */
  public long producedCount() {
    return producedCount.get();
  }

  // ------------------------------------------------------------------ observers

  /** A recorder that acknowledges at once; see {@link Recorder}. */
  public <T> Recorder<T> recorder(String subscriber, StreamId id) {
    return recorder(subscriber, id, Behavior.ACK);
  }

  /** A recorder that handles events with {@code behavior}; see {@link Recorder}. */
  public <T> Recorder<T> recorder(String subscriber, StreamId id, Behavior behavior) {
    return new Recorder<>(this, track(subscriber, id), Objects.requireNonNull(behavior));
  }

  /**
   * A recorder for batch subscriptions that handles each batch with {@code behavior}; see {@link
   * Recorder#asBatchObserver()}.
   */
  public <T> BatchStreamObserver<T> batchRecorder(
      String subscriber, StreamId id, Behavior behavior) {
    return this.<T>recorder(subscriber, id, behavior).asBatchObserver();
  }

  /** An implicit-subscription factory recording under {@link #IMPLICIT}. */
  public <T> Function<StreamId, StreamObserver<T>> observerFactory() {
    return observerFactory(IMPLICIT, Behavior.ACK);
  }

  /** An implicit-subscription factory recording under {@code subscriber}. */
  public <T> Function<StreamId, StreamObserver<T>> observerFactory(String subscriber) {
    return observerFactory(subscriber, Behavior.ACK);
  }

  /**
   * An implicit-subscription factory: every call counts as an activation of that stream (see {@link
   * #activations}) and returns a fresh recorder of {@code subscriber} with {@code behavior}.
   */
  public <T> Function<StreamId, StreamObserver<T>> observerFactory(
      String subscriber, Behavior behavior) {
    Objects.requireNonNull(subscriber, "subscriber");
    Objects.requireNonNull(behavior, "behavior");
    return id -> {
      activations
          .computeIfAbsent(new Key(subscriber, id), k -> new AtomicInteger())
          .incrementAndGet();
      return recorder(subscriber, id, behavior);
    };
  }

  /** Like {@link #observerFactory(String, Behavior)} for implicit batch subscriptions. */
  public <T> Function<StreamId, BatchStreamObserver<T>> batchObserverFactory(
      String subscriber, Behavior behavior) {
    Objects.requireNonNull(subscriber, "subscriber");
    Objects.requireNonNull(behavior, "behavior");
    return id -> {
      activations
          .computeIfAbsent(new Key(subscriber, id), k -> new AtomicInteger())
          .incrementAndGet();
      return batchRecorder(subscriber, id, behavior);
    };
  }

  /** How often an observer factory of {@code subscriber} was called for {@code id}. */
  public int activations(String subscriber, StreamId id) {
    AtomicInteger n = activations.get(new Key(subscriber, id));
    return n == null ? 0 : n.get();
  }

  /** How often an observer factory of {@code subscriber} was called, per stream. */
  public Map<StreamId, Integer> activations(String subscriber) {
    Map<StreamId, Integer> out = new TreeMap<>();
    activations.forEach(
        (k, v) -> {
          if (k.subscriber().equals(subscriber)) {
            out.put(k.streamId(), v.get());
          }
        });
    return out;
  }

  /** A closed gate that {@link #close()} opens. */
  public Gate gate() {
    Gate g = new Gate();
    gates.add(g);
    return g;
  }

  // ------------------------------------------------------------------ subscribing

  /** Subscribes a recorder of {@code subscriber} to {@code id} and waits for the handshake. */
  public <T> StreamSubscriptionHandle<T> subscribe(String subscriber, StreamId id) {
    return subscribe(subscriber, this.<T>stream(id), null, null, Behavior.ACK);
  }

  /** Subscribes a recorder with {@code behavior}. */
  public <T> StreamSubscriptionHandle<T> subscribe(
      String subscriber, StreamId id, Behavior behavior) {
    return subscribe(subscriber, this.<T>stream(id), null, null, behavior);
  }

  /** Subscribes a recorder from {@code token}, inclusive. */
  public <T> StreamSubscriptionHandle<T> subscribe(
      String subscriber, StreamId id, StreamSequenceToken token) {
    return subscribe(subscriber, this.<T>stream(id), token, null, Behavior.ACK);
  }

  /** Subscribes a recorder to {@code stream} with every option; waits for the handshake. */
  public <T> StreamSubscriptionHandle<T> subscribe(
      String subscriber,
      AsyncStream<T> stream,
      StreamSequenceToken token,
      String filterData,
      Behavior behavior) {
    Recorder<T> r = recorder(subscriber, stream.streamId(), behavior);
    return join(
        stream.subscribe(r, token, filterData),
        "subscribe " + subscriber + " to " + stream.streamId());
  }

  /** Resumes {@code handle} with a fresh recorder of {@code subscriber}; waits for the switch. */
  public <T> StreamSubscriptionHandle<T> resume(
      StreamSubscriptionHandle<T> handle, String subscriber, Behavior behavior) {
    Recorder<T> r = recorder(subscriber, handle.streamId(), behavior);
    return join(handle.resume(r), "resume " + handle);
  }

  /** Unsubscribes and waits until nothing more will be delivered. */
  public DeliveryHarness unsubscribe(StreamSubscriptionHandle<?> handle) {
    join(handle.unsubscribe(), "unsubscribe " + handle);
    return this;
  }

  /**
   * Waits for {@code stage} up to {@link #timeout()}; returns its value or rethrows its failure
   * (unwrapped when it is unchecked).
   */
  public <T> T join(CompletionStage<T> stage, String what) {
    try {
      return stage.toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | CompletionException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new CompletionException(cause);
    } catch (TimeoutException e) {
      throw new AssertionError(what + " did not complete within " + timeout + "; " + summary(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting to " + what, e);
    }
  }

  // ------------------------------------------------------------------ recording

  private Track track(String subscriber, StreamId id) {
    Objects.requireNonNull(subscriber, "subscriber");
    Objects.requireNonNull(id, "streamId");
    return tracks.computeIfAbsent(new Key(subscriber, id), k -> new Track(subscriber, id));
  }

  void record(Track track, Object item, StreamSequenceToken token) {
    track.record(item, token);
    delivered.incrementAndGet();
  }

  private Track existing(String subscriber, StreamId id) {
    return tracks.get(new Key(subscriber, id));
  }

  // ------------------------------------------------------------------ queries

  /** Every recorded delivery, all subscribers and streams. */
  public long count() {
    return delivered.get();
  }

  /** The deliveries recorded for {@code subscriber}, all streams. */
  public long count(String subscriber) {
    long n = 0;
    for (Track t : tracks.values()) {
      if (t.subscriber.equals(subscriber)) {
        n += t.count();
      }
    }
    return n;
  }

  /** The deliveries recorded for {@code subscriber} on {@code id}. */
  public int count(String subscriber, StreamId id) {
    Track t = existing(subscriber, id);
    return t == null ? 0 : t.count();
  }

  /** The deliveries of {@code subscriber} on every stream: per stream in arrival order. */
  public List<Delivery> deliveries(String subscriber) {
    List<Delivery> out = new ArrayList<>();
    for (Track t : tracks.values()) {
      if (t.subscriber.equals(subscriber)) {
        out.addAll(t.deliveries());
      }
    }
    return out;
  }

  /** The deliveries of {@code subscriber} on {@code id}, in arrival order. */
  public List<Delivery> deliveries(String subscriber, StreamId id) {
    Track t = existing(subscriber, id);
    return t == null ? List.of() : t.deliveries();
  }

  /** The items {@code subscriber} received on {@code id}, in arrival order. */
  public List<Object> items(String subscriber, StreamId id) {
    Track t = existing(subscriber, id);
    return t == null ? List.of() : t.items();
  }

  /** The tokens {@code subscriber} received on {@code id}, in arrival order. */
  public List<StreamSequenceToken> tokens(String subscriber, StreamId id) {
    Track t = existing(subscriber, id);
    return t == null ? List.of() : t.tokens();
  }

  /** What {@code onError} reported to {@code subscriber} on {@code id}. */
  public List<Throwable> errors(String subscriber, StreamId id) {
    Track t = existing(subscriber, id);
    return t == null ? List.of() : t.errors();
  }

  /** Every error reported to any recorder. */
  public List<Throwable> errors() {
    List<Throwable> out = new ArrayList<>();
    for (Track t : tracks.values()) {
      out.addAll(t.errors());
    }
    return out;
  }

  /**
   * How many times {@code subscriber}'s recorders were called on every stream, failures and calls
   * never acknowledged included.
   */
  public long attempts(String subscriber) {
    long n = 0;
    for (Track t : tracks.values()) {
      if (t.subscriber.equals(subscriber)) {
        n += t.attempts();
      }
    }
    return n;
  }

  /** How many times {@code subscriber}'s recorders on {@code id} were called, failures included. */
  public long attempts(String subscriber, StreamId id) {
    Track t = existing(subscriber, id);
    return t == null ? 0 : t.attempts();
  }

  /** How many times the event at {@code token} was offered to {@code subscriber} on {@code id}. */
  public int attempts(String subscriber, StreamId id, StreamSequenceToken token) {
    Track t = existing(subscriber, id);
    return t == null ? 0 : t.attempts(token);
  }

  /** How many times {@code onCompleted} was called for {@code subscriber} on {@code id}. */
  public int completions(String subscriber, StreamId id) {
    Track t = existing(subscriber, id);
    return t == null ? 0 : t.completions();
  }

  /** The streams {@code subscriber} has a recorder for. */
  public Set<StreamId> streams(String subscriber) {
    Set<StreamId> out = new LinkedHashSet<>();
    for (Key k : tracks.keySet()) {
      if (k.subscriber().equals(subscriber)) {
        out.add(k.streamId());
      }
    }
    return out;
  }

  /** Every subscriber label with a recorder. */
  public Set<String> subscribers() {
    Set<String> out = new LinkedHashSet<>();
    for (Key k : tracks.keySet()) {
      out.add(k.subscriber());
    }
    return out;
  }

  /** Events recorded again for the same subscriber and stream, over all of them. */
  public long duplicates() {
    long n = 0;
    for (Track t : tracks.values()) {
      n += t.duplicates();
    }
    return n;
  }

  /** Every recorded delivery that was not a duplicate: the distinct events delivered. */
  public long distinctCount() {
    return count() - duplicates();
  }

  /** A short description of every record, for failure messages. */
  public String summary() {
    StringBuilder b =
        new StringBuilder("harness: ")
            .append(producedCount.get())
            .append(" produced, ")
            .append(delivered.get())
            .append(" delivered");
    List<Track> sorted = new ArrayList<>(tracks.values());
    sorted.sort((x, y) -> (x.subscriber + x.streamId).compareTo(y.subscriber + y.streamId));
    int shown = 0;
    for (Track t : sorted) {
      if (shown++ == 40) {
        b.append("\n  ... ").append(sorted.size() - 40).append(" more");
        break;
      }
      b.append("\n  ").append(t);
    }
    return b.toString();
  }

  // ------------------------------------------------------------------ metrics

  /** The sum of counter {@code name} over every meter matching {@code tags} (key, value...). */
  public double counter(String name, String... tags) {
    double sum = 0;
    for (Counter c : Search.in(registry).name(name).tags(tags).counters()) {
      sum += c.count();
    }
    return sum;
  }

  /** The largest value of gauge {@code name} over every meter matching {@code tags}. */
  public double gaugeMax(String name, String... tags) {
    double max = Double.NaN;
    for (Gauge g : Search.in(registry).name(name).tags(tags).gauges()) {
      double v = g.value();
      max = Double.isNaN(max) ? v : Math.max(max, v);
    }
    return max;
  }

  // ------------------------------------------------------------------ awaiting

  /** Waits until at least {@code n} deliveries were recorded in all. */
  public DeliveryHarness awaitCount(long n) {
    return awaitCount(n, timeout);
  }

  /** Waits up to {@code t} until at least {@code n} deliveries were recorded in all. */
  public DeliveryHarness awaitCount(long n, Duration t) {
    awaitThat("" + n + " deliveries", t, () -> count() >= n);
    return this;
  }

  /** Waits until {@code subscriber} received at least {@code n} events, all streams. */
  public DeliveryHarness awaitCount(String subscriber, long n) {
    awaitThat(subscriber + " receives " + n, timeout, () -> count(subscriber) >= n);
    return this;
  }

  /** Waits until {@code subscriber} received at least {@code n} events of {@code id}. */
  public DeliveryHarness awaitCount(String subscriber, StreamId id, int n) {
    awaitThat(
        subscriber + " receives " + n + " of " + id, timeout, () -> count(subscriber, id) >= n);
    return this;
  }

  /** Waits until {@code onError} was called at least {@code n} times for the subscriber. */
  public DeliveryHarness awaitErrors(String subscriber, StreamId id, int n) {
    awaitThat(
        subscriber + " gets " + n + " error(s) on " + id,
        timeout,
        () -> errors(subscriber, id).size() >= n);
    return this;
  }

  /** Waits up to {@link #timeout()} for {@code condition}, polling every few milliseconds. */
  public DeliveryHarness awaitThat(String what, java.util.concurrent.Callable<Boolean> condition) {
    awaitThat(what, timeout, condition);
    return this;
  }

  private void awaitThat(
      String what, Duration t, java.util.concurrent.Callable<Boolean> condition) {
    await(what)
        .atMost(t)
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(5))
        .untilAsserted(
            () ->
                assertThat(condition.call())
                    .as(() -> "waiting until " + what + "; " + summary())
                    .isTrue());
  }

  // ------------------------------------------------------------------ checks

  /**
   * Checks every record: per subscriber and stream, tokens strictly increase, so nothing was
   * delivered twice or out of order.
   */
  public DeliveryHarness assertInOrderNoDuplicates() {
    List<String> violations = new ArrayList<>();
    for (Track t : tracks.values()) {
      violations.addAll(t.violations());
    }
    assertThat(violations)
        .as(() -> "order violations (" + duplicates() + " duplicate(s)); " + summary())
        .isEmpty();
    return this;
  }

  /**
   * Checks that every subscriber with a recorder on {@code id} received exactly {@code expected},
   * in that order.
   */
  public DeliveryHarness assertExactly(StreamId id, List<?> expected) {
    List<String> subscribers = new ArrayList<>();
    for (Key k : tracks.keySet()) {
      if (k.streamId().equals(id)) {
        subscribers.add(k.subscriber());
      }
    }
    assertThat(subscribers).as("subscribers with a recorder on %s", id).isNotEmpty();
    for (String s : subscribers) {
      assertExactly(s, id, expected);
    }
    return this;
  }

  /** Checks that {@code subscriber} received exactly {@code expected} on {@code id}, in order. */
  public DeliveryHarness assertExactly(String subscriber, StreamId id, List<?> expected) {
    assertThat(items(subscriber, id))
        .as("what %s received on %s", subscriber, id)
        .containsExactlyElementsOf(new ArrayList<Object>(expected));
    return this;
  }

  /**
   * Checks at-least-once delivery to {@code subscriber} on {@code id}: in the order their tokens
   * were first delivered, the items are exactly {@code expected}, and those first deliveries came
   * in token order. Replays (an event delivered again) are allowed; count them with {@link
   * #duplicates()}.
   */
  public DeliveryHarness assertDeliveredAtLeastOnce(
      String subscriber, StreamId id, List<?> expected) {
    Track t = existing(subscriber, id);
    List<Object> firsts = t == null ? List.of() : t.firstItems();
    List<StreamSequenceToken> firstTokens = t == null ? List.of() : t.firstTokens();
    assertThat(firsts)
        .as("what %s received on %s, in first-delivery order", subscriber, id)
        .containsExactlyElementsOf(new ArrayList<Object>(expected));
    assertThat(firstTokens).as("tokens %s first received on %s", subscriber, id).isSorted();
    return this;
  }

  /** Checks that {@code subscriber} received exactly what the harness produced to each stream. */
  public DeliveryHarness assertExactlyProduced(String subscriber, StreamId... ids) {
    for (StreamId id : ids) {
      assertExactly(subscriber, id, produced(id));
    }
    return this;
  }

  /** Checks that no recorder was told of an error. */
  public DeliveryHarness assertNoErrors() {
    Map<String, List<Throwable>> errors = new LinkedHashMap<>();
    for (Track t : tracks.values()) {
      if (!t.errors().isEmpty()) {
        errors.put(t.subscriber + " on " + t.streamId, t.errors());
      }
    }
    assertThat(errors).as("errors reported to observers").isEmpty();
    return this;
  }

  // ------------------------------------------------------------------ lifecycle

  /** True once {@link #close()} ran. */
  public boolean isClosed() {
    return closed;
  }

  /** Opens every gate, then closes the runtime (drain, flush, stop). Idempotent. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    gates.forEach(Gate::open);
    StreamRuntime rt = runtime;
    if (rt != null) {
      rt.close();
    }
  }
}
