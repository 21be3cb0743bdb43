package dev.tributary.kafka;

import dev.tributary.RetriableStreamingException;
import dev.tributary.StreamId;
import dev.tributary.StreamingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The provider's KafkaProducer and the thread that drives it: writes the events of {@code onNext}
 * as records, and lends the producer and the thread to the {@link DeadLetterWriter}.
 *
 * <h2>Threading</h2>
 *
 * <ul>
 *   <li>Caller threads ({@link #write}, thread-safe): serialize the events, bound how many wait,
 *       and submit them to the producer thread; they never touch the producer.
 *   <li>The producer thread ({@code tributary-<provider>-<n>-kafka-producer}): hands records to the
 *       KafkaProducer in submission order, for {@link #write} and for dead letters, so that {@code
 *       KafkaProducer.send}, which blocks for up to {@code max.block.ms} when metadata is missing
 *       or its buffer is full, never blocks a caller. Dead-letter retries are scheduled on it too.
 *   <li>The producer's own I/O thread completes the acknowledgements.
 * </ul>
 *
 * <p>The producer is created lazily, under this object's monitor, which also guards the closed
 * flag, so that no producer is created after {@link #close()}. Nothing is called out under it.
 */
final class KafkaEventWriter {
  private static final Logger log = LoggerFactory.getLogger(KafkaEventWriter.class);

  /**
   * How many events may wait for the producer thread before {@code onNext} fails fast: a bound on
   * memory while the cluster is unreachable.
   */
  static final int MAX_PENDING_SENDS = 100_000;

  private final String provider;
  private final KafkaSettings settings;
  private final KafkaClientProperties properties;
  private final ScheduledThreadPoolExecutor thread;
  private final AtomicInteger pendingSends = new AtomicInteger();
  private volatile Producer<byte[], byte[]> producer;
  private boolean closed;

  KafkaEventWriter(
      String provider,
      KafkaSettings settings,
      KafkaClientProperties properties,
      String threadName) {
    this.provider = provider;
    this.settings = settings;
    this.properties = properties;
    this.thread = KafkaQueueAdapter.daemonScheduler(threadName);
  }

  /** The producer thread, which the dead-letter writer shares. */
  ScheduledExecutorService thread() {
    return thread;
  }

  /**
   * Serializes {@code events} of {@code streamId} with the topic's serializer and submits them to
   * the producer thread, as one record each keyed by the stream key. The stage completes when the
   * broker acknowledged every record. Called on the caller's thread; never blocks.
   */
  CompletionStage<Void> write(
      StreamId streamId, TopicConfig config, List<?> events, Map<String, byte[]> headers) {
    String topic = streamId.namespace();
    @SuppressWarnings("unchecked")
    Serializer<Object> serializer = (Serializer<Object>) config.valueSerializer();
    byte[] key = streamId.key().getBytes(StandardCharsets.UTF_8);
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(events.size());
    for (Object event : events) {
      RecordHeaders recordHeaders = new RecordHeaders();
      if (headers != null) {
        headers.forEach(recordHeaders::add);
      }
      byte[] value;
      try {
        value = serializer.serialize(topic, recordHeaders, event);
      } catch (Throwable t) {
        return CompletableFuture.failedFuture(
            new StreamingException(
                "cannot write an event of "
                    + streamId
                    + ": "
                    + serializer.getClass().getName()
                    + " failed to serialize "
                    + (event == null ? "null" : event.getClass().getName())
                    + " for topic '"
                    + topic
                    + "'; set a matching TopicConfig.withValueSerializer/withValueSerde: "
                    + t,
                t));
      }
      records.add(new ProducerRecord<>(topic, null, null, key, value, recordHeaders));
    }
    int n = records.size();
    if (pendingSends.addAndGet(n) > MAX_PENDING_SENDS) {
      pendingSends.addAndGet(-n);
      return CompletableFuture.failedFuture(
          new RetriableStreamingException(
              "Kafka provider '"
                  + provider
                  + "': "
                  + MAX_PENDING_SENDS
                  + " events are already waiting to be handed to the producer (is the cluster at '"
                  + settings.bootstrapServers()
                  + "' reachable?); retry later"));
    }
    List<CompletableFuture<Void>> acks = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      acks.add(new CompletableFuture<>());
    }
    try {
      thread.execute(() -> sendAll(streamId, records, acks));
    } catch (RejectedExecutionException e) {
      pendingSends.addAndGet(-n);
      return CompletableFuture.failedFuture(
          new IllegalStateException("Kafka provider '" + provider + "' is closed", e));
    }
    return n == 1
        ? acks.get(0)
        : CompletableFuture.allOf(acks.toArray(new CompletableFuture<?>[0]));
  }

  /**
   * Hands records to the producer on the producer thread, in submission order. {@code send} may
   * block there (no metadata during an outage, full buffer) without blocking any caller.
   */
  private void sendAll(
      StreamId streamId,
      List<ProducerRecord<byte[], byte[]>> records,
      List<CompletableFuture<Void>> acks) {
    for (int i = 0; i < records.size(); i++) {
      CompletableFuture<Void> ack = acks.get(i);
      try {
        producer()
            .send(
                records.get(i),
                (md, e) -> {
                  if (e == null) {
                    ack.complete(null);
                  } else {
                    ack.completeExceptionally(produceFailure(streamId, e));
                  }
                });
      } catch (Throwable t) {
        ack.completeExceptionally(produceFailure(streamId, t));
      } finally {
        pendingSends.decrementAndGet();
      }
    }
  }

  private StreamingException produceFailure(StreamId id, Throwable e) {
    String msg =
        "writing an event of "
            + id
            + " to Kafka provider '"
            + provider
            + "' (bootstrapServers '"
            + settings.bootstrapServers()
            + "') failed: "
            + e;
    return e instanceof RetriableException || e instanceof TimeoutException
        ? new RetriableStreamingException(msg, e)
        : new StreamingException(msg, e);
  }

  /**
   * Creates the producer and loads the metadata of every topic it writes to, while the cluster is
   * known to be reachable: with metadata cached, {@code send} buffers records during a later outage
   * instead of blocking the caller for {@code max.block.ms} per record. Runs on the thread that
   * starts the adapter.
   */
  void warmUp() {
    List<String> topics = new ArrayList<>();
    if (settings.direction().writes()) {
      topics.addAll(settings.topics().keySet());
    }
    if (settings.deadLetterTopic() != null) {
      topics.add(settings.deadLetterTopic());
    }
    if (topics.isEmpty()) {
      return;
    }
    Producer<byte[], byte[]> p = producer();
    for (String topic : topics) {
      try {
        p.partitionsFor(topic);
      } catch (RuntimeException e) {
        throw new StreamingException(
            "Kafka provider '"
                + provider
                + "': the producer cannot load the metadata of topic '"
                + topic
                + "' from bootstrapServers '"
                + settings.bootstrapServers()
                + "': "
                + e,
            e);
      }
    }
  }

  /** The producer, created on first use; throws once closed. Any thread. */
  Producer<byte[], byte[]> producer() {
    Producer<byte[], byte[]> p = producer;
    if (p != null) {
      return p;
    }
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("Kafka provider '" + provider + "' is closed");
      }
      if (producer == null) {
        producer = new KafkaProducer<>(properties.producer());
      }
      return producer;
    }
  }

  /**
   * Lets the producer thread finish what was submitted (bounded by {@code closeTimeout}), then
   * closes the producer. Called once, by the adapter's close.
   */
  void close() {
    synchronized (this) {
      closed = true;
    }
    thread.shutdown();
    try {
      thread.awaitTermination(settings.closeTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    thread.shutdownNow();
    Producer<byte[], byte[]> p = producer;
    if (p != null) {
      try {
        p.close(settings.closeTimeout());
      } catch (Throwable t) {
        log.warn("Provider {}: closing the producer failed", provider, t);
      }
    }
  }
}
