package dev.tributary.examples.quickstart;

import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamSequenceToken;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * One customer's actor: receives that customer's orders, in order, one at a time.
 *
 * <p>A real actor system would enqueue into the actor's mailbox and complete the returned stage
 * when the actor processed the message; this one handles the order on the spot. Tributary calls
 * {@link #onNext} for the next order only after the previous stage completed, so the fields need no
 * synchronization of their own beyond publication to the summary thread.
 */
final class OrderActor implements StreamObserver<String> {
  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  private final StreamId customer;
  private final Stats stats;
  private volatile long received;
  private volatile long nextExpected;
  private volatile long outOfOrder;
  private volatile long duplicates;
  private volatile long totalCents;

  OrderActor(StreamId customer, Stats stats) {
    this.customer = customer;
    this.stats = stats;
    stats.activated();
  }

  @Override
  public CompletionStage<Void> onNext(String order, StreamSequenceToken token) {
    // value: "<sequence within customer> <amount in cents> <producer nanoTime>"
    String[] parts = order.split(" ", 3);
    long sequence = Long.parseLong(parts[0]);
    if (sequence < nextExpected) {
      duplicates++; // at-least-once: possible after a crash, never in this run
    } else {
      if (sequence > nextExpected) {
        outOfOrder++;
      }
      nextExpected = sequence + 1;
      received++;
      totalCents += Long.parseLong(parts[1]);
    }
    stats.delivered(System.nanoTime() - Long.parseLong(parts[2]));
    return DONE;
  }

  @Override
  public void onError(Throwable error) {
    stats.error(customer, error);
  }

  StreamId customer() {
    return customer;
  }

  long received() {
    return received;
  }

  long nextExpected() {
    return nextExpected;
  }

  long outOfOrder() {
    return outOfOrder;
  }

  long duplicates() {
    return duplicates;
  }

  long totalCents() {
    return totalCents;
  }
}
