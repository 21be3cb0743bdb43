package dev.tributary.testkit.kafka;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;

/**
 * The entry point of a broker JVM forked by the {@code local} backend of {@link KafkaBroker}.
 *
 * <p>It exists for two reasons. First, so that the broker can never outlive the JVM that forked it:
 * a shutdown hook in the parent does not run when the parent is killed with SIGKILL (an IDE's stop
 * button, a CI timeout, the OOM killer), so the child watches its parent and halts itself when the
 * parent is gone. Second, so that formatting the KRaft storage and starting the broker share one
 * JVM start-up, which is a large part of the time a test waits for its broker.
 *
 * <p>Usage: {@code BrokerMain [--parent-pid PID] [--format CLUSTER_ID] server.properties}. With
 * {@code --format} the log directories are formatted (static quorum, already formatted directories
 * are left alone) before the broker starts.
 */
public final class BrokerMain {

  /** How often the watchdog checks that the parent process is alive. */
  private static final Duration PARENT_POLL = Duration.ofMillis(500);

  private BrokerMain() {}

  /**
   * Formats storage if asked, arms the parent watchdog and runs {@code kafka.Kafka} until it exits.
   */
  public static void main(String[] args) throws Exception {
    Long parentPid = null;
    String clusterId = null;
    String properties = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--parent-pid":
          parentPid = Long.parseLong(requireValue(args, ++i));
          break;
        case "--format":
          clusterId = requireValue(args, ++i);
          break;
        default:
          if (properties != null) {
            usage("unexpected argument " + args[i]);
          }
          properties = args[i];
      }
    }
    if (properties == null) {
      usage("missing server.properties");
    }
    if (parentPid != null) {
      watchParent(parentPid);
    }
    if (clusterId != null) {
      format(clusterId, properties);
    }
    kafka.Kafka.main(new String[] {properties});
  }

  private static String requireValue(String[] args, int i) {
    if (i >= args.length) {
      usage(args[i - 1] + " needs a value");
    }
    return args[i];
  }

  private static void usage(String problem) {
    System.err.println(
        "BrokerMain: "
            + problem
            + "\nusage: BrokerMain [--parent-pid PID] [--format CLUSTER_ID] server.properties");
    System.exit(2);
  }

  /**
   * Starts a daemon thread that halts this JVM once the parent is gone. {@code halt}, not {@code
   * exit}: nobody is left to care about an orderly shutdown, and Kafka's shutdown hook could take
   * seconds.
   */
  private static void watchParent(long pid) {
    Optional<ProcessHandle> parent = ProcessHandle.of(pid);
    if (parent.isEmpty() || !parent.get().isAlive()) {
      System.err.println("BrokerMain: parent process " + pid + " is not alive; halting");
      Runtime.getRuntime().halt(3);
    }
    ProcessHandle handle = parent.get();
    Thread watchdog =
        new Thread(
            () -> {
              // ProcessHandle.isAlive() compares the start time too, so a recycled PID is not
              // mistaken for the parent.
              while (handle.isAlive()) {
                try {
                  Thread.sleep(PARENT_POLL.toMillis());
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                  return;
                }
              }
              System.err.println("BrokerMain: parent process " + pid + " is gone; halting");
              Runtime.getRuntime().halt(3);
            },
            "tributary-parent-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
  }

  /**
   * Runs Kafka's storage tool in this JVM. {@code StorageTool.execute} is used rather than {@code
   * main} because {@code main} exits the JVM.
   */
  private static void format(String clusterId, String properties) {
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    int rc;
    try {
      rc =
          kafka.tools.StorageTool.execute(
              new String[] {
                "format", "--cluster-id", clusterId, "--config", properties, "--ignore-formatted"
              },
              out);
    } catch (Exception e) {
      System.err.println("BrokerMain: formatting the storage failed");
      e.printStackTrace();
      System.exit(4);
      return;
    }
    if (rc != 0) {
      System.err.println("BrokerMain: kafka-storage format exited with " + rc);
      System.exit(4);
    }
  }
}
