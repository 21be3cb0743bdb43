package dev.tributary.kafka;

import dev.tributary.StreamId;
import dev.tributary.kafka.StoreRecordCodec.Identity;
import dev.tributary.spi.PubSubStore;
import dev.tributary.spi.SubscriptionRecord;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a {@link KafkaPubSubStore} materialized from its topic, and the listeners told of it.
 *
 * <p>Only the tail thread changes the state, always with {@link #lock()} held, and tells the
 * listeners while it holds it; {@link #watch} takes the same lock to hand a new listener the
 * snapshot, so the snapshot and the changes after it are exactly the log, in order, one call at a
 * time. Reads ({@link #subscriptions}, the counts) take no lock: the maps are concurrent and their
 * per-stream values are replaced, never changed.
 */
final class StoreView {
  private static final Logger log = LoggerFactory.getLogger(StoreView.class);

  private record StreamKey(String providerName, StreamId streamId) {}

  private final String topic;
  private final ReentrantLock lock = new ReentrantLock();
  private final ConcurrentHashMap<StreamKey, Map<UUID, SubscriptionRecord>> subscriptions =
      new ConcurrentHashMap<>();
  private final ConcurrentHashMap<Identity, UUID> confirmations = new ConcurrentHashMap<>();
  private final List<PubSubStore.Listener> listeners = new CopyOnWriteArrayList<>();

  StoreView(String topic) {
    this.topic = topic;
  }

  /** Held by the tail thread while it applies a batch, and by {@link #watch}. */
  ReentrantLock lock() {
    return lock;
  }

  List<SubscriptionRecord> subscriptions(String providerName, StreamId streamId) {
    Map<UUID, SubscriptionRecord> m = subscriptions.get(new StreamKey(providerName, streamId));
    return m == null ? List.of() : List.copyOf(m.values());
  }

  /** The confirmed revision of a subscription, or null. */
  UUID confirmation(Identity id) {
    return confirmations.get(id);
  }

  long subscriptionCount() {
    long n = 0;
    for (Map<UUID, SubscriptionRecord> m : subscriptions.values()) {
      n += m.size();
    }
    return n;
  }

  long confirmationCount() {
    return confirmations.size();
  }

  /** Hands {@code listener} the snapshot, then registers it for every later change. */
  AutoCloseable watch(PubSubStore.Listener listener) {
    lock.lock();
    try {
      for (Map<UUID, SubscriptionRecord> m : subscriptions.values()) {
        for (SubscriptionRecord r : m.values()) {
          call(listener, "onPut", r.subscriptionId(), () -> listener.onPut(r));
        }
      }
      for (Map.Entry<Identity, UUID> e : confirmations.entrySet()) {
        Identity id = e.getKey();
        call(
            listener,
            "onConfirmed",
            id.subscriptionId(),
            () ->
                listener.onConfirmed(
                    id.providerName(), id.streamId(), id.subscriptionId(), e.getValue()));
      }
      listeners.add(listener);
    } finally {
      lock.unlock();
    }
    return () -> listeners.remove(listener);
  }

  // The apply methods run on the tail thread with the lock held.

  void put(SubscriptionRecord r) {
    subscriptions.compute(
        new StreamKey(r.providerName(), r.streamId()),
        (k, m) -> {
          Map<UUID, SubscriptionRecord> copy =
              m == null ? new LinkedHashMap<>() : new LinkedHashMap<>(m);
          copy.put(r.subscriptionId(), r);
          return copy;
        });
    for (PubSubStore.Listener l : listeners) {
      call(l, "onPut", r.subscriptionId(), () -> l.onPut(r));
    }
  }

  /** A subscription's tombstone: it and its confirmation are gone. */
  void remove(Identity id) {
    boolean[] held = {false};
    subscriptions.computeIfPresent(
        new StreamKey(id.providerName(), id.streamId()),
        (k, m) -> {
          if (!m.containsKey(id.subscriptionId())) {
            return m;
          }
          held[0] = true;
          Map<UUID, SubscriptionRecord> copy = new LinkedHashMap<>(m);
          copy.remove(id.subscriptionId());
          return copy.isEmpty() ? null : copy;
        });
    held[0] |= confirmations.remove(id) != null;
    if (!held[0]) {
      return; // No listener was told of it: nothing to take back.
    }
    for (PubSubStore.Listener l : listeners) {
      call(
          l,
          "onRemove",
          id.subscriptionId(),
          () -> l.onRemove(id.providerName(), id.streamId(), id.subscriptionId()));
    }
  }

  void confirm(Identity id, UUID revision) {
    confirmations.put(id, revision);
    for (PubSubStore.Listener l : listeners) {
      call(
          l,
          "onConfirmed",
          id.subscriptionId(),
          () -> l.onConfirmed(id.providerName(), id.streamId(), id.subscriptionId(), revision));
    }
  }

  /**
   * A confirmation's tombstone; {@link KafkaPubSubStore#remove} writes it just before the
   * subscription's, whose {@code onRemove} tells the listeners of both.
   */
  void removeConfirmation(Identity id) {
    confirmations.remove(id);
  }

  /** Calls a listener; what it throws is logged, never passed to the tail thread. */
  private void call(PubSubStore.Listener l, String what, UUID subscriptionId, Runnable call) {
    try {
      call.run();
    } catch (VirtualMachineError e) {
      throw e;
    } catch (Throwable e) {
      log.warn(
          "A PubSubStore listener ({}) threw from {} for subscription {} of store topic '{}';"
              + " the store goes on",
          l.getClass().getName(),
          what,
          subscriptionId,
          topic,
          e);
    }
  }

  /** For tests and logs: every subscription held. */
  List<SubscriptionRecord> all() {
    List<SubscriptionRecord> out = new ArrayList<>();
    subscriptions.values().forEach(m -> out.addAll(m.values()));
    return out;
  }
}
