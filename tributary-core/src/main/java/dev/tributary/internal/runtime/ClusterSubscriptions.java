package dev.tributary.internal.runtime;

import dev.tributary.FaultedSubscriptionException;
import dev.tributary.StreamId;
import dev.tributary.StreamingException;
import dev.tributary.SubscriberAddress;
import dev.tributary.SubscriberGoneException;
import dev.tributary.spi.PubSubStore;
import dev.tributary.spi.RuntimeTime;
import dev.tributary.spi.SubscriberResolver;
import dev.tributary.spi.SubscriptionRecord;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cluster-wide subscriptions of one provider on this node: the handshake through the shared
 * store, and the registration of every such subscription the store holds.
 *
 * <p>One mechanism for every node, the subscribing one included. A subscribe, resume or unsubscribe
 * writes a record with a new revision and waits. Every node is told of the record by the store's
 * watch and registers it (resolving its address); the node whose agent owns the stream's queue
 * attaches it, re-points it or detaches it, and then confirms the revision in the store (for a
 * removal, deletes the record). The waiting node completes when the store carries the confirmation
 * (or the deletion) back. A node taking a queue over waits for the store's {@code sync()} before
 * its agent attaches, so it knows every subscription confirmed before.
 */
final class ClusterSubscriptions implements PubSubStore.Listener {
  private static final Logger log = LoggerFactory.getLogger(ClusterSubscriptions.class);

  /** A write of this node's that waits for the owner: a revision, or a deletion (null). */
  private record Pending(UUID revision, CompletableFuture<Void> done) {}

  private final PersistentStreamProvider provider;
  private final String name;
  private final PubSubStore store;
  private final SubscriberResolver resolver;
  private final ConcurrentHashMap<UUID, Pending> pending = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<UUID, UUID> confirmed = new ConcurrentHashMap<>();

  /** Unsubscribed records not deleted yet: the queue's owner deletes them once it detached. */
  private final ConcurrentHashMap<UUID, SubscriptionRecord> removed = new ConcurrentHashMap<>();

  private volatile AutoCloseable watch;
  private volatile boolean closed;

  ClusterSubscriptions(
      PersistentStreamProvider provider, PubSubStore store, SubscriberResolver resolver) {
    this.provider = provider;
    this.name = provider.name();
    this.store = store;
    this.resolver = resolver;
  }

  void start() {
    watch = store.watch(this);
  }

  void close() {
    closed = true;
    AutoCloseable w = watch;
    watch = null;
    if (w != null) {
      try {
        w.close();
      } catch (Exception e) {
        log.warn("Provider {}: ending the subscription store's watch failed", name, e);
      }
    }
    StreamingException gone =
        new StreamingException("provider '" + name + "' was closed before the store confirmed");
    pending.values().forEach(p -> p.done.completeExceptionally(gone));
    pending.clear();
  }

  // ---------------------------------------------------------------- this node's writes

  /** Subscribes {@code subscriber}; completes with the subscription once its owner confirmed. */
  CompletionStage<LocalSubscription> subscribe(
      StreamId id, SubscriberAddress subscriber, String filterData) {
    SubscriptionRecord record =
        new SubscriptionRecord(
            UUID.randomUUID(), name, id, filterData, false, subscriber, UUID.randomUUID(), false);
    return write(record, "subscribe " + subscriber + " to " + id)
        .handle(
            (v, e) -> {
              if (e != null) {
                Throwable cause =
                    e instanceof java.util.concurrent.CompletionException ? e.getCause() : e;
                if (!(cause instanceof FaultedSubscriptionException)) {
                  // Nothing may attach it later: the caller was told it failed. A faulted one
                  // stays in the store, marked faulted.
                  store.remove(name, id, record.subscriptionId());
                }
                e = cause;
                throw e instanceof RuntimeException re
                    ? re
                    : new StreamingException("subscribe failed", e);
              }
              LocalSubscription sub = provider.registered(record.subscriptionId());
              return sub != null ? sub : new LocalSubscription(record);
            });
  }

  /** Points {@code sub} at {@code subscriber}; completes once the owner delivers there. */
  CompletionStage<Void> resume(LocalSubscription sub, SubscriberAddress subscriber) {
    SubscriptionRecord record = sub.record(name).withSubscriber(subscriber);
    return write(record, "resume " + sub.id + " of " + sub.streamId + " at " + subscriber);
  }

