package dev.tributary.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.tributary.StreamId;
import dev.tributary.StreamProviderOptions;
import dev.tributary.StreamRuntime;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueCacheCursor;
import dev.tributary.spi.QueueId;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.launcher.listeners.TestExecutionSummary;

/**
 * The extension must fail a test that breaks an invariant, and only that test: each case runs a
 * fixture class in a launcher of its own and reads its failures.
 */
class RuntimeInvariantsExtensionTest {

  private static final StreamId S = StreamId.of("ns", "k");

  /** What a fixture left behind for the enclosing test to clean up. */
  static volatile StreamRuntime leaked;

  /** The harness a fixture left open. */
  static volatile DeliveryHarness harness;

  @AfterEach
  void closeWhatAFixtureLeaked() {
    StreamRuntime rt = leaked;
    leaked = null;
    if (rt != null) {
      rt.close();
    }
    DeliveryHarness h = harness;
    harness = null;
    if (h != null) {
      h.close();
    }
  }

  /** Runs {@code fixture}'s tests, auto-detection on or off; returns the failures' messages. */
  private static List<String> run(Class<?> fixture, boolean autodetect) {
    LauncherDiscoveryRequest request =
        LauncherDiscoveryRequestBuilder.request()
            .selectors(selectClass(fixture))
            .enableImplicitConfigurationParameters(false)
            .configurationParameter(
                "junit.jupiter.extensions.autodetection.enabled", Boolean.toString(autodetect))
            .build();
    Launcher launcher = LauncherFactory.create();
    SummaryGeneratingListener listener = new SummaryGeneratingListener();
    launcher.execute(request, listener);
    TestExecutionSummary summary = listener.getSummary();
    assertThat(summary.getTestsStartedCount()).as("tests of %s started", fixture).isPositive();
    List<String> messages = new ArrayList<>();
    for (TestExecutionSummary.Failure f : summary.getFailures()) {
      messages.add(String.valueOf(f.getException().getMessage()));
    }
    return messages;
  }

  private static StreamRuntime memoryRuntime(String nodeName) {
    return StreamRuntime.builder()
        .addProvider("mem", MemoryQueueAdapterFactory.builder().queueCount(2).build())
        .nodeName(nodeName)
        .threads(1)
        .build();
  }

  // ------------------------------------------------------------------ fixtures

  static class ClosesEverything {
    @RegisterExtension
    final RuntimeInvariantsExtension invariants =
        new RuntimeInvariantsExtension("tributary-", Duration.ofMillis(500));

    @Test
    void deliversAndCloses() {
      DeliveryHarness h = DeliveryHarness.create();
      RecordingQueueAdapterFactory spy =
          new RecordingQueueAdapterFactory(MemoryQueueAdapterFactory.builder().build());
      h.start(
          h.runtimeBuilder()
              .addProvider("mem", spy)
              .nodeName("closes-everything")
              .implicitSubscription("mem", "ns", h.observerFactory()));
      h.produce(S, "a", "b").awaitCount(DeliveryHarness.IMPLICIT, S, 2);
      assertThat(spy.openCursors()).as("the implicit subscription's cursor").hasSize(1);
      // not closed here: the extension closes the harness, then checks
    }
  }

  static class LeaksARuntimeWithItsOwnNodeName {
    @RegisterExtension
    final RuntimeInvariantsExtension invariants =
        new RuntimeInvariantsExtension("tributary-", Duration.ofMillis(500));

    @Test
    void startsAndForgets() {
      StreamRuntime rt = memoryRuntime("forgotten-node");
      leaked = rt;
      rt.start();
    }
  }

  /** A leak of the class, not of a test: reported once, after the class. */
  static class LeaksARuntimeFromBeforeAll {
    @RegisterExtension
    static final RuntimeInvariantsExtension invariants =
        new RuntimeInvariantsExtension("tributary-", Duration.ofMillis(500));

    @BeforeAll
    static void startAndForget() {
      StreamRuntime rt = memoryRuntime("class-node");
      leaked = rt;
      rt.start();
    }

    @Test
    void passes() {}
  }

  static class DiesOfAnUncaughtException {
    @RegisterExtension
    final RuntimeInvariantsExtension invariants =
        new RuntimeInvariantsExtension("tributary-", Duration.ofMillis(500));

    @Test
    void threadDies() throws InterruptedException {
      Thread t =
          new Thread(
              () -> {
                throw new IllegalStateException("boom in a thread");
              },
              "dying-thread");
      t.start();
      t.join();
    }

    /** What a runtime's serial executor does with a task that threw. */
    @Test
    void agentTaskFails() {
      Thread.getDefaultUncaughtExceptionHandler()
          .uncaughtException(Thread.currentThread(), new IllegalStateException("agent task bug"));
    }
  }

