package dev.tributary.testkit.kafka;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Node;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admin-client helpers shared by the backends, chiefly the readiness probe.
 *
 * <p>The probe uses short client timeouts so that it notices a broker that has just come up within
 * a fraction of a second, instead of sitting out the client's default 30 s request timeout.
 */
final class Admins {

  private static final Logger LOG = LoggerFactory.getLogger(KafkaBroker.class);

  private static final Duration PROBE_INTERVAL = Duration.ofMillis(100);

  private Admins() {}

  /** Client properties tuned for probing a broker that may not be up yet. */
  static Properties probeProperties(String bootstrapServers) {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "tributary-broker-probe");
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "2000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "3000");
    props.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MS_CONFIG, "1000");
    props.put(AdminClientConfig.SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS_CONFIG, "2000");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MS_CONFIG, "50");
    props.put(AdminClientConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "200");
    props.put(AdminClientConfig.RETRY_BACKOFF_MS_CONFIG, "50");
    props.put(AdminClientConfig.RETRY_BACKOFF_MAX_MS_CONFIG, "200");
    return props;
  }

  /**
   * Waits until the cluster reports at least one live broker.
   *
   * @param admin a client created from {@link #probeProperties}
   * @param deadline when to give up
   * @param keepWaiting checked between attempts; returning {@code false} aborts the wait (e.g. the
   *     broker process died)
   * @return {@code true} once the broker answered; {@code false} if {@code keepWaiting} said stop
   * @throws TimeoutException if the deadline passed
   */
  static boolean awaitBroker(Admin admin, Instant deadline, BooleanSupplier keepWaiting)
      throws TimeoutException, InterruptedException {
    while (true) {
      if (!keepWaiting.getAsBoolean()) {
        return false;
      }
      long remaining = Duration.between(Instant.now(), deadline).toMillis();
      if (remaining <= 0) {
        throw new TimeoutException("broker did not answer before the deadline");
      }
      int attempt = (int) Math.min(remaining, 2000);
      try {
        Collection<Node> nodes =
            admin
                .describeCluster(new DescribeClusterOptions().timeoutMs(attempt))
                .nodes()
                .get(attempt + 500L, TimeUnit.MILLISECONDS);
        if (!nodes.isEmpty()) {
          LOG.debug("broker answered: {}", nodes);
          return true;
        }
      } catch (ExecutionException | TimeoutException notYet) {
        LOG.debug("broker not ready yet: {}", notYet.toString());
      }
      Thread.sleep(PROBE_INTERVAL.toMillis());
    }
  }
}
