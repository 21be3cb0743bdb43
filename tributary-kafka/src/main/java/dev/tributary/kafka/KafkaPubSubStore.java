package dev.tributary.kafka;

import dev.tributary.Incubating;
import dev.tributary.StreamId;
import dev.tributary.StreamingException;
import dev.tributary.kafka.StoreRecordCodec.Identity;
import dev.tributary.spi.PubSubStore;
import dev.tributary.spi.SubscriptionRecord;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link PubSubStore} over a compacted Kafka topic, shared by every node of the cluster: the
 * subscriptions survive restarts and partition hand-offs without any other database.
 *
 * <pre>{@code
 * KafkaPubSubStore store = KafkaPubSubStore.builder()
 *     .bootstrapServers("localhost:9092")
 *     .topic("orders-app-subscriptions")
 *     .replicationFactor((short) 3)
 *     .build();
 * }</pre>
 *
 * <p>Each subscription is one record keyed by provider, stream and subscription id, and the
 * confirmation of its revision ({@link #confirm}) a second record under the same identity; {@link
 * #remove} writes a tombstone for both, and compaction keeps only the latest record of each key. At
 * {@link #start()} every node reads the whole topic into memory, and keeps reading it on a thread
 * of its own ("tail"), telling its {@linkplain #watch listeners} of every change, its own and other
 * nodes', in the order of the log. Writes are acknowledged by every in-sync replica ({@code
 * acks=all}, idempotent producer) before their stage completes. The record format, the topic's
 * configs, the size per subscription and the options are in {@code docs/kafka.md}, "Subscription
 * store".
 *
 * <p>Threads: {@code put}, {@code remove}, {@code confirm}, {@code sync} and {@code subscriptions}
 * may be called from any thread and never block it; their stages complete on the store's callback
 * thread ({@code tributary-store-<topic>-callbacks}), never on a Kafka client's I/O thread, so work
 * chained on them runs there unless it is chained asynchronously. Listeners are called on the tail
 * thread ({@code tributary-store-<topic>-tail}), except for the snapshot of {@link #watch}, which
 * the calling thread delivers; never two calls at once. Call {@code watch} without holding a lock
 * that a listener takes. Never block on a store stage in a listener or in work chained on a stage
 * without an executor: a write completes only once the tail has read it back and the callback
 * thread has completed it, and both would be waiting for the blocked caller.
 *
 * <p>The topic's partition count must never change once records are written: every record of a
 * stream is written to the partition its stream hashes to, so that its subscription, confirmation
 * and tombstones are read in the order they were written, and compaction replaces a key only within
 * one partition. Records of two streams are ordered only when they share a partition; the default,
 * one partition, orders every change.
 */
@Incubating
public final class KafkaPubSubStore implements PubSubStore, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KafkaPubSubStore.class);

  /** Default {@link Builder#topic}. */
  public static final String DEFAULT_TOPIC = "tributary-subscriptions";

  /** Default {@link Builder#partitions}: one, so that every change is read in one order. */
  public static final int DEFAULT_PARTITIONS = 1;

  /** Default {@link Builder#startTimeout}: 30 s. */
  public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(30);

  /** Default {@link Builder#closeTimeout}: 5 s. */
  public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(5);

  /** How long the tail waits for new records in one poll; it is woken for a new sync waiter. */
  static final Duration POLL_TIMEOUT = Duration.ofMillis(500);

  /** How long one end-offsets request of {@link #sync} may take before it is retried. */
  private static final int SYNC_REQUEST_TIMEOUT_MS = 5_000;

  /**
   * The configs a created topic gets, unless set with {@link Builder#topicConfig}; docs/kafka.md
   * says why each.
   */
  static final Map<String, String> DEFAULT_TOPIC_CONFIGS = defaultTopicConfigs();

  private static Map<String, String> defaultTopicConfigs() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("cleanup.policy", "compact");
    // Roll segments so that compaction, which never cleans the active segment, keeps a start-up
    // read close to the live records: at least hourly, or every 16 MiB.
    m.put("segment.ms", Long.toString(Duration.ofHours(1).toMillis()));
    m.put("segment.bytes", Integer.toString(16 << 20));
    // Clean once a tenth of the log is superseded records rather than half.
    m.put("min.cleanable.dirty.ratio", "0.1");
    // Tombstones stay a day: a node whose tail lags (or whose start-up read lasts) longer than
    // this could miss a removal. Kafka's default, written down because the store relies on it.
    m.put("delete.retention.ms", Long.toString(Duration.ofDays(1).toMillis()));
    return Map.copyOf(m);
  }

  private enum Phase {
    NEW,
    STARTED,
    CLOSED
  }

  private final StoreSettings settings;
  private final StoreView view;
  private final String clientPrefix;
  private final Set<CompletableFuture<?>> pending = ConcurrentHashMap.newKeySet();

  /** Completes with the partition count once the topic is set up. */
  private final CompletableFuture<Integer> ready = new CompletableFuture<>();

  private final Object lifecycle = new Object();
  private Phase phase = Phase.NEW; // guarded by lifecycle
  private volatile boolean closed;
  private volatile int partitions; // 0 until ready
  private ExecutorService writer;
  private ScheduledExecutorService callbacks;
  private Admin admin;
  private KafkaProducer<byte[], byte[]> producer;
  private StoreTail tail;
  private Thread tailThread;
  private final List<Meter> meters = new ArrayList<>();

  private KafkaPubSubStore(StoreSettings settings) {
    this.settings = settings;
    this.view = new StoreView(settings.topic());
    this.clientPrefix = "tributary-store-" + settings.topic();
  }

  /** Returns a builder. */
  public static Builder builder() {
    return new Builder();
  }

  /** True: every node that uses this store's topic sees every subscription. */
  @Override
  public boolean isShared() {
    return true;
  }

  /**
   * Connects, creates the topic when it is missing (compacted, see {@link Builder#createTopic}) or
   * checks that it is compacted, then reads it from the beginning to the end offsets it has now.
   * The stage completes once everything up to them is in memory and was passed to the listeners
   * registered so far; then the tail keeps reading. Returns at once; the work runs on the tail
   * thread.
   *
   * <p>The stage fails with an {@link IllegalStateException} when the topic is not compacted (its
   * message names the topic, its policy and the command that fixes it), or is missing and may not
   * be created, and with a {@link StreamingException} when the cluster does not answer or the read
   * does not finish within {@link Builder#startTimeout}. It may be called once.
   */
  @Override
  public CompletionStage<Void> start() {
    CompletableFuture<Void> loaded = new CompletableFuture<>();
    long deadline;
    synchronized (lifecycle) {
      if (phase != Phase.NEW) {
        return CompletableFuture.failedFuture(
            new IllegalStateException(
                "subscription store on topic '"
                    + settings.topic()
                    + "' was already "
                    + (phase == Phase.CLOSED ? "closed" : "started")
                    + "; start() may be called once"));
      }
      phase = Phase.STARTED;
      deadline = System.nanoTime() + settings.startTimeout().toNanos();
      pending.add(loaded);
      try {
        writer = Executors.newSingleThreadExecutor(daemon(clientPrefix + "-writer"));
        ScheduledThreadPoolExecutor cb =
            new ScheduledThreadPoolExecutor(1, daemon(clientPrefix + "-callbacks"));
        cb.setRemoveOnCancelPolicy(true);
        callbacks = cb;
        admin = Admin.create(adminProperties());
        producer = new KafkaProducer<>(producerProperties());
        tail = new StoreTail(settings, consumerProperties(), view, callbacks);
      } catch (RuntimeException e) {
        // A client property the Kafka clients reject; close() releases what was created.
        loaded.completeExceptionally(
            new IllegalArgumentException(
                "subscription store on topic '"
                    + settings.topic()
                    + "': its Kafka clients could not be created: "
                    + e.getMessage(),
                e));
        return loaded;
      }
      registerMeters();
      tailThread = new Thread(() -> runTail(deadline, loaded), clientPrefix + "-tail");
      tailThread.setDaemon(true);
      tailThread.start();
    }
    long ms = Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    ScheduledExecutorService cb = callbacks;
    try {
      cb.schedule(() -> loaded.completeExceptionally(startTimedOut()), ms, TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException e) {
      // Closed meanwhile: close failed the stage.
    }
    return loaded.whenComplete(
        (v, e) -> {
          pending.remove(loaded);
          if (e == null) {
            log.info(
                "Subscription store: topic '{}' loaded, {} subscriptions, {} confirmations",
                settings.topic(),
                view.subscriptionCount(),
                view.confirmationCount());
          }
        });
  }

  /** Why start() did not complete within its timeout: the set-up or the read. */
  private StreamingException startTimedOut() {
    if (!ready.isDone()) {
      return new StreamingException(
          "subscription store on topic '"
              + settings.topic()
              + "' cannot reach the Kafka cluster at bootstrapServers '"
              + settings.bootstrapServers()
              + "' within startTimeout "
              + settings.startTimeout()
              + ". Check that the brokers are running and reachable, or raise startTimeout");
    }
    return new StreamingException(
        "subscription store on topic '"
            + settings.topic()
            + "' did not read the topic to its end within startTimeout "
            + settings.startTimeout()
            + " (tail lag "
            + tail.lag()
            + " records); check the brokers' health, or raise startTimeout");
  }

  /** The tail thread's body: the topic's set-up, then the tail's reading. */
  private void runTail(long deadline, CompletableFuture<Void> loaded) {
    int n;
    try {
      n = StoreTopic.setUp(admin, settings, deadline);
    } catch (InterruptedException e) {
      loaded.completeExceptionally(
          new StreamingException(
              "subscription store on topic '" + settings.topic() + "': start interrupted", e));
      ready.completeExceptionally(e);
      return;
    } catch (RuntimeException e) {
      if (!closed) {
        log.error("Subscription store: start-up failed", e);
      }
      loaded.completeExceptionally(e);
      ready.completeExceptionally(e);
      return;
    }
    partitions = n;
    ready.complete(n);
    tail.run(n, deadline, loaded);
  }

  /**
   * Writes {@code record} under its provider, stream and subscription id, replacing the previous
   * one; the stage completes once every in-sync replica has it and this node has applied it.
   */
  @Override
  public CompletionStage<Void> put(SubscriptionRecord record) {
    Objects.requireNonNull(record, "record");
    byte[] key =
        StoreRecordCodec.key(
            StoreRecordCodec.SUBSCRIPTION,
            record.providerName(),
            record.streamId(),
            record.subscriptionId());
    byte[] value = StoreRecordCodec.subscriptionValue(record);
    return write(
        "put of subscription " + record.subscriptionId(),
        record.providerName(),
        record.streamId(),
        List.of(new Write(key, value)));
  }

  /**
   * Writes a tombstone for the subscription's confirmation and then for the subscription; the stage
   * completes once both are acknowledged and applied here. The listeners are told once, by {@code
   * onRemove}.
   */
  @Override
  public CompletionStage<Void> remove(String providerName, StreamId streamId, UUID subscriptionId) {
    Objects.requireNonNull(providerName, "providerName");
    Objects.requireNonNull(streamId, "streamId");
    Objects.requireNonNull(subscriptionId, "subscriptionId");
    return write(
        "removal of subscription " + subscriptionId,
        providerName,
        streamId,
        List.of(
            new Write(
                StoreRecordCodec.key(
                    StoreRecordCodec.CONFIRMATION, providerName, streamId, subscriptionId),
                null),
            new Write(
                StoreRecordCodec.key(
                    StoreRecordCodec.SUBSCRIPTION, providerName, streamId, subscriptionId),
                null)));
  }

  /**
   * Writes the confirmation of {@code revision}, replacing the previous one. Confirm a removed
   * record's revision before {@link #remove}, not after: a confirmation written after the removal
   * stays in the topic until the id is removed again.
   */
  @Override
  public CompletionStage<Void> confirm(
      String providerName, StreamId streamId, UUID subscriptionId, UUID revision) {
    Objects.requireNonNull(providerName, "providerName");
    Objects.requireNonNull(streamId, "streamId");
    Objects.requireNonNull(subscriptionId, "subscriptionId");
    Objects.requireNonNull(revision, "revision");
    return write(
        "confirmation of subscription " + subscriptionId,
        providerName,
        streamId,
        List.of(
            new Write(
                StoreRecordCodec.key(
                    StoreRecordCodec.CONFIRMATION, providerName, streamId, subscriptionId),
                StoreRecordCodec.confirmationValue(revision))));
  }

  /**
   * The stream's subscriptions as this node has read them, faulted and {@code removed} ones
   * included; completed at once.
   */
  @Override
  public CompletionStage<List<SubscriptionRecord>> subscriptions(
      String providerName, StreamId streamId) {
    return CompletableFuture.completedFuture(view.subscriptions(providerName, streamId));
  }

  /**
   * Hands {@code listener} one {@code onPut} per subscription and one {@code onConfirmed} per
   * confirmation this node holds, on the calling thread before returning, then every later change
   * from the tail thread in log order. What a listener throws is logged and otherwise ignored.
   * Listeners may be added before {@link #start()}: they then see the topic as it is read.
   */
  @Override
  public AutoCloseable watch(Listener listener) {
    Objects.requireNonNull(listener, "listener");
    return view.watch(listener);
  }

  /**
   * Asks the cluster for the topic's end offsets and completes once the tail has read up to them
   * and passed every record below them to the listeners, so that every write acknowledged anywhere
   * before this call has been seen. While the cluster does not answer, the request is retried; the
   * stage never completes early. It fails when the store is closed first.
   */
  @Override
  public CompletionStage<Void> sync() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (closed) {
      done.completeExceptionally(closedException("sync()"));
      return done;
    }
    pending.add(done);
    done.whenComplete((v, e) -> pending.remove(done));
    ready.whenComplete(
        (n, e) -> {
          if (e != null) {
            done.completeExceptionally(
                new IllegalStateException(
                    "subscription store on topic '" + settings.topic() + "' did not start", e));
          } else {
            requestEnds(n, done, 0);
          }
        });
    if (closed) {
      done.completeExceptionally(closedException("sync()"));
    }
    return done;
  }

  private void requestEnds(int n, CompletableFuture<Void> done, int attempt) {
    if (closed || done.isDone()) {
      return;
    }
    Map<TopicPartition, OffsetSpec> request = new HashMap<>();
    for (int p = 0; p < n; p++) {
      request.put(new TopicPartition(settings.topic(), p), OffsetSpec.latest());
    }
    try {
      admin
          .listOffsets(request, new ListOffsetsOptions().timeoutMs(SYNC_REQUEST_TIMEOUT_MS))
          .all()
          .whenComplete(
              (offsets, e) -> {
                if (e != null) {
                  if (attempt == 0 || attempt % 10 == 0) {
                    log.warn(
                        "Subscription store topic '{}': sync() could not read the end offsets"
                            + " (attempt {}); retrying: {}",
                        settings.topic(),
                        attempt + 1,
                        e.toString());
                  }
                  long backoff = Math.min(2_000, 100L << Math.min(5, attempt));
                  try {
                    callbacks.schedule(
                        () -> requestEnds(n, done, attempt + 1), backoff, TimeUnit.MILLISECONDS);
                  } catch (RejectedExecutionException closing) {
                    done.completeExceptionally(closedException("sync()"));
                  }
                  return;
                }
                long[] targets = new long[n];
                offsets.forEach((tp, info) -> targets[tp.partition()] = info.offset());
                tail.await(targets, done, true);
              });
    } catch (RuntimeException e) {
      done.completeExceptionally(
          closed ? closedException("sync()") : new StreamingException("sync() failed", e));
    }
  }

  /**
   * Stops the tail thread, closes the producer (waiting up to {@link Builder#closeTimeout} for
   * writes in flight) and fails every stage still pending with an {@link IllegalStateException}
   * that says it was closed; a failed write may still have been written. Idempotent.
   */
  @Override
  public void close() {
    synchronized (lifecycle) {
      if (phase == Phase.CLOSED) {
        return;
      }
      boolean started = phase == Phase.STARTED;
      phase = Phase.CLOSED;
      closed = true;
      if (!started) {
        ready.completeExceptionally(closedException("start()"));
        failPending();
        return;
      }
    }
    if (tail != null) {
      tail.stop();
    }
    if (admin != null) {
      // At once: nothing the admin does must finish, and the tail thread may wait for it.
      try {
        admin.close(Duration.ZERO);
      } catch (RuntimeException e) {
        log.warn("Subscription store topic '{}': closing the admin failed", settings.topic(), e);
      }
    }
    if (tailThread != null) {
      join(tailThread);
    }
    if (writer != null) {
      writer.shutdown();
      await(writer);
    }
    if (producer != null) {
      try {
        producer.close(settings.closeTimeout());
      } catch (RuntimeException e) {
        log.warn("Subscription store topic '{}': closing the producer failed", settings.topic(), e);
      }
    }
    failPending();
    ready.completeExceptionally(closedException("start()"));
    if (callbacks != null) {
      callbacks.shutdownNow();
      await(callbacks);
    }
    failPending(); // What the callback thread had not completed yet.
    MeterRegistry registry = settings.meterRegistry();
    for (Meter m : meters) {
      registry.remove(m);
    }
    meters.clear();
  }

  private void failPending() {
    for (CompletableFuture<?> f : List.copyOf(pending)) {
      f.completeExceptionally(closedException("the stage"));
      pending.remove(f);
    }
  }

  private IllegalStateException closedException(String what) {
    return new IllegalStateException(
        "subscription store on topic '"
            + settings.topic()
            + "' was closed before "
            + what
            + " completed; a write it carried may or may not have been written");
  }

  /** The store's topic. */
  public String topic() {
    return settings.topic();
  }

  /** How many records this node skipped because it could not decode them. */
  public long skippedRecords() {
    return tail == null ? 0 : tail.skipped();
  }

  @Override
  public String toString() {
    return "KafkaPubSubStore{topic=" + settings.topic() + ", " + settings.bootstrapServers() + "}";
  }

  /** For tests: the confirmed revision this node holds, or null. */
  UUID confirmation(String providerName, StreamId streamId, UUID subscriptionId) {
    return view.confirmation(new Identity(providerName, streamId, subscriptionId));
  }

  // ------------------------------------------------------------------ writes

  /** One record to send: a key and a value, null for a tombstone. */
  private record Write(byte[] key, byte[] value) {}

  /**
   * Sends {@code writes} in order to the stream's partition, on the writer thread (a send may block
   * while the producer waits for metadata), and completes the stage on the callback thread once all
   * are acknowledged, or fails it with the first error.
   */
  private CompletionStage<Void> write(
      String what, String provider, StreamId streamId, List<Write> writes) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    if (closed) {
      done.completeExceptionally(closedException(what));
      return done;
    }
    int n = partitions;
    if (n == 0) {
      done.completeExceptionally(
          new IllegalStateException(
              "subscription store on topic '"
                  + settings.topic()
                  + "': "
                  + what
                  + " before start(); start the store and wait for its stage first"));
      return done;
    }
    int partition =
        Utils.toPositive(Utils.murmur2(StoreRecordCodec.streamPart(provider, streamId))) % n;
    pending.add(done);
    done.whenComplete((v, e) -> pending.remove(done));
    try {
      writer.execute(() -> send(what, provider, streamId, partition, writes, done));
    } catch (RejectedExecutionException e) {
      done.completeExceptionally(closedException(what));
    }
    if (closed) {
      // close() may have failed the pending stages before this one was added.
      done.completeExceptionally(closedException(what));
    }
    return done;
  }

  private void send(
      String what,
      String provider,
      StreamId streamId,
      int partition,
      List<Write> writes,
      CompletableFuture<Void> done) {
    if (closed || done.isDone()) {
      done.completeExceptionally(closedException(what));
      return;
    }
    AtomicInteger left = new AtomicInteger(writes.size());
    AtomicLong last = new AtomicLong(-1);
    for (Write w : writes) {
      try {
        producer.send(
            new ProducerRecord<>(settings.topic(), partition, w.key(), w.value()),
            (metadata, error) -> {
              Runnable complete;
              if (error != null) {
                complete =
                    () -> done.completeExceptionally(failure(what, provider, streamId, error));
              } else {
                last.accumulateAndGet(metadata.offset(), Math::max);
                complete =
                    () -> {
                      if (left.decrementAndGet() == 0) {
                        // Durable; complete once this node's tail applied it too.
                        long[] targets = new long[partition + 1];
                        targets[partition] = last.get() + 1;
                        tail.await(targets, done, false);
                      }
                    };
              }
              try {
                callbacks.execute(complete);
              } catch (RejectedExecutionException e) {
                done.completeExceptionally(closedException(what));
              }
            });
      } catch (RuntimeException e) {
        done.completeExceptionally(failure(what, provider, streamId, e));
        return;
      }
    }
  }

  private RuntimeException failure(String what, String provider, StreamId streamId, Throwable e) {
    if (closed) {
      IllegalStateException c = closedException(what);
      c.initCause(e);
      return c;
    }
    return new StreamingException(
        "subscription store on topic '"
            + settings.topic()
            + "': "
            + what
            + " (provider '"
            + provider
            + "', stream "
            + streamId
            + ") failed: "
            + e,
        e);
  }

  // ------------------------------------------------------------------ clients

  /** The user's client properties, then the ones the store manages. */
  private Map<String, Object> common() {
    Map<String, Object> p = new HashMap<>(settings.clientProperties());
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
    return p;
  }

  Map<String, Object> adminProperties() {
    Map<String, Object> p = common();
    p.putIfAbsent(AdminClientConfig.CLIENT_ID_CONFIG, clientPrefix + "-admin");
    int timeout = (int) Math.min(Integer.MAX_VALUE, settings.startTimeout().toMillis());
    p.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeout);
    p.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeout);
    return p;
  }

  Map<String, Object> producerProperties() {
    Map<String, Object> p = common();
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, clientPrefix + "-producer");
    return p;
  }

  Map<String, Object> consumerProperties() {
    Map<String, Object> p = common();
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, clientPrefix + "-tail");
    return p;
  }

  private void registerMeters() {
    MeterRegistry registry = settings.meterRegistry();
    if (registry == null) {
      return;
    }
    Tags tags = Tags.of("topic", settings.topic());
    meters.add(
        Gauge.builder("tributary.pubsub.store.subscriptions", view, StoreView::subscriptionCount)
            .description("Subscription records this node holds, removed ones included")
            .tags(tags)
            .register(registry));
    meters.add(
        Gauge.builder("tributary.pubsub.store.confirmations", view, StoreView::confirmationCount)
            .description("Confirmations this node holds")
            .tags(tags)
            .register(registry));
    StoreTail t = tail;
    meters.add(
        Gauge.builder("tributary.pubsub.store.lag", t, StoreTail::lag)
            .description("Records of the store topic this node has not read yet; -1 unknown")
            .tags(tags)
            .register(registry));
    meters.add(
        Gauge.builder("tributary.pubsub.store.skipped", t, StoreTail::skipped)
            .description("Records this node skipped because it could not decode them")
            .tags(tags)
            .register(registry));
  }

  private static ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  private void join(Thread t) {
    try {
      t.join(settings.closeTimeout().toMillis() + 1_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (t.isAlive()) {
      log.warn(
          "Subscription store topic '{}': the tail thread did not end within closeTimeout {}",
          settings.topic(),
          settings.closeTimeout());
    }
  }

  private void await(ExecutorService e) {
    try {
      if (!e.awaitTermination(settings.closeTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
        e.shutdownNow();
      }
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
      e.shutdownNow();
    }
  }

  // ------------------------------------------------------------------ builder

  /**
   * Builds a {@link KafkaPubSubStore}.
   *
   * <p>Setters only record; {@link #build()} checks every option and throws one {@link
   * IllegalArgumentException} that lists every problem (option, value, rule). Each option may be
   * set once.
   */
  public static final class Builder {
    private static final Pattern TOPIC_NAME = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
    private static final Pattern HOST_PORT = Pattern.compile("\\[?[^\\s,\\[\\]]+\\]?:\\d{1,5}");

    private final List<String> problems = new ArrayList<>();
    private final Set<String> assigned = new java.util.HashSet<>();
    private final Map<String, String> clientProperties = new LinkedHashMap<>();
    private final Map<String, String> topicConfigs = new LinkedHashMap<>();
    private String bootstrapServers;
    private String topic;
    private Integer partitions;
    private Short replicationFactor;
    private Boolean createTopic;
    private Duration startTimeout;
    private Duration closeTimeout;
    private MeterRegistry meterRegistry;

    private Builder() {}

    /** Sets the brokers to bootstrap from, {@code host:port[,host:port...]}; required. */
    public Builder bootstrapServers(String servers) {
      if (once("bootstrapServers", servers)) {
        bootstrapServers = servers;
      }
      return this;
    }

    /** Sets the topic [{@value KafkaPubSubStore#DEFAULT_TOPIC}]. */
    public Builder topic(String name) {
      if (once("topic", name)) {
        topic = name;
      }
      return this;
    }

    /**
     * Sets the partition count of a topic the store creates [1]; 1 to 1000. An existing topic keeps
     * its own, which must never change once records are written.
     */
    public Builder partitions(int count) {
      if (once("partitions", count)) {
        partitions = count;
      }
      return this;
    }

    /** Sets the replication factor of a topic the store creates [the broker's default]; 1+. */
    public Builder replicationFactor(short factor) {
      if (once("replicationFactor", factor)) {
        replicationFactor = factor;
      }
      return this;
    }

    /** Sets whether the store creates its topic when it is missing [true]. */
    public Builder createTopic(boolean create) {
      if (once("createTopic", create)) {
        createTopic = create;
      }
      return this;
    }

    /**
     * Sets how long {@code start()} may take to reach the cluster, set the topic up and read it to
     * its end [30 s]; 100 ms to 1 h.
     */
    public Builder startTimeout(Duration timeout) {
      if (once("startTimeout", timeout)) {
        startTimeout = timeout;
      }
      return this;
    }

    /** Sets how long {@code close()} waits for writes in flight [5 s]; 0 to 1 h. */
    public Builder closeTimeout(Duration timeout) {
      if (once("closeTimeout", timeout)) {
        closeTimeout = timeout;
      }
      return this;
    }

    /**
     * Overrides a config of a topic the store creates (the defaults are in docs/kafka.md); {@code
     * cleanup.policy} must stay {@code compact}.
     */
    public Builder topicConfig(String key, String value) {
      return property(topicConfigs, "topicConfig", key, value);
    }

    /**
     * Passes a property to the store's Kafka clients, admin, producer and consumer (e.g. {@code
     * security.protocol}, {@code sasl.jaas.config}).
     */
    public Builder clientProperty(String key, String value) {
      return property(clientProperties, "clientProperty", key, value);
    }

    /**
     * Reports the store's gauges in {@code registry} [none]: {@code
     * tributary.pubsub.store.subscriptions}, {@code .confirmations}, {@code .lag}, {@code
     * .skipped}, tagged {@code topic}.
     */
    public Builder meterRegistry(MeterRegistry registry) {
      if (once("meterRegistry", registry)) {
        meterRegistry = registry;
      }
      return this;
    }

    private boolean once(String option, Object value) {
      if (!assigned.add(option)) {
        problems.add(option + " was set twice (the second time to '" + value + "')");
        return false;
      }
      return true;
    }

    private Builder property(Map<String, String> target, String option, String key, String value) {
      if (key == null || key.isBlank()) {
        problems.add(option + " key was '" + key + "' but it must be a Kafka config name");
      } else if (value == null) {
        problems.add(option + "(" + key + ") value was null but it must be a string");
      } else if (target.containsKey(key)) {
        problems.add(option + "(" + key + ") was set twice");
      } else {
        target.put(key, value);
      }
      return this;
    }

    /**
     * Checks every option and builds the store; nothing connects before {@link
     * KafkaPubSubStore#start()}.
     *
     * @throws IllegalArgumentException listing every problem found
     */
    public KafkaPubSubStore build() {
      List<String> errors = new ArrayList<>(problems);
      String servers = null;
      if (bootstrapServers == null || bootstrapServers.isBlank()) {
        errors.add(
            "bootstrapServers was "
                + (bootstrapServers == null ? "not set" : "'" + bootstrapServers + "'")
                + " but it is required: host:port[,host:port...]");
      } else {
        servers = bootstrapServers.trim();
        for (String s : servers.split(",", -1)) {
          if (!HOST_PORT.matcher(s.trim()).matches() || !portOk(s.trim())) {
            errors.add(
                "bootstrapServers was '"
                    + bootstrapServers
                    + "' but each entry must be host:port with a port from 1 to 65535 ('"
                    + s.trim()
                    + "' is not)");
            break;
          }
        }
      }
      String t = assigned.contains("topic") ? topic : DEFAULT_TOPIC;
      if (t == null || !TOPIC_NAME.matcher(t).matches() || t.equals(".") || t.equals("..")) {
        errors.add(
            "topic was '"
                + t
                + "' but a Kafka topic name must be 1 to 249 characters of [a-zA-Z0-9._-] and not"
                + " '.' or '..'");
      }
      if (partitions != null && (partitions < 1 || partitions > 1000)) {
        errors.add("partitions was " + partitions + " but it must be between 1 and 1000");
      }
      if (replicationFactor != null && replicationFactor < 1) {
        errors.add(
            "replicationFactor was "
                + replicationFactor
                + " but it must be at least 1 (leave it unset for the broker's default)");
      }
      if (assigned.contains("startTimeout") && startTimeout == null) {
        errors.add("startTimeout was null but it must be a Duration (or left unset)");
      }
      if (assigned.contains("closeTimeout") && closeTimeout == null) {
        errors.add("closeTimeout was null but it must be a Duration (or left unset)");
      }
      checkDuration(
          errors, "startTimeout", startTimeout, Duration.ofMillis(100), Duration.ofHours(1));
      checkDuration(errors, "closeTimeout", closeTimeout, Duration.ZERO, Duration.ofHours(1));
      if (assigned.contains("meterRegistry") && meterRegistry == null) {
        errors.add("meterRegistry was null but it must be a MeterRegistry (or left unset)");
      }
      for (Map.Entry<String, String> e : clientProperties.entrySet()) {
        String managed = managed(e.getKey(), e.getValue());
        if (managed != null) {
          errors.add(
              "clientProperty(" + e.getKey() + ") was '" + e.getValue() + "' but " + managed);
        }
      }
      String policy = topicConfigs.get("cleanup.policy");
      if (policy != null && !policy.trim().equalsIgnoreCase("compact")) {
        errors.add(
            "topicConfig(cleanup.policy) was '"
                + policy
                + "' but it must be compact: the store keeps the latest record of each key"
                + " forever, and delete retention would lose subscriptions");
      }
      if (!errors.isEmpty()) {
        StringBuilder sb =
            new StringBuilder("Invalid KafkaPubSubStore configuration (")
                .append(errors.size())
                .append(errors.size() == 1 ? " problem):" : " problems):");
        for (String e : new java.util.LinkedHashSet<>(errors)) {
          sb.append("\n  - ").append(e);
        }
        throw new IllegalArgumentException(sb.toString());
      }
      Map<String, String> configs = new LinkedHashMap<>(DEFAULT_TOPIC_CONFIGS);
      short rf = replicationFactor == null ? -1 : replicationFactor;
      if (rf >= 3) {
        // With three replicas or more, an acknowledged write is on at least two of them.
        configs.put("min.insync.replicas", "2");
      }
      configs.putAll(topicConfigs);
      return new KafkaPubSubStore(
          new StoreSettings(
              servers,
              t,
              partitions == null ? DEFAULT_PARTITIONS : partitions,
              rf,
              createTopic == null || createTopic,
              Map.copyOf(configs),
              Map.copyOf(clientProperties),
              startTimeout == null ? DEFAULT_START_TIMEOUT : startTimeout,
              closeTimeout == null ? DEFAULT_CLOSE_TIMEOUT : closeTimeout,
              POLL_TIMEOUT,
              meterRegistry));
    }

    /** Why a client property may not be set, or null when it may. */
    private static String managed(String key, String value) {
      String v = value.trim().toLowerCase(Locale.ROOT);
      return switch (key) {
        case "bootstrap.servers" -> "it is managed: use bootstrapServers()";
        case "key.serializer", "value.serializer", "key.deserializer", "value.deserializer" ->
            "the store writes and reads its own record format, so serializers are managed";
        case "acks" ->
            v.equals("all") || v.equals("-1")
                ? null
                : "it must be all: a write is durable only once every in-sync replica has it";
        case "enable.idempotence" ->
            v.equals("true")
                ? null
                : "it must be true: a retried write must not be duplicated or reordered";
        case "transactional.id" -> "the store does not write in transactions";
        case "group.id", "group.instance.id", "group.protocol" ->
            "the store reads every partition itself, without a consumer group";
        case "enable.auto.commit", "auto.offset.reset" ->
            "the store reads its topic from the beginning and commits nothing";
        default -> null;
      };
    }

    private static void checkDuration(
        List<String> errors, String option, Duration v, Duration min, Duration max) {
      if (v == null) {
        return;
      }
      if (v.compareTo(min) < 0 || v.compareTo(max) > 0) {
        errors.add(option + " was " + v + " but it must be between " + min + " and " + max);
      }
    }

    private static boolean portOk(String hostPort) {
      int colon = hostPort.lastIndexOf(':');
      try {
        int port = Integer.parseInt(hostPort.substring(colon + 1));
        return port >= 1 && port <= 65535;
      } catch (NumberFormatException e) {
        return false;
      }
    }
  }
}
