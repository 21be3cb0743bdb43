package dev.tributary.testkit;

import static org.awaitility.Awaitility.await;

import dev.tributary.StreamRuntime;
import io.micrometer.core.instrument.Meter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Checks after every test that the runtimes it ran left nothing behind, and closes what the test
 * left open.
 *
 * <p>Registered for every test of a module by JUnit's extension auto-detection: the testkit lists
 * it in {@code META-INF/services/org.junit.jupiter.api.extension.Extension}, and a module turns
 * detection on with {@code junit.jupiter.extensions.autodetection.enabled=true} in its {@code
 * src/test/resources/junit-platform.properties}. A test class may also register it itself, to let
 * it close harnesses and runtimes it tracks:
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
 * <p>Both registrations may be active at once: the first instance to see a test runs the checks,
 * the others hand it what they track.
 *
 * <p>What it finds without being told: every {@link DeliveryHarness} and {@link
 * RecordingQueueAdapterFactory} created on the test's thread during the test, every thread of a
 * runtime (whatever its node name) and every thread named {@code tributary-*} (adapter threads,
 * such as the Kafka adapter's consumer loops) or carrying a {@code tributary-*} client id (Kafka
 * client threads are named {@code "... | <client.id>"}). Runtimes a test builds itself are seen
 * through their threads; {@link #track(StreamRuntime)} also closes them.
 *
 * <p>After each test it closes every harness and runtime it knows of (harnesses first, so their
 * gates open), then fails the test when:
 *
 * <ul>
 *   <li>a harness's or tracked runtime still reports {@link StreamRuntime#isRunning()};
 *   <li>a runtime or adapter thread started during the test is still alive a few seconds after
 *       close: a runtime that was never closed, or a leaked agent pool, timer or adapter thread;
 *   <li>a harness's meter registry still holds a {@code tributary.*} meter: an agent that did not
 *       stop;
 *   <li>any thread died of an uncaught exception during the test, or a runtime's agent task threw
 *       (the runtime's serial executor logs it, goes on, and reports it to the default
 *       uncaught-exception handler, which this extension installs for the test);
 *   <li>a {@link RecordingQueueAdapterFactory} noted an SPI violation, left a receiver initialized
 *       but not shut down, or left a cache cursor open.
 * </ul>
 *
 * <p>After each test class it checks again for runtime and adapter threads started by the class (in
 * {@code @BeforeAll}, say) and not reported by a test. Threads alive before a test or class started
 * are not held against it, so one leak fails one test, not every test after it.
 *
 * <p>Tests of one module run one at a time (the default); the harnesses and factories of a test are
 * found through its thread.
 */
public final class RuntimeInvariantsExtension
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {

  /** The class of every thread of a runtime's worker pool and timer, whatever its node name. */
  static final String RUNTIME_THREAD_CLASS =
      "dev.tributary.internal.runtime.PersistentStreamRuntime$RuntimeThread";

  private static final ExtensionContext.Namespace NAMESPACE =
      ExtensionContext.Namespace.create(RuntimeInvariantsExtension.class);

  /** The scope of the test running on this thread, if any. */
  private static final ThreadLocal<Scope> CURRENT = new ThreadLocal<>();

  /** Threads already reported as leaked, so that a class check does not report them again. */
  private static final Set<Thread> REPORTED =
      Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));

  private final List<DeliveryHarness> harnesses = new CopyOnWriteArrayList<>();
  private final List<StreamRuntime> runtimes = new CopyOnWriteArrayList<>();
  private final List<RecordingQueueAdapterFactory> spies = new CopyOnWriteArrayList<>();
  private final String threadPrefix;
  private final Duration threadGrace;

  /** Checks threads of runtimes and threads named {@code tributary-*}, waiting up to 10 s. */
  public RuntimeInvariantsExtension() {
    this("tributary-", Duration.ofSeconds(10));
  }

  /**
   * Checks threads of runtimes and threads whose name starts with (or whose client id, after {@code
   * "| "}, starts with) {@code threadPrefix}, waiting up to {@code threadGrace} for them to end.
   */
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

  /** Called by {@link DeliveryHarness#create()}: the test running on this thread owns {@code h}. */
  static void created(DeliveryHarness h) {
    Scope s = CURRENT.get();
    if (s != null) {
      synchronized (s) {
        s.harnesses.add(h);
      }
    }
  }

  /** Called by the {@link RecordingQueueAdapterFactory} constructor, like {@link #created}. */
  static void created(RecordingQueueAdapterFactory spy) {
    Scope s = CURRENT.get();
    if (s != null) {
      synchronized (s) {
        s.spies.add(spy);
      }
    }
  }

  // ------------------------------------------------------------------ class level

  @Override
  public void beforeAll(ExtensionContext context) {
    ExtensionContext.Store store = context.getStore(NAMESPACE);
    if (store.get(classKey(context)) == null) {
      store.put(classKey(context), new ClassScope(this, checkedThreads()));
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    ExtensionContext.Store store = context.getStore(NAMESPACE);
    ClassScope c = store.get(classKey(context), ClassScope.class);
    if (c == null || c.owner() != this) {
      return;
    }
    store.remove(classKey(context));
    List<String> leaked = awaitThreadsEnd(c.threadsBefore());
    if (!leaked.isEmpty()) {
      throw new AssertionError(
          "runtime invariants broken after " + context.getDisplayName() + ":\n  " + leaked.get(0));
    }
  }

  /** The runtime and adapter threads alive before a class, and the instance that checks it. */
  private record ClassScope(RuntimeInvariantsExtension owner, Set<Thread> threadsBefore) {}

  private static String classKey(ExtensionContext context) {
    return "class " + context.getUniqueId();
  }

  // ------------------------------------------------------------------ test level

  @Override
  public void beforeEach(ExtensionContext context) {
    ExtensionContext.Store store = context.getStore(NAMESPACE);
    if (store.get(scopeKey(context)) != null) {
      return; // another instance runs the checks of this test
    }
    // The runtime reports failed agent tasks to the default handler only when asked to.
    System.setProperty("tributary.reportFailedTasks", "true");
    Scope s = new Scope(this, checkedThreads(), CURRENT.get());
    store.put(scopeKey(context), s);
    s.previousHandler = Thread.getDefaultUncaughtExceptionHandler();
    Thread.setDefaultUncaughtExceptionHandler(new Handler(s));
    CURRENT.set(s);
  }

  @Override
  public void afterEach(ExtensionContext context) {
    ExtensionContext.Store store = context.getStore(NAMESPACE);
    Scope s = store.get(scopeKey(context), Scope.class);
    if (s == null) {
      return;
    }
    synchronized (s) {
      s.harnesses.addAll(harnesses);
      s.runtimes.addAll(runtimes);
      s.spies.addAll(spies);
    }
    harnesses.clear();
    runtimes.clear();
    spies.clear();
    if (s.owner != this) {
      return; // the owner, whose afterEach runs after this one, checks
    }
    store.remove(scopeKey(context));
    List<String> problems;
    try {
      problems = check(s);
    } finally {
      Thread.setDefaultUncaughtExceptionHandler(s.previousHandler);
      if (s.enclosing == null) {
        CURRENT.remove();
      } else {
        CURRENT.set(s.enclosing);
      }
    }
    if (!problems.isEmpty()) {
      throw new AssertionError(
          "runtime invariants broken after "
              + context.getDisplayName()
              + ":\n  "
              + String.join("\n  ", problems));
    }
  }

  private static String scopeKey(ExtensionContext context) {
    return "test " + context.getUniqueId();
  }

  private List<String> check(Scope s) {
    List<String> problems = new ArrayList<>();
    List<DeliveryHarness> harnesses;
    List<StreamRuntime> runtimes;
    List<RecordingQueueAdapterFactory> spies;
    synchronized (s) {
      harnesses = List.copyOf(s.harnesses);
      runtimes = List.copyOf(s.runtimes);
      spies = List.copyOf(s.spies);
    }
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
      if (h.isClosed() && h.hasRuntime() && h.runtime().isRunning()) {
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
      if (!spy.openCursors().isEmpty()) {
        problems.add("cache cursors still open after close: " + spy.openCursors());
      }
      if (!spy.openReplays().isEmpty()) {
        problems.add("replays still open after close: " + spy.openReplays());
      }
    }
    problems.addAll(awaitThreadsEnd(s.threadsBefore));
    synchronized (s.uncaught) {
      for (String u : s.uncaught) {
        problems.add("uncaught exception in thread " + u);
      }
    }
    return problems;
  }

  // ------------------------------------------------------------------ threads

  /**
   * Waits up to the grace period for every checked thread not in {@code before} to end; returns a
   * problem naming those still alive, and remembers them as reported.
   */
  private List<String> awaitThreadsEnd(Set<Thread> before) {
    try {
      await("runtime and adapter threads end after close")
          .atMost(threadGrace)
          .pollDelay(Duration.ZERO)
          .pollInterval(Duration.ofMillis(20))
          .until(() -> newThreads(before).isEmpty());
      return List.of();
    } catch (ConditionTimeoutException e) {
      // reported below
    }
    List<Thread> alive = newThreads(before);
    if (alive.isEmpty()) {
      return List.of();
    }
    REPORTED.addAll(alive);
    List<String> names = new ArrayList<>();
    for (Thread t : alive) {
      names.add(t.getName());
    }
    return List.of("threads leaked after close (" + threadGrace + " grace): " + names);
  }

  private List<Thread> newThreads(Set<Thread> before) {
    List<Thread> out = new ArrayList<>();
    for (Thread t : checkedThreads()) {
      if (!before.contains(t) && !REPORTED.contains(t)) {
        out.add(t);
      }
    }
    return out;
  }

  /** The live threads this extension watches: runtime threads and {@code threadPrefix} ones. */
  Set<Thread> checkedThreads() {
    Set<Thread> out = Collections.newSetFromMap(new IdentityHashMap<>());
    for (Thread t : allThreads()) {
      if (t.isAlive() && isChecked(t)) {
        out.add(t);
      }
    }
    return out;
  }

  private boolean isChecked(Thread t) {
    String name = t.getName();
    return t.getClass().getName().equals(RUNTIME_THREAD_CLASS)
        || name.startsWith(threadPrefix)
        || name.contains("| " + threadPrefix);
  }

  private static Thread[] allThreads() {
    ThreadGroup root = Thread.currentThread().getThreadGroup();
    while (root.getParent() != null) {
      root = root.getParent();
    }
    Thread[] threads = new Thread[root.activeCount() * 2 + 16];
    int n;
    while ((n = root.enumerate(threads, true)) == threads.length) {
      threads = new Thread[threads.length * 2];
    }
    Thread[] out = new Thread[n];
    System.arraycopy(threads, 0, out, 0, n);
    return out;
  }

  private static String where(Throwable e) {
    StackTraceElement[] trace = e.getStackTrace();
    return trace.length == 0 ? "" : " (at " + trace[0] + ")";
  }

  /**
   * Notes an uncaught exception for the running test, then passes it on to the handler that was
   * installed before, skipping those of enclosing tests (a test that runs tests, like this
   * extension's own), so that only the innermost test fails of it.
   */
  private static final class Handler implements Thread.UncaughtExceptionHandler {
    private final Scope scope;

    Handler(Scope scope) {
      this.scope = scope;
    }

    @Override
    public void uncaughtException(Thread t, Throwable e) {
      scope.uncaught.add(t.getName() + ": " + e + where(e));
      Thread.UncaughtExceptionHandler next = scope.previousHandler;
      while (next instanceof Handler h) {
        next = h.scope.previousHandler;
      }
      if (next != null) {
        next.uncaughtException(t, e);
      } else {
        e.printStackTrace();
      }
    }
  }

  /** What one test created and saw; held in the test's store by the instance that checks it. */
  private static final class Scope {
    final RuntimeInvariantsExtension owner;
    final Set<Thread> threadsBefore;
    final Scope enclosing;
    // guarded by this scope; identity sets, in creation order
    final Set<DeliveryHarness> harnesses = new LinkedHashSet<>();
    final Set<StreamRuntime> runtimes = Collections.newSetFromMap(new IdentityHashMap<>());
    final Set<RecordingQueueAdapterFactory> spies = new LinkedHashSet<>();
    final List<String> uncaught = Collections.synchronizedList(new ArrayList<>());
    volatile Thread.UncaughtExceptionHandler previousHandler;

    Scope(RuntimeInvariantsExtension owner, Set<Thread> threadsBefore, Scope enclosing) {
      this.owner = owner;
      this.threadsBefore = threadsBefore;
      this.enclosing = enclosing;
    }
  }
}
