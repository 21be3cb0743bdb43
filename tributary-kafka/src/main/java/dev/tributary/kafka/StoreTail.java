package dev.tributary.kafka;

import dev.tributary.StreamingException;
import dev.tributary.kafka.StoreRecordCodec.Key;
import dev.tributary.kafka.StoreRecordCodec.UndecodableException;
import dev.tributary.spi.SubscriptionRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tail of a {@link KafkaPubSubStore}'s topic: one thread that owns a {@link KafkaConsumer}
 * assigned every partition, reads from the beginning, applies each record to the {@link StoreView}
 * (which tells the listeners) and completes the waiters whose end offsets it reached.
 *
 * <p>Threads: {@link #run} is the tail thread's body; {@link #await} and {@link #stop} are called
 * from any thread and only enqueue or signal ({@link KafkaConsumer#wakeup}, the one consumer method
 * that is thread-safe). Waiters are completed on the store's callback executor, never on the tail
 * thread, so that work chained on them does not hold up the tail.
 */
final class StoreTail {
  private static final Logger log = LoggerFactory.getLogger(StoreTail.class);

  /** A stage that completes once the tail's position reached {@code targets} in every partition. */
  private record Waiter(long[] targets, CompletableFuture<Void> done) {}

  private final StoreSettings settings;
  private final Map<String, Object> consumerProperties;
  private final StoreView view;
  private final Executor callbacks;
  private final ConcurrentLinkedQueue<Waiter> waiters = new ConcurrentLinkedQueue<>();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final AtomicLong skipped = new AtomicLong();
  private volatile boolean running = true;
  private volatile boolean ended;
  private volatile KafkaConsumer<byte[], byte[]> wakeable;
  private volatile long lag = -1;

  /** The tail's positions, published after each batch was applied; null before the first. */
  private volatile AtomicLongArray published;

  StoreTail(
      StoreSettings settings,
      Map<String, Object> consumerProperties,
      StoreView view,
      Executor callbacks) {
    this.settings = settings;
    this.consumerProperties = consumerProperties;
    this.view = view;
    this.callbacks = callbacks;
  }

  /**
   * Completes {@code done} once every record below {@code targets} (an end offset per partition)
   * was applied and passed to the listeners.
   */
  void await(long[] targets, CompletableFuture<Void> done, boolean wake) {
    Waiter w = new Waiter(targets, done);
    waiters.add(w);
    // Added before the positions are read: either this check sees the tail's newest positions or
    // the tail's next check sees this waiter.
    AtomicLongArray p = published;
    if (p != null && reached(w, p)) {
      waiters.remove(w);
      complete(done);
      return;
    }
    if (ended) {
      failWaiters();
      return;
    }
    KafkaConsumer<byte[], byte[]> c = wakeable;
    if (wake && c != null) {
      c.wakeup(); // Check at once rather than after the current poll.
    }
  }

  /** Records this store skipped because they could not be decoded. */
  long skipped() {
    return skipped.get();
  }

  /** Records between the tail's position and the log end, over every partition; -1 unknown. */
  long lag() {
    return lag;
  }

  /** Asks the tail thread to end; it closes its consumer and fails the waiters left. */
  void stop() {
    running = false;
    stopped.countDown();
    KafkaConsumer<byte[], byte[]> c = wakeable;
    if (c != null) {
      c.wakeup();
    }
  }

  /**
   * The tail thread: reads the topic's {@code partitions} from the beginning, completes {@code
   * loaded} once it reached the end offsets taken now, then keeps reading until {@link #stop}.
   */
  void run(int partitions, long deadline, CompletableFuture<Void> loaded) {
    List<TopicPartition> tps = new ArrayList<>();
    for (int p = 0; p < partitions; p++) {
      tps.add(new TopicPartition(settings.topic(), p));
    }
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(consumerProperties)) {
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      wakeable = consumer;
      Map<TopicPartition, Long> end = null;
      while (end == null) {
        if (!running) {
          return;
        }
        try {
          end =
              consumer.endOffsets(tps, Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
        } catch (WakeupException e) {
          // A new waiter or stop: checked above, then asked again within the same deadline.
        } catch (KafkaException e) {
          loaded.completeExceptionally(
              new StreamingException(
                  "subscription store topic '"
                      + settings.topic()
                      + "': its end offsets could not be read within startTimeout "
                      + settings.startTimeout()
                      + "; check the brokers' health, or raise startTimeout. Cause: "
                      + e,
                  e));
          return;
        }
      }
      long[] targets = new long[partitions];
      for (int p = 0; p < partitions; p++) {
        targets[p] = end.getOrDefault(tps.get(p), 0L);
      }
      log.info(
          "Subscription store: reading topic '{}' ({} partitions, end offsets summing to {})",
          settings.topic(),
          partitions,
          java.util.Arrays.stream(targets).sum());
      waiters.add(new Waiter(targets, loaded));
      loop(consumer, tps);
    } catch (RuntimeException e) {
      if (running) {
        log.error("Subscription store topic '{}': the tail thread failed", settings.topic(), e);
      }
      loaded.completeExceptionally(e);
    } finally {
      wakeable = null;
      ended = true;
      failWaiters();
    }
  }

  private void loop(KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> tps) {
    AtomicLongArray positions = new AtomicLongArray(tps.size());
    for (int p = 0; p < tps.size(); p++) {
      positions.set(p, -1);
    }
    published = positions;
    // Learn the start positions now rather than in the first poll, which would then wait a whole
    // poll timeout on an empty topic before the load could be seen complete.
    for (int p = 0; p < tps.size() && running; p++) {
      try {
        positions.set(p, consumer.position(tps.get(p), settings.pollTimeout()));
      } catch (KafkaException e) {
        // Learnt by the loop (a timeout, or a wake-up for a new waiter).
      }
    }
    completeReached(positions);
    long failures = 0;
    while (running) {
      ConsumerRecords<byte[], byte[]> records;
      try {
        records = consumer.poll(settings.pollTimeout());
        failures = 0;
      } catch (WakeupException e) {
        records = ConsumerRecords.empty();
      } catch (KafkaException e) {
        failures++;
        log.warn(
            "Subscription store topic '{}': reading failed ({} in a row); retrying",
            settings.topic(),
            failures,
            e);
        backOff(failures);
        continue;
      }
      if (!running) {
        return;
      }
      try {
        if (!records.isEmpty()) {
          apply(records);
        }
        updatePositions(consumer, tps, positions);
        completeReached(positions);
      } catch (RuntimeException e) {
        // Never the end of the tail: every write and sync of this node waits for it.
        failures++;
        log.error(
            "Subscription store topic '{}': applying read records failed; going on",
            settings.topic(),
            e);
        backOff(failures);
      }
    }
  }

  /** Applies a batch in log order, holding the view's lock so that a new watcher waits for it. */
  private void apply(ConsumerRecords<byte[], byte[]> records) {
    view.lock().lock();
    try {
      for (ConsumerRecord<byte[], byte[]> r : records) {
        try {
          applyOne(r);
        } catch (UndecodableException e) {
          skipped.incrementAndGet();
          log.warn(
              "Subscription store topic '{}': skipped record at partition {} offset {}: {}",
              r.topic(),
              r.partition(),
              r.offset(),
              e.getMessage());
        } catch (RuntimeException e) {
          skipped.incrementAndGet();
          log.warn(
              "Subscription store topic '{}': skipped record at partition {} offset {}",
              r.topic(),
              r.partition(),
              r.offset(),
              e);
        }
      }
    } finally {
      view.lock().unlock();
    }
  }

  private void applyOne(ConsumerRecord<byte[], byte[]> r) throws UndecodableException {
    Key key = StoreRecordCodec.decodeKey(r.key());
    if (key.kind() == StoreRecordCodec.SUBSCRIPTION) {
      if (r.value() == null) {
        view.remove(key.identity());
      } else {
        SubscriptionRecord record = StoreRecordCodec.decodeSubscription(key.identity(), r.value());
        view.put(record);
      }
    } else if (r.value() == null) {
      view.removeConfirmation(key.identity());
    } else {
      UUID revision = StoreRecordCodec.decodeConfirmation(r.value());
      view.confirm(key.identity(), revision);
    }
  }

  /**
   * Reads the consumer's positions: the next offset it will return, which also steps over offsets
   * that compaction removed, so a waiter's end offset is reached even when its last records are
   * gone. A position not yet known (no fetch since the seek) stays -1.
   */
  private void updatePositions(
      KafkaConsumer<byte[], byte[]> consumer, List<TopicPartition> tps, AtomicLongArray positions) {
    long total = 0;
    boolean known = true;
    for (int p = 0; p < tps.size(); p++) {
      try {
        positions.set(p, consumer.position(tps.get(p), Duration.ZERO));
      } catch (KafkaException e) {
        // Not known yet, or a wake-up for a new waiter: the next round reads it.
      }
      OptionalLong l = consumer.currentLag(tps.get(p));
      if (l.isPresent()) {
        total += l.getAsLong();
      } else {
        known = false;
      }
    }
    lag = known ? total : -1;
  }

  private void completeReached(AtomicLongArray positions) {
    for (Iterator<Waiter> it = waiters.iterator(); it.hasNext(); ) {
      Waiter w = it.next();
      if (w.done().isDone()) {
        it.remove();
      } else if (reached(w, positions)) {
        it.remove();
        complete(w.done());
      }
    }
  }

  private static boolean reached(Waiter w, AtomicLongArray positions) {
    for (int p = 0; p < w.targets().length; p++) {
      if (p < positions.length() && positions.get(p) < w.targets()[p]) {
        return false;
      }
    }
    return true;
  }

  private void complete(CompletableFuture<Void> done) {
    try {
      callbacks.execute(() -> done.complete(null));
    } catch (RejectedExecutionException e) {
      // The store is closing; it fails what is left.
    }
  }

  private void failWaiters() {
    for (Waiter w; (w = waiters.poll()) != null; ) {
      w.done()
          .completeExceptionally(
              new IllegalStateException(
                  "subscription store on topic '"
                      + settings.topic()
                      + "' was closed before it had read this far"
                      + (running ? " (its tail thread ended; see the log)" : "")));
    }
  }

  /** Waits before the next read after a failure, 100 ms doubling to 5 s; ends early on stop. */
  private void backOff(long failures) {
    long ms = Math.min(5_000, 100L << Math.min(6, failures - 1));
    try {
      stopped.await(ms, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      running = false;
    }
  }
}
