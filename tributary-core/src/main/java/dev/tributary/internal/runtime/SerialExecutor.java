package dev.tributary.internal.runtime;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs tasks one at a time, in submission order, on a shared pool: the "logical thread" that a
 * pulling agent is confined to.
 *
 * <p>A drain runs at most {@link #BATCH} tasks and then yields the pool thread, so that one busy
 * agent cannot starve the others sharing the pool.
 *
 * <p>A task that throws is a bug of the runtime (user and SPI code is called through guards): it is
 * logged, reported to the default uncaught-exception handler if there is one, and the executor goes
 * on with the next task.
 */
final class SerialExecutor implements Executor {
  private static final Logger log = LoggerFactory.getLogger(SerialExecutor.class);
  private static final int BATCH = 256;

  private final Executor pool;
  private final String name;
  private final ConcurrentLinkedQueue<Runnable> tasks = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean scheduled = new AtomicBoolean();
  private volatile Thread owner;

  SerialExecutor(Executor pool, String name) {
    this.pool = pool;
    this.name = name;
  }

  @Override
  public void execute(Runnable task) {
    tasks.add(task);
    schedule();
  }

  private void schedule() {
    if (scheduled.compareAndSet(false, true)) {
      try {
        pool.execute(this::drain);
      } catch (RejectedExecutionException e) {
        scheduled.set(false);
        log.debug("{}: pool is shut down; {} task(s) dropped", name, tasks.size());
        tasks.clear();
      }
    }
  }

  private void drain() {
    owner = Thread.currentThread();
    try {
      for (int i = 0; i < BATCH; i++) {
        Runnable task = tasks.poll();
        if (task == null) {
          break;
        }
        try {
          task.run();
        } catch (Throwable t) {
          log.error("{}: task failed; the agent goes on", name, t);
          report(t);
        }
      }
    } finally {
      owner = null;
      scheduled.set(false);
    }
    if (!tasks.isEmpty()) {
      schedule();
    }
  }

  /**
   * The system property that makes a failed task's throwable reach the JVM's default
   * uncaught-exception handler too; the test kit's invariants extension sets it. Off by default: an
   * application whose handler exits the process must not die of a runtime bug that is logged and
   * survived.
   */
  static final String REPORT_PROPERTY = "tributary.reportFailedTasks";

  /**
   * Hands a failed task's throwable to the JVM's default uncaught-exception handler, when {@link
   * #REPORT_PROPERTY} is true and one is installed; a test harness watches that handler. Otherwise
   * the log line above is all. A handler that throws is ignored: the executor goes on either way.
   */
  private static void report(Throwable t) {
    if (!Boolean.getBoolean(REPORT_PROPERTY)) {
      return;
    }
    Thread.UncaughtExceptionHandler handler = Thread.getDefaultUncaughtExceptionHandler();
    if (handler != null) {
      try {
        handler.uncaughtException(Thread.currentThread(), t);
      } catch (Throwable ignored) {
        // the failure is logged already; a broken handler must not stop the agent
      }
    }
  }

  /** True when the calling thread is running this executor's tasks. */
  boolean inExecutor() {
    return owner == Thread.currentThread();
  }

  /** Fails fast when confinement is broken: a cheap check on the hot paths. */
  void checkConfined() {
    if (owner != Thread.currentThread()) {
      throw new IllegalStateException(
          name + " state touched from " + Thread.currentThread().getName() + ", not its executor");
    }
  }
}
