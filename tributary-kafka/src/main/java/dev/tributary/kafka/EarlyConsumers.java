package dev.tributary.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.IntFunction;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An adapter's consumers, built on a thread of their own while the starting thread checks the
 * topics: building a {@code KafkaConsumer} is mostly loading the client's classes, which then
 * overlaps the admin client's round trips instead of following them, and the group join starts that
 * much sooner. A built consumer does nothing on the network until it is subscribed or assigned, so
 * building it before the topics are known to be right changes nothing else.
 *
 * <p>{@link #apply} hands each consumer out once, waiting for it to be built and rethrowing what
 * building it threw; {@link #closeUnused} closes those never handed out. Thread-safe.
 */
final class EarlyConsumers implements IntFunction<Consumer<byte[], byte[]>> {
  private static final Logger log = LoggerFactory.getLogger(EarlyConsumers.class);

  private final CompletableFuture<List<Consumer<byte[], byte[]>>> built = new CompletableFuture<>();
  private final boolean[] taken; // guarded by this
  private boolean closed; // guarded by this

  /** Starts building {@code count} consumers from {@code factory} on a daemon thread. */
  EarlyConsumers(int count, IntFunction<Consumer<byte[], byte[]>> factory, String threadName) {
    this.taken = new boolean[count];
    Thread t = new Thread(() -> build(count, factory), threadName);
    t.setDaemon(true);
    t.start();
  }

  private void build(int count, IntFunction<Consumer<byte[], byte[]>> factory) {
    List<Consumer<byte[], byte[]>> consumers = new ArrayList<>(count);
    try {
      for (int i = 0; i < count; i++) {
        consumers.add(factory.apply(i));
      }
      built.complete(consumers);
    } catch (Throwable t) {
      consumers.forEach(EarlyConsumers::closeQuietly);
      built.completeExceptionally(t);
    }
  }

  /**
   * Consumer {@code index}, once built; each index once.
   *
   * @throws IllegalStateException when the index was taken already or the rest were closed
   */
  @Override
  public Consumer<byte[], byte[]> apply(int index) {
    List<Consumer<byte[], byte[]>> consumers;
    try {
      consumers = built.join();
    } catch (CompletionException e) {
      // What the consumer's constructor threw (a KafkaException for a bad setting), as it threw it.
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      if (e.getCause() instanceof Error err) {
        throw err;
      }
      throw e;
    }
    synchronized (this) {
      if (closed || taken[index]) {
        throw new IllegalStateException(
            "consumer " + index + " was " + (closed ? "closed" : "taken already"));
      }
      taken[index] = true;
    }
    return consumers.get(index);
  }

  /** Closes every consumer not handed out, now or, if still being built, once built. */
  void closeUnused() {
    built.thenAccept(
        consumers -> {
          List<Consumer<byte[], byte[]>> unused = new ArrayList<>();
          synchronized (this) {
            closed = true;
            for (int i = 0; i < taken.length; i++) {
              if (!taken[i]) {
                unused.add(consumers.get(i));
              }
            }
          }
          unused.forEach(EarlyConsumers::closeQuietly);
        });
  }

  private static void closeQuietly(Consumer<byte[], byte[]> c) {
    try {
      c.close(CloseOptions.timeout(Duration.ZERO));
    } catch (Throwable t) {
      log.debug("closing an unused consumer failed", t);
    }
  }
}
