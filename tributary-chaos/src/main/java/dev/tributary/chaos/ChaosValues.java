package dev.tributary.chaos;

/** The record values of a chaos run: {@code key:seq}, or {@code POISON:key:seq} for poison. */
final class ChaosValues {

  static final String POISON = "POISON";

  private ChaosValues() {}

  static String value(String key, long seq, boolean poison) {
    return (poison ? POISON + ":" : "") + key + ":" + seq;
  }

  static long sequence(String value) {
    return Long.parseLong(value.substring(value.lastIndexOf(':') + 1));
  }
}