  /** Removes {@code sub}; completes once its owner detached it and deleted the record. */
  CompletionStage<Void> unsubscribe(LocalSubscription sub) {
    SubscriptionRecord record = sub.record(name).asRemoved();
    CompletableFuture<Void> done = await(record.subscriptionId(), null, "unsubscribe " + sub.id);
    store.put(record).whenComplete((v, e) -> failOnWorker(done, e));
    return done;
  }

  private CompletionStage<Void> write(SubscriptionRecord record, String what) {
    CompletableFuture<Void> done = await(record.subscriptionId(), record.revision(), what);
    store.put(record).whenComplete((v, e) -> failOnWorker(done, e));
    return done;
  }

  /** A failed write fails the caller's stage on a worker, never on the store's own thread. */
  private void failOnWorker(CompletableFuture<Void> done, Throwable error) {
    if (error != null) {
      provider.pool().execute(() -> done.completeExceptionally(error));
    }
  }

  /** Waits, up to {@code subscribeTimeout}, for the owner to apply a write of this node. */
  private CompletableFuture<Void> await(UUID id, UUID revision, String what) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    Pending p = new Pending(revision, done);
    Pending previous = pending.put(id, p);
    if (previous != null) {
      previous.done.completeExceptionally(
          new StreamingException(
              "a later write of subscription "
                  + id
                  + " replaced this one before it was confirmed"));
    }
    Duration timeout = provider.options().subscribeTimeout();
    RuntimeTime.Cancellable timer =
        provider
            .timers()
            .schedule(
                timeout,
                () ->
                    provider
                        .pool()
                        .execute(
                            () ->
                                done.completeExceptionally(
                                    new StreamingException(
                                        "cannot "
                                            + what
                                            + " (provider '"
                                            + name
                                            + "'): no node confirmed it within subscribeTimeout "
                                            + timeout
                                            + ". The node that owns the stream's queue confirms"
                                            + " once its agent applied it; is any node reading"
                                            + " the queue, and do all nodes share the"
                                            + " subscription store?",
                                        new TimeoutException()))));
    done.whenComplete(
        (v, e) -> {
          timer.cancel();
          pending.remove(id, p);
        });
    if (closed) {
      // Closed meanwhile: close() may have swept the pending writes already.
      done.completeExceptionally(
          new StreamingException("provider '" + name + "' was closed before the store confirmed"));
    }
    return done;
  }

  // The store's order decides: the first of a confirmation and a fault to arrive settles the
  // write (taken out of the map here, on the listener's thread), even though the caller's stage
  // completes later, on a worker.

  private void complete(UUID id, UUID revision) {
    Pending p = pending.get(id);
    if (p != null && java.util.Objects.equals(p.revision, revision) && pending.remove(id, p)) {
      provider.pool().execute(() -> p.done.complete(null));
    }
  }

  private void fail(UUID id, RuntimeException error) {
    Pending p = pending.get(id);
    if (p != null && p.revision != null && pending.remove(id, p)) {
      provider.pool().execute(() -> p.done.completeExceptionally(error));
    }
  }

  // ---------------------------------------------------------------- the owner's side

  /** The home agent holds a cursor for {@code sub} at its current revision: confirm it. */
  void attached(LocalSubscription sub) {
    LocalSubscription.Target installed = sub.installed;
    UUID revision = installed == null ? null : installed.revision();
    // Only the revision the agent installed, and only for a subscription still registered (one
    // removed meanwhile would leave an orphan confirmation in the store).
    if (revision == null
        || revision.equals(confirmed.get(sub.id))
        || provider.registered(sub.id) != sub) {
      return;
    }
    store
        .confirm(name, sub.streamId, sub.id, revision)
        .whenComplete(
            (v, e) -> {
              if (e != null) {
                log.warn(
                    "Provider {}: confirming revision {} of subscription {} to {} failed; the"
                        + " subscriber's node times out waiting for it",
                    name,
                    revision,
                    sub.id,
                    sub.streamId,
                    e);
              }
            });
  }

  /**
   * The agent of a queue started: it owns the removed records of the queue's streams, so it deletes
   * them, each once every agent of this node detached it (the agent may have attached it while it
   * started, before it heard of the removal).
   */
  void queueStarted(dev.tributary.spi.QueueId queueId) {
    for (SubscriptionRecord r : removed.values()) {
      if (provider.isHomeQueue(r.streamId(), queueId)) {
        provider.drop(r.subscriptionId()).thenRun(() -> delete(r));
      }
    }
  }

  private void deleteIfOwner(SubscriptionRecord r) {
    if (provider.ownsActively(r.streamId())) {
      delete(r);
    }
  }

  private void delete(SubscriptionRecord r) {
    store
        .remove(name, r.streamId(), r.subscriptionId())
        .whenComplete(
            (v, e) -> {
              if (e != null) {
                log.warn(
                    "Provider {}: deleting unsubscribed subscription {} to {} failed",
                    name,
                    r.subscriptionId(),
                    r.streamId(),
                    e);
              }
            });
  }

  /**
   * Makes an observer of the subscription's current address, or returns null and records in {@code
   * sub.unresolvable} why it cannot be (its owner then faults it). It does not install the
   * observer: the agent does, on its thread, so no delivery switches halfway. Only the node that
   * delivers resolves. Any thread.
   */
  Object observerFor(LocalSubscription sub, LocalSubscription.Target target) {
    SubscriberAddress address = target.address();
    if (resolver == null) {
      sub.unresolvable =
          new SubscriberGoneException(
              "subscription "
                  + sub.id
                  + " to "
                  + sub.streamId
                  + " delivers to "
                  + address
                  + ", but this node's runtime has no subscriberResolver; give every node of the"
                  + " cluster the same resolver");
      return null;
    }
    try {
      Object observer = Observers.checked(resolver.resolve(address, sub.record(name)));
      sub.unresolvable = null;
      return observer;
    } catch (RuntimeException e) {
      sub.unresolvable = e;
      return null;
    }
  }

  // ---------------------------------------------------------------- PubSubStore.Listener

  @Override
  public void onPut(SubscriptionRecord record) {
    if (!record.providerName().equals(name) || !record.addressed()) {
      return;
    }
    UUID id = record.subscriptionId();
    LocalSubscription sub = provider.registered(id);
    if (record.removed()) {
      removed.put(id, record);
      // Detached from every agent of this node, registered or not: an agent may hold a cursor for
      // it although the registry no longer does.
      provider.drop(id).thenRun(() -> deleteIfOwner(record));
      return;
    }
    SubscriptionRecord removal = removed.get(id);
    if (removal != null && record.faulted()) {
      // A fault written over a removal (they crossed): the removal stands; the owner deletes.
      provider.drop(id).thenRun(() -> deleteIfOwner(removal));
      return;
    }
    removed.remove(id);
    if (record.faulted()) {
      if (sub != null) {
        provider.dropFaulted(sub);
      } else {
        provider.drop(id);
      }
      fail(id, new FaultedSubscriptionException(id, record.streamId(), null));
      return;
    }
    if (provider.isFaulted(id)) {
      // Faulted here already; a write that crossed the fault (a resume) does not bring it back:
      // the owner writes the fault again, over it.
      fail(id, new FaultedSubscriptionException(id, record.streamId(), null));
      if (provider.ownsActively(record.streamId())) {
        store.put(record.asFaulted());
      }
      return;
    }
    if (sub == null) {
      provider.registerAndAttach(new LocalSubscription(record));
      return;
    }
    LocalSubscription.Target next =
        new LocalSubscription.Target(record.subscriber(), record.revision());
    if (next.equals(sub.target)) {
      return;
    }
    sub.target = next;
    provider.repoint(sub);
  }

  @Override
  public void onRemove(String providerName, StreamId streamId, UUID subscriptionId) {
    if (!providerName.equals(name)) {
      return;
    }
    removed.remove(subscriptionId);
    confirmed.remove(subscriptionId);
    LocalSubscription sub = provider.registered(subscriptionId);
    if (sub != null && sub.addressed) {
      provider.drop(subscriptionId);
    }
    complete(subscriptionId, null);
  }

  @Override
  public void onConfirmed(
      String providerName, StreamId streamId, UUID subscriptionId, UUID revision) {
    if (!providerName.equals(name)) {
      return;
    }
    confirmed.put(subscriptionId, revision);
    complete(subscriptionId, revision);
  }
}
