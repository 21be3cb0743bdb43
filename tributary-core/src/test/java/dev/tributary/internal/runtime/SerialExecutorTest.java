package dev.tributary.internal.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A failed task is logged and, when {@link SerialExecutor#REPORT_PROPERTY} is set (the test kit
 * sets it), reported to the default uncaught-exception handler; the executor goes on.
 */
class SerialExecutorTest {
  private final ExecutorService pool =
      Executors.newSingleThreadExecutor(r -> new Thread(r, "serial-executor-test"));
  private Thread.UncaughtExceptionHandler previous;

  private String previousProperty;

  @BeforeEach
  void rememberHandler() {
    previous = Thread.getDefaultUncaughtExceptionHandler();
    previousProperty = System.setProperty(SerialExecutor.REPORT_PROPERTY, "true");
  }

  @AfterEach
  void restore() throws InterruptedException {
    Thread.setDefaultUncaughtExceptionHandler(previous);
    if (previousProperty == null) {
      System.clearProperty(SerialExecutor.REPORT_PROPERTY);
    } else {
      System.setProperty(SerialExecutor.REPORT_PROPERTY, previousProperty);
    }
    pool.shutdown();
    assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
  }

  /** Runs a task that throws "task bug" on a new executor, then one that counts down. */
  private CountDownLatch failThenRunNext() {
    SerialExecutor exec = new SerialExecutor(pool, "test");
    CountDownLatch next = new CountDownLatch(1);
    exec.execute(
        () -> {
          throw new IllegalStateException("task bug");
        });
    exec.execute(next::countDown);
    return next;
  }

  @Test
  void aThrowingTask_isReportedToTheDefaultHandler_andTheNextTaskRuns() throws Exception {
    List<String> reported = Collections.synchronizedList(new ArrayList<>());
    Thread.setDefaultUncaughtExceptionHandler(
        (t, e) -> reported.add(t.getName() + ": " + e.getMessage()));
    CountDownLatch next = failThenRunNext();
    assertThat(next.await(10, TimeUnit.SECONDS)).as("the task after the failed one ran").isTrue();
    assertThat(reported).containsExactly("serial-executor-test: task bug");
  }

  @Test
  void aThrowingHandler_doesNotStopTheExecutor() throws Exception {
    Thread.setDefaultUncaughtExceptionHandler(
        (t, e) -> {
          throw new IllegalStateException("handler bug");
        });
    CountDownLatch next = failThenRunNext();
    assertThat(next.await(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void withoutTheProperty_theHandlerIsNotCalled() throws Exception {
    System.clearProperty(SerialExecutor.REPORT_PROPERTY);
    List<String> reported = Collections.synchronizedList(new ArrayList<>());
    Thread.setDefaultUncaughtExceptionHandler((t, e) -> reported.add(e.getMessage()));
    CountDownLatch next = failThenRunNext();
    assertThat(next.await(10, TimeUnit.SECONDS)).isTrue();
    assertThat(reported).as("an application's handler is not told by default").isEmpty();
  }

  @Test
  void withoutADefaultHandler_aThrowingTaskIsOnlyLogged() throws Exception {
    Thread.setDefaultUncaughtExceptionHandler(null);
    CountDownLatch next = failThenRunNext();
    assertThat(next.await(10, TimeUnit.SECONDS)).isTrue();
  }
}
