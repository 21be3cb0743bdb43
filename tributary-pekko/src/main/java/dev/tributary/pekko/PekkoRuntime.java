package dev.tributary.pekko;

import dev.tributary.StreamRuntime;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Binds a {@link StreamRuntime} to the lifetime of an {@link ActorSystem}: the runtime starts when
 * it is bound and is closed (reading stopped, deliveries drained, progress committed) by a task of
 * the system's {@link CoordinatedShutdown}, in a phase that runs before the actors it feeds stop.
 *
 * <pre>{@code
 * ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "orders");
 * StreamRuntime runtime = PekkoRuntime.bind(system, StreamRuntime.builder()
 *     .addProvider("kafka", kafka)
 *     .implicitSubscription("kafka", "orders", customers)  // an ActorEntities
 *     .build());
 * ...
 * system.terminate();  // closes the runtime first, then stops the actors
 * }</pre>
 *
 * <p>The default phase is {@value #DEFAULT_PHASE}: CoordinatedShutdown's phase for "wait for the
 * requests in progress", which is what closing a runtime does (it stops reading and waits up to
 * {@code drainTimeout} for deliveries in flight). It comes after {@code service-unbind}, so
 * producers that are HTTP routes have stopped taking requests, and before {@code service-stop},
 * {@code cluster-sharding-shutdown-region} and {@code actor-system-terminate}, so every actor the
 * runtime feeds is still there to acknowledge. Give the phase a timeout above the providers' {@code
 * drainTimeout} plus Kafka's {@code closeTimeout} ({@code
 * pekko.coordinated-shutdown.phases.service-requests-done.timeout}, 5 s by default): when the phase
 * times out the shutdown goes on, the actors stop under the runtime, and the events they had not
 * acknowledged are delivered again after a restart (nothing is lost, some is repeated).
 *
 * <p>The close runs on Pekko's blocking dispatcher ({@link DispatcherSelector#blocking()}), never
 * on the thread that calls {@code terminate}; once it returned no thread of the runtime is left.
 * Closing the runtime earlier by hand is fine: close is idempotent.
 */
public final class PekkoRuntime {
  private static final Logger log = LoggerFactory.getLogger(PekkoRuntime.class);

  /** The phase {@link #bind(ActorSystem, StreamRuntime)} closes the runtime in. */
  public static final String DEFAULT_PHASE = "service-requests-done";

  /** Phases that run before the actors stop: the ones a runtime may close in. */
  private static final Set<String> PHASES =
      Set.of(
          CoordinatedShutdown.PhaseBeforeServiceUnbind(),
          CoordinatedShutdown.PhaseServiceUnbind(),
          CoordinatedShutdown.PhaseServiceRequestsDone(),
          CoordinatedShutdown.PhaseServiceStop(),
          CoordinatedShutdown.PhaseBeforeClusterShutdown());

  private PekkoRuntime() {}

  /** Starts {@code runtime} and closes it in phase {@value #DEFAULT_PHASE} of {@code system}. */
  public static StreamRuntime bind(ActorSystem<?> system, StreamRuntime runtime) {
    return bind(system, runtime, DEFAULT_PHASE);
  }

  /**
   * Starts {@code runtime} (unless it is running already) and closes it in {@code phase} of {@code
   * system}'s CoordinatedShutdown.
   *
   * @throws IllegalArgumentException when {@code phase} is not one that runs before the actors stop
   *     ({@code before-service-unbind}, {@code service-unbind}, {@code service-requests-done},
   *     {@code service-stop}, {@code before-cluster-shutdown})
   * @throws IllegalStateException when the system is already shutting down; the runtime is then
   *     closed
   */
  public static StreamRuntime bind(ActorSystem<?> system, StreamRuntime runtime, String phase) {
    Objects.requireNonNull(system, "system was null but it must be set");
    Objects.requireNonNull(runtime, "runtime was null but it must be set");
    if (!PHASES.contains(phase)) {
      throw new IllegalArgumentException(
          "phase was '"
              + phase
              + "' but it must be one that runs before the actors stop: "
              + PHASES.stream().sorted().toList());
    }
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    if (shutdown.getShutdownReason().isPresent()) {
      runtime.close();
      throw new IllegalStateException(
          "actor system '" + system.name() + "' is shutting down; the runtime was closed");
    }
    Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    shutdown.addTask(
        phase,
        "tributary-close",
        () ->
            CompletableFuture.supplyAsync(
                () -> {
                  log.info(
                      "Actor system {} shutting down: closing its stream runtime", system.name());
                  runtime.close();
                  return Done.getInstance();
                },
                blocking));
    if (!runtime.isRunning()) {
      runtime.start();
    }
    return runtime;
  }
}
