package dev.tributary.spi;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.StreamId;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** {@link InMemoryPubSubStore}: records per provider and stream, replace, remove, snapshots. */
class InMemoryPubSubStoreTest {
  private static final StreamId A = StreamId.of("ns", "a");
  private static final StreamId B = StreamId.of("ns", "b");

  private final InMemoryPubSubStore store = new InMemoryPubSubStore();

  private List<SubscriptionRecord> list(String provider, StreamId id) {
    return store.subscriptions(provider, id).toCompletableFuture().join();
  }

  private static SubscriptionRecord record(String provider, StreamId id, String filter) {
    return new SubscriptionRecord(UUID.randomUUID(), provider, id, filter, false);
  }

  @Test
  void unknownStream_hasNoSubscriptions() {
    assertThat(list("p", A)).isEmpty();
  }

  @Test
  void put_keepsRecordsPerProviderAndStream_inInsertionOrder() {
    SubscriptionRecord r1 = record("p", A, null);
    SubscriptionRecord r2 = record("p", A, "f");
    SubscriptionRecord other = record("p", B, null);
    SubscriptionRecord otherProvider = record("q", A, null);
    store.put(r1).toCompletableFuture().join();
    store.put(r2).toCompletableFuture().join();
    store.put(other).toCompletableFuture().join();
    store.put(otherProvider).toCompletableFuture().join();

    assertThat(list("p", A)).containsExactly(r1, r2);
    assertThat(list("p", B)).containsExactly(other);
    assertThat(list("q", A)).containsExactly(otherProvider);
  }

  @Test
  void put_withTheSameId_replacesTheRecordInPlace() {
    SubscriptionRecord r1 = record("p", A, null);
    SubscriptionRecord r2 = record("p", A, null);
    store.put(r1);
    store.put(r2);
    store.put(r1.asFaulted());

    List<SubscriptionRecord> records = list("p", A);
    assertThat(records).hasSize(2);
    assertThat(records.get(0).subscriptionId()).isEqualTo(r1.subscriptionId());
    assertThat(records.get(0).faulted()).isTrue();
    assertThat(records.get(1)).isEqualTo(r2);
  }

  @Test
  void remove_dropsOnlyThatRecord_andUnknownIdsAreNotAnError() {
    SubscriptionRecord r1 = record("p", A, null);
    SubscriptionRecord r2 = record("p", A, null);
    store.put(r1);
    store.put(r2);

    store.remove("p", A, UUID.randomUUID()).toCompletableFuture().join();
    store.remove("q", A, r1.subscriptionId()).toCompletableFuture().join();
    store.remove("p", B, r1.subscriptionId()).toCompletableFuture().join();
    assertThat(list("p", A)).containsExactly(r1, r2);

    store.remove("p", A, r1.subscriptionId()).toCompletableFuture().join();
    assertThat(list("p", A)).containsExactly(r2);
    store.remove("p", A, r2.subscriptionId()).toCompletableFuture().join();
    assertThat(list("p", A)).isEmpty();
  }

  @Test
  void subscriptions_returnsASnapshot() {
    SubscriptionRecord r1 = record("p", A, null);
    store.put(r1);
    List<SubscriptionRecord> before = list("p", A);
    store.put(record("p", A, null));
    store.remove("p", A, r1.subscriptionId());
    assertThat(before).containsExactly(r1);
  }

  @Test
  void concurrentPutsAndRemoves_loseNothing() throws Exception {
    int threads = 4;
    int perThread = 1_000;
    List<List<SubscriptionRecord>> kept = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<CompletableFuture<Void>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        List<SubscriptionRecord> mine = new ArrayList<>();
        kept.add(mine);
        done.add(
            CompletableFuture.runAsync(
                () -> {
                  for (int i = 0; i < perThread; i++) {
                    SubscriptionRecord r = record("p", A, null);
                    store.put(r);
                    if (i % 2 == 0) {
                      store.remove("p", A, r.subscriptionId());
                    } else {
                      mine.add(r);
                    }
                  }
                },
                pool));
      }
      CompletableFuture.allOf(done.toArray(new CompletableFuture<?>[0])).get(30, TimeUnit.SECONDS);
    } finally {
      pool.shutdownNow();
    }
    List<SubscriptionRecord> expected = new ArrayList<>();
    kept.forEach(expected::addAll);
    assertThat(list("p", A)).containsExactlyInAnyOrderElementsOf(expected);
  }
}
