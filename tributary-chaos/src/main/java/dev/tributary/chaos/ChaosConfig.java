package dev.tributary.chaos;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * The settings of one chaos run.
 *
 * @param seed draws the fault schedule and the fault targets
 * @param duration how long records flow and faults happen; the settle phase comes after
 * @param faultsPerKind how many faults of each kind the schedule holds
 * @param kinds the kinds of fault drawn
 * @param partitions partitions of the chaos topic
 * @param keys record keys (streams), each with its own sequence
 * @param ratePerSecond records produced per second
 * @param initialNodes nodes started before the faults begin
 * @param maxNodes the most nodes alive at once (a start beyond it is skipped)
 * @param nodeConsumerProperties consumer properties passed to every node ({@code k=v})
 * @param stallTimeoutMs the nodes' stall watchdog timeout
 * @param drainTimeoutMs the nodes' drain timeout (bounds a revoke's wait for in-flight events)
 * @param settleTimeout how long after the faults end every record must have been resolved
 * @param dir where the ledgers and logs go
 * @param brokers brokers of the local cluster: 1, or 3 (replication factor 3, {@code
 *     min.insync.replicas=2}, one broker killed at a time)
 * @param staticMembership whether every node gets a {@code group.instance.id} (its client link's)
 */
record ChaosConfig(
    long seed,
    Duration duration,
    int faultsPerKind,
    Set<FaultSchedule.Kind> kinds,
    int partitions,
    int keys,
    int ratePerSecond,
    int initialNodes,
    int maxNodes,
    List<String> nodeConsumerProperties,
    long stallTimeoutMs,
    long drainTimeoutMs,
    Duration settleTimeout,
    Path dir,
    int brokers,
    boolean staticMembership) {

  /** Client links of the cluster: more than the live nodes, as closing nodes keep theirs. */
  static final int LINKS = 8;

  /** The defaults of the command line and CI: see docs/reliability.md. */
  static ChaosConfig defaults(long seed, Duration duration, int faultsPerKind, Path dir) {
    return new ChaosConfig(
        seed,
        duration,
        faultsPerKind,
        FaultSchedule.defaultKinds(),
        6,
        60,
        200,
        3,
        4,
        List.of(),
        5_000,
        5_000,
        Duration.ofMinutes(3),
        dir,
        1,
        false);
  }

  ChaosConfig withKinds(Set<FaultSchedule.Kind> k) {
    return new ChaosConfig(
        seed,
        duration,
        faultsPerKind,
        k,
        partitions,
        keys,
        ratePerSecond,
        initialNodes,
        maxNodes,
        nodeConsumerProperties,
        stallTimeoutMs,
        drainTimeoutMs,
        settleTimeout,
        dir,
        brokers,
        staticMembership);
  }

  ChaosConfig withNodeConsumerProperties(List<String> props) {
    return new ChaosConfig(
        seed,
        duration,
        faultsPerKind,
        kinds,
        partitions,
        keys,
        ratePerSecond,
        initialNodes,
        maxNodes,
        List.copyOf(props),
        stallTimeoutMs,
        drainTimeoutMs,
        settleTimeout,
        dir,
        brokers,
        staticMembership);
  }

  ChaosConfig withBrokers(int count) {
    return new ChaosConfig(
        seed,
        duration,
        faultsPerKind,
        kinds,
        partitions,
        keys,
        ratePerSecond,
        initialNodes,
        maxNodes,
        nodeConsumerProperties,
        stallTimeoutMs,
        drainTimeoutMs,
        settleTimeout,
        dir,
        count,
        staticMembership);
  }

  ChaosConfig withStaticMembership(boolean on) {
    return new ChaosConfig(
        seed,
        duration,
        faultsPerKind,
        kinds,
        partitions,
        keys,
        ratePerSecond,
        initialNodes,
        maxNodes,
        nodeConsumerProperties,
        stallTimeoutMs,
        drainTimeoutMs,
        settleTimeout,
        dir,
        brokers,
        on);
  }

  /** The nodes' session timeout: their {@code session.timeout.ms}, else Kafka's 45 s. */
  long sessionTimeoutMs() {
    for (String kv : nodeConsumerProperties) {
      if (kv.startsWith("session.timeout.ms=")) {
        return Long.parseLong(kv.substring(kv.indexOf('=') + 1));
      }
    }
    return 45_000;
  }
}
