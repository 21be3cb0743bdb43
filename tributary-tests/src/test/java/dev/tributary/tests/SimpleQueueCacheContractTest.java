package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.StreamProviderOptions;
import dev.tributary.spi.QueueCache;
import dev.tributary.spi.QueueCacheCursor;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.SimpleQueueAdapterCache;
import dev.tributary.testkit.QueueCacheContractTest;
import dev.tributary.testkit.TestBatch;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The caches of {@link SimpleQueueAdapterCache} meet the cache contract, plus their own bucket
 * rules, seen through the SPI only.
 */
class SimpleQueueCacheContractTest extends QueueCacheContractTest {

  @Override
  protected QueueCache newCache(int cacheSize) {
    return new SimpleQueueAdapterCache(cacheSize).createQueueCache(QueueId.of("contract", 0));
  }

  @ParameterizedTest(name = "cacheSize {0}")
  @ValueSource(ints = {16, 100, 105, 4096})
  void fullCache_hasTenBuckets_andAtMostTenBucketsOfBatches(int cacheSize) {
    QueueCache cache = newCache(cacheSize);
    int bucket = Math.max(cacheSize / 10, 1);
    assertThat(cache.maxAddCount()).isEqualTo(bucket);
    cache.addToCache(List.of(TestBatch.single(A, 0)));
    QueueCacheCursor slow = cache.cursor(A, TestBatch.token(0));
    long seq = 1;
    while (!cache.isUnderPressure()) {
      for (int i = 0; i < cache.maxAddCount(); i++) {
        cache.addToCache(List.of(TestBatch.single(B, seq++)));
      }
      assertThat(purge(cache)).as("B is released past the held A 0").hasSize(bucket);
    }
    assertThat(cache.size())
        .as("A 0 and the B batches released but not evictable behind it, into the tenth bucket")
        .isEqualTo(9 * bucket + 1);
    assertThat(cache.size()).isLessThanOrEqualTo(cacheSize);
    slow.close();
    assertThat(purge(cache)).containsExactly(0L);
    assertThat(cache.size()).isZero();
    assertThat(cache.isUnderPressure()).isFalse();
  }

  @ParameterizedTest(name = "cacheSize {0}")
  @ValueSource(ints = {15, 1, 0, -1})
  void cacheSizeBelowSixteen_isRejectedAlikeByTheCacheItsFactoryAndTheOptions(int cacheSize) {
    String message = "cacheSize was " + cacheSize + " but it must be at least 16";
    assertThat(SimpleQueueAdapterCache.MIN_CACHE_SIZE).isEqualTo(16);
    assertThatThrownBy(() -> newCache(cacheSize))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(message);
    assertThatThrownBy(() -> new SimpleQueueAdapterCache(cacheSize))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(message);
    assertThatThrownBy(() -> StreamProviderOptions.builder().cacheSize(cacheSize))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(message);
  }

  @Test
  void cacheSizeSixteen_isAcceptedByTheCacheItsFactoryAndTheOptions() {
    int min = SimpleQueueAdapterCache.MIN_CACHE_SIZE;
    assertThat(newCache(min).maxAddCount()).isEqualTo(1);
    assertThat(new SimpleQueueAdapterCache(min).createQueueCache(QueueId.of("q", 0)).size())
        .isZero();
    assertThat(StreamProviderOptions.builder().cacheSize(min).build().cacheSize()).isEqualTo(min);
  }
}
