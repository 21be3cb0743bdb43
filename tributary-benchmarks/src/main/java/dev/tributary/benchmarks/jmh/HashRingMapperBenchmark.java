package dev.tributary.benchmarks.jmh;

import dev.tributary.StreamId;
import dev.tributary.spi.HashRingStreamQueueMapper;
import dev.tributary.spi.QueueId;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * {@link HashRingStreamQueueMapper#queueForStream}: murmur3 of the stream id plus a binary search.
 *
 * <p>{@code java -jar tributary-benchmarks/target/tributary-benchmarks.jar jmh HashRingMapper}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class HashRingMapperBenchmark {

  @Param({"8", "64", "1024"})
  public int queues;

  private HashRingStreamQueueMapper mapper;
  private StreamId[] ids;
  private int next;

  @Setup
  public void setUp() {
    mapper = new HashRingStreamQueueMapper("bench", queues);
    ids = new StreamId[1024];
    for (int i = 0; i < ids.length; i++) {
      ids[i] = StreamId.of("orders", "customer-" + i);
    }
  }

  @Benchmark
  public QueueId queueForStream() {
    return mapper.queueForStream(ids[next++ & 1023]);
  }
}
