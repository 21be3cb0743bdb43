package dev.tributary.kafka;

import dev.tributary.EventSequenceToken;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamingException;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueAdapter;
import dev.tributary.spi.QueueAdapterReceiver;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.QueueReplay;
import dev.tributary.spi.RuntimeTime;
import dev.tributary.spi.StreamFailureHandler;
import dev.tributary.spi.StreamProviderDirection;
import io.micrometer.core.instrument.Meter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka provider's adapter: the {@link QueueAdapter} the runtime sees, and the owner that wires
 * the parts below, keeps the registry of partition states and runs the lifecycle (start, consumers,
 * close).
 *
 * <h2>Parts and their threads</h2>
 *
 * <ul>
 *   <li>{@link ConsumerLoop}: one per KafkaConsumer, each on its consumer thread ({@code
 *       tributary-<provider>-<n>-kafka-consumer-N}); fetch, buffer, commit, rebalance. It decodes
 *       with the {@link RecordDecoder}, which hands poison records to the {@link DeadLetterWriter}.
 *   <li>{@link KafkaEventWriter}: the producer and the producer thread ({@code
 *       tributary-<provider>-<n>-kafka-producer}), for {@link #queueMessageBatch} and, shared, for
 *       dead letters. {@link #queueMessageBatch} itself is thread-safe and only serializes.
 *   <li>{@link PartitionHousekeeping}: the stall watchdog and the partition-count check on the
 *       housekeeping thread ({@code tributary-<provider>-<n>-kafka-housekeeping}).
 *   <li>{@link KafkaClientProperties}: what each client is created with.
 *   <li>{@link KafkaQueueBalancer}: which partitions this node owns; {@link KafkaFailureHandler}:
 *       undeliverable events, on the agents' threads. Agents' threads also call the receivers,
 *       which never block.
 * </ul>
 *
 * <p>The partition registry is a concurrent map; each {@link PartitionState} documents its own
 * sharing. This object's monitor guards the list of consumer loops and the closing and closed
 * flags; under it the consumers are created and their loops started, nothing else is called. {@link
 * #close()} runs after the runtime stopped every agent and closed the balancer.
 */
public final class KafkaQueueAdapter implements QueueAdapter {
  private static final Logger log = LoggerFactory.getLogger(KafkaQueueAdapter.class);
  private static final AtomicInteger CLIENT_SEQUENCE = new AtomicInteger();

  /** Where a partition starts; see {@link ConsumeMode}. */
  enum Start {
    COMMITTED,
    BEGINNING,
    END
  }

  private final KafkaSettings settings;
  private final RuntimeTime time;
  private final String name;
  private final int maxBuffered;
  private final long maxBufferedBytes;
  private final Duration revokeTimeout;
  private final Admin admin;
  private final KafkaStreamQueueMapper mapper;
  private final Map<String, Integer> initialCounts;
  private final KafkaMetrics metrics;
  private final KafkaQueueBalancer balancer;
  private final OwnershipNotifier ownership;
  private final ConcurrentHashMap<TopicPartition, PartitionState> registry =
      new ConcurrentHashMap<>();
  private final ConcurrentHashMap<PartitionState, List<Meter>> meters = new ConcurrentHashMap<>();
  private final Set<TopicPartition> modeApplied = ConcurrentHashMap.newKeySet();
  private final String clientPrefix;
  private final KafkaClientProperties clientProperties;
  private final KafkaEventWriter writer;
  private final DeadLetterWriter deadLetters;
  private final RecordDecoder decoder;
  private final PartitionHousekeeping housekeeping;
  private final KafkaReplays replays;
  private final List<Meter> replayMeters;
  private final KafkaClientMeters clientMeters;
  private final List<ConsumerLoop> loops = new ArrayList<>();

  /** The consumer loops once started, for health; never changes afterwards. */
  private volatile List<ConsumerLoop> loopsView = List.of();

  private final IntFunction<Consumer<byte[], byte[]>> consumerFactory;
  private volatile boolean consumersStarted;
  private volatile boolean closing;
  private volatile boolean closed;

  private KafkaQueueAdapter(
      KafkaSettings settings,
      ProviderContext context,
      String clientPrefix,
      KafkaClientProperties clientProperties,
      Admin admin,
      Map<String, Integer> partitionCounts,
      IntFunction<Consumer<byte[], byte[]>> consumerFactory,
      IntFunction<Consumer<byte[], byte[]>> replayConsumerFactory) {
    this.settings = settings;
    this.time = context.time();
    this.name = context.providerName();
    this.maxBuffered = KafkaQueueAdapterFactory.resolvedMaxBuffered(settings, context.options());
    this.maxBufferedBytes = settings.maxBufferedBytesPerPartition();
    this.revokeTimeout =
        settings.revokeTimeout() != null
            ? settings.revokeTimeout()
            : context.options().drainTimeout().plus(KafkaQueueAdapterFactory.DEFAULT_REVOKE_MARGIN);
    this.admin = admin;
    this.initialCounts = Map.copyOf(partitionCounts);
    this.mapper = new KafkaStreamQueueMapper(name, partitionCounts, settings.nullKeyPolicy());
    this.metrics = new KafkaMetrics(context.meterRegistry(), name);
    this.balancer = new KafkaQueueBalancer(this);
    this.ownership =
        new OwnershipNotifier(
            name, settings.ownershipListener(), settings.ownershipTimeout(), context.time());
    this.clientPrefix = clientPrefix;
    this.clientProperties = clientProperties;
    this.consumerFactory = consumerFactory;
    this.housekeeping =
        new PartitionHousekeeping(
            name,
            settings,
            admin,
            mapper,
            balancer,
            registry.values(),
            context.time(),
            clientPrefix + "-kafka-housekeeping");
    this.writer =
        new KafkaEventWriter(name, settings, clientProperties, clientPrefix + "-kafka-producer");
    this.deadLetters =
        settings.deadLetterTopic() == null
            ? null
            : new DeadLetterWriter(
                name,
                settings.groupId(),
                settings.deadLetterTopic(),
                writer::producer,
                metrics,
                settings.retryBackoff(),
                time,
                writer.thread());
    this.decoder = new RecordDecoder(name, settings, metrics, deadLetters);
    this.replays =
        new KafkaReplays(
            this,
            settings.maxConcurrentReplays(),
            clientPrefix + "-kafka-replay",
            replayConsumerFactory != null
                ? replayConsumerFactory
                : i -> new KafkaConsumer<>(clientProperties.replayConsumer(i)));
    this.replayMeters = metrics.register(replays);
    this.clientMeters =
        new KafkaClientMeters(context.meterRegistry(), name, housekeeping.scheduler());
  }

  /** A one-thread scheduler whose daemon thread is called {@code threadName}. */
  static ScheduledThreadPoolExecutor daemonScheduler(String threadName) {
    ScheduledThreadPoolExecutor s =
        new ScheduledThreadPoolExecutor(
            1,
            r -> {
              Thread t = new Thread(r, threadName);
              t.setDaemon(true);
              return t;
            });
    s.setRemoveOnCancelPolicy(true);
    return s;
  }

  /** Connects, checks the topics and, for static assignment, starts the consumers. */
  static KafkaQueueAdapter start(KafkaSettings settings, ProviderContext context) {
    String provider = context.providerName();
    String clientPrefix = nextClientPrefix(provider);
    KafkaClientProperties clientProperties = new KafkaClientProperties(settings, clientPrefix);
    // Built while the topics are checked below; see EarlyConsumers.
    EarlyConsumers early =
        settings.direction().reads()
            ? new EarlyConsumers(
                settings.consumerThreads(),
                i -> new KafkaConsumer<>(clientProperties.consumer(i)),
                clientPrefix + "-kafka-consumer-setup")
            : null;
    Admin admin;
    try {
      admin = Admin.create(KafkaClientProperties.admin(settings, provider));
    } catch (KafkaException e) {
      closeUnused(early);
      throw new StreamingException(
          "Kafka provider '"
              + provider
              + "' cannot create a client for bootstrapServers '"
              + settings.bootstrapServers()
              + "': "
              + e.getMessage()
              + (e.getCause() == null ? "" : " (" + e.getCause().getMessage() + ")")
              + ". Check the host names and the client properties.",
          e);
    }
    KafkaQueueAdapter adapter;
    try {
      Map<String, Integer> counts = TopicSetup.run(admin, settings, provider);
      adapter =
          new KafkaQueueAdapter(
              settings, context, clientPrefix, clientProperties, admin, counts, early, null);
    } catch (RuntimeException e) {
      closeUnused(early);
      admin.close(Duration.ZERO);
      throw e;
    }
    try {
      adapter.writer.warmUp();
      if (settings.direction().writes() || settings.deadLetterTopic() != null) {
        // warmUp created it: the producer exists from start on.
        adapter.clientMeters.bind(adapter.writer.producer());
      }
    } catch (RuntimeException e) {
      adapter.close();
      throw e;
    }
    adapter.housekeeping.start();
    if (settings.staticAssignment() && settings.direction().reads()) {
      try {
        adapter.startConsumers();
      } catch (RuntimeException e) {
        adapter.close(); // the runtime never sees this adapter, so nothing else would close it
        throw e;
      }
    }
    log.info(
        "Kafka provider {} ready: {} topic(s) {}, group {}, {}",
        provider,
        settings.topics().size(),
        adapter.mapper.partitionCounts(),
        settings.groupId(),
        settings.staticAssignment() ? "static assignment" : "consumer-group assignment");
    return adapter;
  }

  /**
   * An adapter over consumers from {@code consumers} (Kafka's MockConsumer in unit tests), with no
   * admin client, producer or housekeeping.
   */
  static KafkaQueueAdapter forTest(
      KafkaSettings settings,
      ProviderContext context,
      Map<String, Integer> partitionCounts,
      IntFunction<Consumer<byte[], byte[]>> consumers) {
    return forTest(settings, context, partitionCounts, consumers, null);
  }

  /**
   * As {@link #forTest(KafkaSettings, ProviderContext, Map, IntFunction)}, with replay consumers.
   */
  static KafkaQueueAdapter forTest(
      KafkaSettings settings,
      ProviderContext context,
      Map<String, Integer> partitionCounts,
      IntFunction<Consumer<byte[], byte[]>> consumers,
      IntFunction<Consumer<byte[], byte[]>> replayConsumers) {
    String prefix = nextClientPrefix(context.providerName());
    return new KafkaQueueAdapter(
        settings,
        context,
        prefix,
        new KafkaClientProperties(settings, prefix),
        null,
        partitionCounts,
        consumers,
        replayConsumers);
  }

  /** The prefix of every client of a new adapter: {@code tributary-<provider>-<n>}. */
  private static String nextClientPrefix(String provider) {
    return "tributary-" + provider + "-" + CLIENT_SEQUENCE.incrementAndGet();
  }

  private static void closeUnused(EarlyConsumers early) {
    if (early != null) {
      early.closeUnused();
    }
  }

  // ---------------------------------------------------------------- QueueAdapter

  @Override
  public String name() {
    return name;
  }

  /**
   * Writes each event as one record keyed by the stream key, through Kafka's default partitioner,
   * so the record lands where {@link KafkaStreamQueueMapper} and any other Kafka producer put that
   * key. Events of one call go to the same partition in order; each becomes its own batch with its
   * own offset. The stage completes when the broker acknowledged every record (per {@code acks},
   * {@code all} by default).
   */
  @Override
  public CompletionStage<Void> queueMessageBatch(
      StreamId streamId, List<?> events, StreamSequenceToken token, Map<String, byte[]> headers) {
    String topic = streamId.namespace();
    TopicConfig config = settings.topics().get(topic);
    if (config == null) {
      return CompletableFuture.failedFuture(
          new StreamingException(
              KafkaStreamQueueMapper.unknownTopic(name, streamId, settings.topics().keySet())));
    }
    if (token != null) {
      return CompletableFuture.failedFuture(
          new IllegalArgumentException(
              "Kafka assigns offsets itself; token must be null but was " + token));
    }
    if (closing) {
      return CompletableFuture.failedFuture(
          new IllegalStateException("Kafka provider '" + name + "' is closed"));
    }
    return writer.write(streamId, config, events, headers);
  }

  @Override
  public QueueAdapterReceiver createReceiver(QueueId queueId) {
    if (!settings.topics().containsKey(queueId.prefix())) {
      throw new IllegalArgumentException(
          "queue " + queueId + " is not a partition of a topic of provider '" + name + "'");
    }
    return new KafkaAdapterReceiver(this, new TopicPartition(queueId.prefix(), queueId.index()));
  }

  /**
   * True: a subscription may start from any retained offset. One the agent's cache still covers is
   * served from there; an older one replays the partition with a consumer of its own ({@link
   * KafkaReplay}) until it meets the cache.
   */
  @Override
  public boolean isRewindable() {
    return true;
  }

  @Override
  public QueueReplay openReplay(QueueId queueId, StreamId streamId, StreamSequenceToken from) {
    if (closing
        || !settings.topics().containsKey(queueId.prefix())
        || !queueId.prefix().equals(streamId.namespace())) {
      return null;
    }
    return replays.open(
        new TopicPartition(queueId.prefix(), queueId.index()), streamId, from.sequenceNumber());
  }

  /** The offset of the first record at or after {@code time}, by {@code offsetsForTimes}. */
  @Override
  public CompletionStage<StreamSequenceToken> tokenAt(QueueId queueId, Instant time) {
    if (admin == null || !settings.topics().containsKey(queueId.prefix())) {
      return QueueAdapter.super.tokenAt(queueId, time);
    }
    TopicPartition tp = new TopicPartition(queueId.prefix(), queueId.index());
    CompletableFuture<StreamSequenceToken> out = new CompletableFuture<>();
    admin
        .listOffsets(Map.of(tp, OffsetSpec.forTimestamp(time.toEpochMilli())))
        .partitionResult(tp)
        .whenComplete(
            (r, e) -> {
              if (e != null) {
                out.completeExceptionally(
                    new StreamingException(
                        "Kafka provider '"
                            + name
                            + "' could not look up the offset of "
                            + tp
                            + " at "
                            + time
                            + ": "
                            + e.getMessage(),
                        e));
              } else {
                out.complete(r.offset() < 0 ? null : new EventSequenceToken(r.offset()));
              }
            });
    return out;
  }

  @Override
  public StreamProviderDirection direction() {
    return settings.direction();
  }

  // ---------------------------------------------------------------- health

  /**
   * DOWN while the broker does not answer the periodic partition-count check, or while every
   * consumer fails to poll; DEGRADED while some consumer fails, has not returned from poll for
   * long, or its commits fail. Details: group, assignment, consumers. Any thread; reads what the
   * consumer and housekeeping threads published.
   */
  @Override
  public dev.tributary.spi.AdapterHealth health() {
    return KafkaHealth.adapter(this, loopsSnapshot());
  }

  /** The partition's stall, pause, consumer failure, lag and offsets. Any thread. */
  @Override
  public dev.tributary.spi.QueueHealthReport queueHealth(QueueId queueId) {
    PartitionState s = registry.get(new TopicPartition(queueId.prefix(), queueId.index()));
    return KafkaHealth.partition(this, s);
  }

  private List<ConsumerLoop> loopsSnapshot() {
    return loopsView;
  }

  /** The Kafka clients' metrics bound to the registry. */
  KafkaClientMeters clientMeters() {
    return clientMeters;
  }

  // ---------------------------------------------------------------- consumers

  synchronized void startConsumers() {
    if (consumersStarted || closing) {
      return;
    }
    consumersStarted = true;
    for (int i = 0; i < settings.consumerThreads(); i++) {
      Consumer<byte[], byte[]> consumer = consumerFactory.apply(i);
      clientMeters.bind(consumer);
      ConsumerLoop loop = new ConsumerLoop(this, consumer, clientPrefix + "-kafka-consumer-" + i);
      loops.add(loop);
    }
    loopsView = List.copyOf(loops);
    for (ConsumerLoop loop : loops) {
      loop.start();
    }
  }

  /** Final commits and consumer shutdown; idempotent. Called after the agents stopped. */
  void stopConsumers() {
    List<ConsumerLoop> toStop;
    synchronized (this) {
      if (closing) {
        return;
      }
      closing = true;
      toStop = List.copyOf(loops);
    }
    if (consumerFactory instanceof EarlyConsumers early) {
      early.closeUnused(); // built, but the balancer never started them
    }
    if (deadLetters != null) {
      // Dead letters still in flight hold their partition's commit back; give them a moment.
      int left = deadLetters.awaitIdle(settings.closeTimeout().dividedBy(2));
      if (left > 0) {
        log.warn(
            "Provider {}: {} dead letter(s) still unwritten at close; their records are read"
                + " again after a restart",
            name,
            left);
      }
    }
    for (ConsumerLoop loop : toStop) {
      loop.stop();
    }
    for (ConsumerLoop loop : toStop) {
      if (!loop.awaitStopped(settings.closeTimeout().multipliedBy(3))) {
        log.warn("Provider {}: {} did not stop in time", name, loop.name());
      }
    }
  }

  ConsumerLoop loopFor(TopicPartition tp) {
    synchronized (this) {
      if (loops.isEmpty()) {
        throw new IllegalStateException(
            "Kafka provider '" + name + "' has no running consumers (closed or write-only)");
      }
      int i = Math.floorMod(tp.topic().hashCode() * 31 + tp.partition(), loops.size());
      return loops.get(i);
    }
  }

  boolean isClosing() {
    return closing;
  }

  // ---------------------------------------------------------------- partitions

  PartitionState state(TopicPartition tp) {
    return registry.get(tp);
  }

  /**
   * Registers a new state of {@code tp}, owned by {@code owner}. A state of {@code tp} that is
   * still registered is closed and replaced: with several consumers on a node, the group can assign
   * a partition to one of them before the one that had it hears that it lost it, and the newer
   * assignment is the one that counts.
   */
  PartitionState newState(TopicPartition tp, ConsumerLoop owner) {
    boolean discovered = tp.partition() >= initialCounts.getOrDefault(tp.topic(), 0);
    PartitionState s =
        new PartitionState(
            tp, settings.topics().get(tp.topic()), maxBuffered, maxBufferedBytes, discovered);
    s.owner = owner;
    PartitionState old = registry.put(tp, s);
    if (old != null) {
      closeState(old);
    }
    meters.put(s, metrics.register(s));
    return s;
  }

  /**
   * Closes {@code s} for the consumer loop that owns it and unregisters it unless another loop's
   * state replaced it already; a loop never drops a state it does not own.
   */
  void dropState(PartitionState s, ConsumerLoop caller) {
    if (s.owner != caller) {
      log.error(
          "Provider {}: {} tried to drop the state of {} owned by {}; ignored",
          name,
          caller == null ? "static assignment" : caller.name(),
          s.tp,
          s.owner == null ? "static assignment" : s.owner.name());
      return;
    }
    dropState(s);
  }

  /** Closes {@code s} and unregisters it unless another state of its partition replaced it. */
  void dropState(PartitionState s) {
    registry.remove(s.tp, s);
    closeState(s);
  }

  private void closeState(PartitionState s) {
    s.closed = true;
    s.dataListener = null;
    List<Meter> m = meters.remove(s);
    if (m != null) {
      metrics.remove(m);
    }
  }

  /**
   * Decides where {@code tp} starts; {@code hasCommitted} is null when that is unknown, and then
   * {@link Start#COMMITTED} means the decision needs it (ask again once it is known).
   */
  Start startFor(TopicPartition tp, PartitionState state, Boolean hasCommitted) {
    boolean first = !state.discoveredAtRuntime && modeApplied.add(tp);
    ConsumeMode mode = settings.consumeMode();
    if (first && mode == ConsumeMode.STREAM_START) {
      return Start.BEGINNING;
    }
    if (first && mode == ConsumeMode.STREAM_END) {
      return Start.END;
    }
    if (Boolean.FALSE.equals(hasCommitted)) {
      // Partitions added while we ran must not skip what was written to them before we noticed.
      return state.discoveredAtRuntime || settings.whenNoCommittedOffset() != ConsumeMode.STREAM_END
          ? Start.BEGINNING
          : Start.END;
    }
    return Start.COMMITTED;
  }

  /** The partitions this node reads now (not those still waiting for their committed offset). */
  Set<QueueId> ownedPartitions() {
    Set<QueueId> out = new TreeSet<>();
    for (PartitionState s : registry.values()) {
      ConsumerLoop owner = s.owner;
      if (!s.closed && (owner == null || !owner.awaitsStart(s.tp))) {
        out.add(s.queueId);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- accessors

  KafkaSettings settings() {
    return settings;
  }

  /** The provider's time ({@code ProviderContext.time()}): commit intervals and housekeeping. */
  RuntimeTime time() {
    return time;
  }

  KafkaMetrics metrics() {
    return metrics;
  }

  /** The properties each Kafka client is created with. */
  KafkaClientProperties clientProperties() {
    return clientProperties;
  }

  /** The decoder of fetched records, for the consumer loops. */
  RecordDecoder decoder() {
    return decoder;
  }

  /** The dead-letter writer, or null without a dead-letter topic. */
  DeadLetterWriter deadLetters() {
    return deadLetters;
  }

  /** The stall watchdog and the partition-count check. */
  PartitionHousekeeping housekeeping() {
    return housekeeping;
  }

  KafkaStreamQueueMapper mapper() {
    return mapper;
  }

  /** Which partitions this node owns; also the provider's queue balancer. */
  KafkaQueueBalancer balancer() {
    return balancer;
  }

  /** The partition ownership listener, for the consumer loops. */
  OwnershipNotifier ownership() {
    return ownership;
  }

  Duration revokeTimeout() {
    return revokeTimeout;
  }

  StreamFailureHandler failureHandler(QueueId queueId) {
    return new KafkaFailureHandler(this);
  }

  // ---------------------------------------------------------------- close

  /**
   * Stops the consumers (final commits), then the producer, the admin client and the adapter's
   * threads. Idempotent; the runtime calls it after every agent stopped.
   */
  @Override
  public void close() {
    stopConsumers();
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    replays.close();
    metrics.remove(replayMeters);
    clientMeters.close();
    housekeeping.close();
    writer.close();
    try {
      if (admin != null) {
        admin.close(settings.closeTimeout());
      }
    } catch (Throwable t) {
      log.warn("Provider {}: closing the admin client failed", name, t);
    }
    for (PartitionState s : List.copyOf(registry.values())) {
      dropState(s);
    }
    metrics.close();
    log.info("Kafka provider {} closed", name);
  }

  @Override
  public String toString() {
    return "KafkaQueueAdapter{" + name + ", " + settings + "}";
  }
}
