package dev.tributary.internal.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.AsyncStream;
import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class SmokeTest {
  @Test
  void explicitAndImplicitDeliverEverythingInOrder() {
    Map<StreamId, List<Object>> implicit = new ConcurrentHashMap<>();
    try (StreamRuntime rt =
        StreamRuntime.builder()
            .addProvider(
                "mem",
                MemoryQueueAdapterFactory.builder().queueCount(4).build(),
                o -> o.cacheSize(64))
            .implicitSubscription(
                "mem",
                "imp",
                id ->
                    (item, token) -> {
                      implicit.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>()).add(item);
                      return CompletableFuture.completedFuture(null);
                    })
            .build()) {
      rt.start();
      List<Object> got = new CopyOnWriteArrayList<>();
      AsyncStream<Integer> s = rt.provider("mem").stream(StreamId.of("exp", "a"));
      s.subscribe(
              (item, token) -> {
                got.add(item);
                return CompletableFuture.completedFuture(null);
              })
          .toCompletableFuture()
          .join();
      for (int i = 0; i < 1000; i++) {
        s.onNext(i).toCompletableFuture().join();
        rt.provider("mem").<Integer>stream(StreamId.of("imp", "k" + (i % 10))).onNext(i);
      }
      await().atMost(Duration.ofSeconds(10)).until(() -> got.size() == 1000);
      await()
          .atMost(Duration.ofSeconds(10))
          .until(() -> implicit.values().stream().mapToInt(List::size).sum() == 1000);
      for (int i = 0; i < 1000; i++) {
        assertThat(got.get(i)).isEqualTo(i);
      }
      assertThat(implicit).hasSize(10);
    }
  }
}
