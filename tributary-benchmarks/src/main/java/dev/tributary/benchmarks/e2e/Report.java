package dev.tributary.benchmarks.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Prints result tables as markdown and, with {@code --out}, appends them to a file. */
public final class Report {
  private final Path out;

  public Report(Path out) {
    this.out = out;
  }

  /** Prints {@code text} and appends it to the output file. */
  public void print(String text) {
    System.out.println(text);
    if (out != null) {
      try {
        if (out.getParent() != null) {
          Files.createDirectories(out.getParent());
        }
        Files.writeString(
            out,
            text + "\n",
            StandardCharsets.UTF_8,
            StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** A markdown table. */
  public static String table(List<String> header, List<List<String>> rows) {
    List<String> lines = new ArrayList<>();
    lines.add("| " + String.join(" | ", header) + " |");
    lines.add("|" + "---|".repeat(header.size()));
    for (List<String> r : rows) {
      lines.add("| " + String.join(" | ", r) + " |");
    }
    return String.join("\n", lines);
  }

  /** Records per second, e.g. {@code 1,234,567}. */
  public static String rate(double r) {
    return Double.isNaN(r) ? "-" : String.format(Locale.ROOT, "%,.0f", r);
  }

  /** A ratio, e.g. {@code 0.93x}. */
  public static String ratio(double r) {
    return Double.isNaN(r) || Double.isInfinite(r) ? "-" : String.format(Locale.ROOT, "%.2fx", r);
  }

  /** Nanoseconds as milliseconds, e.g. {@code 1.23}. */
  public static String ms(double nanos) {
    return Double.isNaN(nanos) ? "-" : String.format(Locale.ROOT, "%.2f", nanos / 1e6);
  }
}
