package dev.tributary.testkit.kafka;

import java.nio.file.Path;
import java.util.Optional;

/**
 * One running (or stopped) broker behind a {@link KafkaBroker}, as provided by one backend.
 *
 * <p>{@link KafkaBroker} owns the state machine and the JUnit integration; implementations only
 * know how to drive their kind of broker, so adding a backend does not touch lifecycle rules.
 */
interface BrokerInstance extends AutoCloseable {

  /** The backend this instance belongs to. */
  KafkaBroker.Backend backend();

  /** Brings the broker up for the first time and returns once it answers requests. */
  void start();

  /** The address clients bootstrap from; stable across {@link #restart()}. */
  String bootstrapServers();

  /** Whether the broker is believed to be up. */
  boolean isRunning();

  /** Shuts the broker down gracefully, keeping its data. */
  void stop();

  /** Ends the broker abruptly, as a crash would, keeping its data. */
  void kill();

  /** Starts a stopped or killed broker again on the same address and data. */
  void restart();

  /** The file the broker writes its own log to, if it has one on this machine. */
  default Optional<Path> logFile() {
    return Optional.empty();
  }

  /** Ends the broker and discards its data; never throws. */
  @Override
  void close();
}
