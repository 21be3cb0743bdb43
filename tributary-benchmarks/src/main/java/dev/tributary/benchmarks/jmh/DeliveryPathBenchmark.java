package dev.tributary.benchmarks.jmh;

import dev.tributary.StreamObserver;
import dev.tributary.StreamRuntime;
import dev.tributary.memory.GeneratorAdapterFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The whole runtime without a broker: a generator provider feeds every agent, an implicit
 * subscription per stream counts events. One operation is one event delivered in order. Compared
 * with the end-to-end Kafka benchmark, this is the agent's share of the work alone: no consumer
 * thread, no decoding, no hand-off between threads.
 *
 * <p>{@code java -jar tributary-benchmarks/target/tributary-benchmarks.jar jmh DeliveryPath}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(1)
public class DeliveryPathBenchmark {

  static final int EVENTS = 1_000_000;

  @Param({"8"})
  public int queues;

  /** 1 is the worst case for the agent: every event goes to the same subscription, in order. */
  @Param({"1", "100", "10000"})
  public int streams;

  @Benchmark
  @OperationsPerInvocation(EVENTS)
  public long deliverAll() throws InterruptedException {
    CountDownLatch done = new CountDownLatch(EVENTS);
    LongAdder seen = new LongAdder();
    CompletableFuture<Void> ack = CompletableFuture.completedFuture(null);
    StreamObserver<Long> observer =
        (item, token) -> {
          seen.increment();
          done.countDown();
          return ack;
        };
    try (StreamRuntime runtime =
        StreamRuntime.builder()
            .addProvider(
                "gen",
                GeneratorAdapterFactory.builder()
                    .queueCount(queues)
                    .streamCount(streams)
                    .eventsPerStream(EVENTS / streams)
                    .build())
            .implicitSubscription("gen", "generated", id -> observer)
            .build()) {
      runtime.start();
      if (!done.await(5, TimeUnit.MINUTES)) {
        throw new IllegalStateException("only " + seen.sum() + " of " + EVENTS + " delivered");
      }
    }
    return seen.sum();
  }
}
