package dev.tributary.internal.runtime;

import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.SubscriberAddress;
import dev.tributary.spi.SubscriptionRecord;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * An explicit subscription this node may deliver to. The provider keeps these in its registry; the
 * agent that owns the stream's queue attaches a cursor to each.
 *
 * <p>Two kinds: one whose observer is an object of this JVM (made by {@code subscribe(observer)}
 * here; {@link #subscriber} is null), and a cluster-wide one ({@link #addressed}) made on any node
 * with a {@link SubscriberAddress}, registered on every node from the shared store and delivered to
 * through the observer that the runtime's resolver made of the address.
 */
final class LocalSubscription {
  final UUID id;
  final StreamId streamId;
  final String filterData;

  /**
   * The user's observer, checked by {@link Observers#checked} and called through {@link Observers}.
   * Swapped by resume; read by the agent when it delivers; null until resumed after a restart.
   */
  volatile Object observer;

  /** Where the next attach starts (inclusive); null means "from now". Cleared once used. */
  volatile StreamSequenceToken startToken;

  /** Completes when an agent first holds a cursor for this subscription. */
  final CompletableFuture<Void> attached = new CompletableFuture<>();

  volatile boolean faulted;

  /** True for a cluster-wide subscription. */
  final boolean addressed;

  /** Where a cluster-wide subscription delivers, and under which revision of its record. */
  record Target(SubscriberAddress address, UUID revision) {}

  /**
   * The latest target the store told of (a resume swaps it); null for a local subscription. Written
   * by the store's listener.
   */
  volatile Target target;

  /**
   * The target {@link #observer} (or {@link #unresolvable}) was made of; null before. Written by
   * the agent that delivers, together with the observer: the revision it confirms is this one's.
   */
  volatile Target installed;

  /** Why the resolver could not make an observer of {@link #installed}; null when it could. */
  volatile RuntimeException unresolvable;

  LocalSubscription(
      UUID id,
      StreamId streamId,
      String filterData,
      Object observer,
      StreamSequenceToken startToken) {
    this.id = id;
    this.streamId = streamId;
    this.filterData = filterData;
    this.observer = observer;
    this.startToken = startToken;
    this.addressed = false;
  }

  /** A cluster-wide subscription from its stored record. */
  LocalSubscription(SubscriptionRecord record) {
    this.id = record.subscriptionId();
    this.streamId = record.streamId();
    this.filterData = record.filterData();
    this.addressed = true;
    this.target = new Target(record.subscriber(), record.revision());
    this.faulted = record.faulted();
  }

  /** Where a cluster-wide subscription delivers now, as far as this node knows; null if local. */
  SubscriberAddress subscriber() {
    Target t = target;
    return t == null ? null : t.address();
  }

  /** True while the store told of a target the delivering agent has not switched to yet. */
  boolean switchPending() {
    Target t = target;
    return t != null && installed != null && !t.equals(installed);
  }

  /** The record the store keeps of this subscription. */
  SubscriptionRecord record(String providerName) {
    Target t = target;
    return new SubscriptionRecord(
        id,
        providerName,
        streamId,
        filterData,
        faulted,
        t == null ? null : t.address(),
        t == null ? null : t.revision(),
        false);
  }
}
