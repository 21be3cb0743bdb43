package dev.tributary.internal.runtime;

import dev.tributary.RetriableStreamingException;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.BatchContainer;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueAdapter;
import dev.tributary.spi.QueueAdapterFactory;
import dev.tributary.spi.QueueAdapterReceiver;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamFailureHandler;
import dev.tributary.spi.StreamProviderDirection;
import dev.tributary.spi.StreamQueueMapper;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A memory provider whose receivers count what the agent asks of them: how many receivers were
 * created per queue, how many initializations and reads each queue saw (a read follows a purge in
 * every pump round, so read counts tell a test that purges happened). It can also make the next
 * initializations hang (a stage that never completes) and the next reads fail.
 */
final class ProbeAdapterFactory implements QueueAdapterFactory {
  final MemoryQueueAdapterFactory memory;
  private final Map<QueueId, AtomicInteger> receivers = new ConcurrentHashMap<>();
  private final Map<QueueId, AtomicInteger> reads = new ConcurrentHashMap<>();
  private final Map<QueueId, AtomicInteger> inits = new ConcurrentHashMap<>();
  private final AtomicInteger initsToHang = new AtomicInteger();
  private final AtomicInteger readsToFail = new AtomicInteger();
  private volatile ProviderContext context;

  ProbeAdapterFactory(MemoryQueueAdapterFactory memory) {
    this.memory = memory;
  }

  int receiversCreated(QueueId q) {
    AtomicInteger n = receivers.get(q);
    return n == null ? 0 : n.get();
  }

  int reads(QueueId q) {
    AtomicInteger n = reads.get(q);
    return n == null ? 0 : n.get();
  }

  /** What the runtime told the adapter; null before the runtime started. */
  ProviderContext context() {
    return context;
  }

  int initializations(QueueId q) {
    AtomicInteger n = inits.get(q);
    return n == null ? 0 : n.get();
  }

  /** The next {@code n} initializations, of any queue, return a stage that never completes. */
  ProbeAdapterFactory hangInitializations(int n) {
    initsToHang.set(n);
    return this;
  }

  /** The next {@code n} reads, of any queue, fail with a retriable exception. */
  ProbeAdapterFactory failReads(int n) {
    readsToFail.set(n);
    return this;
  }

  private static boolean take(AtomicInteger budget) {
    return budget.getAndUpdate(n -> Math.max(n - 1, 0)) > 0;
  }

  @Override
  public QueueAdapter createAdapter(ProviderContext context) {
    this.context = context;
    QueueAdapter a = memory.createAdapter(context);
    return new QueueAdapter() {
      @Override
      public String name() {
        return a.name();
      }

      @Override
      public CompletionStage<Void> queueMessageBatch(
          StreamId streamId,
          List<?> events,
          StreamSequenceToken token,
          Map<String, byte[]> headers) {
        return a.queueMessageBatch(streamId, events, token, headers);
      }

      @Override
      public QueueAdapterReceiver createReceiver(QueueId queueId) {
        receivers.computeIfAbsent(queueId, k -> new AtomicInteger()).incrementAndGet();
        return new CountingReceiver(queueId, a.createReceiver(queueId));
      }

      @Override
      public boolean isRewindable() {
        return a.isRewindable();
      }

      @Override
      public StreamProviderDirection direction() {
        return a.direction();
      }
    };
  }

  @Override
  public StreamQueueMapper streamQueueMapper() {
    return memory.streamQueueMapper();
  }

  @Override
  public StreamFailureHandler failureHandler(QueueId queueId) {
    return memory.failureHandler(queueId);
  }

  private final class CountingReceiver implements QueueAdapterReceiver {
    private final QueueId queueId;
    private final QueueAdapterReceiver delegate;

    CountingReceiver(QueueId queueId, QueueAdapterReceiver delegate) {
      this.queueId = queueId;
      this.delegate = delegate;
    }

    @Override
    public CompletionStage<Void> initialize(Duration timeout) {
      inits.computeIfAbsent(queueId, k -> new AtomicInteger()).incrementAndGet();
      if (take(initsToHang)) {
        return new CompletableFuture<>();
      }
      return delegate.initialize(timeout);
    }

    @Override
    public CompletionStage<List<BatchContainer>> getQueueMessages(int maxCount) {
      reads.computeIfAbsent(queueId, k -> new AtomicInteger()).incrementAndGet();
      if (take(readsToFail)) {
        return CompletableFuture.failedFuture(
            new RetriableStreamingException("probe read of " + queueId + " fails"));
      }
      return delegate.getQueueMessages(maxCount);
    }

    @Override
    public CompletionStage<Void> messagesDelivered(List<BatchContainer> messages) {
      return delegate.messagesDelivered(messages);
    }

    @Override
    public CompletionStage<Void> shutdown(Duration timeout) {
      return delegate.shutdown(timeout);
    }

    @Override
    public void setDataAvailableListener(Runnable listener) {
      delegate.setDataAvailableListener(listener);
    }
  }
}
