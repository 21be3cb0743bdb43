package dev.tributary.internal.runtime;

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
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A memory provider whose receivers count what the agent asks of them: how many receivers were
 * created per queue and how many reads each queue saw (a read follows a purge in every pump round,
 * so read counts tell a test that purges happened).
 */
final class ProbeAdapterFactory implements QueueAdapterFactory {
  final MemoryQueueAdapterFactory memory;
  private final Map<QueueId, AtomicInteger> receivers = new ConcurrentHashMap<>();
  private final Map<QueueId, AtomicInteger> reads = new ConcurrentHashMap<>();

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

  @Override
  public QueueAdapter createAdapter(ProviderContext context) {
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
      return delegate.initialize(timeout);
    }

    @Override
    public CompletionStage<List<BatchContainer>> getQueueMessages(int maxCount) {
      reads.computeIfAbsent(queueId, k -> new AtomicInteger()).incrementAndGet();
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
