package dev.tributary.testkit.kafka;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * A broker in a Docker container run by Testcontainers, using the official {@value #IMAGE} image
 * (KRaft, single node).
 *
 * <p>Only this class touches Testcontainers, so the other backends work with Testcontainers missing
 * from the classpath. Restarting is not offered: Docker maps the container's port to a new host
 * port when the container starts again, so clients could not reconnect to the old address.
 */
final class ContainerBroker implements BrokerInstance {

  static final String IMAGE = "apache/kafka:4.1.0";

  private final BrokerSettings settings;
  private KafkaContainer container;

  ContainerBroker(BrokerSettings settings) {
    this.settings = settings;
  }

  /**
   * Whether a Docker engine answers. Testcontainers is only asked when something suggests Docker
   * may be installed, because its failed discovery takes half a second and logs an ERROR with a
   * stack of attempted strategies, which would greet every test run on a Docker-less machine.
   */
  static boolean dockerAvailable() {
    if (!dockerHinted()) {
      return false;
    }
    try {
      return DockerClientFactory.instance().isDockerAvailable();
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      return false;
    }
  }

  private static boolean dockerHinted() {
    for (String env :
        List.of(
            "DOCKER_HOST",
            "TESTCONTAINERS_DOCKER_SOCKET_OVERRIDE",
            "TESTCONTAINERS_HOST_OVERRIDE")) {
      String value = System.getenv(env);
      if (value != null && !value.isBlank()) {
        return true;
      }
    }
    String home = System.getProperty("user.home", "");
    List<Path> candidates = new ArrayList<>();
    candidates.add(Path.of("/var/run/docker.sock"));
    candidates.add(Path.of("/run/docker.sock"));
    candidates.add(Path.of(home, ".testcontainers.properties"));
    candidates.add(Path.of(home, ".docker", "run", "docker.sock"));
    candidates.add(Path.of(home, ".docker", "desktop", "docker.sock"));
    candidates.add(Path.of(home, ".colima"));
    candidates.add(Path.of(home, ".rd", "docker.sock"));
    candidates.add(Path.of(home, ".orbstack"));
    String runtimeDir = System.getenv("XDG_RUNTIME_DIR");
    if (runtimeDir != null && !runtimeDir.isBlank()) {
      candidates.add(Path.of(runtimeDir, "docker.sock"));
      candidates.add(Path.of(runtimeDir, "podman", "podman.sock"));
    }
    if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("win")) {
      return true; // named pipes cannot be probed as files; let Testcontainers decide
    }
    return candidates.stream().anyMatch(Files::exists);
  }

  @Override
  public KafkaBroker.Backend backend() {
    return KafkaBroker.Backend.TESTCONTAINERS;
  }

  @Override
  public void start() {
    KafkaContainer c = new KafkaContainer(DockerImageName.parse(IMAGE));
    Map<String, String> props = new LinkedHashMap<>();
    props.put("auto.create.topics.enable", "false");
    props.put("group.initial.rebalance.delay.ms", "0");
    props.put("num.partitions", "1");
    props.put("offsets.topic.num.partitions", "5");
    props.put("transaction.state.log.num.partitions", "5");
    props.put("share.coordinator.state.topic.num.partitions", "5");
    props.putAll(settings.brokerProperties());
    props.forEach((key, value) -> c.withEnv(envName(key), value));
    c.withEnv("KAFKA_HEAP_OPTS", "-Xmx" + settings.heap());
    c.withStartupTimeout(settings.startTimeout());
    container = c;
    try {
      c.start();
    } catch (RuntimeException e) {
      throw new KafkaBrokerException(
          "cannot start a Kafka container from "
              + IMAGE
              + " (backend "
              + settings.spec()
              + "); is a Docker engine running? -D"
              + BackendSpec.PROPERTY
              + "=local runs a broker without Docker",
          e);
    }
  }

  /**
   * The environment variable through which the apache/kafka image sets a broker property: dots
   * become {@code _}, underscores {@code __} and dashes {@code ___}.
   */
  static String envName(String property) {
    return "KAFKA_"
        + property
            .replace("_", "__")
            .replace("-", "___")
            .replace(".", "_")
            .toUpperCase(Locale.ROOT);
  }

  @Override
  public String bootstrapServers() {
    return container.getBootstrapServers();
  }

  @Override
  public boolean isRunning() {
    return container != null && container.isRunning();
  }

  @Override
  public void stop() {
    if (isRunning()) {
      container
          .getDockerClient()
          .stopContainerCmd(container.getContainerId())
          .withTimeout(30)
          .exec();
    }
  }

  @Override
  public void kill() {
    if (isRunning()) {
      // `docker kill` sends SIGKILL to the broker, like a crash.
      container.getDockerClient().killContainerCmd(container.getContainerId()).exec();
    }
  }

  @Override
  public void restart() {
    throw new UnsupportedOperationException(
        "restart() is not supported by the testcontainers Kafka backend: Docker would map the"
            + " broker to a new host port, so clients could not reconnect. Run with -D"
            + BackendSpec.PROPERTY
            + "=local to test restarts.");
  }

  @Override
  public void close() {
    if (container != null) {
      try {
        container.stop();
      } catch (RuntimeException e) {
        // best effort: Testcontainers' reaper removes the container when this JVM exits
      }
    }
  }
}
