package dev.tributary.kafka;

import dev.tributary.StreamId;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The provider's replays from its partitions: at most {@code maxConcurrentReplays} at once, each
 * with a KafkaConsumer of its own, the others queued in arrival order.
 *
 * <p>Threading: {@link #open} and {@link KafkaReplay#close()} run on agents' threads and never
 * block. A replay's consumer is created, polled and closed only by tasks on the replay threads
 * ({@code tributary-<provider>-<n>-kafka-replay-N}), one task per replay at a time; with one thread
 * per admitted replay no task waits for a thread. This object's monitor guards the admission queue
 * and nothing is called out under it.
 */
final class KafkaReplays implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KafkaReplays.class);

  private final KafkaQueueAdapter adapter;
  private final int maxActive;
  private final ExecutorService threads;
  private final IntFunction<Consumer<byte[], byte[]>> consumers;
  private final AtomicInteger consumerSequence = new AtomicInteger();
  private final ArrayDeque<KafkaReplay> waiting = new ArrayDeque<>();
  private final Set<KafkaReplay> open = ConcurrentHashMap.newKeySet();
  private int active;
  private boolean closed;

  KafkaReplays(
      KafkaQueueAdapter adapter,
      int maxActive,
      String threadPrefix,
      IntFunction<Consumer<byte[], byte[]>> consumers) {
    this.adapter = adapter;
    this.maxActive = maxActive;
    this.consumers = consumers;
    AtomicInteger n = new AtomicInteger();
    ThreadPoolExecutor pool =
        new ThreadPoolExecutor(
            maxActive,
            maxActive,
            10,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            r -> {
              Thread t = new Thread(r, threadPrefix + "-" + n.getAndIncrement());
              t.setDaemon(true);
              return t;
            });
    // No thread until a replay needs one, and none kept once replays stop.
    pool.allowCoreThreadTimeOut(true);
    this.threads = pool;
  }

  /**
   * A replay of {@code streamId} in {@code tp} from {@code from}; it connects on its first read.
   */
  KafkaReplay open(TopicPartition tp, StreamId streamId, long from) {
    KafkaReplay r = new KafkaReplay(this, adapter, tp, streamId, from);
    open.add(r);
    return r;
  }

  /** Asks for a slot for {@code r}; {@link KafkaReplay#admitted()} runs once it has one. */
  void admit(KafkaReplay r) {
    boolean now;
    synchronized (this) {
      if (closed) {
        now = false;
      } else if (active < maxActive) {
        active++;
        now = true;
      } else {
        waiting.addLast(r);
        now = false;
        log.debug(
            "Provider {}: replay {} waits for one of {} running replays to end",
            adapter.name(),
            r,
            maxActive);
      }
    }
    if (now) {
      r.admitted();
    }
  }

  /** {@code r} ended; its slot, if it had one, goes to the next waiting replay. */
  void release(KafkaReplay r, boolean hadSlot) {
    open.remove(r);
    KafkaReplay next = null;
    synchronized (this) {
      if (!hadSlot) {
        waiting.remove(r);
        return;
      }
      active--;
      if (!closed) {
        next = waiting.pollFirst();
        if (next != null) {
          active++;
        }
      }
    }
    if (next != null) {
      next.admitted();
    }
  }

  /** Runs a task of a replay on a replay thread. */
  void run(Runnable task) {
    threads.execute(task);
  }

  /** A new consumer for a replay; on a replay thread. */
  Consumer<byte[], byte[]> newConsumer() {
    return consumers.apply(consumerSequence.getAndIncrement());
  }

  synchronized int active() {
    return active;
  }

  synchronized int queued() {
    return waiting.size();
  }

  /** Records between the open replays' positions and their partitions' ends, summed. */
  long lag() {
    long sum = 0;
    for (KafkaReplay r : open) {
      sum += Math.max(0, r.lag());
    }
    return sum;
  }

  /** Closes every replay still open (the agents close theirs first) and the replay threads. */
  @Override
  public void close() {
    synchronized (this) {
      closed = true;
      waiting.clear();
    }
    for (KafkaReplay r : Set.copyOf(open)) {
      r.close();
    }
    threads.shutdown();
    Duration timeout = adapter.settings().closeTimeout();
    try {
      if (!threads.awaitTermination(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("Provider {}: replay threads did not stop in {}", adapter.name(), timeout);
        threads.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      threads.shutdownNow();
    }
  }
}
