package dev.tributary.internal.runtime;

import dev.tributary.StreamId;
import dev.tributary.spi.QueueCache;
import java.util.Arrays;

/**
 * The subscriptions of one stream in one agent, and whether that agent may deliver the stream now.
 *
 * <p>One stream can be reachable from several queues (keyless records funnelled into one stream,
 * keys that moved with partition growth). Its events are then delivered by one agent at a time: the
 * agent that holds the stream's lease in the provider ({@link StreamLeases}); another agent that
 * meets the stream keeps its batches cached, unacknowledged, until the holder has passed everything
 * it had and hands the lease on. Confined to the owning agent's thread.
 */
final class StreamState {
  private static final StreamConsumer[] NONE = new StreamConsumer[0];

  final StreamId id;

  /** {@code id.hashCode()}, for {@link StreamTable}. */
  final int hash;

  /**
   * The stream's place in the agent's cache, held while the agent tracks the stream: batches of the
   * stream reach the cache through it without a lookup of their own. Released (in {@code
   * PullingAgent.leaveStream}) when the stream leaves the agent, so cache and agent drop the stream
   * together; null while the stream is parked (idle, its cursors closed, see {@code
   * PullingAgent.park}).
   */
  QueueCache.StreamHandle handle;

  /**
   * Copied on change, which is rare, so that dispatching an event touches one array rather than a
   * list and its array.
   */
  StreamConsumer[] consumers = NONE;

  long lastActivityMillis;

  /** True while this agent holds the stream's lease and may deliver it. */
  boolean leased;

  StreamState(StreamId id, QueueCache.StreamHandle handle) {
    this.id = id;
    this.hash = id.hashCode();
    this.handle = handle;
  }

  void add(StreamConsumer c) {
    StreamConsumer[] grown = Arrays.copyOf(consumers, consumers.length + 1);
    grown[consumers.length] = c;
    consumers = grown;
    c.stream = this;
  }

  void remove(StreamConsumer c) {
    for (int i = 0; i < consumers.length; i++) {
      if (consumers[i] == c) {
        StreamConsumer[] shrunk = new StreamConsumer[consumers.length - 1];
        System.arraycopy(consumers, 0, shrunk, 0, i);
        System.arraycopy(consumers, i + 1, shrunk, i, consumers.length - i - 1);
        consumers = shrunk.length == 0 ? NONE : shrunk;
        return;
      }
    }
  }

  /** True while some subscription has something unfinished: prepared events or a stage. */
  boolean busy() {
    for (StreamConsumer c : consumers) {
      if (c.busy()) {
        return true;
      }
    }
    return false;
  }
}
