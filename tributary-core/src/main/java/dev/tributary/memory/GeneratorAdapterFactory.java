package dev.tributary.memory;

import dev.tributary.EventSequenceToken;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.HashRingStreamQueueMapper;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueAdapter;
import dev.tributary.spi.QueueAdapterFactory;
import dev.tributary.spi.QueueAdapterReceiver;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamProviderDirection;
import dev.tributary.spi.StreamQueueMapper;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;

/**
 * A read-only provider whose queues make up their own events: {@code streamCount} streams named
 * {@code namespace/0 .. namespace/(n-1)}, each receiving {@code eventsPerStream} events in order
 * (event {@code i} of a stream is {@code payload.apply(streamId, i)}, by default the long {@code
 * i}). For tests and benchmarks of the runtime without a broker.
 */
public final class GeneratorAdapterFactory implements QueueAdapterFactory {

  private final String namespace;
  private final int queueCount;
  private final int streamCount;
  private final long eventsPerStream;
  private final BiFunction<StreamId, Long, Object> payload;
  private final AtomicLong acknowledged = new AtomicLong();
  private volatile HashRingStreamQueueMapper mapper;

  private GeneratorAdapterFactory(Builder b) {
    this.namespace = b.namespace != null ? b.namespace : "generated";
    this.queueCount = b.queueCount != null ? b.queueCount : 8;
    this.streamCount = b.streamCount != null ? b.streamCount : 100;
    this.eventsPerStream = b.eventsPerStream != null ? b.eventsPerStream : 1_000;
    this.payload = b.payload != null ? b.payload : (id, i) -> i;
  }

  /** Returns a builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** Total events the generator produces across all streams. */
  public long totalEvents() {
    return eventsPerStream * streamCount;
  }

  /** Batches acknowledged by every subscription so far. */
  public long acknowledgedCount() {
    return acknowledged.get();
  }

  @Override
  public QueueAdapter createAdapter(ProviderContext context) {
    String name = context.providerName();
    Clock clock = context.clock();
    mapper = new HashRingStreamQueueMapper(name, queueCount);
    return new QueueAdapter() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public CompletionStage<Void> queueMessageBatch(
          StreamId streamId,
          List<?> events,
          StreamSequenceToken token,
          Map<String, byte[]> headers) {
        throw new UnsupportedOperationException(
            "provider '" + name + "' generates its own events and accepts none");
      }

      @Override
      public QueueAdapterReceiver createReceiver(QueueId queueId) {
        List<StreamId> mine = new ArrayList<>();
        for (int s = 0; s < streamCount; s++) {
          StreamId id = StreamId.of(namespace, Integer.toString(s));
          if (mapper.queueForStream(id).equals(queueId)) {
            mine.add(id);
          }
        }
        return new Receiver(mine, clock);
      }

      @Override
      public boolean isRewindable() {
        return false;
      }

      @Override
      public StreamProviderDirection direction() {
        return StreamProviderDirection.READ_ONLY;
      }
    };
  }

  @Override
  public StreamQueueMapper streamQueueMapper() {
    return Objects.requireNonNull(mapper, "streamQueueMapper() called before createAdapter()");
  }

  /** Round-robin over its streams: batch k of the queue is event k / streams of stream k % n. */
  private final class Receiver implements QueueAdapterReceiver {
    private final List<StreamId> streams;
    private final Clock clock;
    private final long total;
    private long produced;

    Receiver(List<StreamId> streams, Clock clock) {
      this.streams = streams;
      this.clock = clock;
      this.total = eventsPerStream * streams.size();
    }

    @Override
    public CompletionStage<Void> initialize(Duration timeout) {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<List<BatchContainer>> getQueueMessages(int maxCount) {
      int n = (int) Math.min(maxCount, total - produced);
      if (n <= 0) {
        return CompletableFuture.completedFuture(List.of());
      }
      List<BatchContainer> out = new ArrayList<>(n);
      long now = clock.millis();
      for (int i = 0; i < n; i++) {
        long k = produced++;
        StreamId id = streams.get((int) (k % streams.size()));
        long eventIndex = k / streams.size();
        out.add(
            new MemoryBatchContainer(
                id,
                new EventSequenceToken(k),
                List.of(payload.apply(id, eventIndex)),
                Map.of(),
                now));
      }
      return CompletableFuture.completedFuture(out);
    }

    @Override
    public CompletionStage<Void> messagesDelivered(List<BatchContainer> messages) {
      acknowledged.addAndGet(messages.size());
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletionStage<Void> shutdown(Duration timeout) {
      return CompletableFuture.completedFuture(null);
    }
  }

  /** Builds a {@link GeneratorAdapterFactory}; each option may be set once. */
  public static final class Builder {
    private String namespace;
    private Integer queueCount;
    private Integer streamCount;
    private Long eventsPerStream;
    private BiFunction<StreamId, Long, Object> payload;

    private Builder() {}

    /** The namespace of the generated streams ["generated"]. */
    public Builder namespace(String ns) {
      once("namespace", namespace);
      if (ns == null || ns.isEmpty()) {
        throw new IllegalArgumentException("namespace was '" + ns + "' but it must be set");
      }
      namespace = ns;
      return this;
    }

    /** The number of queues [8]; 1 to 4096. */
    public Builder queueCount(int count) {
      once("queueCount", queueCount);
      if (count < 1 || count > 4096) {
        throw new IllegalArgumentException(
            "queueCount was " + count + " but it must be between 1 and 4096");
      }
      queueCount = count;
      return this;
    }

    /** The number of streams [100]; at least 1. */
    public Builder streamCount(int count) {
      once("streamCount", streamCount);
      if (count < 1) {
        throw new IllegalArgumentException("streamCount was " + count + " but it must be >= 1");
      }
      streamCount = count;
      return this;
    }

    /** Events per stream [1000]; at least 1. */
    public Builder eventsPerStream(long count) {
      once("eventsPerStream", eventsPerStream);
      if (count < 1) {
        throw new IllegalArgumentException("eventsPerStream was " + count + " but it must be >= 1");
      }
      eventsPerStream = count;
      return this;
    }

    /** The payload of event {@code i} of a stream [the long i]. */
    public Builder payload(BiFunction<StreamId, Long, Object> p) {
      once("payload", payload);
      payload = Objects.requireNonNull(p, "payload");
      return this;
    }

    /** Builds the factory. */
    public GeneratorAdapterFactory build() {
      return new GeneratorAdapterFactory(this);
    }

    private static void once(String name, Object current) {
      if (current != null) {
        throw new IllegalStateException(name + " was already set to " + current);
      }
    }
  }
}
