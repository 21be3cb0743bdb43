package dev.tributary.benchmarks.e2e;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * CPU time per group of Java threads (names with digits folded), taken while a system runs, so that
 * a run can say which stage used the CPU: Tributary's consumer thread, its agent workers, the rest.
 * What the JVM itself spends (GC, JIT) is the process total minus all Java threads.
 */
final class ThreadCpu {
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private final Map<Long, Long> cpuById;
  private final Map<Long, String> nameById;
  private final long processNanos;

  private ThreadCpu(Map<Long, Long> cpuById, Map<Long, String> nameById, long processNanos) {
    this.cpuById = cpuById;
    this.nameById = nameById;
    this.processNanos = processNanos;
  }

  static ThreadCpu snapshot() {
    Map<Long, Long> cpu = new TreeMap<>();
    Map<Long, String> names = new TreeMap<>();
    long[] ids = THREADS.getAllThreadIds();
    ThreadInfo[] infos = THREADS.getThreadInfo(ids);
    for (int i = 0; i < ids.length; i++) {
      long t = THREADS.getThreadCpuTime(ids[i]);
      if (t >= 0 && infos[i] != null) {
        cpu.put(ids[i], t);
        names.put(ids[i], infos[i].getThreadName());
      }
    }
    long process =
        ProcessHandle.current().info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    return new ThreadCpu(cpu, names, process);
  }

  /** CPU microseconds per record by thread group between {@code before} and this snapshot. */
  String perRecordSince(ThreadCpu before, long records) {
    Map<String, Long> groups = new TreeMap<>();
    long javaTotal = 0;
    for (Map.Entry<Long, Long> e : cpuById.entrySet()) {
      long delta = e.getValue() - before.cpuById.getOrDefault(e.getKey(), 0L);
      if (delta <= 0) {
        continue;
      }
      javaTotal += delta;
      groups.merge(group(nameById.get(e.getKey())), delta, Long::sum);
    }
    StringBuilder sb = new StringBuilder("CPU us/record by thread:");
    groups.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .filter(e -> e.getValue() / Math.max(1, records) >= 20)
        .forEach(
            e ->
                sb.append(
                    String.format(
                        Locale.ROOT, " %s %.3f;", e.getKey(), e.getValue() / 1e3 / records)));
    long vm = (processNanos - before.processNanos) - javaTotal;
    sb.append(String.format(Locale.ROOT, " JVM (GC, JIT) %.3f", Math.max(0, vm) / 1e3 / records));
    return sb.toString();
  }

  private static String group(String name) {
    if (name == null) {
      return "?";
    }
    if (name.contains("kafka-consumer")) {
      return "consumer";
    }
    if (name.contains("-worker-")) {
      return "agents";
    }
    return name.replaceAll("\\d+", "N");
  }
}
