package dev.tributary.chaos;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@link NodeMain} JVM forked by the runner with this JVM's class path, its output in {@code
 * node-N.log} and its ledger in {@code node-N.ledger}. {@link #kill()} is SIGKILL ({@code
 * destroyForcibly} on Linux); {@link #close()} asks for a graceful close on stdin.
 */
final class NodeProcess {

  private final String name;
  private final int link;
  private final Path ledger;
  private final Path log;
  private final Process process;
  private final OutputStream stdin;

  private NodeProcess(String name, int link, Path ledger, Path log, Process process) {
    this.name = name;
    this.link = link;
    this.ledger = ledger;
    this.log = log;
    this.process = process;
    this.stdin = process.getOutputStream();
  }

  /**
   * Forks a node that reaches the brokers through client link {@code link}; it is ready once {@link
   * #isReady()}.
   */
  static NodeProcess start(String name, int link, Path dir, List<String> nodeArgs) {
    Path ledger = dir.resolve(name + ".ledger");
    Path log = dir.resolve(name + ".log");
    Path argFile = dir.resolve("classpath.args");
    try {
      if (!Files.exists(argFile)) {
        String cp = System.getProperty("surefire.test.class.path");
        if (cp == null || cp.isBlank()) {
          cp = System.getProperty("java.class.path");
        }
        Files.writeString(argFile, "-cp\n\"" + cp.replace("\\", "\\\\") + "\"\n");
      }
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.add("-Xmx256m");
      command.add("-XX:+UseSerialGC");
      command.add("-XX:TieredStopAtLevel=1");
      command.add("-XX:+ExitOnOutOfMemoryError");
      command.add("-Dtributary.chaos.node=" + name);
      command.add("@" + argFile);
      command.add(NodeMain.class.getName());
      command.add("--node");
      command.add(name);
      command.add("--ledger");
      command.add(ledger.toString());
      command.addAll(nodeArgs);
      Process p =
          new ProcessBuilder(command)
              .directory(dir.toFile())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
      return new NodeProcess(name, link, ledger, log, p);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start node " + name, e);
    }
  }

  String name() {
    return name;
  }

  /** The client link (of the cluster) the node's connections go through. */
  int link() {
    return link;
  }

  Path ledger() {
    return ledger;
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Whether the node printed READY (its runtime started). */
  boolean isReady() {
    try {
      return Files.exists(log) && Files.readString(log).contains("READY " + name);
    } catch (IOException e) {
      return false;
    }
  }

  /** The last lines of its log, for failure messages. */
  String logTail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** Sends one command; false when the node is gone. */
  boolean send(NodeCommand command) {
    try {
      stdin.write((command.line() + "\n").getBytes(StandardCharsets.UTF_8));
      stdin.flush();
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** SIGKILL: no shutdown hook, no close, no last commit. */
  void kill() {
    process.destroyForcibly();
    awaitExit(Duration.ofSeconds(30));
  }

  /** Asks for a graceful close and waits for the exit; false if it did not exit in time. */
  boolean close(Duration timeout) {
    send(NodeCommand.close());
    return awaitExit(timeout);
  }

  private boolean awaitExit(Duration timeout) {
    try {
      return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  int exitValue() {
    return process.exitValue();
  }
}
