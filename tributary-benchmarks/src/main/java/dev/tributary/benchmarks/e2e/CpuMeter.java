package dev.tributary.benchmarks.e2e;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * CPU time used by the client and by the broker, from the operating system's accounting, so that a
 * run can report CPU per record next to its rate: on a small machine a system that needs more CPU
 * per record is slower for that reason alone. The client is this JVM plus the system's own
 * processes (a peer forked into a JVM of its own); the broker is every other child process.
 */
public final class CpuMeter {
  /** Forked peer JVMs: client processes, never counted as the broker. */
  private static final Set<Long> PEERS = ConcurrentHashMap.newKeySet();

  private final List<ProcessHandle> clients;
  private final long selfStart;
  private final long childrenStart;

  private CpuMeter(List<ProcessHandle> clients) {
    this.clients = clients;
    this.selfStart = self();
    this.childrenStart = children();
  }

  /** Starts measuring now, this JVM as the client. */
  public static CpuMeter start() {
    return new CpuMeter(List.of());
  }

  /** Starts measuring now, this JVM and {@code clients} as the client. */
  public static CpuMeter start(List<ProcessHandle> clients) {
    return new CpuMeter(List.copyOf(clients));
  }

  /** Keeps {@code peer}'s CPU out of the broker's figure from now on. */
  static void excludeFromBroker(ProcessHandle peer) {
    PEERS.add(peer.pid());
  }

  /** CPU nanoseconds the client (this JVM and the system's own processes) used since start. */
  public long selfNanos() {
    return self() - selfStart;
  }

  /**
   * CPU nanoseconds the other child processes (the local broker) used since start; 0 if unknown.
   */
  public long childrenNanos() {
    return Math.max(0, children() - childrenStart);
  }

  private long self() {
    long cpu = cpu(ProcessHandle.current());
    for (ProcessHandle p : clients) {
      cpu += cpu(p);
    }
    return cpu;
  }

  private static long children() {
    return ProcessHandle.current()
        .descendants()
        .filter(p -> !PEERS.contains(p.pid()))
        .mapToLong(CpuMeter::cpu)
        .sum();
  }

  private static long cpu(ProcessHandle p) {
    return p.info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
  }
}
