package dev.tributary.chaos;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The line formats of the ledger files of a run, tab-separated, one record per line, and their
 * parser. Every time is epoch millis of the machine's clock (all processes run on one machine).
 *
 * <ul>
 *   <li>node files ({@code node-N.ledger}): {@code START node run time}; {@code D key seq partition
 *       offset node run epoch callTime doneTime} (a processed event; {@code epoch} counts this
 *       node's assignments of the partition, so {@code node/partition/epoch} names a delivery run);
 *       {@code A|R|L partition time} (assigned, revoked after its commit, lost without commit);
 *       {@code S partition time 1|0} (the stall watchdog's gauge); {@code H key seq time
 *       durationMs} (a held stage); {@code CLOSED time};
 *   <li>the producer's file ({@code produced.ledger}): {@code P key seq partition offset time
 *       poison} for every acknowledged record, {@code F key seq time error} for a failed send;
 *   <li>the runner's file ({@code faults.ledger}): {@code X time kind target detail}.
 * </ul>
 */
final class Ledger {

  private Ledger() {}

  static String start(String node, String run, long time) {
    return join("START", node, run, time);
  }

  static String closed(long time) {
    return join("CLOSED", time);
  }

  static String delivery(
      String key,
      long seq,
      int partition,
      long offset,
      String node,
      String run,
      int epoch,
      long call,
      long done) {
    return join("D", key, seq, partition, offset, node, run, epoch, call, done);
  }

  static String ownership(char kind, int partition, long time) {
    return join(String.valueOf(kind), partition, time);
  }

  static String stall(int partition, long time, boolean stalled) {
    return join("S", partition, time, stalled ? 1 : 0);
  }

  static String hold(String key, long seq, long time, long durationMs) {
    return join("H", key, seq, time, durationMs);
  }

  static String produced(String key, long seq, int partition, long offset, long time, boolean p) {
    return join("P", key, seq, partition, offset, time, p ? 1 : 0);
  }

  static String failed(String key, long seq, long time, String error) {
    return join("F", key, seq, time, error.replace('\t', ' ').replace('\n', ' '));
  }

  static String fault(long time, String kind, String target, String detail) {
    return join("X", time, kind, target, detail);
  }

  private static String join(Object... parts) {
    StringBuilder b = new StringBuilder();
    for (Object p : parts) {
      if (b.length() > 0) {
        b.append('\t');
      }
      b.append(p);
    }
    return b.toString();
  }

  /**
   * The complete lines of a file, split on tabs. A last line without its newline (a write cut by
   * SIGKILL) is ignored: its event was not acknowledged.
   */
  static List<String[]> read(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String[]> lines = new ArrayList<>();
    int start = 0;
    for (int nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      if (nl > start) {
        lines.add(text.substring(start, nl).split("\t", -1));
      }
      start = nl + 1;
    }
    return lines;
  }
}
