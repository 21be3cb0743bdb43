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

  /** Swapped by resume; read by the agent when it delivers; null until resumed after a restart. */
  volatile ObserverRef observer;

  /** Where the next attach starts (inclusive); null means "from now". Cleared once used. */
  volatile StreamSequenceToken startToken;

  /** Completes when an agent first holds a cursor for this subscription. */
  final CompletableFuture<Void> attached = new CompletableFuture<>();

  volatile boolean faulted;

  /** True for a cluster-wide subscription. */
  final boolean addressed;

  /** Where a cluster-wide subscription delivers; swapped by a resume; null for a local one. */
  volatile SubscriberAddress subscriber;

  /** The revision of the stored record this node knows; null for a local one. */
  volatile UUID revision;

  /** Why the resolver could not make an observer of {@link #subscriber}; null when it could. */
  volatile RuntimeException unresolvable;

  /** The address {@link #observer} (or {@link #unresolvable}) was made of; null before. */
  volatile SubscriberAddress resolvedFor;

  LocalSubscription(
      UUID id,
      StreamId streamId,
      String filterData,
      ObserverRef observer,
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
    this.subscriber = record.subscriber();
    this.revision = record.revision();
    this.faulted = record.faulted();
  }

  /** The record the store keeps of this subscription. */
  SubscriptionRecord record(String providerName) {
    return new SubscriptionRecord(
        id, providerName, streamId, filterData, faulted, subscriber, revision, false);
  }
}