  static class LeaksACursor {
    @RegisterExtension
    final RuntimeInvariantsExtension invariants =
        new RuntimeInvariantsExtension("tributary-", Duration.ofMillis(500));

    @Test
    void opensACursorAndNeverClosesIt() {
      cursor(new RecordingQueueAdapterFactory(MemoryQueueAdapterFactory.builder().build()));
    }

    @Test
    void opensACursorAndClosesIt() {
      cursor(new RecordingQueueAdapterFactory(MemoryQueueAdapterFactory.builder().build())).close();
    }

    private static QueueCacheCursor cursor(RecordingQueueAdapterFactory spy) {
      ProviderContext context =
          new ProviderContext(
              "mem",
              StreamProviderOptions.builder().build(),
              new SimpleMeterRegistry(),
              Clock.systemUTC());
      return spy.queueAdapterCache(context).createQueueCache(QueueId.of("mem", 0)).cursor(S, null);
    }
  }

  /** Registered twice (field and auto-detection): checked once, with both instances' objects. */
  static class RegisteredTwice {
    @RegisterExtension
    final RuntimeInvariantsExtension invariants =
        new RuntimeInvariantsExtension("tributary-", Duration.ofMillis(500));

    @Test
    void leavesAHarnessOpenAndDiesOfAnUncaughtException() throws InterruptedException {
      DeliveryHarness h = invariants.newHarness();
      h.start(h.runtimeBuilder().addProvider("mem", MemoryQueueAdapterFactory.builder().build()));
      harness = h;
      Thread t =
          new Thread(
              () -> {
                throw new IllegalStateException("boom twice");
              },
              "dying-thread");
      t.start();
      t.join();
    }
  }

  /** No registration of its own: only auto-detection closes the harness it leaves open. */
  static class ReliesOnAutodetection {
    @Test
    void leavesAHarnessOpen() {
      DeliveryHarness h = DeliveryHarness.create();
      h.start(h.runtimeBuilder().addProvider("mem", MemoryQueueAdapterFactory.builder().build()));
      harness = h;
    }
  }

  // ------------------------------------------------------------------ cases

  @Test
  void aTestThatClosesEverything_passes_andTheExtensionClosesHarnessesItFound() {
    assertThat(run(ClosesEverything.class, false)).isEmpty();
  }

  @Test
  void aRuntimeLeftRunning_failsTheTest_whateverItsNodeName() {
    assertThat(run(LeaksARuntimeWithItsOwnNodeName.class, false))
        .singleElement()
        .asString()
        .contains("threads leaked after close")
        .contains("forgotten-node-worker-1");
  }

  @Test
  void aRuntimeLeftRunningByBeforeAll_failsTheClass_notItsTests() {
    assertThat(run(LeaksARuntimeFromBeforeAll.class, false))
        .singleElement()
        .asString()
        .contains(
            "runtime invariants broken after RuntimeInvariantsExtensionTest$LeaksARuntimeFromBeforeAll")
        .contains("class-node-worker-1");
  }

  @Test
  void anUncaughtExceptionOrAFailedAgentTask_failsTheTestItHappenedIn() {
    assertThat(run(DiesOfAnUncaughtException.class, false))
        .hasSize(2)
        .anySatisfy(
            m ->
                assertThat(m)
                    .contains("uncaught exception in thread dying-thread")
                    .contains("boom in a thread"))
        .anySatisfy(m -> assertThat(m).contains("agent task bug"));
  }

  @Test
  void aCursorLeftOpen_failsTheTest_aClosedOneDoesNot() {
    assertThat(run(LeaksACursor.class, false))
        .singleElement()
        .asString()
        .contains("cache cursors still open after close: [mem-0: ns/k]");
  }

  @Test
  void registeredByAFieldAndByAutodetection_checksOnce() {
    List<String> failures = run(RegisteredTwice.class, true);
    assertThat(failures).singleElement().asString().contains("boom twice");
    assertThat(failures.get(0).split("uncaught exception", -1)).as("reported once").hasSize(2);
    assertThat(harness.isClosed()).as("the field instance's harness was closed").isTrue();
  }

  @Test
  void autodetection_registersTheExtension() {
    assertThat(run(ReliesOnAutodetection.class, true)).isEmpty();
    assertThat(harness.isClosed()).as("closed by the auto-detected extension").isTrue();
    harness = null;
    assertThat(run(ReliesOnAutodetection.class, false)).isEmpty();
    assertThat(harness.isClosed()).as("without auto-detection nobody closes it").isFalse();
  }

  @Test
  void thisModule_hasAutodetectionOn() {
    assertThat(Thread.getDefaultUncaughtExceptionHandler())
        .as("the handler the auto-detected extension installs for each test")
        .isNotNull()
        .extracting(h -> h.getClass().getName())
        .asString()
        .startsWith(RuntimeInvariantsExtension.class.getName());
  }
}
