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
  private byte[][] keys;
  private StreamId[] ids;
  private int[] hashes;
  private int size;

  StreamIdTable(String topic) {
    this.topic = topic;
    allocate(256);
  }

  /** The stream id of {@code key} (UTF-8 bytes) in this table's topic. */
  StreamId idOf(byte[] key) {
    int h = hash(key);
    int mask = keys.length - 1;
    for (int i = h & mask; ; i = (i + 1) & mask) {
      byte[] k = keys[i];
      if (k == null) {
        StreamId id = StreamId.of(topic, new String(key, StandardCharsets.UTF_8));
        if (size + 1 > keys.length / 2) {
          grow();
          insert(h, key, id);
        } else {
          keys[i] = key;
          ids[i] = id;
          hashes[i] = h;
          size++;
        }
        return id;
      }
      if (hashes[i] == h && Arrays.equals(k, key)) {
        return ids[i];
      }
    }
  }

  /** How many keys the table holds. */
  int size() {
    return size;
  }

  private static int hash(byte[] key) {
    int h = Arrays.hashCode(key);
    return h ^ (h >>> 16);
  }

  private void grow() {
    byte[][] oldKeys = keys;
    StreamId[] oldIds = ids;
    int[] oldHashes = hashes;
    if (size >= MAX_KEYS) {
      allocate(oldKeys.length);
      return;
    }
    allocate(oldKeys.length * 2);
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != null) {
        insert(oldHashes[i], oldKeys[i], oldIds[i]);
      }
    }
  }

  private void insert(int h, byte[] key, StreamId id) {
    int mask = keys.length - 1;
    int i = h & mask;
    while (keys[i] != null) {
      i = (i + 1) & mask;
    }
    keys[i] = key;
    ids[i] = id;
    hashes[i] = h;
    size++;
  }

  private void allocate(int slots) {
    keys = new byte[slots][];
    ids = new StreamId[slots];
    hashes = new int[slots];
    size = 0;
  }
}
