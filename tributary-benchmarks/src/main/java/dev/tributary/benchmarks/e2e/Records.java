package dev.tributary.benchmarks.e2e;

/**
 * The benchmark's record format. Keys are {@code "k<index>"}; a value is at least {@link #HEADER}
 * bytes: the key index (int), the record's sequence number within its key (int) and the producer's
 * {@code System.nanoTime()} at send (long, 0 when latency is not measured), big-endian, then
 * padding.
 *
 * <p>Every consumer checks that each key's sequence numbers arrive as 0, 1, 2, ...: that proves
 * both the count and the per-key order without a shared map on the hot path.
 */
public final class Records {
  /** Bytes of the fixed part of a value. */
  public static final int HEADER = 16;

  private Records() {}

  /** The record key of key index {@code k}. */
  public static String key(int k) {
    return "k" + k;
  }

  /** The key index of a stream key made by {@link #key}. */
  public static int keyIndex(String key) {
    int v = 0;
    for (int i = 1, n = key.length(); i < n; i++) {
      char c = key.charAt(i);
      if (c < '0' || c > '9') {
        throw new NumberFormatException("not a benchmark key: " + key);
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  /** Writes the fixed part of a value. */
  public static void write(byte[] value, int keyIndex, int sequence, long sendNanos) {
    putInt(value, 0, keyIndex);
    putInt(value, 4, sequence);
    putLong(value, 8, sendNanos);
  }

  /** The key index stored in {@code value}. */
  public static int keyIndex(byte[] value) {
    return getInt(value, 0);
  }

  /** The per-key sequence number stored in {@code value}. */
  public static int sequence(byte[] value) {
    return getInt(value, 4);
  }

  /** The producer's nanoTime stored in {@code value}, or 0. */
  public static long sendNanos(byte[] value) {
    return (long) getInt(value, 8) << 32 | (getInt(value, 12) & 0xFFFFFFFFL);
  }

  private static void putInt(byte[] b, int at, int v) {
    b[at] = (byte) (v >>> 24);
    b[at + 1] = (byte) (v >>> 16);
    b[at + 2] = (byte) (v >>> 8);
    b[at + 3] = (byte) v;
  }

  private static void putLong(byte[] b, int at, long v) {
    putInt(b, at, (int) (v >>> 32));
    putInt(b, at + 4, (int) v);
  }

  private static int getInt(byte[] b, int at) {
    return (b[at] & 0xFF) << 24
        | (b[at + 1] & 0xFF) << 16
        | (b[at + 2] & 0xFF) << 8
        | b[at + 3] & 0xFF;
  }
}
