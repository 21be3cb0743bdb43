package dev.tributary.internal.runtime;

import dev.tributary.StreamFilter;
import dev.tributary.StreamProvider;
import dev.tributary.StreamRuntime;
import dev.tributary.spi.PubSubStore;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link StreamRuntime} of one node: a shared worker pool that runs every agent's serial
 * executor, its {@link Timers} over the injected time (by default over a timer thread of its own),
 * and the providers. See docs/concurrency.md.
 */
final class PersistentStreamRuntime implements StreamRuntime {
  private static final Logger log = LoggerFactory.getLogger(PersistentStreamRuntime.class);

  private final Map<String, PersistentStreamProvider> providers = new LinkedHashMap<>();
  private final MeterRegistry meterRegistry;
  private final Tracing tracing;
  private final StreamFilter streamFilter;
  private final PubSubStore pubSubStore;
  private final dev.tributary.spi.SubscriberResolver subscriberResolver;
  private final String nodeName;
  private final ThreadPoolExecutor pool;
  private final TimerThreadTime ownTimer;
  private final Timers timers;
  private final CompletableFuture<Void> closed = new CompletableFuture<>();
  private final Object lifecycle = new Object();
  private boolean started;
  private boolean closing;

  PersistentStreamRuntime(RuntimeConfig config) {
    this.meterRegistry =
        config.meterRegistry() != null ? config.meterRegistry() : new AgentMetrics.NoMeters();
    this.tracing = Tracing.of(config.observationRegistry());
    this.streamFilter = config.streamFilter();
    this.pubSubStore = config.pubSubStore();
    this.subscriberResolver = config.subscriberResolver();
    this.nodeName = config.nodeName();
    int threads = config.threads();
    this.pool =
        new ThreadPoolExecutor(
            threads,
            threads,
            0,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            factory(nodeName + "-worker"));
    this.ownTimer =
        config.time() == null
            ? new TimerThreadTime(config.clock(), factory(nodeName + "-timer"))
            : null;
    this.timers = new Timers(config.time() != null ? config.time() : ownTimer, nodeName);
    for (RuntimeConfig.ProviderSpec spec : config.providers()) {
      providers.put(spec.name(), new PersistentStreamProvider(this, spec, config.implicits()));
    }
  }

  private java.util.concurrent.ThreadFactory factory(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new RuntimeThread(this, r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** A thread of this runtime's pools; lets {@link #close()} refuse to run on one. */
  private static final class RuntimeThread extends Thread {
    final PersistentStreamRuntime owner;

    RuntimeThread(PersistentStreamRuntime owner, Runnable r, String name) {
      super(r, name);
      this.owner = owner;
    }
  }

  @Override
  public void start() {
    synchronized (lifecycle) {
      if (closing) {
        throw new IllegalStateException("runtime " + nodeName + " is closed; build a new one");
      }
      if (started) {
        throw new IllegalStateException("runtime " + nodeName + " was already started");
      }
      started = true;
    }
    // The runtime's threads exist from start on rather than appearing later, on first use: what a
    // started runtime runs on does not change while it runs.
    pool.prestartAllCoreThreads();
    if (ownTimer != null) {
      ownTimer.prestart();
    }
    List<PersistentStreamProvider> done = new ArrayList<>();
    try {
      // Before the providers: their agents attach the subscriptions it holds.
      pubSubStore.start().toCompletableFuture().join();
      for (PersistentStreamProvider p : providers.values()) {
        p.start();
        done.add(p);
      }
    } catch (RuntimeException e) {
      log.error("Runtime {} failed to start; stopping what started", nodeName, e);
      close();
      throw e;
    }
  }

  @Override
  public boolean isRunning() {
    synchronized (lifecycle) {
      return started && !closing;
    }
  }

  @Override
  public StreamProvider provider(String name) {
    PersistentStreamProvider p = providers.get(name);
    if (p == null) {
      throw new IllegalArgumentException(
          "unknown provider '" + name + "'; the providers are " + providers.keySet());
    }
    return p;
  }

  @Override
  public Collection<StreamProvider> providers() {
    return List.copyOf(providers.values());
  }

  @Override
  public void close() {
    if (Thread.currentThread() instanceof RuntimeThread t && t.owner == this) {
      throw new IllegalStateException(
          "close() was called from one of the runtime's own threads (an observer or adapter"
              + " callback); it would wait for itself. Close from another thread.");
    }
    boolean first;
    synchronized (lifecycle) {
      first = !closing;
      closing = true;
    }
    if (!first) {
      closed.join();
      return;
    }
    try {
      List<CompletableFuture<Void>> stops = new ArrayList<>();
      for (PersistentStreamProvider p : providers.values()) {
        stops.add(p.shutdownAgents());
      }
      CompletableFuture.allOf(stops.toArray(new CompletableFuture<?>[0])).join();
      for (PersistentStreamProvider p : providers.values()) {
        p.release();
      }
      try {
        pubSubStore.close();
      } catch (RuntimeException e) {
        log.warn("Runtime {}: closing the subscription store failed", nodeName, e);
      }
    } finally {
      timers.close();
      if (ownTimer != null) {
        ownTimer.shutdown();
      }
      pool.shutdown();
      try {
        if (!pool.awaitTermination(10, TimeUnit.SECONDS)) {
          pool.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        pool.shutdownNow();
      }
      closed.complete(null);
      log.info("Runtime {} closed", nodeName);
    }
  }

  @Override
  public dev.tributary.Health health() {
    boolean running = isRunning();
    java.util.Map<String, dev.tributary.ProviderHealth> each = new LinkedHashMap<>();
    dev.tributary.HealthStatus status =
        running ? dev.tributary.HealthStatus.UP : dev.tributary.HealthStatus.DOWN;
    List<String> reasons = new ArrayList<>();
    if (!running) {
      reasons.add("runtime " + nodeName + " is not running (not started, or closed)");
    }
    for (PersistentStreamProvider p : providers.values()) {
      dev.tributary.ProviderHealth h = p.health();
      each.put(p.name(), h);
      status = status.worst(h.status());
      reasons.addAll(h.reasons());
    }
    return new dev.tributary.Health(
        java.time.Instant.ofEpochMilli(timers.millis()), running, status, reasons, each);
  }

  ExecutorService pool() {
    return pool;
  }

  /** Every timer of this runtime; the source of its clock too. */
  Timers timers() {
    return timers;
  }

  /** Producing and delivering observations; null without an {@code ObservationRegistry}. */
  Tracing tracing() {
    return tracing;
  }

  MeterRegistry meterRegistry() {
    return meterRegistry;
  }

  StreamFilter streamFilter() {
    return streamFilter;
  }

  PubSubStore pubSubStore() {
    return pubSubStore;
  }

  /** Turns addresses of cluster-wide subscriptions into observers; null for none. */
  dev.tributary.spi.SubscriberResolver subscriberResolver() {
    return subscriberResolver;
  }
}
