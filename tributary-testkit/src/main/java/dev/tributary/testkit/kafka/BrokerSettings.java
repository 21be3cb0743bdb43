package dev.tributary.testkit.kafka;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * The immutable configuration a {@link KafkaBroker.Builder} produces, handed to whichever backend
 * is chosen.
 *
 * @param spec the requested backend
 * @param heap the broker's maximum heap, in {@code -Xmx} syntax (e.g. {@code 1g})
 * @param jvmArgs extra JVM options for a forked broker, appended after the defaults
 * @param brokerProperties broker configuration overriding the fixture's defaults
 * @param startTimeout how long to wait for the broker to answer after launching it
 * @param brokerLogLevel the level of the broker's own log file
 * @param classpath the forked broker's classpath, or {@code null} to derive it from this JVM
 */
record BrokerSettings(
    BackendSpec spec,
    String heap,
    List<String> jvmArgs,
    Map<String, String> brokerProperties,
    Duration startTimeout,
    String brokerLogLevel,
    String classpath) {

  BrokerSettings {
    jvmArgs = List.copyOf(jvmArgs);
    brokerProperties = Map.copyOf(brokerProperties);
  }
}
