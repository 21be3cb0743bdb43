package dev.tributary.kafka;

import dev.tributary.StreamId;
import dev.tributary.spi.PubSubStore;
import dev.tributary.spi.SubscriptionRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link PubSubStore.Listener} for tests that records what it is told, in order, as short lines
 * ({@code put <id> rev=<revision> removed=<b> faulted=<b>}, {@code remove <id>}, {@code confirmed
 * <id> <revision>}), and checks that it is never called concurrently.
 */
final class StoreEvents implements PubSubStore.Listener {
  private final List<String> lines = new ArrayList<>();
  private final List<SubscriptionRecord> puts = new ArrayList<>();
  private final AtomicInteger inCall = new AtomicInteger();
  private volatile boolean overlapped;

  static String put(SubscriptionRecord r) {
    return "put "
        + r.subscriptionId()
        + " rev="
        + r.revision()
        + " removed="
        + r.removed()
        + " faulted="
        + r.faulted();
  }

  static String remove(UUID id) {
    return "remove " + id;
  }

  static String confirmed(UUID id, UUID revision) {
    return "confirmed " + id + " " + revision;
  }

  @Override
  public void onPut(SubscriptionRecord record) {
    enter();
    try {
      synchronized (this) {
        lines.add(put(record));
        puts.add(record);
      }
    } finally {
      inCall.decrementAndGet();
    }
  }

  @Override
  public void onRemove(String providerName, StreamId streamId, UUID subscriptionId) {
    enter();
    try {
      synchronized (this) {
        lines.add(remove(subscriptionId));
      }
    } finally {
      inCall.decrementAndGet();
    }
  }

  @Override
  public void onConfirmed(
      String providerName, StreamId streamId, UUID subscriptionId, UUID revision) {
    enter();
    try {
      synchronized (this) {
        lines.add(confirmed(subscriptionId, revision));
      }
    } finally {
      inCall.decrementAndGet();
    }
  }

  private void enter() {
    if (inCall.incrementAndGet() != 1) {
      overlapped = true;
    }
  }

  synchronized List<String> lines() {
    return List.copyOf(lines);
  }

  synchronized List<SubscriptionRecord> puts() {
    return List.copyOf(puts);
  }

  boolean overlapped() {
    return overlapped;
  }
}
