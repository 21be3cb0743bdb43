package dev.tributary.testkit;

import static org.awaitility.Awaitility.await;

import dev.tributary.StreamRuntime;
import io.micrometer.core.instrument.Meter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Checks after every test that the runtime left nothing behind, and closes what the test left open.
 *
 * <pre>{@code
 * @RegisterExtension final RuntimeInvariantsExtension invariants = new RuntimeInvariantsExtension();
 *
 * @Test void delivers() {
 *   DeliveryHarness h = invariants.newHarness();
 *   ...
 * }
 * }</pre>
 *
 * <p>After each test it closes every harness and runtime it tracks (harnesses first, so their gates
 * open), then fails the test when:
 *
 * <ul>
 *   <li>a tracked runtime still reports {@link StreamRuntime#isRunning()};
 *   <li>a thread whose name starts with {@code tributary-} (the default node name) is still alive a
 *       few seconds after close: a leaked agent pool, timer or adapter thread;
 *   <li>a harness's meter registry still holds a {@code tributary.*} meter: an agent that did not
 *       stop;
 *   <li>any thread died of an uncaught exception during the test;
 *   <li>a tracked {@link RecordingQueueAdapterFactory} noted an SPI violation or left a receiver
 *       initialized but not shut down.
 * </ul>
 */
public final class RuntimeInvariantsExtension implements BeforeEachCallback, AfterEachCallback {

  private final List<DeliveryHarness> harnesses = new CopyOnWriteArrayList<>();
  private final List<StreamRuntime> runtimes = new CopyOnWriteArrayList<>();
  private final List<RecordingQueueAdapterFactory> spies = new CopyOnWriteArrayList<>();
  private final List<String> uncaught = Collections.synchronizedList(new ArrayList<>());
  private final String threadPrefix;
  private final Duration threadGrace;
  private Thread.UncaughtExceptionHandler previous;

  /** Checks threads named {@code tributary-*}, waiting up to 10 s for them to end. */
  public RuntimeInvariantsExtension() {
    this("tributary-", Duration.ofSeconds(10));
  }

  /** Checks threads whose name starts with {@code threadPrefix}. */
  public RuntimeInvariantsExtension(String threadPrefix, Duration threadGrace) {
    this.threadPrefix = Objects.requireNonNull(threadPrefix, "threadPrefix");
    this.threadGrace = Objects.requireNonNull(threadGrace, "threadGrace");
  }

  /** A new harness that is closed and checked after the test. */
  public DeliveryHarness newHarness() {
    DeliveryHarness h = DeliveryHarness.create();
    harnesses.add(h);
    return h;
  }

  /** Tracks a runtime the test built itself: closed and checked after the test. */
  public <R extends StreamRuntime> R track(R runtime) {
    runtimes.add(Objects.requireNonNull(runtime, "runtime"));
    return runtime;
  }

  /** Tracks a spy factory: its violations fail the test, and every receiver must be shut down. */
  public RecordingQueueAdapterFactory track(RecordingQueueAdapterFactory spy) {
    spies.add(Objects.requireNonNull(spy, "spy"));
    return spy;
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    uncaught.clear();
    previous = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler(
        (t, e) -> {
          uncaught.add(t.getName() + ": " + e);
          if (previous != null) {
            previous.uncaughtException(t, e);
          } else {
            e.printStackTrace();
          }
        });
  }

  @Override
  public void afterEach(ExtensionContext context) {
    List<String> problems = new ArrayList<>();
    for (DeliveryHarness h : harnesses) {
      try {
        h.close();
      } catch (RuntimeException | Error e) {
        problems.add("closing a harness failed: " + e);
      }
    }
    for (StreamRuntime rt : runtimes) {
      try {
        rt.close();
      } catch (RuntimeException | Error e) {
        problems.add("closing runtime failed: " + e);
      }
    }
    for (DeliveryHarness h : harnesses) {
      if (h.isClosed() && hasRuntime(h) && h.runtime().isRunning()) {
        problems.add("a harness runtime still runs after close");
      }
      for (Meter m : h.meterRegistry().getMeters()) {
        if (m.getId().getName().startsWith("tributary.")) {
          problems.add("meter still registered after close (agent not stopped): " + m.getId());
          break;
        }
      }
    }
    for (StreamRuntime rt : runtimes) {
      if (rt.isRunning()) {
        problems.add("runtime still running after close: " + rt);
      }
    }
    for (RecordingQueueAdapterFactory spy : spies) {
      problems.addAll(spy.violations());
      if (!spy.stillOpenQueues().isEmpty()) {
        problems.add("receivers never shut down: " + spy.stillOpenQueues());
      }
    }
    try {
      await("threads named " + threadPrefix + "* end after close")
          .atMost(threadGrace)
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(20))
          .until(() -> liveThreads().isEmpty());
    } catch (RuntimeException | Error e) {
      problems.add("threads leaked after close: " + liveThreads());
    }
    synchronized (uncaught) {
      for (String u : uncaught) {
        problems.add("uncaught exception in thread " + u);
      }
    }
    Thread.setDefaultUncaughtExceptionHandler(previous);
    harnesses.clear();
    runtimes.clear();
    spies.clear();
    if (!problems.isEmpty()) {
      throw new AssertionError(
          "runtime invariants broken after "
              + context.getDisplayName()
              + ":\n  "
              + String.join("\n  ", problems));
    }
  }

  private static boolean hasRuntime(DeliveryHarness h) {
    try {
      h.runtime();
      return true;
    } catch (IllegalStateException e) {
      return false;
    }
  }

  private List<String> liveThreads() {
    List<String> names = new ArrayList<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.isAlive() && t.getName().startsWith(threadPrefix)) {
        names.add(t.getName());
      }
    }
    return names;
  }
}
