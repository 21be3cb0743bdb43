package dev.tributary.benchmarks.jmh;

import dev.tributary.kafka.KafkaBatchContainer;
import dev.tributary.kafka.KafkaQueueAdapterFactory;
import dev.tributary.kafka.TopicConfig;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.kafka.clients.consumer.ConsumerRecord;
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
 * The Kafka adapter's per-record decoding on the consumer thread: a fetched {@link ConsumerRecord}
 * becomes a {@link KafkaBatchContainer} (key decoded to a shared stream id, value through the
 * topic's deserializer, token, headers, size estimate). It goes through the public {@link
 * KafkaQueueAdapterFactory#recordDecoder}, which runs the same code as the consumers' decoding. One
 * operation is one record.
 *
 * <p>{@code rawTouch} is what the raw consumer of the end-to-end benchmark does per record, for
 * scale. Buffering, draining and acknowledging have no public path without a consumer; the
 * end-to-end harness measures them.
 *
 * <p>{@code java -jar tributary-benchmarks/target/tributary-benchmarks.jar jmh
 * KafkaRecordConversion}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class KafkaRecordConversionBenchmark {

  /** Records per simulated poll: Kafka's default max.poll.records. */
  static final int POLL = 500;

  @Param({"10000"})
  public int keys;

  @Param({"100"})
  public int valueSize;

  private Function<ConsumerRecord<byte[], byte[]>, KafkaBatchContainer> decoder;
  private final List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>(POLL);
  private long offset;

  @Setup(Level.Trial)
  public void setUp() {
    decoder =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers("localhost:9092")
            .consumerGroupId("bench")
            .topic("orders", TopicConfig.existing())
            .build()
            .recordDecoder("orders");
  }

  /** A fresh poll's worth of records, as the consumer would hand them over. */
  private void nextPoll() {
    records.clear();
    SplittableRandom random = new SplittableRandom(offset);
    for (int i = 0; i < POLL; i++) {
      byte[] key = ("k" + random.nextInt(keys)).getBytes(StandardCharsets.UTF_8);
      records.add(new ConsumerRecord<>("orders", 0, offset++, key, new byte[valueSize]));
    }
  }

  /** Only the decode step, per record. */
  @Benchmark
  @OperationsPerInvocation(POLL)
  public void decode(Blackhole bh) {
    nextPoll();
    for (int i = 0; i < POLL; i++) {
      bh.consume(decoder.apply(records.get(i)));
    }
  }

  /** What the raw consumer loop does per record: decode the key, read the value's header. */
  @Benchmark
  @OperationsPerInvocation(POLL)
  public void rawTouch(Blackhole bh) {
    nextPoll();
    for (int i = 0; i < POLL; i++) {
      ConsumerRecord<byte[], byte[]> r = records.get(i);
      bh.consume(new String(r.key(), StandardCharsets.UTF_8).hashCode());
      bh.consume(r.value()[0]);
    }
  }

  /** The cost of building the input alone, to subtract from the others. */
  @Benchmark
  @OperationsPerInvocation(POLL)
  public void inputOnly(Blackhole bh) {
    nextPoll();
    bh.consume(records);
  }
}
