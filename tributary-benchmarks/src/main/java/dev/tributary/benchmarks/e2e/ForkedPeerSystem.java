package dev.tributary.benchmarks.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * A peer that runs in a JVM of its own ({@link PekkoConnectorsPeer}): Pekko Connectors Kafka is
 * built against kafka-clients 3.9.2, and the harness's classpath has 4.3.1, so the peer gets a
 * classpath of its own ({@code target/peer-lib}, filled by the build, and the module's classes).
 *
 * <p>One peer JVM serves both Pekko Connectors systems and lives as long as the harness, so that it
 * warms up as the harness's own systems do. It gets the harness's heap flags. Its CPU is counted as
 * the client's for its own runs ({@link #clientProcesses()}) and never as the broker's.
 */
public final class ForkedPeerSystem implements SystemUnderTest {
  private static PeerJvm jvm;

  private final BenchKafka kafka;
  private final String mode;
  private final int parallelism;

  /** {@code mode}: {@code partitioned} or {@code ask}. */
  public ForkedPeerSystem(BenchKafka kafka, BenchOptions options, String mode) {
    this.kafka = kafka;
    this.mode = mode;
    this.parallelism = options.pekkoParallelism;
  }

  @Override
  public String name() {
    return mode.equals("partitioned") ? "pekko-partitioned" : "pekko-ask";
  }

  @Override
  public String describe() {
    String common =
        "Pekko Connectors Kafka 1.2.0 on kafka-clients 3.9.2 and Pekko 1.7.0, in a JVM of its own"
            + " (same heap flags), Pekko's defaults, the harness's consumer configuration";
    return mode.equals("partitioned")
        ? common
            + "; committablePartitionedSource, per partition mapAsync(1) into the handler and"
            + " Committer.sink (ordered per partition)"
        : common
            + "; committableSource, mapAsync("
            + parallelism
            + ") + ask to one typed actor per key, which starts a record's work as it arrives and"
            + " applies it when the work completes; Committer.sink (a key's records may be"
            + " applied out of order: counted as reorders)";
  }

  @Override
  public void prepare() throws IOException {
    jvm(kafka);
  }

  @Override
  public List<ProcessHandle> clientProcesses() {
    return jvm == null ? List.of() : List.of(jvm.process.toHandle());
  }

  @Override
  public RunResult run(RunSpec spec) throws Exception {
    PeerJvm peer = jvm(kafka);
    String perKey = "-";
    Path perKeyFile = null;
    if (spec.perKey() != null) {
      perKeyFile = Files.createTempFile("bench-perkey", ".txt");
      int[] pk = spec.perKey();
      Files.writeString(
          perKeyFile,
          IntStream.range(0, pk.length)
              .mapToObj(i -> Integer.toString(pk[i]))
              .collect(Collectors.joining(",")));
      perKey = perKeyFile.toString();
    }
    try {
      spec.onReady().run();
      String[] r =
          peer.call(
                  String.join(
                      " ",
                      "run",
                      mode,
                      spec.topic(),
                      Integer.toString(spec.partitions()),
                      Integer.toString(spec.keys()),
                      Long.toString(spec.target()),
                      Long.toString(spec.workNanos()),
                      Integer.toString(spec.timeoutSeconds()),
                      Integer.toString(parallelism),
                      BenchKafka.freshGroup(name()),
                      perKey))
              .split(" ");
      String note = r[6].equals("-") ? null : r[6].replace('_', ' ');
      return new RunResult(
          name(),
          Long.parseLong(r[0]),
          Long.parseLong(r[1]),
          Long.parseLong(r[2]),
          Long.parseLong(r[3]),
          note,
          new long[0],
          0,
          0,
          Long.parseLong(r[4]),
          Long.parseLong(r[5]));
    } finally {
      if (perKeyFile != null) {
        Files.deleteIfExists(perKeyFile);
      }
    }
  }

  private static synchronized PeerJvm jvm(BenchKafka kafka) throws IOException {
    if (jvm == null) {
      jvm = new PeerJvm(kafka);
      CpuMeter.excludeFromBroker(jvm.process.toHandle());
    }
    return jvm;
  }

  /** The forked JVM and its command channel. */
  private static final class PeerJvm {
    final Process process;
    final PrintStream commands;
    final BufferedReader answers;

    PeerJvm(BenchKafka kafka) throws IOException {
      Path target = targetDir();
      Path lib = target.resolve("peer-lib");
      Path classes = target.resolve("classes");
      if (!Files.isDirectory(lib) || !Files.isDirectory(classes)) {
        throw new IllegalStateException(
            "the Pekko Connectors peer needs "
                + lib
                + " and "
                + classes
                + ", which `mvn -pl tributary-benchmarks -am package` makes; run the harness from"
                + " the module's target directory");
      }
      List<String> cp = new ArrayList<>();
      cp.add(classes.toString());
      try (Stream<Path> jars = Files.list(lib)) {
        jars.filter(p -> p.toString().endsWith(".jar")).sorted().forEach(p -> cp.add(p.toString()));
      }
      Path props = kafka.consumerPropertiesFile();
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.addAll(heapFlags());
      cmd.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
      cmd.add("-cp");
      cmd.add(String.join(java.io.File.pathSeparator, cp));
      cmd.add(PekkoConnectorsPeer.class.getName());
      cmd.add(props.toString());
      process = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      commands = new PrintStream(process.getOutputStream(), true, StandardCharsets.UTF_8);
      answers =
          new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
      Runtime.getRuntime().addShutdownHook(new Thread(process::destroy, "bench-peer-stop"));
      String ready = readUntil("READY ");
      System.out.println(
          "  Pekko Connectors peer JVM pid "
              + ready
              + " started: "
              + String.join(" ", cmd.subList(0, cmd.size() - 4)));
    }

    String call(String command) throws IOException {
      commands.println(command);
      return readUntil("RESULT ");
    }

    /** Relays the peer's output until a line that starts with {@code prefix}; returns its rest. */
    private String readUntil(String prefix) throws IOException {
      String line;
      while ((line = answers.readLine()) != null) {
        if (line.startsWith(prefix)) {
          return line.substring(prefix.length());
        }
        System.out.println(line);
      }
      throw new UncheckedIOException(
          new IOException("the peer JVM ended (exit " + waitExit() + ")"));
    }

    private int waitExit() {
      try {
        return process.waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return -1;
      }
    }
  }

  /** This JVM's heap flags (-Xms, -Xmx, -Xmn), which the forked JVMs get too. */
  static List<String> heapFlags() {
    List<String> flags = new ArrayList<>();
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (arg.startsWith("-Xms") || arg.startsWith("-Xmx") || arg.startsWith("-Xmn")) {
        flags.add(arg);
      }
    }
    return flags;
  }

  /** The module's target directory: where the harness jar or its classes directory lives. */
  static Path targetDir() {
    try {
      Path here =
          Path.of(
              ForkedPeerSystem.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      return here.getParent();
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }
}
