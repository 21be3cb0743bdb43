package dev.tributary.benchmarks.jmh;

import dev.tributary.EventSequenceToken;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.QueueCache;
import dev.tributary.spi.QueueCacheCursor;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.SimpleQueueAdapterCache;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * the default cache ({@link SimpleQueueAdapterCache}): add a read's worth of batches, walk every
 * stream's cursor over them, release, purge. One operation is one batch through the cache.
 *
 * <p>{@code java -jar tributary-benchmarks/target/tributary-benchmarks.jar jmh QueueCacheBenchmark}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class QueueCacheBenchmark {

  static final int BATCH = 409;

  @Param({"10", "1000", "100000"})
  public int streams;

  private QueueCache cache;
  private StreamId[] ids;
  private QueueCacheCursor[] cursors;
  private long sequence;
  private final List<BatchContainer> read = new ArrayList<>(BATCH);

  @Setup(Level.Iteration)
  public void setUp() {
    cache = new SimpleQueueAdapterCache(4096).createQueueCache(QueueId.of("bench", 0));
    ids = new StreamId[streams];
    cursors = new QueueCacheCursor[streams];
    for (int i = 0; i < streams; i++) {
      ids[i] = StreamId.of("bench", "key-" + i);
      cursors[i] = cache.cursor(ids[i], null);
    }
  }

  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void addWalkPurge(Blackhole bh) {
    read.clear();
    for (int i = 0; i < BATCH; i++) {
      long s = sequence++;
      read.add(new Batch(ids[(int) (s % streams)], new EventSequenceToken(s), s));
    }
    cache.addToCache(read);
    for (int i = 0; i < BATCH; i++) {
      QueueCacheCursor c = cursors[(int) ((sequence - BATCH + i) % streams)];
      while (c.moveNext()) {
        bh.consume(c.current().event(0));
      }
      c.markDelivered();
    }
    bh.consume(cache.tryPurgeFromCache());
  }

  /** A one-event batch. */
  record Batch(StreamId streamId, StreamSequenceToken sequenceToken, Object payload)
      implements BatchContainer {
    @Override
    public int eventCount() {
      return 1;
    }

    @Override
    public Object event(int index) {
      return payload;
    }
  }
}
