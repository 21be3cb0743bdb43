package dev.tributary.spi;

import dev.tributary.StreamId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/** The default {@link PubSubStore}: a map in this JVM, lost on restart. */
public final class InMemoryPubSubStore implements PubSubStore {

  private record Key(String providerName, StreamId streamId) {}

  /** Creates an empty store. */
  public InMemoryPubSubStore() {}

  private final ConcurrentHashMap<Key, Map<UUID, SubscriptionRecord>> records =
      new ConcurrentHashMap<>();

  @Override
  public CompletionStage<Void> put(SubscriptionRecord record) {
    records.compute(
        new Key(record.providerName(), record.streamId()),
        (k, m) -> {
          Map<UUID, SubscriptionRecord> copy =
              m == null ? new LinkedHashMap<>() : new LinkedHashMap<>(m);
          copy.put(record.subscriptionId(), record);
          return copy;
        });
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<Void> remove(String providerName, StreamId streamId, UUID subscriptionId) {
    records.computeIfPresent(
        new Key(providerName, streamId),
        (k, m) -> {
          Map<UUID, SubscriptionRecord> copy = new LinkedHashMap<>(m);
          copy.remove(subscriptionId);
          return copy.isEmpty() ? null : copy;
        });
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<List<SubscriptionRecord>> subscriptions(
      String providerName, StreamId streamId) {
    Map<UUID, SubscriptionRecord> m = records.get(new Key(providerName, streamId));
    return CompletableFuture.completedFuture(m == null ? List.of() : new ArrayList<>(m.values()));
  }
}
