package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.internal.cache.SimpleQueueCache;
import dev.tributary.spi.QueueCache;
import dev.tributary.spi.QueueCacheCursor;
import dev.tributary.spi.QueueId;
import dev.tributary.testkit.QueueCacheContractTest;
import dev.tributary.testkit.TestBatch;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link SimpleQueueCache} meets the cache contract, plus its own bucket rules. */
class SimpleQueueCacheContractTest extends QueueCacheContractTest {

  @Override
  protected QueueCache newCache(int cacheSize) {
    return new SimpleQueueCache(QueueId.of("contract", 0), cacheSize);
  }

  @ParameterizedTest(name = "cacheSize {0}")
  @ValueSource(ints = {16, 100, 105, 4096})
  void fullCache_hasTenBuckets_andAtMostTenBucketsOfBatches(int cacheSize) {
    SimpleQueueCache cache = (SimpleQueueCache) newCache(cacheSize);
    int bucket = Math.max(cacheSize / 10, 1);
    assertThat(cache.maxAddCount()).isEqualTo(bucket);
    cache.addToCache(List.of(TestBatch.single(A, 0)));
    QueueCacheCursor slow = cache.cursor(A, TestBatch.token(0));
    long seq = 1;
    while (!cache.isUnderPressure()) {
      for (int i = 0; i < cache.maxAddCount(); i++) {
        cache.addToCache(List.of(TestBatch.single(B, seq++)));
      }
      cache.tryPurgeFromCache();
    }
    assertThat(cache.bucketCount()).isEqualTo(SimpleQueueCache.NUM_BUCKETS);
    assertThat(cache.size()).isLessThanOrEqualTo(SimpleQueueCache.NUM_BUCKETS * bucket);
    assertThat(cache.size()).isLessThanOrEqualTo(cacheSize);
    slow.close();
  }

  @Test
  void streamCount_countsStreamsWithCachedBatches() {
    SimpleQueueCache cache = (SimpleQueueCache) newCache(100);
    add(cache, interleaved(0, 10));
    assertThat(cache.streamCount()).isEqualTo(2);
    purgeAll(cache);
    assertThat(cache.streamCount()).isZero();
  }
}
