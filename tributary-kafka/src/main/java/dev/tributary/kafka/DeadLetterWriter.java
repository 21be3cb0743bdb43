package dev.tributary.kafka;

import dev.tributary.spi.RuntimeTime;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes records the adapter gave up on to the dead-letter topic, retrying with backoff until the
 * topic acknowledges them.
 *
 * <p>While a dead letter is in flight its offset is registered with the partition, which keeps the
 * committed offset at or below it: a crash before the write succeeded re-reads the record instead
 * of losing it. A partition released to another node stops the retries (that node re-reads the
 * record, because the commit never passed it).
 *
 * <p>Threading: {@link #send} is called from consumer threads (poison records) and agent threads
 * (failure handler) and never blocks; the producer is driven from the producer thread that {@link
 * KafkaEventWriter} lends it, because {@code KafkaProducer.send} may block for {@code max.block.ms}
 * while the cluster is unreachable. A retry's backoff is waited out on the provider's {@link
 * RuntimeTime} ({@code ProviderContext.time()}), whose task only hands the send back to the
 * producer thread; the count of dead letters in flight is guarded by this object's monitor, under
 * which nothing is called.
 */
final class DeadLetterWriter {
  private static final Logger log = LoggerFactory.getLogger(DeadLetterWriter.class);

  /** Header names on dead letters; documented in docs/kafka.md. */
  static final String H_REASON = "tributary.dlt.reason";

  static final String H_TOPIC = "tributary.dlt.original.topic";
  static final String H_PARTITION = "tributary.dlt.original.partition";
  static final String H_OFFSET = "tributary.dlt.original.offset";
  static final String H_TIMESTAMP = "tributary.dlt.original.timestamp";
  static final String H_EXCEPTION_CLASS = "tributary.dlt.exception.class";
  static final String H_EXCEPTION_MESSAGE = "tributary.dlt.exception.message";
  static final String H_PROVIDER = "tributary.dlt.provider";
  static final String H_GROUP = "tributary.dlt.group";
  static final String H_SUBSCRIPTION = "tributary.dlt.subscription";
  static final String H_STREAM_KEY = "tributary.dlt.stream.key";

  private final String provider;
  private final String groupId;
  private final String topic;
  private final Supplier<Producer<byte[], byte[]>> producer;
  private final KafkaMetrics metrics;
  private final dev.tributary.spi.BackoffPolicy backoff;
  private final RuntimeTime time;
  private final Executor executor;
  private int inFlight;

  DeadLetterWriter(
      String provider,
      String groupId,
      String topic,
      Supplier<Producer<byte[], byte[]>> producer,
      KafkaMetrics metrics,
      dev.tributary.spi.BackoffPolicy backoff,
      RuntimeTime time,
      Executor executor) {
    this.provider = provider;
    this.groupId = groupId;
    this.topic = topic;
    this.producer = producer;
    this.metrics = metrics;
    this.backoff = backoff;
    this.time = time;
    this.executor = executor;
  }

  String topic() {
    return topic;
  }

  /**
   * Writes {@code letter}. {@code state} is the partition state whose commit waits for it, or null
   * when its partition is no longer read here. Never blocks.
   */
  void send(PartitionState state, DeadLetter letter) {
    if (state != null) {
      state.deadLetterPending(letter.originOffset());
    }
    RecordHeaders headers = new RecordHeaders();
    if (letter.headers() != null) {
      for (Header h : letter.headers()) {
        headers.add(h);
      }
    }
    add(headers, H_REASON, letter.reason().tag());
    add(headers, H_TOPIC, letter.originTopic());
    add(headers, H_PARTITION, Integer.toString(letter.originPartition()));
    add(headers, H_OFFSET, Long.toString(letter.originOffset()));
    add(headers, H_TIMESTAMP, Long.toString(letter.originTimestamp()));
    Throwable root = letter.cause();
    add(headers, H_EXCEPTION_CLASS, root == null ? "" : root.getClass().getName());
    add(
        headers,
        H_EXCEPTION_MESSAGE,
        root == null || root.getMessage() == null ? "" : root.getMessage());
    add(headers, H_PROVIDER, provider);
    add(headers, H_GROUP, groupId);
    if (letter.subscriptionId() != null) {
      add(headers, H_SUBSCRIPTION, letter.subscriptionId().toString());
    }
    if (letter.streamId() != null) {
      add(headers, H_STREAM_KEY, letter.streamId().key());
    }
    long timestamp = letter.originTimestamp();
    ProducerRecord<byte[], byte[]> record =
        new ProducerRecord<>(
            topic, null, timestamp > 0 ? timestamp : null, letter.key(), letter.value(), headers);
    synchronized (this) {
      inFlight++;
    }
    submit(new Origin(state, letter), record, 1, Duration.ZERO);
  }

  /** A dead letter in flight and the partition state whose commit waits for it. */
  private record Origin(PartitionState state, DeadLetter letter) {
    TopicPartition tp() {
      return letter.originPartitionId();
    }

    long offset() {
      return letter.originOffset();
    }

    String reason() {
      return letter.reason().tag();
    }

    @Override
    public String toString() {
      return letter.toString();
    }
  }

  private static void add(RecordHeaders headers, String key, String value) {
    headers.add(key, value.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Sends at once ({@code delay} zero) or after {@code delay} on the time, on the producer thread.
   */
  private void submit(
      Origin origin, ProducerRecord<byte[], byte[]> record, int attempt, Duration delay) {
    if (delay.isZero() || delay.isNegative()) {
      execute(origin, record, attempt);
    } else {
      try {
        time.schedule(delay, () -> execute(origin, record, attempt));
      } catch (RuntimeException stopped) {
        log.warn(
            "Provider {}: dead letter of {} not written: its retry could not be scheduled; the"
                + " record will be read again after a restart because its offset was not committed",
            provider,
            origin,
            stopped);
        finish(origin, false);
      }
    }
  }

  private void execute(Origin origin, ProducerRecord<byte[], byte[]> record, int attempt) {
    try {
      executor.execute(() -> attempt(origin, record, attempt));
    } catch (RejectedExecutionException closed) {
      log.warn(
          "Provider {}: dead letter of {} not written: the adapter is closed; the record will be"
              + " read again after a restart because its offset was not committed",
          provider,
          origin);
      finish(origin, false);
    }
  }

  private void attempt(Origin origin, ProducerRecord<byte[], byte[]> record, int attempt) {
    try {
      producer
          .get()
          .send(
              record,
              (md, e) -> {
                if (e == null) {
                  metrics.deadLettered(origin.tp(), origin.reason());
                  log.info(
                      "Provider {}: {} record {} written to dead-letter topic {} at partition {}"
                          + " offset {}",
                      provider,
                      origin.reason(),
                      origin,
                      topic,
                      md.partition(),
                      md.offset());
                  finish(origin, true);
                } else {
                  retry(origin, record, attempt, e);
                }
              });
    } catch (Throwable t) {
      retry(origin, record, attempt, t);
    }
  }

  private void retry(
      Origin origin, ProducerRecord<byte[], byte[]> record, int attempt, Throwable error) {
    metrics.deadLetterFailure(origin.tp());
    PartitionState state = origin.state();
    if (state != null && state.closed) {
      log.warn(
          "Provider {}: writing the dead letter of {} to {} failed (attempt {}) and its partition"
              + " is no longer read here; its next owner reads it again: {}",
          provider,
          origin,
          topic,
          attempt,
          error.toString());
      finish(origin, false);
      return;
    }
    Duration delay = backoff.delay(attempt);
    log.warn(
        "Provider {}: writing the dead letter of {} to {} failed (attempt {}); retrying in {} ms."
            + " The partition's commit waits for it: {}",
        provider,
        origin,
        topic,
        attempt,
        delay.toMillis(),
        error.toString());
    submit(origin, record, attempt + 1, delay);
  }

  private void finish(Origin origin, boolean written) {
    if (origin.state() != null) {
      origin.state().deadLetterDone(origin.offset());
    }
    synchronized (this) {
      inFlight--;
      notifyAll();
    }
  }

  /** Waits up to {@code timeout} for every dead letter in flight; returns how many remain. */
  synchronized int awaitIdle(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (inFlight > 0) {
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        break;
      }
      try {
        TimeUnit.NANOSECONDS.timedWait(this, left);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    return inFlight;
  }
}
