package dev.tributary.testkit.kafka;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single-node KRaft broker (combined broker and controller) running in a JVM forked from this
 * one, with its data in a temporary directory.
 *
 * <p>A separate process rather than an in-JVM {@code KafkaRaftServer}: only a process can be killed
 * the way a crash kills a broker, restarted on the same port with the same files, and kept from
 * sharing heap, GC pauses and threads with the code under test. The child runs {@link BrokerMain}
 * on this JVM's classpath, so it needs no Kafka distribution on disk.
 */
final class LocalBroker implements BrokerInstance {

  private static final Logger LOG = LoggerFactory.getLogger(KafkaBroker.class);

  private static final String LOOPBACK = "127.0.0.1";

  /** Fresh starts pick new ports when another process grabbed one between probe and bind. */
  private static final int START_ATTEMPTS = 3;

  /** Restarts must keep their ports, so a port held by someone else is waited out a little. */
  private static final int RESTART_ATTEMPTS = 5;

  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration KILL_TIMEOUT = Duration.ofSeconds(30);
  private static final int LOG_TAIL_LINES = 60;

  private static final String LOG4J2_RESOURCE = "broker-log4j2.xml";
  private static final String LOGBACK_RESOURCE = "broker-logback.xml";

  /** Brokers whose process or directory still needs cleaning up when this JVM exits. */
  private static final Set<LocalBroker> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(new Thread(LocalBroker::reapAll, "tributary-kafka-reaper"));
  }

  private final BrokerSettings settings;

  private Path dir;
  private Path propertiesFile;
  private Path logFile;
  private Path classpathFile;
  private int brokerPort;
  private int controllerPort;
  private volatile Process process;
  private volatile Integer lastExitValue;

  LocalBroker(BrokerSettings settings) {
    this.settings = settings;
  }

  @Override
  public KafkaBroker.Backend backend() {
    return KafkaBroker.Backend.LOCAL;
  }

  @Override
  public void start() {
    try {
      dir = Files.createTempDirectory("tributary-kafka-");
      LIVE.add(this);
      propertiesFile = dir.resolve("server.properties");
      logFile = dir.resolve("broker.log");
      classpathFile = dir.resolve("classpath.args");
      Files.createDirectories(dir.resolve("data"));
      copyLoggingConfig(LOG4J2_RESOURCE);
      copyLoggingConfig(LOGBACK_RESOURCE);
      String classpath =
          settings.classpath() != null ? settings.classpath() : ChildClasspath.resolve();
      Files.writeString(classpathFile, "-cp\n" + argFileQuote(classpath) + "\n");
    } catch (IOException e) {
      throw new KafkaBrokerException("cannot prepare the broker directory " + dir, e);
    }
    String clusterId = Uuid.randomUuid().toString();
    for (int attempt = 1; ; attempt++) {
      pickPorts();
      writeServerProperties();
      try {
        launchAndAwait(clusterId);
        return;
      } catch (PortInUseException e) {
        if (attempt >= START_ATTEMPTS) {
          throw e;
        }
        LOG.debug("broker port taken, retrying with new ports", e);
      }
    }
  }

  @Override
  public String bootstrapServers() {
    return LOOPBACK + ":" + brokerPort;
  }

  @Override
  public boolean isRunning() {
    Process p = process;
    return p != null && p.isAlive();
  }

  @Override
  public void stop() {
    Process p = process;
    if (p == null || !p.isAlive()) {
      return;
    }
    p.destroy();
    try {
      if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        LOG.warn("Kafka broker did not stop within {}; killing it", STOP_TIMEOUT);
        p.destroyForcibly();
        p.waitFor(KILL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new KafkaBrokerException("interrupted while stopping the broker", e);
    }
    recordExit(p);
  }

  @Override
  public void kill() {
    Process p = process;
    if (p == null || !p.isAlive()) {
      return;
    }
    // On Unix destroyForcibly() sends SIGKILL: no shutdown hook, no flush, like a crash.
    p.destroyForcibly();
    try {
      if (!p.waitFor(KILL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new KafkaBrokerException("broker process " + p.pid() + " survived SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KafkaBrokerException("interrupted while killing the broker", e);
    }
    recordExit(p);
  }

  @Override
  public void restart() {
    stop();
    for (int attempt = 1; ; attempt++) {
      try {
        launchAndAwait(null);
        return;
      } catch (PortInUseException e) {
        if (attempt >= RESTART_ATTEMPTS) {
          throw e;
        }
        LOG.debug("broker port still taken, retrying", e);
        try {
          Thread.sleep(200L * attempt);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new KafkaBrokerException("interrupted while restarting the broker", ie);
        }
      }
    }
  }

  @Override
  public Optional<Path> logFile() {
    return Optional.ofNullable(logFile);
  }

  /** The exit status of the last broker process that ended, for tests of the kill semantics. */
  OptionalInt lastExitValue() {
    Integer value = lastExitValue;
    return value == null ? OptionalInt.empty() : OptionalInt.of(value);
  }

  @Override
  public void close() {
    LIVE.remove(this);
    destroyAndDelete();
  }

  private void destroyAndDelete() {
    Process p = process;
    if (p != null && p.isAlive()) {
      p.destroyForcibly();
      try {
        p.waitFor(KILL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      recordExit(p);
    }
    deleteRecursively(dir);
  }

  private static void reapAll() {
    for (LocalBroker broker : LIVE) {
      broker.destroyAndDelete();
    }
    LIVE.clear();
  }

  private void recordExit(Process p) {
    if (!p.isAlive()) {
      lastExitValue = p.exitValue();
    }
  }

  // ---------------------------------------------------------------- launching

  private void launchAndAwait(String formatClusterId) {
    long logOffset;
    try {
      logOffset = Files.exists(logFile) ? Files.size(logFile) : 0;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> command = command(formatClusterId);
    ProcessBuilder builder =
        new ProcessBuilder(command)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
    Process p;
    try {
      p = builder.start();
    } catch (IOException e) {
      throw new KafkaBrokerException("cannot launch the broker JVM: " + command, e);
    }
    process = p;
    lastExitValue = null;
    // The child's stdin is a pipe nobody writes to; closing it does not bother Kafka.
    closeQuietly(p.getOutputStream());
    awaitReady(p, logOffset);
  }

  private List<String> command(String formatClusterId) {
    String level = settings.brokerLogLevel();
    List<String> command = new ArrayList<>();
    command.add(javaExecutable());
    command.add("-Xmx" + settings.heap());
    command.add("-XX:+ExitOnOutOfMemoryError");
    command.add("-Djava.awt.headless=true");
    // The broker logs through SLF4J to whichever provider the classpath holds; configure the
    // likely ones so that it stays at the chosen level whichever that is.
    command.add("-Dlog4j2.configurationFile=" + dir.resolve(LOG4J2_RESOURCE));
    command.add("-Dlogback.configurationFile=" + dir.resolve(LOGBACK_RESOURCE));
    command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=" + level.toLowerCase(Locale.ROOT));
    command.add("-Dorg.slf4j.simpleLogger.showDateTime=true");
    command.add("-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS");
    // Names the directory in `ps` output, to tell which test a stray broker belonged to.
    command.add("-Dtributary.kafka.broker.dir=" + dir);
    command.addAll(settings.jvmArgs());
    command.add("@" + classpathFile);
    command.add(BrokerMain.class.getName());
    command.add("--parent-pid");
    command.add(Long.toString(ProcessHandle.current().pid()));
    if (formatClusterId != null) {
      command.add("--format");
      command.add(formatClusterId);
    }
    command.add(propertiesFile.toString());
    return command;
  }

  private void awaitReady(Process p, long logOffset) {
    Instant deadline = Instant.now().plus(settings.startTimeout());
    String bootstrap = bootstrapServers();
    try {
      // Wait for the listener before creating a client, so the client does not log a warning
      // for every refused connection while the JVM boots.
      while (!portAccepts(brokerPort)) {
        if (!p.isAlive()) {
          throw launchFailure(p, logOffset);
        }
        if (Instant.now().isAfter(deadline)) {
          throw timeout(p, logOffset);
        }
        Thread.sleep(100);
      }
      LOG.debug("broker port {} accepts connections; probing with an admin client", brokerPort);
      try (Admin admin = Admin.create(Admins.probeProperties(bootstrap))) {
        if (!Admins.awaitBroker(admin, deadline, p::isAlive)) {
          throw launchFailure(p, logOffset);
        }
      } catch (TimeoutException e) {
        throw timeout(p, logOffset);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      throw new KafkaBrokerException("interrupted while waiting for the broker to start", e);
    }
  }

  private KafkaBrokerException launchFailure(Process p, long logOffset) {
    try {
      p.waitFor(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    recordExit(p);
    String tail = logTail(logOffset);
    String message =
        "Kafka broker exited with status "
            + (p.isAlive() ? "?" : p.exitValue())
            + " before it answered on "
            + bootstrapServers()
            + "; last lines of "
            + logFile
            + ":\n"
            + tail;
    return tail.contains("Address already in use")
        ? new PortInUseException(message)
        : new KafkaBrokerException(message);
  }

  private KafkaBrokerException timeout(Process p, long logOffset) {
    p.destroyForcibly();
    try {
      p.waitFor(KILL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    recordExit(p);
    return new KafkaBrokerException(
        "Kafka broker did not answer on "
            + bootstrapServers()
            + " within "
            + settings.startTimeout()
            + "; last lines of "
            + logFile
            + ":\n"
            + logTail(logOffset));
  }

  private static boolean portAccepts(int port) {
    try (Socket socket = new Socket()) {
      socket.connect(new InetSocketAddress(LOOPBACK, port), 250);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** The last lines the current launch wrote to the broker log. */
  private String logTail(long fromOffset) {
    try (RandomAccessFile file = new RandomAccessFile(logFile.toFile(), "r")) {
      long start = Math.max(fromOffset, file.length() - 64 * 1024);
      byte[] bytes = new byte[(int) (file.length() - start)];
      file.seek(start);
      file.readFully(bytes);
      String[] lines = new String(bytes, StandardCharsets.UTF_8).split("\r?\n");
      int from = Math.max(0, lines.length - LOG_TAIL_LINES);
      return String.join("\n", List.of(lines).subList(from, lines.length));
    } catch (IOException e) {
      return "(cannot read " + logFile + ": " + e + ")";
    }
  }

  // ---------------------------------------------------------------- files and ports

  private void pickPorts() {
    try {
      InetAddress loopback = InetAddress.getByName(LOOPBACK);
      // Both sockets are open at once so that the two ports differ.
      try (ServerSocket broker = new ServerSocket(0, 1, loopback);
          ServerSocket controller = new ServerSocket(0, 1, loopback)) {
        brokerPort = broker.getLocalPort();
        controllerPort = controller.getLocalPort();
      }
    } catch (IOException e) {
      throw new KafkaBrokerException("cannot find free loopback ports", e);
    }
  }

  private void writeServerProperties() {
    Map<String, String> props = new LinkedHashMap<>();
    props.put("process.roles", "broker,controller");
    props.put("node.id", "1");
    // A static quorum: nothing about the voters is written at format time, so a fresh start may
    // move to other ports without formatting again.
    props.put("controller.quorum.voters", "1@" + LOOPBACK + ":" + controllerPort);
    props.put(
        "listeners",
        "PLAINTEXT://"
            + LOOPBACK
            + ":"
            + brokerPort
            + ",CONTROLLER://"
            + LOOPBACK
            + ":"
            + controllerPort);
    props.put("advertised.listeners", "PLAINTEXT://" + bootstrapServers());
    props.put("controller.listener.names", "CONTROLLER");
    props.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    props.put("inter.broker.listener.name", "PLAINTEXT");
    props.put("log.dirs", dir.resolve("data").toString());
    props.put("num.partitions", "1");
    props.put("default.replication.factor", "1");
    props.put("min.insync.replicas", "1");
    // Tests create their topics; a typo should fail rather than create a new topic.
    props.put("auto.create.topics.enable", "false");
    props.put("group.initial.rebalance.delay.ms", "0");
    // After a kill the restarted controller refuses the broker's new registration until the old
    // registration's session expires (default 9 s, which made every restart take ~13 s).
    props.put("broker.heartbeat.interval.ms", "500");
    props.put("broker.session.timeout.ms", "3000");
    props.put("offsets.topic.replication.factor", "1");
    // Internal topics default to 50 partitions, which makes the first consumer group or
    // transaction on a fresh broker wait for 50 partitions to be created and loaded.
    props.put("offsets.topic.num.partitions", "5");
    props.put("transaction.state.log.replication.factor", "1");
    props.put("transaction.state.log.min.isr", "1");
    props.put("transaction.state.log.num.partitions", "5");
    props.put("share.coordinator.state.topic.replication.factor", "1");
    props.put("share.coordinator.state.topic.min.isr", "1");
    props.put("share.coordinator.state.topic.num.partitions", "5");
    props.putAll(settings.brokerProperties());
    StringBuilder text =
        new StringBuilder("# written by dev.tributary.testkit.kafka.KafkaBroker\n");
    props.forEach(
        (key, value) ->
            text.append(key).append('=').append(value.replace("\\", "\\\\")).append('\n'));
    try {
      Files.writeString(propertiesFile, text);
    } catch (IOException e) {
      throw new KafkaBrokerException("cannot write " + propertiesFile, e);
    }
  }

  private void copyLoggingConfig(String resource) throws IOException {
    try (InputStream in = LocalBroker.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("missing resource " + resource + " next to " + LocalBroker.class);
      }
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      Files.writeString(
          dir.resolve(resource),
          text.replace("@LEVEL@", settings.brokerLogLevel().toUpperCase(Locale.ROOT)));
    }
  }

  private static String javaExecutable() {
    String exe = File.separatorChar == '\\' ? "java.exe" : "java";
    Path fromHome = Path.of(System.getProperty("java.home"), "bin", exe);
    if (Files.isExecutable(fromHome)) {
      return fromHome.toString();
    }
    return ProcessHandle.current().info().command().orElse("java");
  }

  /** Quotes one argument for a {@code java @argfile}, where a backslash escapes the next char. */
  private static String argFileQuote(String value) {
    return '"' + value.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }

  private static void deleteRecursively(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      LOG.debug("could not delete {}", root, e);
    }
  }

  private static void closeQuietly(AutoCloseable closeable) {
    try {
      closeable.close();
    } catch (Exception ignored) {
      // nothing to do
    }
  }

  /** A launch that failed because a port was taken, which is worth retrying. */
  private static final class PortInUseException extends KafkaBrokerException {
    private static final long serialVersionUID = 1L;

    PortInUseException(String message) {
      super(message);
    }
  }

  /**
   * Works out the classpath for the broker JVM, which is this JVM's application classpath.
   *
   * <p>{@code java.class.path} is usually right (surefire, IDEs, plain {@code java -cp}), but some
   * launchers load the application through their own class loader and leave {@code java.class.path}
   * pointing at the launcher (e.g. {@code mvn exec:java}). For those, the URLs of the class-loader
   * chain are added when the classes the broker needs are not otherwise covered.
   */
  static final class ChildClasspath {

    private static final List<String> REQUIRED =
        List.of(
            BrokerMain.class.getName().replace('.', '/') + ".class",
            "kafka/Kafka.class",
            "org/apache/kafka/clients/admin/Admin.class");

    private ChildClasspath() {}

    static String resolve() {
      Set<String> entries = new LinkedHashSet<>();
      for (String entry : System.getProperty("java.class.path", "").split(File.pathSeparator)) {
        if (!entry.isBlank()) {
          entries.add(normalize(Path.of(entry)));
        }
      }
      ClassLoader loader = LocalBroker.class.getClassLoader();
      if (!covers(loader, entries)) {
        for (ClassLoader l = loader; l != null; l = l.getParent()) {
          if (l instanceof URLClassLoader) {
            for (URL url : ((URLClassLoader) l).getURLs()) {
              toPath(url).ifPresent(path -> entries.add(normalize(path)));
            }
          }
        }
      }
      return String.join(File.pathSeparator, entries);
    }

    private static boolean covers(ClassLoader loader, Set<String> entries) {
      for (String resource : REQUIRED) {
        URL url = loader.getResource(resource);
        Optional<String> root = url == null ? Optional.empty() : rootOf(url, resource);
        if (root.isEmpty() || !entries.contains(root.get())) {
          return false;
        }
      }
      return true;
    }

    /** The classpath entry (jar or directory) a resource URL was loaded from. */
    private static Optional<String> rootOf(URL url, String resource) {
      String text = url.toString();
      String root;
      if (text.startsWith("jar:file:") && text.contains("!/")) {
        root = text.substring("jar:".length(), text.indexOf("!/"));
      } else if (text.startsWith("file:") && text.endsWith(resource)) {
        root = text.substring(0, text.length() - resource.length());
      } else {
        return Optional.empty();
      }
      try {
        return Optional.of(normalize(Path.of(new URI(root))));
      } catch (URISyntaxException | IllegalArgumentException e) {
        return Optional.empty();
      }
    }

    private static Optional<Path> toPath(URL url) {
      if (!"file".equals(url.getProtocol())) {
        return Optional.empty();
      }
      try {
        return Optional.of(Path.of(url.toURI()));
      } catch (URISyntaxException | IllegalArgumentException e) {
        return Optional.empty();
      }
    }

    private static String normalize(Path path) {
      return path.toAbsolutePath().normalize().toString();
    }
  }
}
