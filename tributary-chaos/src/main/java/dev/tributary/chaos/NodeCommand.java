package dev.tributary.chaos;

/**
 * A command the runner sends to a node on its stdin, one per line: {@code slow DELAY_MS
 * DURATION_MS} (every event takes DELAY_MS for DURATION_MS), {@code throw DURATION_MS} (the
 * observer fails every event for that long; the runtime retries), {@code hold DURATION_MS} (the
 * next event's stage, and so its key, does not complete for that long), {@code clear} (ends every
 * consumer fault), {@code close} (graceful close, then exit).
 */
record NodeCommand(Kind kind, long value, long durationMs) {

  enum Kind {
    SLOW,
    THROW,
    HOLD,
    CLEAR,
    CLOSE
  }

  static NodeCommand slow(long delayMs, long durationMs) {
    return new NodeCommand(Kind.SLOW, delayMs, durationMs);
  }

  static NodeCommand throwing(long durationMs) {
    return new NodeCommand(Kind.THROW, 0, durationMs);
  }

  static NodeCommand hold(long durationMs) {
    return new NodeCommand(Kind.HOLD, 0, durationMs);
  }

  static NodeCommand clear() {
    return new NodeCommand(Kind.CLEAR, 0, 0);
  }

  static NodeCommand close() {
    return new NodeCommand(Kind.CLOSE, 0, 0);
  }

  static NodeCommand parse(String line) {
    String[] p = line.trim().split("\\s+");
    return switch (p[0]) {
      case "slow" -> slow(Long.parseLong(p[1]), Long.parseLong(p[2]));
      case "throw" -> throwing(Long.parseLong(p[1]));
      case "hold" -> hold(Long.parseLong(p[1]));
      case "clear" -> clear();
      case "close" -> close();
      default -> throw new IllegalArgumentException("unknown node command: " + line);
    };
  }

  String line() {
    return switch (kind) {
      case SLOW -> "slow " + value + " " + durationMs;
      case THROW -> "throw " + durationMs;
      case HOLD -> "hold " + durationMs;
      case CLEAR -> "clear";
      case CLOSE -> "close";
    };
  }
}
