package dev.tributary.testkit.kafka;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.ListTopicsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A KRaft cluster of one or more local brokers, each a forked {@code kafka.Kafka} JVM (combined
 * broker and controller, all of them voters), killable and restartable one at a time, with optional
 * {@linkplain ClientLink client links}: per client process, a listener on every broker whose
 * advertised address is a {@link TcpProxy}, so that one client's network can be impaired alone.
 *
 * <pre>{@code
 * try (LocalKafkaCluster cluster = LocalKafkaCluster.builder().brokers(3).clientLinks(4).build()) {
 *   cluster.start();
 *   cluster.createTopic("orders", 6);               // replication factor 3, min.insync.replicas 2
 *   String direct = cluster.bootstrapServers();     // not impaired
 *   String viaLink = cluster.link(0).bootstrapServers();
 *   cluster.link(0).partition();                    // that client alone is cut off
 *   cluster.kill(1);                                // SIGKILL one broker
 *   cluster.restart(1);                             // back, and every replica in sync again
 * }
 * }</pre>
 *
 * <p>With three or more brokers topics get replication factor 3 and {@code min.insync.replicas=2}
 * (internal topics too), so one broker down loses no acknowledged write and blocks no {@code
 * acks=all} producer. With one broker the settings are those of {@link KafkaBroker}'s {@code local}
 * backend. Start, kill, restart and close from one thread at a time; {@link #isRunning}, {@link
 * #link} and the addresses may be read from any thread meanwhile.
 */
public final class LocalKafkaCluster implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(LocalKafkaCluster.class);

  private static final String LOOPBACK = "127.0.0.1";
  private static final Duration KILL_TIMEOUT = Duration.ofSeconds(30);

  private final int brokerCount;
  private final int linkCount;
  private final String heap;
  private final Duration startTimeout;
  private final Map<String, String> brokerProperties;
  private final List<BrokerNode> nodes = new ArrayList<>();
  private final List<ClientLink> links = new ArrayList<>();
  private Path root;
  private Path classpathFile;

  private LocalKafkaCluster(Builder b) {
    this.brokerCount = b.brokers;
    this.linkCount = b.clientLinks;
    this.heap = b.heap;
    this.startTimeout = b.startTimeout;
    this.brokerProperties = Map.copyOf(b.brokerProperties);
  }

  /** A builder: one broker, no client links, 384 MiB heap per broker. */
  public static Builder builder() {
    return new Builder();
  }

  /** Options of a {@link LocalKafkaCluster}. */
  public static final class Builder {
    private int brokers = 1;
    private int clientLinks;
    private String heap = "384m";
    private Duration startTimeout = Duration.ofSeconds(120);
    private final Map<String, String> brokerProperties = new LinkedHashMap<>();

    private Builder() {}

    /** How many brokers (each also a controller and a voter); 1 or at least 3. */
    public Builder brokers(int count) {
      if (count != 1 && count < 3) {
        throw new IllegalArgumentException(
            "brokers was " + count + " but it must be 1 or at least 3 (a quorum survives a kill)");
      }
      this.brokers = count;
      return this;
    }

    /** How many client links (each a listener on every broker, reached through proxies). */
    public Builder clientLinks(int count) {
      if (count < 0 || count > 32) {
        throw new IllegalArgumentException("clientLinks was " + count + " but it must be 0-32");
      }
      this.clientLinks = count;
      return this;
    }

    /** Each broker's maximum heap, in {@code -Xmx} syntax. */
    public Builder heap(String heap) {
      if (!heap.matches("\\d+[kKmMgG]?")) {
        throw new IllegalArgumentException("heap was '" + heap + "' but it must look like 384m");
      }
      this.heap = heap;
      return this;
    }

    /** How long a start or restart may take. */
    public Builder startTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("startTimeout was " + timeout + " but must be > 0");
      }
      this.startTimeout = timeout;
      return this;
    }

    /** A broker property overriding the cluster's defaults. */
    public Builder brokerProperty(String key, String value) {
      brokerProperties.put(key, value);
      return this;
    }

    /** The cluster, not started. */
    public LocalKafkaCluster build() {
      return new LocalKafkaCluster(this);
    }
  }

  /** Starts every broker and returns once the whole cluster answers. */
  public void start() {
    if (root != null) {
      throw new IllegalStateException("the cluster was already started");
    }
    try {
      root = Files.createTempDirectory("tributary-kafka-cluster-");
      classpathFile = root.resolve("classpath.args");
      Files.writeString(
          classpathFile, "-cp\n" + argFileQuote(LocalBroker.ChildClasspath.resolve()) + "\n");
    } catch (IOException e) {
      throw new KafkaBrokerException("cannot prepare the cluster directory " + root, e);
    }
    List<Integer> ports = freePorts(brokerCount * (2 + linkCount));
    int next = 0;
    for (int i = 0; i < brokerCount; i++) {
      BrokerNode n = new BrokerNode(i + 1, root.resolve("broker-" + (i + 1)));
      n.port = ports.get(next++);
      n.controllerPort = ports.get(next++);
      for (int l = 0; l < linkCount; l++) {
        n.linkPorts.add(ports.get(next++));
      }
      nodes.add(n);
    }
    for (int l = 0; l < linkCount; l++) {
      List<TcpProxy> proxies = new ArrayList<>();
      for (BrokerNode n : nodes) {
        proxies.add(TcpProxy.start(LOOPBACK, n.linkPorts.get(l)));
      }
      links.add(new ClientLink(l, proxies));
    }
    String voters =
        nodes.stream()
            .map(n -> n.id + "@" + LOOPBACK + ":" + n.controllerPort)
            .collect(Collectors.joining(","));
    String clusterId = Uuid.randomUuid().toString();
    for (BrokerNode n : nodes) {
      n.prepare(voters);
      n.launch(clusterId);
    }
    awaitBrokers(brokerCount, null);
    LOG.info("Kafka cluster of {} broker(s) up: {}", brokerCount, bootstrapServers());
  }

  /** How many brokers the cluster has. */
  public int brokers() {
    return brokerCount;
  }

  /** Every broker's own address (no proxy, never impaired), for a client's bootstrap. */
  public String bootstrapServers() {
    return nodes.stream().map(n -> LOOPBACK + ":" + n.port).collect(Collectors.joining(","));
  }

  /** Client link {@code index}, from 0. */
  public ClientLink link(int index) {
    return links.get(index);
  }

  /** How many client links the cluster has. */
  public int clientLinks() {
    return links.size();
  }

  /** Whether broker {@code index} (from 0) runs. */
  public boolean isRunning(int index) {
    Process p = nodes.get(index).process;
    return p != null && p.isAlive();
  }

  /** Whether every broker runs. */
  public boolean allRunning() {
    for (int i = 0; i < brokerCount; i++) {
      if (!isRunning(i)) {
        return false;
      }
    }
    return true;
  }

  /** SIGKILLs broker {@code index} (from 0), keeping its data. */
  public void kill(int index) {
    BrokerNode n = nodes.get(index);
    Process p = n.process;
    if (p == null || !p.isAlive()) {
      return;
    }
    p.destroyForcibly();
    try {
      if (!p.waitFor(KILL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new KafkaBrokerException("broker process " + p.pid() + " survived SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KafkaBrokerException("interrupted while killing broker " + n.id, e);
    }
  }

  /**
   * Starts a killed broker again on its ports and data, and returns once it is back in the cluster
   * and, with more than one broker, every replica is in sync again (or the start timeout passed,
   * which is logged): so the next kill of one broker takes one replica away, not two.
   */
  public void restart(int index) {
    BrokerNode n = nodes.get(index);
    kill(index);
    n.launch(null);
    awaitBrokers(brokerCount, n);
    if (brokerCount > 1) {
      awaitInSync();
    }
  }

  /** Creates a topic with the cluster's replication factor (3 with three brokers or more). */
  public void createTopic(String name, int partitions) {
    short rf = (short) Math.min(3, brokerCount);
    // not the probe's short timeouts: placing replicas on three loaded brokers takes seconds
    java.util.Properties props = Admins.probeProperties(bootstrapServers());
    props.put(org.apache.kafka.clients.admin.AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "30000");
    props.put(
        org.apache.kafka.clients.admin.AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "60000");
    try (Admin admin = Admin.create(props)) {
      admin
          .createTopics(List.of(new NewTopic(name, partitions, rf)))
          .all()
          .get(60, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new KafkaBrokerException("cannot create topic " + name, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KafkaBrokerException("interrupted while creating topic " + name, e);
    }
  }

  /** Broker {@code index}'s own log file. */
  public Path logFile(int index) {
    return nodes.get(index).dir.resolve("broker.log");
  }

  /** Ends every broker and proxy and deletes the data; never throws. */
  @Override
  public void close() {
    for (ClientLink l : links) {
      l.close();
    }
    for (BrokerNode n : nodes) {
      Process p = n.process;
      if (p != null && p.isAlive()) {
        p.destroyForcibly();
        try {
          p.waitFor(KILL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
    deleteRecursively(root);
  }

  // ---------------------------------------------------------------- readiness

  /** Waits until {@code count} brokers are registered and, if given, {@code node} among them. */
  private void awaitBrokers(int count, BrokerNode node) {
    Instant deadline = Instant.now().plus(startTimeout);
    // An admin client created before any broker listens keeps re-bootstrapping for seconds after
    // one does, so wait for the listeners first (as LocalBroker does).
    for (BrokerNode n : node == null ? nodes : List.of(node)) {
      while (!portAccepts(n.port)) {
        if (!n.process.isAlive()) {
          throw new KafkaBrokerException(
              "broker " + n.id + " exited with " + n.process.exitValue() + "; " + n.logTail());
        }
        if (Instant.now().isAfter(deadline)) {
          throw new KafkaBrokerException(
              "broker " + n.id + " did not listen within " + startTimeout + "; " + n.logTail());
        }
        parkMillis(100);
      }
    }
    try (Admin admin = Admin.create(Admins.probeProperties(bootstrapServers()))) {
      while (true) {
        for (BrokerNode n : nodes) {
          if (n.process != null && !n.process.isAlive()) {
            throw new KafkaBrokerException(
                "broker " + n.id + " exited with " + n.process.exitValue() + "; " + n.logTail());
          }
        }
        try {
          Collection<Node> live =
              admin
                  .describeCluster(new DescribeClusterOptions().timeoutMs(2_000))
                  .nodes()
                  .get(2_500, TimeUnit.MILLISECONDS);
          Set<Integer> ids = live.stream().map(Node::id).collect(Collectors.toSet());
          if (ids.size() >= count && (node == null || ids.contains(node.id))) {
            return;
          }
        } catch (ExecutionException | TimeoutException notYet) {
          LOG.debug("cluster not ready yet: {}", notYet.toString());
        }
        if (Instant.now().isAfter(deadline)) {
          throw new KafkaBrokerException(
              "the cluster did not come up within " + startTimeout + "; " + nodes.get(0).logTail());
        }
        parkMillis(200);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KafkaBrokerException("interrupted while waiting for the cluster", e);
    }
  }

  /** Waits until every partition of every topic has all its replicas in sync. */
  private void awaitInSync() {
    Instant deadline = Instant.now().plus(startTimeout);
    try (Admin admin = Admin.create(Admins.probeProperties(bootstrapServers()))) {
      while (Instant.now().isBefore(deadline)) {
        try {
          Set<String> topics =
              admin
                  .listTopics(new ListTopicsOptions().listInternal(true))
                  .names()
                  .get(5, TimeUnit.SECONDS);
          Map<String, TopicDescription> described =
              admin.describeTopics(topics).allTopicNames().get(5, TimeUnit.SECONDS);
          boolean inSync = true;
          for (TopicDescription d : described.values()) {
            for (TopicPartitionInfo p : d.partitions()) {
              inSync &= p.isr().size() == p.replicas().size();
            }
          }
          if (inSync) {
            return;
          }
        } catch (ExecutionException | TimeoutException notYet) {
          LOG.debug("replicas not in sync yet: {}", notYet.toString());
        }
        parkMillis(250);
      }
      LOG.warn("some replicas were still out of sync {} after a broker restart", startTimeout);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KafkaBrokerException("interrupted while waiting for replicas", e);
    }
  }

  private static boolean portAccepts(int port) {
    try (java.net.Socket socket = new java.net.Socket()) {
      socket.connect(new java.net.InetSocketAddress(LOOPBACK, port), 250);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void parkMillis(long ms) {
    long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
    for (long wait = ms * 1_000_000; wait > 0; wait = until - System.nanoTime()) {
      LockSupport.parkNanos(wait);
    }
  }

  // ---------------------------------------------------------------- one broker

  /** One broker process: its id, ports, directory and current process. */
  private final class BrokerNode {
    final int id;
    final Path dir;
    final List<Integer> linkPorts = new ArrayList<>();
    int port;
    int controllerPort;
    Path properties;
    volatile Process process;

    BrokerNode(int id, Path dir) {
      this.id = id;
      this.dir = dir;
    }

    void prepare(String voters) {
      int rf = Math.min(3, brokerCount);
      int minIsr = rf > 1 ? 2 : 1;
      Map<String, String> p = new LinkedHashMap<>();
      p.put("process.roles", "broker,controller");
      p.put("node.id", Integer.toString(id));
      p.put("controller.quorum.voters", voters);
      StringBuilder listeners = new StringBuilder();
      StringBuilder advertised = new StringBuilder();
      StringBuilder protocols = new StringBuilder("PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
      listeners.append("PLAINTEXT://").append(LOOPBACK).append(':').append(port);
      listeners.append(",CONTROLLER://").append(LOOPBACK).append(':').append(controllerPort);
      advertised.append("PLAINTEXT://").append(LOOPBACK).append(':').append(port);
      for (int l = 0; l < linkPorts.size(); l++) {
        String name = "LINK" + l;
        listeners.append(',').append(name).append("://").append(LOOPBACK).append(':');
        listeners.append(linkPorts.get(l));
        // The broker tells clients of this listener to come back through the link's proxy.
        int proxy = links.get(l).proxyPort(nodes.indexOf(this));
        advertised.append(',').append(name).append("://").append(LOOPBACK).append(':');
        advertised.append(proxy);
        protocols.append(',').append(name).append(":PLAINTEXT");
      }
      p.put("listeners", listeners.toString());
      p.put("advertised.listeners", advertised.toString());
      p.put("controller.listener.names", "CONTROLLER");
      p.put("listener.security.protocol.map", protocols.toString());
      p.put("inter.broker.listener.name", "PLAINTEXT");
      p.put("log.dirs", dir.resolve("data").toString());
      p.put("num.partitions", "1");
      p.put("default.replication.factor", Integer.toString(rf));
      p.put("min.insync.replicas", Integer.toString(minIsr));
      p.put("auto.create.topics.enable", "false");
      p.put("group.initial.rebalance.delay.ms", "0");
      // as in LocalBroker: a restarted broker is let back in after 3 s, not 9 s
      p.put("broker.heartbeat.interval.ms", "500");
      p.put("broker.session.timeout.ms", "3000");
      p.put("offsets.topic.replication.factor", Integer.toString(rf));
      p.put("offsets.topic.num.partitions", "5");
      p.put("transaction.state.log.replication.factor", Integer.toString(rf));
      p.put("transaction.state.log.min.isr", Integer.toString(minIsr));
      p.put("transaction.state.log.num.partitions", "5");
      p.put("share.coordinator.state.topic.replication.factor", Integer.toString(rf));
      p.put("share.coordinator.state.topic.min.isr", Integer.toString(minIsr));
      p.put("share.coordinator.state.topic.num.partitions", "5");
      p.putAll(brokerProperties);
      StringBuilder text = new StringBuilder("# written by LocalKafkaCluster\n");
      p.forEach((k, v) -> text.append(k).append('=').append(v.replace("\\", "\\\\")).append('\n'));
      properties = dir.resolve("server.properties");
      try {
        Files.createDirectories(dir.resolve("data"));
        Files.writeString(properties, text);
        copyLoggingConfig("broker-log4j2.xml");
        copyLoggingConfig("broker-logback.xml");
      } catch (IOException e) {
        throw new KafkaBrokerException("cannot prepare " + dir, e);
      }
    }

    void launch(String formatClusterId) {
      List<String> command = new ArrayList<>();
      command.add(javaExecutable());
      command.add("-Xmx" + heap);
      command.add("-XX:+ExitOnOutOfMemoryError");
      command.add("-XX:+UseSerialGC");
      command.add("-XX:TieredStopAtLevel=1");
      command.add("-Djava.awt.headless=true");
      command.add("-Dlog4j2.configurationFile=" + dir.resolve("broker-log4j2.xml"));
      command.add("-Dlogback.configurationFile=" + dir.resolve("broker-logback.xml"));
      command.add("-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
      command.add("-Dorg.slf4j.simpleLogger.showDateTime=true");
      command.add("-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS");
      command.add("-Dtributary.kafka.broker.dir=" + dir);
      command.add("@" + classpathFile);
      command.add(BrokerMain.class.getName());
      command.add("--parent-pid");
      command.add(Long.toString(ProcessHandle.current().pid()));
      if (formatClusterId != null) {
        command.add("--format");
        command.add(formatClusterId);
      }
      command.add(properties.toString());
      try {
        Process p =
            new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(
                    ProcessBuilder.Redirect.appendTo(dir.resolve("broker.log").toFile()))
                .start();
        p.getOutputStream().close();
        process = p;
      } catch (IOException e) {
        throw new KafkaBrokerException("cannot launch broker " + id + ": " + command, e);
      }
    }

    String logTail() {
      try {
        List<String> lines = Files.readAllLines(dir.resolve("broker.log"));
        return "last lines of broker "
            + id
            + "'s log:\n"
            + String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
      } catch (IOException | UncheckedIOException e) {
        return "(no log of broker " + id + ")";
      }
    }

    private void copyLoggingConfig(String resource) throws IOException {
      try (InputStream in = LocalBroker.class.getResourceAsStream(resource)) {
        if (in == null) {
          throw new IOException("missing resource " + resource);
        }
        String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve(resource), text.replace("@LEVEL@", "WARN"));
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  private static List<Integer> freePorts(int count) {
    List<ServerSocket> sockets = new ArrayList<>();
    try {
      InetAddress loopback = InetAddress.getByName(LOOPBACK);
      for (int i = 0; i < count; i++) {
        sockets.add(new ServerSocket(0, 1, loopback));
      }
      return sockets.stream().map(ServerSocket::getLocalPort).toList();
    } catch (IOException e) {
      throw new KafkaBrokerException("cannot find free loopback ports", e);
    } finally {
      for (ServerSocket s : sockets) {
        try {
          s.close();
        } catch (IOException ignored) {
          // nothing to do
        }
      }
    }
  }

  private static String javaExecutable() {
    String exe = File.separatorChar == '\\' ? "java.exe" : "java";
    Path fromHome = Path.of(System.getProperty("java.home"), "bin", exe);
    return Files.isExecutable(fromHome)
        ? fromHome.toString()
        : ProcessHandle.current().info().command().orElse("java");
  }

  private static String argFileQuote(String value) {
    return '"' + value.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
  }

  private static void deleteRecursively(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
    } catch (IOException | UncheckedIOException e) {
      LOG.debug("could not delete {}", dir, e);
    }
  }

  @Override
  public String toString() {
    return String.format(
        Locale.ROOT, "LocalKafkaCluster[%d brokers, %d links]", brokerCount, linkCount);
  }
}
