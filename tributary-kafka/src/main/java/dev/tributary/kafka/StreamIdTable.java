package dev.tributary.kafka;

import dev.tributary.StreamId;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The stream ids of one partition's recent keys, so that the records of a key share one {@link
 * StreamId} instance. The agent looks every record's stream up twice (its cache and its stream
 * table); with a shared instance those lookups compare references and hit cached hashes instead of
 * comparing key strings held in scattered objects, and records carry no string of their own.
 *
 * <p>Open addressing over the key bytes. It holds at most {@link #MAX_KEYS} keys and starts afresh
 * when full: a partition with more distinct keys than that still gets correct ids (equal, if not
 * always identical), only fewer shared ones. Confined to the partition's consumer thread.
 */
final class StreamIdTable {

  /** The most keys held; with the slots at most half full, 16 384 slots. */
  static final int MAX_KEYS = 8192;

  private final String topic;

  /**
   * Slot {@code i} is {@code (key bytes, id)} at {@code [2i, 2i + 1]}: a hit reads one line of this
   * array besides the key bytes, where separate arrays cost a cache miss each.
   */
  private Object[] slots;

  /** The mixed hash of slot {@code i}'s key: probing compares these before touching a key. */
  private int[] hashes;

  private int size;

  StreamIdTable(String topic) {
    this.topic = topic;
    allocate(256);
  }

  /** The stream id of {@code key} (UTF-8 bytes) in this table's topic. */
  StreamId idOf(byte[] key) {
    int h = hash(key);
    int mask = hashes.length - 1;
    for (int i = h & mask; ; i = (i + 1) & mask) {
      Object k = slots[2 * i];
      if (k == null) {
        StreamId id = StreamId.of(topic, new String(key, StandardCharsets.UTF_8));
        if (size + 1 > hashes.length / 2) {
          grow();
          insert(h, key, id);
        } else {
          slots[2 * i] = key;
          slots[2 * i + 1] = id;
          hashes[i] = h;
          size++;
        }
        return id;
      }
      if (hashes[i] == h && Arrays.equals((byte[]) k, key)) {
        return (StreamId) slots[2 * i + 1];
      }
    }
  }

  /** How many keys the table holds. */
  int size() {
    return size;
  }

  /**
   * The key's hash, mixed (a multiplicative step and a shift) so that keys that differ in their
   * last characters, such as {@code k1234} and {@code k1235}, do not fill runs of adjacent slots.
   */
  private static int hash(byte[] key) {
    int h = Arrays.hashCode(key) * 0x9E3779B9;
    return h ^ (h >>> 16);
  }

  private void grow() {
    Object[] oldSlots = slots;
    int[] oldHashes = hashes;
    if (size >= MAX_KEYS) {
      allocate(oldHashes.length);
      return;
    }
    allocate(oldHashes.length * 2);
    for (int i = 0; i < oldHashes.length; i++) {
      if (oldSlots[2 * i] != null) {
        insert(oldHashes[i], (byte[]) oldSlots[2 * i], (StreamId) oldSlots[2 * i + 1]);
      }
    }
  }

  private void insert(int h, byte[] key, StreamId id) {
    int mask = hashes.length - 1;
    int i = h & mask;
    while (slots[2 * i] != null) {
      i = (i + 1) & mask;
    }
    slots[2 * i] = key;
    slots[2 * i + 1] = id;
    hashes[i] = h;
    size++;
  }

  private void allocate(int slotCount) {
    slots = new Object[2 * slotCount];
    hashes = new int[slotCount];
    size = 0;
  }
}
