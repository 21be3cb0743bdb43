package dev.tributary.examples.pekko;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The customers' accounts (standing in for the database a real entity would persist to) and the
 * figures the progress line and the summary print, per node. Both nodes run in this JVM and share
 * it. Thread-safe.
 */
final class Accounts {

  /** One customer's account: how far its orders got, and what went wrong. */
  static final class Account {
    long next;
    long orders;
    long cents;
    long duplicates;
    long gaps;
  }

  private final Map<String, Account> accounts = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> deliveredOn = new ConcurrentHashMap<>();
  private final Map<String, LongAdder> activationsOn = new ConcurrentHashMap<>();
  private final LongAdder delivered = new LongAdder();
  private final LongAdder applied = new LongAdder();
  private final LongAdder remote = new LongAdder();
  private final LongAdder latencyNanos = new LongAdder();
  private final CompletableFuture<Void> allApplied = new CompletableFuture<>();
  private volatile long expected = Long.MAX_VALUE;

  /** Completes {@link #allApplied} once {@code orders} distinct orders were applied. */
  void expect(long orders) {
    expected = orders;
    if (applied.sum() >= orders) {
      allApplied.complete(null);
    }
  }

  CompletableFuture<Void> allApplied() {
    return allApplied;
  }

  void activated(String node) {
    activationsOn.computeIfAbsent(node, n -> new LongAdder()).increment();
  }

  /**
   * Applies order {@code seq} of {@code customer}, delivered on {@code node}; a repeat changes
   * nothing but is counted, and so is a gap.
   */
  void apply(
      String customer, long seq, long cents, long sentNanos, String node, boolean crossedNodes) {
    delivered.increment();
    deliveredOn.computeIfAbsent(node, n -> new LongAdder()).increment();
    if (crossedNodes) {
      remote.increment();
    }
    Account a = accounts.computeIfAbsent(customer, c -> new Account());
    boolean fresh;
    synchronized (a) {
      if (seq < a.next) {
        a.duplicates++;
        fresh = false;
      } else {
        if (seq > a.next) {
          a.gaps++;
        }
        a.next = seq + 1;
        a.orders++;
        a.cents += cents;
        fresh = true;
      }
    }
    if (fresh) {
      latencyNanos.add(System.nanoTime() - sentNanos);
      applied.increment();
      if (applied.sum() >= expected) {
        allApplied.complete(null);
      }
    }
  }

  long delivered() {
    return delivered.sum();
  }

  long delivered(String node) {
    LongAdder a = deliveredOn.get(node);
    return a == null ? 0 : a.sum();
  }

  long activations(String node) {
    LongAdder a = activationsOn.get(node);
    return a == null ? 0 : a.sum();
  }

  long applied() {
    return applied.sum();
  }

  long remote() {
    return remote.sum();
  }

  /** The mean time from the producer's send to the actor, over the applied orders, in ms. */
  double meanLatencyMillis() {
    long n = applied.sum();
    return n == 0 ? 0 : latencyNanos.sum() / 1e6 / n;
  }

  Map<String, Account> accounts() {
    return accounts;
  }
}
