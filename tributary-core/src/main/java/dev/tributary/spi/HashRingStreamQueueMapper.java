package dev.tributary.spi;

import dev.tributary.StreamId;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Maps streams to a fixed number of queues placed at equal distances on a 32-bit hash ring.
 *
 * <p>A stream belongs to the first queue at or after its hash (murmur3 of namespace and key,
 * UTF-8), wrapping around. The hash is stable across JVMs and versions so that every node agrees.
 */
public final class HashRingStreamQueueMapper implements StreamQueueMapper {

  private final List<QueueId> queues;
  private final long[] ringPositions;

  /** Creates a ring of {@code queueCount} queues named {@code prefix-0 .. prefix-(n-1)}. */
  public HashRingStreamQueueMapper(String prefix, int queueCount) {
    if (prefix == null || prefix.isEmpty()) {
      throw new IllegalArgumentException("queue prefix was '" + prefix + "' but it must be set");
    }
    if (queueCount < 1) {
      throw new IllegalArgumentException(
          "queueCount was " + queueCount + " but it must be at least 1");
    }
    List<QueueId> ids = new ArrayList<>(queueCount);
    ringPositions = new long[queueCount];
    long step = (1L << 32) / queueCount;
    for (int i = 0; i < queueCount; i++) {
      ids.add(QueueId.of(prefix, i));
      ringPositions[i] = (i + 1) * step - 1;
    }
    ringPositions[queueCount - 1] = (1L << 32) - 1;
    queues = List.copyOf(ids);
  }

  @Override
  public List<QueueId> allQueues() {
    return queues;
  }

  @Override
  public QueueId queueForStream(StreamId streamId) {
    long hash = Integer.toUnsignedLong(hash(streamId));
    int i = Arrays.binarySearch(ringPositions, hash);
    return queues.get(i >= 0 ? i : -i - 1);
  }

  /** The stream's ring hash: murmur3 (x86, 32-bit, seed 0) of "namespace\0key" in UTF-8. */
  static int hash(StreamId streamId) {
    byte[] data = (streamId.namespace() + '\0' + streamId.key()).getBytes(StandardCharsets.UTF_8);
    return murmur3(data);
  }

  @SuppressWarnings("fallthrough") // murmur3 mixes the tail bytes by falling through
  static int murmur3(byte[] data) {
    final int c1 = 0xcc9e2d51;
    final int c2 = 0x1b873593;
    int h = 0;
    int blocks = data.length / 4;
    for (int i = 0; i < blocks; i++) {
      int k =
          (data[4 * i] & 0xff)
              | (data[4 * i + 1] & 0xff) << 8
              | (data[4 * i + 2] & 0xff) << 16
              | (data[4 * i + 3] & 0xff) << 24;
      k *= c1;
      k = Integer.rotateLeft(k, 15);
      k *= c2;
      h ^= k;
      h = Integer.rotateLeft(h, 13);
      h = h * 5 + 0xe6546b64;
    }
    int k = 0;
    int tail = blocks * 4;
    switch (data.length & 3) {
      case 3:
        k ^= (data[tail + 2] & 0xff) << 16;
        // fall through
      case 2:
        k ^= (data[tail + 1] & 0xff) << 8;
        // fall through
      case 1:
        k ^= data[tail] & 0xff;
        k *= c1;
        k = Integer.rotateLeft(k, 15);
        k *= c2;
        h ^= k;
        // fall through
      default:
        break;
    }
    h ^= data.length;
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    return h;
  }
}
