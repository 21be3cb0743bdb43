package dev.tributary.kafka;

import dev.tributary.RetriableStreamingException;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.StreamingException;
import dev.tributary.spi.DeliveryFailure;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueAdapter;
import dev.tributary.spi.QueueAdapterReceiver;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamFailureHandler;
import dev.tributary.spi.StreamProviderDirection;
import io.micrometer.core.instrument.Meter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeTopicsOptions;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Kafka provider's adapter: produces events as records, runs the consumers whose fetched
 * records feed the partitions' receivers, and owns everything they share (partition states,
 * metrics, the dead-letter writer, the metadata check and the stall watchdog).
 *
 * <h2>Threading</h2>
 *
 * <ul>
 *   <li>Consumer threads ({@code tributary-<provider>-<n>-kafka-consumer-N}, {@link ConsumerLoop}):
 *       one per KafkaConsumer; fetch, decode, buffer, commit, rebalance.
 *   <li>The housekeeping thread: the partition-count check and the stall watchdog.
 *   <li>The producer thread: hands records to the KafkaProducer in submission order, for {@link
 *       #queueMessageBatch} and for dead letters, so that {@code KafkaProducer.send}, which blocks
 *       for up to {@code max.block.ms} when metadata is missing or its buffer is full, never blocks
 *       a caller. {@link #queueMessageBatch} itself is thread-safe and only serializes.
 *   <li>Agents' threads call the receivers, which never block.
 * </ul>
 *
 * <p>The partition registry is a concurrent map; each {@link PartitionState} documents its own
 * sharing. {@link #close()} runs after the runtime stopped every agent and closed the balancer.
 */
public final class KafkaQueueAdapter implements QueueAdapter {
  private static final Logger log = LoggerFactory.getLogger(KafkaQueueAdapter.class);
  private static final AtomicInteger CLIENT_SEQUENCE = new AtomicInteger();

  /**
   * How many events may wait for the producer thread before {@code onNext} fails fast: a bound on
   * memory while the cluster is unreachable.
   */
  static final int MAX_PENDING_SENDS = 100_000;

  /**
   * The heap a buffered record is reckoned to cost beyond its key, value and header bytes: the
   * container, its token, array headers and the ring slot come to about 100 bytes with compressed
   * pointers (254 bytes per cached 100-byte event in docs/benchmarks.md, cache entry included); 200
   * leaves room for keys whose stream id is not shared.
   */
  static final int RECORD_OVERHEAD_BYTES = 200;

  /** Where a partition starts; see {@link ConsumeMode}. */
  enum Start {
    COMMITTED,
    BEGINNING,
    END
  }

  private final KafkaSettings settings;
  private final ProviderContext context;
  private final String name;
  private final int maxBuffered;
  private final long maxBufferedBytes;
  private final Duration revokeTimeout;
  private final Admin admin;
  private final KafkaStreamQueueMapper mapper;
  private final Map<String, Integer> initialCounts;
  private final KafkaMetrics metrics;
  private final KafkaQueueBalancer balancer;
  private final ConcurrentHashMap<TopicPartition, PartitionState> registry =
      new ConcurrentHashMap<>();
  private final ConcurrentHashMap<PartitionState, List<Meter>> meters = new ConcurrentHashMap<>();
  private final Set<TopicPartition> modeApplied = ConcurrentHashMap.newKeySet();
  private final ScheduledThreadPoolExecutor housekeeping;
  private final ScheduledThreadPoolExecutor producerThread;
  private final java.util.concurrent.atomic.AtomicInteger pendingSends =
      new java.util.concurrent.atomic.AtomicInteger();
  private final DeadLetterWriter deadLetters;
  private final List<ConsumerLoop> loops = new ArrayList<>();
  private final String clientPrefix;
  private final java.util.function.IntFunction<
          org.apache.kafka.clients.consumer.Consumer<byte[], byte[]>>
      consumerFactory;
  private volatile Producer<byte[], byte[]> producer;
  private volatile boolean consumersStarted;
  private volatile boolean closing;
  private volatile boolean closed;

  private KafkaQueueAdapter(
      KafkaSettings settings,
      ProviderContext context,
      Admin admin,
      Map<String, Integer> partitionCounts,
      java.util.function.IntFunction<org.apache.kafka.clients.consumer.Consumer<byte[], byte[]>>
          consumerFactory) {
    this.settings = settings;
    this.consumerFactory =
        consumerFactory != null ? consumerFactory : i -> new KafkaConsumer<>(consumerProperties(i));
    this.context = context;
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
    this.clientPrefix = "tributary-" + name + "-" + CLIENT_SEQUENCE.incrementAndGet();
    this.housekeeping = daemonScheduler(clientPrefix + "-kafka-housekeeping");
    this.producerThread = daemonScheduler(clientPrefix + "-kafka-producer");
    this.deadLetters =
        settings.deadLetterTopic() == null
            ? null
            : new DeadLetterWriter(
                name,
                settings.groupId(),
                settings.deadLetterTopic(),
                this::producer,
                metrics,
                settings.retryBackoff(),
                producerThread);
  }

  private static ScheduledThreadPoolExecutor daemonScheduler(String threadName) {
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
    Admin admin;
    try {
      admin = Admin.create(adminProperties(settings, provider));
    } catch (KafkaException e) {
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
      adapter = new KafkaQueueAdapter(settings, context, admin, counts, null);
    } catch (RuntimeException e) {
      admin.close(Duration.ZERO);
      throw e;
    }
    try {
      adapter.warmUpProducer();
    } catch (RuntimeException e) {
      adapter.close();
      throw e;
    }
    adapter.startHousekeeping();
    if (settings.staticAssignment() && settings.direction().reads()) {
      adapter.startConsumers();
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
      java.util.function.IntFunction<org.apache.kafka.clients.consumer.Consumer<byte[], byte[]>>
          consumers) {
    return new KafkaQueueAdapter(settings, context, null, partitionCounts, consumers);
  }

  private static Map<String, Object> adminProperties(KafkaSettings s, String provider) {
    Map<String, Object> p = new HashMap<>(s.clientProperties());
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, s.bootstrapServers());
    p.putIfAbsent(AdminClientConfig.CLIENT_ID_CONFIG, "tributary-" + provider + "-admin");
    int timeout = (int) Math.min(Integer.MAX_VALUE, s.startupTimeout().toMillis());
    p.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeout);
    p.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeout);
    return p;
  }

  /** The properties of consumer {@code index}: the user's, then the ones the adapter manages. */
  Map<String, Object> consumerProperties(int index) {
    Map<String, Object> p = new HashMap<>(settings.clientProperties());
    p.putAll(settings.consumerProperties());
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, settings.groupId());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    // Kafka would apply a reset policy to positions that retention removed too, silently: the
    // consumer loops decide every start and restart themselves (see ConsumerLoop).
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
    p.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, clientPrefix + "-consumer-" + index);
    p.putIfAbsent(
        ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
        Integer.toString(KafkaQueueAdapterFactory.DEFAULT_FETCH_MAX_WAIT_MS));
    p.putIfAbsent(
        ConsumerConfig.METADATA_MAX_AGE_CONFIG,
        Long.toString(settings.metadataRefreshInterval().toMillis()));
    if (!settings.consumerGroupProtocol()) {
      p.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
      p.put(
          ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
          CooperativeStickyAssignor.class.getName());
    }
    return p;
  }

  private Map<String, Object> producerProperties() {
    Map<String, Object> p = new HashMap<>(settings.clientProperties());
    p.putAll(settings.producerProperties());
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
    p.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, clientPrefix + "-producer");
    return p;
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
                  + name
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
      producerThread.execute(() -> sendAll(streamId, records, acks));
    } catch (java.util.concurrent.RejectedExecutionException e) {
      pendingSends.addAndGet(-n);
      return CompletableFuture.failedFuture(
          new IllegalStateException("Kafka provider '" + name + "' is closed", e));
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
            + name
            + "' (bootstrapServers '"
            + settings.bootstrapServers()
            + "') failed: "
            + e;
    return e instanceof RetriableException
            || e instanceof org.apache.kafka.common.errors.TimeoutException
        ? new RetriableStreamingException(msg, e)
        : new StreamingException(msg, e);
  }

  /**
   * Creates the producer and loads the metadata of every topic it writes to, while the cluster is
   * known to be reachable: with metadata cached, {@code send} buffers records during a later outage
   * instead of blocking the caller for {@code max.block.ms} per record.
   */
  private void warmUpProducer() {
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
                + name
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

  Producer<byte[], byte[]> producer() {
    Producer<byte[], byte[]> p = producer;
    if (p != null) {
      return p;
    }
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("Kafka provider '" + name + "' is closed");
      }
      if (producer == null) {
        producer = new KafkaProducer<>(producerProperties());
      }
      return producer;
    }
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
   * True: a subscription may start from a past offset that is still in the agent's cache. Older
   * offsets report a cache miss and continue from the oldest cached event.
   */
  @Override
  public boolean isRewindable() {
    return true;
  }

  @Override
  public StreamProviderDirection direction() {
    return settings.direction();
  }

  // ---------------------------------------------------------------- consumers

  synchronized void startConsumers() {
    if (consumersStarted || closing) {
      return;
    }
    consumersStarted = true;
    for (int i = 0; i < settings.consumerThreads(); i++) {
      org.apache.kafka.clients.consumer.Consumer<byte[], byte[]> consumer =
          consumerFactory.apply(i);
      ConsumerLoop loop = new ConsumerLoop(this, consumer, clientPrefix + "-kafka-consumer-" + i);
      loops.add(loop);
    }
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

  /**
   * Turns a fetched record into a batch, or hands it to the poison policy and returns null. Runs on
   * a consumer thread; never throws.
   */
  KafkaBatchContainer decode(ConsumerRecord<byte[], byte[]> r, PartitionState state) {
    TopicConfig config = state.config;
    StreamId streamId;
    Object value;
    try {
      if (r.key() != null) {
        streamId = state.streamIds.idOf(r.key());
      } else {
        String key = settings.nullKeyPolicy().streamKey(r.topic(), r.partition());
        if (key == null) {
          throw new IllegalStateException("the nullKeyPolicy returned null");
        }
        streamId = StreamId.of(state.tp.topic(), key);
      }
      value = config.valueDeserializer().deserialize(r.topic(), r.headers(), r.value());
    } catch (Throwable t) {
      poison(r, state, t);
      return null;
    }
    return new KafkaBatchContainer(
        streamId,
        r.partition(),
        r.offset(),
        value,
        r.headers(),
        r.timestamp(),
        r.key(),
        r.value(),
        settings.undeliverableEvents() == FailureAction.DEAD_LETTER,
        sizeOf(r));
  }

  /**
   * What a decoded record is reckoned to occupy in memory: its serialized key, value and headers
   * plus {@link #RECORD_OVERHEAD_BYTES} for the container, its token and stream id. An estimate: a
   * deserializer may build a larger object than the bytes it read.
   */
  static int sizeOf(ConsumerRecord<byte[], byte[]> r) {
    long size =
        RECORD_OVERHEAD_BYTES
            + Math.max(0, r.serializedKeySize())
            + Math.max(0, r.serializedValueSize());
    for (Header h : r.headers().toArray()) {
      size += h.key().length() + (h.value() == null ? 0 : h.value().length) + 32;
    }
    return (int) Math.min(Integer.MAX_VALUE, size);
  }

  private void poison(ConsumerRecord<byte[], byte[]> r, PartitionState state, Throwable cause) {
    TopicPartition tp = state.tp;
    metrics.poison(tp);
    if (settings.poisonRecords() == FailureAction.DEAD_LETTER && deadLetters != null) {
      log.warn(
          "Provider {}: poison record {}@{} (value of {} bytes) could not be decoded; writing it to"
              + " dead-letter topic {}: {}",
          name,
          tp,
          r.offset(),
          r.value() == null ? 0 : r.value().length,
          deadLetters.topic(),
          cause.toString());
      deadLetters.send(
          state,
          "poison",
          r.topic(),
          r.partition(),
          r.offset(),
          r.timestamp(),
          r.key(),
          r.value(),
          r.headers().toArray(),
          cause,
          null,
          null);
    } else {
      metrics.skipped(tp, "poison");
      log.error(
          "Provider {}: poison record {}@{} could not be decoded and is skipped (poisonRecords ="
              + " SKIP); set deadLetterTopic to keep such records",
          name,
          tp,
          r.offset(),
          cause);
    }
  }

  /** Handles an event that no subscription could process; called on the agent's thread. */
  void undeliverable(KafkaBatchContainer k, DeliveryFailure failure) {
    TopicPartition tp = k.topicPartition();
    if (settings.undeliverableEvents() == FailureAction.DEAD_LETTER
        && deadLetters != null
        && k.hasRaw()) {
      // The pending dead letter holds the commit of the assignment that handed the record out;
      // an agent still stopping after a revoke must not hold a later assignment's commits.
      PartitionState state = registry.get(tp);
      deadLetters.send(
          state != null && state.handedOut(k) ? state : null,
          "undeliverable",
          k.topic(),
          k.partition(),
          k.offset(),
          k.timestampMillis(),
          k.rawKey(),
          k.rawValue(),
          k.rawHeaders(),
          failure.cause(),
          failure.subscriptionId(),
          k.streamId());
    } else {
      metrics.skipped(tp, "undeliverable");
      log.error(
          "Provider {}: record {}@{} of stream {} could not be delivered to subscription {} within"
              + " maxEventDeliveryTime and is skipped for it (undeliverableEvents = SKIP)",
          name,
          tp,
          k.offset(),
          k.streamId(),
          failure.subscriptionId(),
          failure.cause());
    }
  }

  // ---------------------------------------------------------------- housekeeping

  private void startHousekeeping() {
    long stallCheck = Math.max(50, Math.min(5_000, settings.stallTimeout().toMillis() / 4));
    housekeeping.scheduleWithFixedDelay(
        this::guardedWatchdog, stallCheck, stallCheck, TimeUnit.MILLISECONDS);
    long refresh = settings.metadataRefreshInterval().toMillis();
    housekeeping.scheduleWithFixedDelay(
        this::guardedMetadataCheck, refresh, refresh, TimeUnit.MILLISECONDS);
  }

  private void guardedWatchdog() {
    try {
      watchdog();
    } catch (Throwable t) {
      log.warn("Provider {}: the stall watchdog failed; it runs again", name, t);
    }
  }

  private void watchdog() {
    long now = System.nanoTime();
    for (PartitionState s : registry.values()) {
      long w = s.deliveredWatermark();
      long lag = s.lag();
      if (w != s.watchedWatermark || lag == 0 || s.watchedSinceNanos == 0) {
        s.watchedWatermark = w;
        s.watchedSinceNanos = now;
        if (s.stalled) {
          s.stalled = false;
          log.info("Provider {}: partition {} delivers again (lag {})", name, s.tp, lag);
        }
        continue;
      }
      if (!s.stalled && now - s.watchedSinceNanos >= settings.stallTimeout().toNanos()) {
        s.stalled = true;
        log.warn(
            "Provider {}: partition {} is stalled: lag {} records and nothing delivered for {}"
                + " (delivered watermark {}, committed {}). Why: {}",
            name,
            s.tp,
            lag,
            settings.stallTimeout(),
            w,
            s.committed,
            stallReason(s));
      }
    }
  }

  /** A human explanation of why a partition does not move. */
  String stallReason(PartitionState s) {
    ConsumerLoop loop = s.owner;
    String failing = loop == null ? null : loop.failure();
    if (failing != null) {
      return "its consumer is failing: " + failing;
    }
    if (s.pendingDeadLetters() > 0) {
      return s.pendingDeadLetters()
          + " dead letter(s) to "
          + settings.deadLetterTopic()
          + " are not written yet (see "
          + KafkaMetrics.DEAD_LETTER_FAILURES
          + ")";
    }
    if (s.paused) {
      return "paused by backpressure: "
          + s.bufferedCount
          + " records are buffered because the agent's cache is full; a slow or blocked"
          + " subscription holds the oldest cached events";
    }
    long oldest = s.oldestHandedOut();
    if (oldest >= 0) {
      return "waiting for subscriptions to acknowledge offset "
          + oldest
          + ": a handler is slow, blocked, or failing and being retried for up to"
          + " maxEventDeliveryTime";
    }
    if (s.bufferedCount > 0) {
      return s.bufferedCount + " records are buffered but the agent does not read them";
    }
    return "the consumer fetches nothing (broker or partition leader unavailable?)";
  }

  private void guardedMetadataCheck() {
    try {
      checkPartitionCounts();
    } catch (Throwable t) {
      log.debug("Provider {}: partition-count check failed; it runs again", name, t);
    }
  }

  private void checkPartitionCounts() throws Exception {
    int ms = (int) Math.min(Integer.MAX_VALUE, settings.metadataRefreshInterval().toMillis());
    Map<String, TopicDescription> d =
        admin
            .describeTopics(settings.topics().keySet(), new DescribeTopicsOptions().timeoutMs(ms))
            .allTopicNames()
            .get(ms, TimeUnit.MILLISECONDS);
    Map<String, Integer> counts = new HashMap<>();
    d.forEach((t, desc) -> counts.put(t, desc.partitions().size()));
    List<QueueId> added = mapper.grow(counts);
    if (added.isEmpty()) {
      return;
    }
    log.info("Provider {}: topics gained partitions {}", name, added);
    if (settings.staticAssignment() && balancer.isStarted()) {
      balancer.add(added);
    }
  }

  // ---------------------------------------------------------------- accessors

  KafkaSettings settings() {
    return settings;
  }

  KafkaMetrics metrics() {
    return metrics;
  }

  /** Failed polls so far, for tests. */
  double metricsPollErrorsForTest() {
    return context
        .meterRegistry()
        .get(KafkaMetrics.POLL_ERRORS)
        .tag("provider", name)
        .counter()
        .count();
  }

  KafkaStreamQueueMapper mapper() {
    return mapper;
  }

  KafkaQueueBalancer balancer() {
    return balancer;
  }

  KafkaQueueBalancer ownership() {
    return balancer;
  }

  Duration revokeTimeout() {
    return revokeTimeout;
  }

  StreamFailureHandler failureHandler(QueueId queueId) {
    return new KafkaFailureHandler(this);
  }

  ScheduledExecutorService housekeeping() {
    return housekeeping;
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
    housekeeping.shutdownNow();
    producerThread.shutdown();
    try {
      producerThread.awaitTermination(settings.closeTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    producerThread.shutdownNow();
    Producer<byte[], byte[]> p = producer;
    if (p != null) {
      try {
        p.close(settings.closeTimeout());
      } catch (Throwable t) {
        log.warn("Provider {}: closing the producer failed", name, t);
      }
    }
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
