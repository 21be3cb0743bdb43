package dev.tributary.benchmarks;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import jdk.jfr.consumer.RecordedClass;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedMethod;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;

/**
 * Summarizes a JFR recording of the harness: where CPU samples fall (by thread, by hottest frame,
 * and inclusively by method) and who allocates what. Made for recordings such as
 *
 * <pre>
 * java -XX:StartFlightRecording=filename=target/e2e.jfr,settings=profile \
 *      -jar tributary-benchmarks/target/tributary-benchmarks.jar e2e --systems tributary
 * java -jar tributary-benchmarks/target/tributary-benchmarks.jar jfr target/e2e.jfr [--top 25]
 *      [--threads REGEX]
 * </pre>
 */
public final class JfrSummary {
  private JfrSummary() {}

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.out.println("usage: jfr FILE.jfr [--top N] [--threads REGEX]");
      return;
    }
    Path file = Path.of(args[0]);
    int top = 25;
    Pattern threads = null;
    for (int i = 1; i < args.length; i++) {
      switch (args[i]) {
        case "--top" -> top = Integer.parseInt(args[++i]);
        case "--threads" -> threads = Pattern.compile(args[++i]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    Map<String, Long> byThread = new HashMap<>();
    Map<String, Long> self = new HashMap<>();
    Map<String, Long> inclusive = new HashMap<>();
    Map<String, Long> selfPackage = new HashMap<>();
    Map<String, Long> allocByClass = new HashMap<>();
    Map<String, Long> allocBySite = new HashMap<>();
    Map<String, double[]> cpuLoad = new HashMap<>();
    long samples = 0;
    long allocTotal = 0;
    try (RecordingFile rf = new RecordingFile(file)) {
      while (rf.hasMoreEvents()) {
        RecordedEvent e = rf.readEvent();
        String type = e.getEventType().getName();
        boolean cpu = type.equals("jdk.ExecutionSample");
        boolean alloc = type.equals("jdk.ObjectAllocationSample");
        if (type.equals("jdk.ThreadCPULoad")) {
          String t = threadName(e, "eventThread");
          double load = e.getFloat("user") + e.getFloat("system");
          if (load > 0.005 && (threads == null || threads.matcher(t).find())) {
            double[] acc = cpuLoad.computeIfAbsent(t, k -> new double[3]);
            acc[0] += load;
            acc[1]++;
            acc[2] = Math.max(acc[2], load);
          }
          continue;
        }
        if (!cpu && !alloc) {
          continue;
        }
        String thread = threadName(e, cpu ? "sampledThread" : "eventThread");
        if (threads != null && !threads.matcher(thread).find()) {
          continue;
        }
        RecordedStackTrace st = e.getStackTrace();
        List<RecordedFrame> frames = st == null ? List.of() : st.getFrames();
        if (cpu) {
          samples++;
          byThread.merge(thread.replaceAll("\\d+", "N"), 1L, Long::sum);
          if (!frames.isEmpty()) {
            String m = method(frames.get(0));
            self.merge(m, 1L, Long::sum);
            selfPackage.merge(pkg(frames.get(0)), 1L, Long::sum);
          }
          Set<String> seen = new HashSet<>();
          for (RecordedFrame f : frames) {
            String m = method(f);
            if (seen.add(m)) {
              inclusive.merge(m, 1L, Long::sum);
            }
          }
        } else {
          long weight = e.getLong("weight");
          allocTotal += weight;
          RecordedClass c = e.getClass("objectClass");
          allocByClass.merge(c == null ? "?" : c.getName(), weight, Long::sum);
          String site = "?";
          for (RecordedFrame f : frames) {
            String m = method(f);
            // The first frame outside the JDK is the interesting allocation site.
            if (!m.startsWith("java.") && !m.startsWith("jdk.") && !m.startsWith("sun.")) {
              site = m;
              break;
            }
          }
          allocBySite.merge(site, weight, Long::sum);
        }
      }
    }
    System.out.printf(Locale.ROOT, "%s: %,d CPU samples%n", file, samples);
    if (!cpuLoad.isEmpty()) {
      System.out.println();
      System.out.println(
          "thread CPU load (jdk.ThreadCPULoad, share of one core, over periods it was > 0.5%)");
      cpuLoad.entrySet().stream()
          .sorted((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0]))
          .limit(top)
          .forEach(
              e ->
                  System.out.printf(
                      Locale.ROOT,
                      "  mean %5.1f%%  max %5.1f%%  (%3.0f periods)  %s%n",
                      100 * e.getValue()[0] / e.getValue()[1],
                      100 * e.getValue()[2],
                      e.getValue()[1],
                      e.getKey()));
    }
    print("CPU samples by thread", byThread, samples, top);
    print("CPU self time by package", selfPackage, samples, top);
    print("CPU self time by method (top frame)", self, samples, top);
    print("CPU inclusive by method (anywhere in the stack)", inclusive, samples, top * 2);
    if (allocTotal > 0) {
      print("allocation by class (sampled bytes)", allocByClass, allocTotal, top);
      print("allocation by first non-JDK frame (sampled bytes)", allocBySite, allocTotal, top);
    }
  }

  private static String threadName(RecordedEvent e, String field) {
    try {
      RecordedThread t = e.getThread(field);
      return t == null ? "?" : String.valueOf(t.getJavaName());
    } catch (IllegalArgumentException missing) {
      return "?";
    }
  }

  private static String method(RecordedFrame f) {
    RecordedMethod m = f.getMethod();
    if (m == null) {
      return "?";
    }
    return m.getType().getName() + "." + m.getName();
  }

  private static String pkg(RecordedFrame f) {
    RecordedMethod m = f.getMethod();
    if (m == null) {
      return "?";
    }
    String n = m.getType().getName();
    int dot = n.lastIndexOf('.');
    return dot < 0 ? n : n.substring(0, dot);
  }

  private static void print(String title, Map<String, Long> counts, long total, int top) {
    System.out.println();
    System.out.println(title);
    counts.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .limit(top)
        .forEach(
            e ->
                System.out.printf(
                    Locale.ROOT,
                    "  %6.2f%%  %,14d  %s%n",
                    100.0 * e.getValue() / Math.max(1, total),
                    e.getValue(),
                    e.getKey()));
  }
}
