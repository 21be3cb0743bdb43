package dev.tributary.testkit.kafka;

import java.time.Instant;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;

/**
 * A broker someone else runs, reached at a fixed address ({@code -Dtributary.kafka=external:...}).
 *
 * <p>Lifecycle operations are refused rather than ignored: a test that kills the broker to check
 * recovery would otherwise pass without having tested anything.
 */
final class ExternalBroker implements BrokerInstance {

  private final BrokerSettings settings;
  private final String bootstrapServers;
  private volatile boolean started;

  ExternalBroker(BrokerSettings settings) {
    this.settings = settings;
    this.bootstrapServers = settings.spec().externalBootstrap();
  }

  @Override
  public KafkaBroker.Backend backend() {
    return KafkaBroker.Backend.EXTERNAL;
  }

  /** Checks that the broker answers, so that a wrong address fails here with a clear message. */
  @Override
  public void start() {
    Instant deadline = Instant.now().plus(settings.startTimeout());
    try (Admin admin = Admin.create(Admins.probeProperties(bootstrapServers))) {
      Admins.awaitBroker(admin, deadline, () -> true);
    } catch (TimeoutException e) {
      throw new KafkaBrokerException(
          "No Kafka broker answered at "
              + bootstrapServers
              + " (-D"
              + BackendSpec.PROPERTY
              + "="
              + settings.spec()
              + ") within "
              + settings.startTimeout());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KafkaBrokerException("interrupted while probing " + bootstrapServers, e);
    }
    started = true;
  }

  @Override
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** Assumed to be true once started: this fixture neither controls nor watches the broker. */
  @Override
  public boolean isRunning() {
    return started;
  }

  @Override
  public void stop() {
    throw unsupported("stop()");
  }

  @Override
  public void kill() {
    throw unsupported("kill()");
  }

  @Override
  public void restart() {
    throw unsupported("restart()");
  }

  static UnsupportedOperationException unsupported(String operation) {
    return new UnsupportedOperationException(
        operation
            + " is not supported by the external Kafka backend: the broker is not managed by this"
            + " JVM. Run with -D"
            + BackendSpec.PROPERTY
            + "=local (or testcontainers) for tests that stop, kill or restart the broker.");
  }

  @Override
  public void close() {
    started = false;
  }
}
