package dev.tributary.chaos;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The command line of the fault suite, for long runs (docs/reliability.md):
 *
 * <pre>
 * mvn -B -T 1 -o -pl tributary-chaos -am test-compile -Pchaos \
 *     -Dchaos.args="-duration 600 -seed 42 -faults-per-kind 10"
 * </pre>
 *
 * <p>The 30-minute soak: {@code -Dchaos.args="-duration 1800 -faults-per-kind 18 -brokers 3
 * -consumer-prop session.timeout.ms=10000"} (a random seed, printed first).
 *
 * <p>Options: {@code -seed N} (default: random, printed), {@code -duration SECONDS} (default 120),
 * {@code -faults-per-kind N} (default: 2 per minute), {@code -only KIND,KIND} (fault kinds, see
 * {@link FaultSchedule.Kind}), {@code -consumer-prop k=v} (repeatable, passed to every node),
 * {@code -brokers 1|3} (3: replication factor 3, {@code min.insync.replicas=2}, one broker killed
 * at a time), {@code -static-membership} (a {@code group.instance.id} per node slot), {@code -dir
 * PATH} (default {@code target/chaos/seed-N}). Exits 1 when the run lost a record, broke an order
 * or repeated an event it cannot explain.
 */
public final class ChaosMain {

  private ChaosMain() {}

  /** Runs one seeded chaos run and prints its report. */
  public static void main(String[] args) {
    long seed = new SecureRandom().nextLong() & Long.MAX_VALUE;
    long duration = 120;
    Integer perKind = null;
    Set<FaultSchedule.Kind> kinds = FaultSchedule.defaultKinds();
    List<String> props = new ArrayList<>();
    int brokers = 1;
    boolean staticMembership = false;
    Path dir = null;
    if (args.length == 2 && args[0].equals("-check")) {
      recheck(Path.of(args[1]));
      return;
    }
    for (int i = 0; i < args.length; i++) {
      String v = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "-seed" -> seed = Long.parseLong(v);
        case "-duration" -> duration = Long.parseLong(v);
        case "-faults-per-kind" -> perKind = Integer.parseInt(v);
        case "-only" -> {
          kinds = EnumSet.noneOf(FaultSchedule.Kind.class);
          for (String k : v.split(",")) {
            kinds.add(FaultSchedule.Kind.valueOf(k.trim()));
          }
        }
        case "-consumer-prop" -> props.add(v);
        case "-brokers" -> brokers = Integer.parseInt(v);
        case "-static-membership" -> {
          staticMembership = true;
          i--; // a flag without a value
        }
        case "-dir" -> dir = Path.of(v);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
      i++;
    }
    if (perKind == null) {
      perKind = (int) Math.max(1, Math.round(duration / 30.0));
    }
    if (dir == null) {
      dir = Path.of("target", "chaos", "seed-" + seed + "-" + System.currentTimeMillis());
    }
    System.out.println(
        "chaos seed "
            + seed
            + ", duration "
            + duration
            + " s, "
            + brokers
            + " broker(s)"
            + (staticMembership ? ", static membership" : "")
            + ", dir "
            + dir);
    ChaosConfig config =
        ChaosConfig.defaults(seed, Duration.ofSeconds(duration), perKind, dir.toAbsolutePath())
            .withKinds(kinds)
            .withNodeConsumerProperties(props)
            .withBrokers(brokers)
            .withStaticMembership(staticMembership);
    Report report = new ChaosRunner(config).run();
    System.out.println(report);
    System.out.println(report.tableRow(seed, duration));
    System.exit(report.passed() ? 0 : 1);
  }

  /** Checks a finished run's directory again (its ledgers and saved dead letters). */
  private static void recheck(Path dir) {
    long end;
    try {
      end = Long.parseLong(java.nio.file.Files.readString(dir.resolve("end.time")).trim());
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    Report report =
        Checker.check(
            dir,
            Checker.loadDeadLetters(dir),
            ChaosConfig.defaults(0, Duration.ZERO, 0, dir).stallTimeoutMs(),
            end);
    System.out.println(report);
    System.exit(report.passed() ? 0 : 1);
  }
}
