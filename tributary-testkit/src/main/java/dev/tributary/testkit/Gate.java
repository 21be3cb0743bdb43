package dev.tributary.testkit;

import static org.awaitility.Awaitility.await;

import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * A {@link Behavior} that holds acknowledgements while closed: the slow consumer of a test.
 *
 * <p>While closed, every delivery gets a stage that completes when the gate opens; the subscription
 * then waits, as an actor with a full mailbox would. While open, deliveries are acknowledged at
 * once. Thread-safe. A {@link DeliveryHarness} opens its gates before it closes the runtime, so a
 * failed test does not wait for the drain timeout.
 */
public final class Gate implements Behavior {

  private final List<CompletableFuture<Void>> held = new ArrayList<>();
  private boolean open;
  private long entered;

  /** Creates a closed gate. */
  public Gate() {}

  @Override
  public CompletionStage<Void> onNext(
      StreamId streamId, Object item, StreamSequenceToken token, int attempt) {
    synchronized (this) {
      entered++;
      if (!open) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        held.add(f);
        return f;
      }
    }
    return CompletableFuture.completedFuture(null);
  }

  /** Opens the gate: acknowledges every held delivery and, until {@link #close()}, all new ones. */
  public void open() {
    List<CompletableFuture<Void>> release;
    synchronized (this) {
      open = true;
      release = new ArrayList<>(held);
      held.clear();
    }
    release.forEach(f -> f.complete(null));
  }

  /** Closes the gate again: later deliveries are held. */
  public synchronized void close() {
    open = false;
  }

  /** True while deliveries pass. */
  public synchronized boolean isOpen() {
    return open;
  }

  /** How many deliveries wait for the gate now. */
  public synchronized int held() {
    return held.size();
  }

  /** How many deliveries reached the gate, held or not. */
  public synchronized long entered() {
    return entered;
  }

  /** Waits until at least {@code count} deliveries are held. */
  public Gate awaitHeld(int count, Duration timeout) {
    await("gate holds " + count + " deliveries")
        .atMost(timeout)
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(5))
        .until(() -> held() >= count);
    return this;
  }
}
