package dev.tributary.internal.runtime;

import dev.tributary.StreamId;
import dev.tributary.spi.QueueCache;

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

  /**
   * The consumers of a stream as of one moment: an immutable list, so a value read is a snapshot
   * that later adds and removes leave alone (a delivery may fault a consumer while its caller
   * iterates). A single {@link StreamConsumer} is itself the list of one, so the stream of nearly
   * every case costs no array; two or more are held by {@link Many}.
   */
  interface Consumers {
    int size();

    StreamConsumer get(int i);
  }

  /** Zero, or two and more consumers. */
  private static final class Many implements Consumers {
    static final Many NONE = new Many(new StreamConsumer[0]);

    private final StreamConsumer[] all;

    Many(StreamConsumer[] all) {
      this.all = all;
    }

    @Override
    public int size() {
      return all.length;
    }

    @Override
    public StreamConsumer get(int i) {
      return all[i];
    }
  }

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

  /** Replaced on change, which is rare; see {@link Consumers}. */
  private Consumers consumers = Many.NONE;

  long lastActivityMillis;

  /** True while this agent holds the stream's lease and may deliver it. */
  boolean leased;

  StreamState(StreamId id, QueueCache.StreamHandle handle) {
    this.id = id;
    this.hash = id.hashCode();
    this.handle = handle;
  }

  /** The consumers now, in the order they were added; unaffected by later changes. */
  Consumers consumers() {
    return consumers;
  }

  boolean isEmpty() {
    return consumers.size() == 0;
  }

  void add(StreamConsumer c) {
    Consumers old = consumers;
    int n = old.size();
    if (n == 0) {
      consumers = c;
    } else {
      StreamConsumer[] grown = new StreamConsumer[n + 1];
      for (int i = 0; i < n; i++) {
        grown[i] = old.get(i);
      }
      grown[n] = c;
      consumers = new Many(grown);
    }
    c.stream = this;
  }

  void remove(StreamConsumer c) {
    Consumers old = consumers;
    int n = old.size();
    for (int i = 0; i < n; i++) {
      if (old.get(i) == c) {
        if (n == 1) {
          consumers = Many.NONE;
        } else if (n == 2) {
          consumers = old.get(1 - i);
        } else {
          StreamConsumer[] shrunk = new StreamConsumer[n - 1];
          for (int j = 0, k = 0; j < n; j++) {
            if (j != i) {
              shrunk[k++] = old.get(j);
            }
          }
          consumers = new Many(shrunk);
        }
        return;
      }
    }
  }

  /** True while some subscription has something unfinished: prepared events or a stage. */
  boolean busy() {
    Consumers all = consumers;
    for (int i = 0, n = all.size(); i < n; i++) {
      if (all.get(i).busy()) {
        return true;
      }
    }
    return false;
  }
}
