package dev.tributary.spi;

import dev.tributary.StreamId;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The default {@link PubSubStore}: a map in this JVM, lost on restart. It is {@linkplain
 * #isShared() shared} by the runtimes of this JVM that are given the same instance, so cluster-wide
 * subscriptions work among them (and on a single node); across JVMs use a durable shared store.
 *
 * <p>Listeners are called in the order of the changes, by the thread that made the change (or one
 * that made a later one), never two at a time.
 */
public final class InMemoryPubSubStore implements PubSubStore {

  private record Key(String providerName, StreamId streamId) {}

  /** Creates an empty store. */
  public InMemoryPubSubStore() {}

  private final Object lock = new Object();
  private final Map<Key, Map<UUID, SubscriptionRecord>> records = new LinkedHashMap<>();
  private final Map<UUID, UUID> confirmations = new LinkedHashMap<>();
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final ArrayDeque<Runnable> pending = new ArrayDeque<>();
  private boolean dispatching;

  @Override
  public CompletionStage<Void> put(SubscriptionRecord record) {
    synchronized (lock) {
      records
          .computeIfAbsent(
              new Key(record.providerName(), record.streamId()), k -> new LinkedHashMap<>())
          .put(record.subscriptionId(), record);
      pending.add(() -> each(l -> l.onPut(record)));
    }
    dispatch();
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<Void> remove(String providerName, StreamId streamId, UUID subscriptionId) {
    synchronized (lock) {
      Key key = new Key(providerName, streamId);
      Map<UUID, SubscriptionRecord> m = records.get(key);
      if (m != null && m.remove(subscriptionId) != null && m.isEmpty()) {
        records.remove(key);
      }
      confirmations.remove(subscriptionId);
      pending.add(() -> each(l -> l.onRemove(providerName, streamId, subscriptionId)));
    }
    dispatch();
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<List<SubscriptionRecord>> subscriptions(
      String providerName, StreamId streamId) {
    synchronized (lock) {
      Map<UUID, SubscriptionRecord> m = records.get(new Key(providerName, streamId));
      return CompletableFuture.completedFuture(m == null ? List.of() : new ArrayList<>(m.values()));
    }
  }

  /** True: every runtime of this JVM given this instance sees its records. */
  @Override
  public boolean isShared() {
    return true;
  }

  @Override
  public AutoCloseable watch(Listener listener) {
    synchronized (lock) {
      List<SubscriptionRecord> snapshot = new ArrayList<>();
      records.values().forEach(m -> snapshot.addAll(m.values()));
      Map<UUID, UUID> confirmed = new LinkedHashMap<>(confirmations);
      pending.add(
          () -> {
            for (SubscriptionRecord r : snapshot) {
              listener.onPut(r);
              UUID revision = confirmed.get(r.subscriptionId());
              if (revision != null) {
                listener.onConfirmed(r.providerName(), r.streamId(), r.subscriptionId(), revision);
              }
            }
            listeners.add(listener);
          });
    }
    dispatch();
    return () -> listeners.remove(listener);
  }

  @Override
  public CompletionStage<Void> sync() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (lock) {
      pending.add(() -> done.complete(null));
    }
    dispatch();
    return done;
  }

  @Override
  public CompletionStage<Void> confirm(
      String providerName, StreamId streamId, UUID subscriptionId, UUID revision) {
    synchronized (lock) {
      confirmations.put(subscriptionId, revision);
      pending.add(() -> each(l -> l.onConfirmed(providerName, streamId, subscriptionId, revision)));
    }
    dispatch();
    return CompletableFuture.completedFuture(null);
  }

  private void each(java.util.function.Consumer<Listener> call) {
    for (Listener l : listeners) {
      try {
        call.accept(l);
      } catch (RuntimeException e) {
        org.slf4j.LoggerFactory.getLogger(InMemoryPubSubStore.class)
            .warn("A subscription store listener threw", e);
      }
    }
  }

  /**
   * Runs the pending calls in order, unless another thread (or this one, further up) already is.
   */
  private void dispatch() {
    synchronized (lock) {
      if (dispatching) {
        return;
      }
      dispatching = true;
    }
    while (true) {
      Runnable next;
      synchronized (lock) {
        next = pending.poll();
        if (next == null) {
          dispatching = false;
          return;
        }
      }
      next.run();
    }
  }
}
