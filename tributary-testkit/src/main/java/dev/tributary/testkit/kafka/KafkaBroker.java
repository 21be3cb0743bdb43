package dev.tributary.testkit.kafka;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.TopicPartitionInfo;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Apache Kafka broker (single-node KRaft) for tests, quickstarts and benchmarks: a JUnit 5
 * extension that also works as a plain {@link AutoCloseable}.
 *
 * <p>A real broker rather than a mock, because what Tributary has to get right — rebalances,
 * offsets surviving a crash, clients reconnecting — only happens against one. Where the broker
 * comes from is chosen by the {@value #BACKEND_PROPERTY} system property (or {@link
 * Builder#backend(String)}):
 *
 * <ul>
 *   <li>{@code auto} (default) — {@code testcontainers} when a Docker engine answers, else {@code
 *       local};
 *   <li>{@code local} — a broker JVM forked from this one, on this JVM's classpath; supports {@link
 *       #stop()}, {@link #kill()} (SIGKILL) and {@link #restart()} on the same port;
 *   <li>{@code testcontainers} — the {@code apache/kafka} image; no {@link #restart()};
 *   <li>{@code external:<bootstrap>} — a broker run by someone else; lifecycle operations throw
 *       {@link UnsupportedOperationException}.
 * </ul>
 *
 * <p>As a JUnit extension it starts before the first test of the class and is discarded after the
 * last one:
 *
 * <pre>{@code
 * @RegisterExtension static KafkaBroker broker = KafkaBroker.create();
 *
 * @Test void roundTrip() {
 *   broker.createTopic("orders", 3);
 *   try (var producer = new KafkaProducer<>(broker.adminProperties(), ...)) { ... }
 * }
 * }</pre>
 *
 * With {@code @ExtendWith(KafkaBroker.class)} the broker is handed to test and lifecycle methods
 * that declare a {@code KafkaBroker} parameter. Programmatically: {@code try (KafkaBroker broker =
 * KafkaBroker.create().start()) { ... }}, or {@link #shared()} for one broker per JVM.
 *
 * <p>Needs the JUnit Jupiter API on the classpath (the testkit brings it), but not the JUnit
 * engine. Lifecycle methods are thread-safe.
 */
public final class KafkaBroker
    implements BeforeAllCallback, AfterAllCallback, ParameterResolver, AutoCloseable {

  /** The system property choosing the backend: {@code auto}, {@code local}, etc. */
  public static final String BACKEND_PROPERTY = BackendSpec.PROPERTY;

  /** Where a broker comes from. */
  public enum Backend {
    /** A broker JVM forked from this one. */
    LOCAL,
    /** A Docker container started through Testcontainers. */
    TESTCONTAINERS,
    /** An already running broker this JVM does not manage. */
    EXTERNAL
  }

  private static final Logger LOG = LoggerFactory.getLogger(KafkaBroker.class);

  private static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(30);

  private static final Object SHARED_LOCK = new Object();
  private static KafkaBroker sharedInstance;

  private final BrokerSettings settings;
  private final boolean shared;

  private Backend backend;
  private String autoReason = "";
  private BrokerInstance instance;
  private Admin admin;
  private String ownerContextId;

  /**
   * Creates a broker configured from system properties, for {@code @ExtendWith(KafkaBroker.class)};
   * code should prefer {@link #create()}.
   */
  public KafkaBroker() {
    this(new Builder().settings(), false);
  }

  private KafkaBroker(BrokerSettings settings, boolean shared) {
    this.settings = settings;
    this.shared = shared;
  }

  /** Creates a broker with default settings; nothing runs until {@link #start()}. */
  public static KafkaBroker create() {
    return builder().build();
  }

  /** Starts configuring a broker. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns the broker shared by the whole JVM, starting it on first use (and again if a test
   * stopped or killed it).
   *
   * <p>Meant for suites whose test classes need no isolation from each other, to pay the broker's
   * start-up once. It stays up until the JVM exits; registering it as an extension does not stop it
   * after the class. Tests using it should create uniquely named topics.
   */
  public static KafkaBroker shared() {
    KafkaBroker broker;
    synchronized (SHARED_LOCK) {
      if (sharedInstance == null) {
        sharedInstance = new KafkaBroker(new Builder().settings(), true);
        Runtime.getRuntime()
            .addShutdownHook(new Thread(sharedInstance::close, "tributary-kafka-shared-stop"));
      }
      broker = sharedInstance;
    }
    return broker.start();
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Makes sure the broker is running and answering, and returns this broker.
   *
   * <p>The first call starts a new broker. After {@link #stop()} or {@link #kill()} it restarts the
   * same one (for a Testcontainers broker, which cannot restart, it starts a fresh one). After
   * {@link #close()} it starts a fresh one.
   *
   * @throws KafkaBrokerException if the broker does not come up in time
   */
  public synchronized KafkaBroker start() {
    if (instance == null) {
      startFresh();
    } else if (!instance.isRunning()) {
      if (instance.backend() == Backend.TESTCONTAINERS) {
        closeInstance();
        startFresh();
      } else {
        instance.restart();
      }
    }
    return this;
  }

  private void startFresh() {
    Backend chosen = backend();
    BrokerInstance created =
        switch (chosen) {
          case LOCAL -> new LocalBroker(settings);
          case TESTCONTAINERS -> new ContainerBroker(settings);
          case EXTERNAL -> new ExternalBroker(settings);
        };
    long began = System.nanoTime();
    try {
      created.start();
    } catch (RuntimeException | Error e) {
      created.close();
      throw e;
    }
    instance = created;
    LOG.info(
        "Kafka broker ready: backend={}{}, bootstrap.servers={} ({} ms){}",
        chosen.name().toLowerCase(java.util.Locale.ROOT),
        autoReason,
        created.bootstrapServers(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began),
        created.logFile().map(log -> ", log " + log).orElse(""));
  }

  /**
   * Shuts the broker down gracefully (SIGTERM, then SIGKILL after 30 s), keeping its data for
   * {@link #restart()}. Does nothing if it is not running.
   *
   * @throws UnsupportedOperationException for the external backend
   * @throws IllegalStateException if the broker was never started
   */
  public synchronized void stop() {
    requireManaged("stop()");
    BrokerInstance current = requireStarted();
    closeAdmin();
    current.stop();
  }

  /**
   * Ends the broker abruptly, as a crash or power cut of the process would: SIGKILL for a local
   * broker, {@code docker kill} for a container. Data already written to the OS stays, so {@link
   * #restart()} recovers it. Returns once the process is gone.
   *
   * @throws UnsupportedOperationException for the external backend
   * @throws IllegalStateException if the broker was never started
   */
  public synchronized void kill() {
    requireManaged("kill()");
    BrokerInstance current = requireStarted();
    // An idle admin client would otherwise log every failed reconnect until the broker is back.
    closeAdmin();
    current.kill();
  }

  /**
   * Starts the broker again on the same address and data, stopping it gracefully first if it is
   * running, and returns once it answers; clients created earlier reconnect on their own.
   *
   * @throws UnsupportedOperationException for the external and Testcontainers backends
   * @throws IllegalStateException if the broker was never started
   */
  public synchronized void restart() {
    requireManaged("restart()");
    BrokerInstance current = requireStarted();
    long began = System.nanoTime();
    current.restart();
    LOG.debug(
        "Kafka broker restarted at {} ({} ms)",
        current.bootstrapServers(),
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - began));
  }

  /** Whether the broker has been started and has not been stopped, killed or closed since. */
  public synchronized boolean isRunning() {
    return instance != null && instance.isRunning();
  }

  /**
   * Discards the broker: ends it (a local broker is killed, since its data is deleted anyway) and
   * deletes its data. A later {@link #start()} starts a fresh broker. Never throws.
   */
  @Override
  public synchronized void close() {
    closeInstance();
    ownerContextId = null;
  }

  private void closeInstance() {
    closeAdmin();
    if (instance != null) {
      try {
        instance.close();
      } catch (RuntimeException e) {
        LOG.warn("closing the Kafka broker failed", e);
      }
      instance = null;
    }
  }

  private void closeAdmin() {
    if (admin != null) {
      try {
        admin.close(Duration.ZERO);
      } catch (RuntimeException e) {
        LOG.debug("closing the admin client failed", e);
      }
      admin = null;
    }
  }

  // ---------------------------------------------------------------- access

  /**
   * The {@code bootstrap.servers} value for clients; for the local backend it stays the same across
   * {@link #kill()} and {@link #restart()}.
   *
   * @throws IllegalStateException if the broker was never started
   */
  public synchronized String bootstrapServers() {
    return requireStarted().bootstrapServers();
  }

  /**
   * The backend this broker uses. For {@code auto} the choice is made on the first call (or start)
   * and kept.
   */
  public synchronized Backend backend() {
    if (backend == null) {
      BackendSpec spec = settings.spec();
      backend =
          switch (spec.kind()) {
            case LOCAL -> Backend.LOCAL;
            case TESTCONTAINERS -> Backend.TESTCONTAINERS;
            case EXTERNAL -> Backend.EXTERNAL;
            case AUTO -> {
              boolean docker = ContainerBroker.dockerAvailable();
              autoReason =
                  docker
                      ? " (auto: a Docker engine answered)"
                      : " (auto: no Docker engine; -D"
                          + BACKEND_PROPERTY
                          + "=testcontainers forces"
                          + " Docker)";
              yield docker ? Backend.TESTCONTAINERS : Backend.LOCAL;
            }
          };
    }
    return backend;
  }

  /**
   * Client properties that reach this broker: just {@code bootstrap.servers}, which is also what a
   * producer or consumer needs. A new, mutable copy on every call.
   */
  public Properties adminProperties() {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    return props;
  }

  /** Creates an admin client for this broker; the caller closes it. */
  public Admin admin() {
    return Admin.create(adminProperties());
  }

  /**
   * Creates a topic with the broker's default replication factor and waits until every partition
   * has a leader, so that clients can use it straight away.
   *
   * @throws KafkaBrokerException if the topic cannot be created (e.g. it exists) within 30 s
   */
  public void createTopic(String name, int partitions) {
    createTopic(name, partitions, Map.of());
  }

  /**
   * Creates a topic with the given topic configs (e.g. {@code cleanup.policy=compact}) and waits
   * until every partition has a leader.
   *
   * @throws KafkaBrokerException if the topic cannot be created (e.g. it exists) within 30 s
   */
  public void createTopic(String name, int partitions, Map<String, String> configs) {
    Objects.requireNonNull(name, "name");
    Admin client = internalAdmin();
    NewTopic topic =
        new NewTopic(name, Optional.of(partitions), Optional.empty()).configs(Map.copyOf(configs));
    Instant deadline = Instant.now().plus(ADMIN_TIMEOUT);
    try {
      client
          .createTopics(List.of(topic))
          .all()
          .get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      while (!allPartitionsLed(client, name)) {
        if (Instant.now().isAfter(deadline)) {
          throw new KafkaBrokerException(
              "topic " + name + " has partitions without a leader after " + ADMIN_TIMEOUT);
        }
        Thread.sleep(50);
      }
    } catch (ExecutionException e) {
      throw new KafkaBrokerException("cannot create topic " + name, e.getCause());
    } catch (TimeoutException e) {
      throw new KafkaBrokerException(
          "creating topic " + name + " did not finish within " + ADMIN_TIMEOUT, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KafkaBrokerException("interrupted while creating topic " + name, e);
    }
  }

  private static boolean allPartitionsLed(Admin client, String topic)
      throws InterruptedException, TimeoutException {
    try {
      TopicDescription description =
          client
              .describeTopics(Set.of(topic))
              .allTopicNames()
              .get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
              .get(topic);
      Map<org.apache.kafka.common.TopicPartition, org.apache.kafka.clients.admin.OffsetSpec> ends =
          new java.util.HashMap<>();
      for (TopicPartitionInfo partition : description.partitions()) {
        if (partition.leader() == null || partition.leader().isEmpty()) {
          return false;
        }
        ends.put(
            new org.apache.kafka.common.TopicPartition(topic, partition.partition()),
            org.apache.kafka.clients.admin.OffsetSpec.latest());
      }
      // The metadata can name a leader before its replica serves requests: a first produce then
      // gets NOT_LEADER_OR_FOLLOWER, and an idempotent producer may keep retrying with
      // OUT_OF_ORDER_SEQUENCE. Listing offsets is answered by the serving leader only.
      client.listOffsets(ends).all().get(ADMIN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (ExecutionException notYetVisible) {
      return false;
    }
  }

  private synchronized Admin internalAdmin() {
    requireStarted();
    if (admin == null) {
      admin = admin();
    }
    return admin;
  }

  /**
   * The file the broker writes its own log to: present for the local backend, whose broker logs
   * there at WARN (see {@link Builder#brokerLogLevel(String)}) instead of into the test output.
   */
  public synchronized Optional<Path> logFile() {
    return instance == null ? Optional.empty() : instance.logFile();
  }

  /** The exit status of the last local broker process that ended, for testing kill semantics. */
  synchronized OptionalInt lastExitValue() {
    return instance instanceof LocalBroker
        ? ((LocalBroker) instance).lastExitValue()
        : OptionalInt.empty();
  }

  private BrokerInstance requireStarted() {
    if (instance == null) {
      throw new IllegalStateException("the Kafka broker has not been started; call start() first");
    }
    return instance;
  }

  private void requireManaged(String operation) {
    if (backend() == Backend.EXTERNAL) {
      throw ExternalBroker.unsupported(operation);
    }
  }

  @Override
  public synchronized String toString() {
    return "KafkaBroker["
        + (backend == null ? settings.spec() : backend.name().toLowerCase(java.util.Locale.ROOT))
        + (instance == null ? ", not started" : ", " + instance.bootstrapServers())
        + (isRunning() ? ", running" : "")
        + "]";
  }

  // ---------------------------------------------------------------- JUnit

  /**
   * Starts the broker before the class's first test. In {@code @Nested} classes, which inherit the
   * extension, the broker is already running and the outer class stays its owner.
   */
  @Override
  public synchronized void beforeAll(ExtensionContext context) {
    start();
    if (ownerContextId == null) {
      ownerContextId = context.getUniqueId();
    }
  }

  /** Discards the broker after the owning class's last test, unless it is the {@link #shared()}. */
  @Override
  public synchronized void afterAll(ExtensionContext context) {
    if (!shared && context.getUniqueId().equals(ownerContextId)) {
      close();
    }
  }

  /** Supplies this broker to parameters of type {@code KafkaBroker}. */
  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == KafkaBroker.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return start();
  }

  // ---------------------------------------------------------------- builder

  /** Configures a {@link KafkaBroker}; every setting has a default suited to tests. */
  public static final class Builder {

    private static final Pattern SIZE = Pattern.compile("\\d+[kKmMgG]?");
    private static final Set<String> LEVELS =
        Set.of("OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE");

    private BackendSpec spec;
    private String heap = "1g";
    private final List<String> jvmArgs = new ArrayList<>();
    private final Map<String, String> brokerProperties = new LinkedHashMap<>();
    private Duration startTimeout = Duration.ofSeconds(60);
    private String brokerLogLevel = "WARN";
    private String classpath;

    private Builder() {}

    /**
     * Chooses the backend, in the syntax of the {@value KafkaBroker#BACKEND_PROPERTY} property,
     * which it overrides. By default the property is read when {@link #build()} runs.
     *
     * @throws IllegalArgumentException for an unknown backend
     */
    public Builder backend(String spec) {
      this.spec = BackendSpec.parse(Objects.requireNonNull(spec, "spec"));
      return this;
    }

    /**
     * Sets a broker configuration property, overriding the fixture's default. Listener, quorum and
     * log-directory settings are managed by the fixture and should be left alone.
     */
    public Builder brokerProperty(String key, String value) {
      brokerProperties.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, key));
      return this;
    }

    /** Sets the broker's maximum heap in {@code -Xmx} syntax, e.g. {@code 512m}; default 1g. */
    public Builder heap(String size) {
      if (size == null || !SIZE.matcher(size).matches()) {
        throw new IllegalArgumentException("heap size like 512m or 2g expected, got " + size);
      }
      this.heap = size;
      return this;
    }

    /**
     * Adds a JVM option for a forked (local) broker, after the defaults so that it wins, e.g.
     * {@code -XX:+UseParallelGC}. The defaults are the heap, {@code -XX:+ExitOnOutOfMemoryError}
     * and the JVM's own GC choice.
     */
    public Builder jvmArg(String option) {
      jvmArgs.add(Objects.requireNonNull(option, "option"));
      return this;
    }

    /** Sets how long to wait for the broker to answer after launching it; default 60 s. */
    public Builder startTimeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("start timeout must be positive: " + timeout);
      }
      this.startTimeout = timeout;
      return this;
    }

    /**
     * Sets the level of a local broker's own log file (see {@link KafkaBroker#logFile()}); default
     * {@code WARN}. {@code INFO} helps when a broker misbehaves.
     */
    public Builder brokerLogLevel(String level) {
      String upper = Objects.requireNonNull(level, "level").toUpperCase(java.util.Locale.ROOT);
      if (!LEVELS.contains(upper)) {
        throw new IllegalArgumentException("log level must be one of " + LEVELS + ": " + level);
      }
      this.brokerLogLevel = upper;
      return this;
    }

    /**
     * Sets the classpath of a forked broker, for launchers whose classpath cannot be discovered
     * from this JVM. It must hold {@code kafka_2.13} with its dependencies and this testkit.
     */
    public Builder classpath(String classpath) {
      this.classpath = Objects.requireNonNull(classpath, "classpath");
      return this;
    }

    /** Builds the broker; nothing runs until {@link KafkaBroker#start()}. */
    public KafkaBroker build() {
      return new KafkaBroker(settings(), false);
    }

    private BrokerSettings settings() {
      return new BrokerSettings(
          spec != null ? spec : BackendSpec.fromSystemProperty(),
          heap,
          jvmArgs,
          brokerProperties,
          startTimeout,
          brokerLogLevel,
          classpath);
    }
  }
}
