package dev.tributary.kafka;

import dev.tributary.StreamProviderOptions;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.ProviderContext;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The Kafka adapter's per-record work on the consumer thread and in the receiver: a fetched {@link
 * ConsumerRecord} becomes a {@link KafkaBatchContainer} ({@code KafkaQueueAdapter.decode}: key
 * decoded to a String, value through the topic's deserializer, stream id, token, headers), is
 * appended to its partition's buffer, drained by the agent in cache-bucket-sized reads and
 * acknowledged. One operation is one record.
 *
 * <p>It lives in package {@code dev.tributary.kafka} (a split package, fine on the classpath)
 * because decode and the partition buffer are package-private. {@code rawTouch} is what the raw
 * consumer of the end-to-end benchmark does per record, for scale.
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

  private KafkaQueueAdapter adapter;
  private PartitionState state;
  private final List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>(POLL);
  private final List<KafkaBatchContainer> decoded = new ArrayList<>(POLL);
  private long offset;
  private int bucket;

  @Setup(Level.Trial)
  public void setUp() {
    KafkaQueueAdapterFactory factory =
        KafkaQueueAdapterFactory.builder()
            .bootstrapServers("localhost:9092")
            .consumerGroupId("bench")
            .topic("orders", TopicConfig.existing())
            .build();
    StreamProviderOptions options = StreamProviderOptions.defaults();
    ProviderContext context =
        new ProviderContext("bench", options, new CompositeMeterRegistry(), Clock.systemUTC());
    adapter =
        KafkaQueueAdapter.forTest(
            factory.settings(),
            context,
            Map.of("orders", 1),
            i -> {
              throw new UnsupportedOperationException("no consumer in this benchmark");
            });
    state = adapter.newState(new TopicPartition("orders", 0), null);
    state.startAt(0);
    bucket = Math.max(options.cacheSize() / 10, 1);
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    adapter.dropState(state);
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
      bh.consume(adapter.decoder().decode(records.get(i), state));
    }
  }

  /** Decode, buffer, drain in bucket-sized reads and acknowledge, per record. */
  @Benchmark
  @OperationsPerInvocation(POLL)
  public void decodeBufferDrainAck(Blackhole bh) {
    nextPoll();
    decoded.clear();
    for (int i = 0; i < POLL; i++) {
      decoded.add(adapter.decoder().decode(records.get(i), state));
    }
    state.append(decoded, offset);
    List<BatchContainer> read;
    while (!(read = state.drain(bucket)).isEmpty()) {
      state.delivered(read);
      bh.consume(read);
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
