package dev.tributary.kafka;

import dev.tributary.Incubating;
import dev.tributary.StreamProviderOptions;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueAdapter;
import dev.tributary.spi.QueueAdapterFactory;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.StreamFailureHandler;
import dev.tributary.spi.StreamProviderDirection;
import dev.tributary.spi.StreamQueueBalancer;
import dev.tributary.spi.StreamQueueMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;

/**
 * Builds Tributary's Kafka provider: topics become stream namespaces, record keys stream keys,
 * partitions queues, and the consumer group decides which node reads which partition.
 *
 * <pre>{@code
 * StreamRuntime runtime = StreamRuntime.builder()
 *     .addProvider("kafka", KafkaQueueAdapterFactory.builder()
 *         .bootstrapServers("localhost:9092")
 *         .consumerGroupId("orders-app")
 *         .topic("orders", TopicConfig.autoCreate(12, (short) 3).withValueSerde(Serdes.String()))
 *         .build())
 *     .implicitSubscription("kafka", "orders", id -> new OrderActor(id))
 *     .build();
 * }</pre>
 *
 * <p>Every option, its default and the reason for it are listed in {@code docs/kafka.md}. A factory
 * serves one provider of one runtime: {@link #createAdapter} may be called once.
 */
public final class KafkaQueueAdapterFactory implements QueueAdapterFactory {

  /** Default {@link Builder#consumerThreads}: one consumer per node. */
  public static final int DEFAULT_CONSUMER_THREADS = 1;

  /** Default {@link Builder#maxConcurrentReplays}: four replays from the partitions at once. */
  public static final int DEFAULT_MAX_CONCURRENT_REPLAYS = 4;

  /** Default floor of {@link Builder#maxBufferedRecordsPerPartition}: 10 000 records. */
  public static final int DEFAULT_MIN_BUFFERED_RECORDS = 10_000;

  /** Default {@link Builder#maxBufferedBytesPerPartition}: 8 MiB. */
  public static final long DEFAULT_MAX_BUFFERED_BYTES = 8L << 20;

  /**
   * The consumers' {@code fetch.max.wait.ms} unless set with {@link Builder#consumerProperty}: 50
   * ms instead of Kafka's 500; see {@code docs/kafka.md}, "Backpressure".
   */
  public static final int DEFAULT_FETCH_MAX_WAIT_MS = 50;

  /** Default {@link Builder#pollTimeout}: 100 ms. */
  public static final Duration DEFAULT_POLL_TIMEOUT = Duration.ofMillis(100);

  /** Default {@link Builder#commitInterval}: 1 s. */
  public static final Duration DEFAULT_COMMIT_INTERVAL = Duration.ofSeconds(1);

  /**
   * Default {@link Builder#commitEveryRecords}: 100 000 delivered records. Each commit costs the
   * broker a write to the offsets topic: at 10 000 the default comparison made ~150 commits a
   * second and lost a quarter of its throughput (docs/benchmarks.md, step 6).
   */
  public static final int DEFAULT_COMMIT_EVERY_RECORDS = 100_000;

  /** Default {@link Builder#closeTimeout}: 10 s. */
  public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(10);

  /** Default {@link Builder#startupTimeout}: 30 s. */
  public static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(30);

  /** Default {@link Builder#metadataRefreshInterval}: 30 s. */
  public static final Duration DEFAULT_METADATA_REFRESH_INTERVAL = Duration.ofSeconds(30);

  /** Default {@link Builder#stallTimeout}: 2 minutes. */
  public static final Duration DEFAULT_STALL_TIMEOUT = Duration.ofMinutes(2);

  /** Extra time {@link Builder#revokeTimeout} allows beyond the provider's drainTimeout: 5 s. */
  public static final Duration DEFAULT_REVOKE_MARGIN = Duration.ofSeconds(5);

  /** Default {@link Builder#partitionOwnershipTimeout}: 30 seconds. */
  public static final Duration DEFAULT_PARTITION_OWNERSHIP_TIMEOUT = Duration.ofSeconds(30);

  private final KafkaSettings settings;
  private volatile KafkaQueueAdapter adapter;

  private KafkaQueueAdapterFactory(KafkaSettings settings) {
    this.settings = settings;
  }

  /** Returns a builder. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Connects to the cluster, creates missing auto-create topics, checks the others and starts the
   * consumers of a static assignment.
   *
   * @throws dev.tributary.StreamingException when the cluster cannot be reached within {@code
   *     startupTimeout} or a topic that must exist does not
   * @throws IllegalStateException when the factory already serves a provider
   */
  @Override
  public synchronized QueueAdapter createAdapter(ProviderContext context) {
    if (adapter != null) {
      throw new IllegalStateException(
          "this KafkaQueueAdapterFactory already serves provider '"
              + adapter.name()
              + "'; build one factory per provider");
    }
    if (!settings.staticAssignment() && context.options().balancer() != null) {
      throw new IllegalArgumentException(
          "provider '"
              + context.providerName()
              + "' sets a balancer in its agent options, but its Kafka adapter uses consumer-group"
              + " membership to decide which node reads which partition, and the two would"
              + " disagree. Remove the balancer, or call KafkaQueueAdapterFactory.Builder"
              + ".staticAssignment() to let your balancer decide.");
    }
    adapter = KafkaQueueAdapter.start(settings, context);
    return adapter;
  }

  /** The mapper of the adapter; Kafka's default partitioner on the stream key. */
  @Override
  public StreamQueueMapper streamQueueMapper() {
    return requireAdapter("streamQueueMapper()").mapper();
  }

  /** Dead-letters or skips per {@link Builder#undeliverableEvents}, then runs the user handler. */
  @Override
  public StreamFailureHandler failureHandler(QueueId queueId) {
    return requireAdapter("failureHandler()").failureHandler(queueId);
  }

  /** The consumer group (or, with static assignment, every partition of the topics). */
  @Override
  public Optional<StreamQueueBalancer> queueBalancer() {
    return Optional.of(requireAdapter("queueBalancer()").balancer());
  }

  /**
   * The partitions this node reads now, for health checks and tests; empty before start and after
   * close.
   */
  public Set<QueueId> ownedPartitions() {
    KafkaQueueAdapter a = adapter;
    return a == null ? Set.of() : a.ownedPartitions();
  }

  /**
   * Decodes records of {@code topic} as this provider's consumers do: the stream from the key (or
   * the {@link Builder#nullKeyPolicy}), the value through the topic's deserializer, and the token,
   * headers and timestamp from the record; the raw bytes are kept when {@link
   * Builder#undeliverableEvents} is DEAD_LETTER. For tools that read the topics with a consumer of
   * their own, and for benchmarks of the decoding. Works before and without {@link #createAdapter}.
   *
   * <p>Where the consumers hand a record that cannot be decoded to {@link Builder#poisonRecords},
   * the function throws what the deserializer or the null-key policy threw, or an {@link
   * IllegalArgumentException} for a record of another topic. Each function shares the stream ids of
   * the keys it has seen, as a consumer does per partition, so confine it to one thread.
   *
   * @throws IllegalArgumentException when {@code topic} is not a topic of this factory
   */
  @Incubating
  public Function<ConsumerRecord<byte[], byte[]>, KafkaBatchContainer> recordDecoder(String topic) {
    TopicConfig config = settings.topics().get(topic);
    if (config == null) {
      throw new IllegalArgumentException(
          "topic '"
              + topic
              + "' is not a topic of this factory; its topics are "
              + settings.topics().keySet());
    }
    StreamIdTable streamIds = new StreamIdTable(topic);
    return r -> {
      if (!topic.equals(r.topic())) {
        throw new IllegalArgumentException(
            "a decoder of topic '" + topic + "' was given a record of topic '" + r.topic() + "'");
      }
      return RecordDecoder.decodeOrThrow(settings, r, topic, config, streamIds);
    };
  }

  KafkaSettings settings() {
    return settings;
  }

  /** The adapter, for tests in this package; null before createAdapter. */
  KafkaQueueAdapter adapter() {
    return adapter;
  }

  private KafkaQueueAdapter requireAdapter(String what) {
    KafkaQueueAdapter a = adapter;
    if (a == null) {
      throw new IllegalStateException(what + " was called before createAdapter()");
    }
    return a;
  }

  @Override
  public String toString() {
    return "KafkaQueueAdapterFactory{" + settings + "}";
  }

  /**
   * Builds a {@link KafkaQueueAdapterFactory}.
   *
   * <p>Setters only record; {@link #build()} checks every option and throws one {@link
   * IllegalArgumentException} that lists every problem (option, value, rule), so a misconfigured
   * deployment is fixed in one round trip instead of one per mistake. Each option may be set once.
   */
  public static final class Builder {

    private static final Pattern TOPIC_NAME = Pattern.compile("[a-zA-Z0-9._-]{1,249}");
    private static final Pattern HOST_PORT = Pattern.compile("\\[?[^\\s,\\[\\]]+\\]?:\\d{1,5}");

    private final List<String> problems = new ArrayList<>();
    private final Map<String, TopicConfig> topics = new LinkedHashMap<>();
    private final Map<String, String> consumerProperties = new LinkedHashMap<>();
    private final Map<String, String> producerProperties = new LinkedHashMap<>();
    private final Map<String, String> adminProperties = new LinkedHashMap<>();

    // Each option, typed; the name is only for messages.
    private final Option<String> bootstrapServers = new Option<>("bootstrapServers", String.class);
    private final Option<String> consumerGroupId = new Option<>("consumerGroupId", String.class);
    private final Option<ConsumeMode> consumeMode = new Option<>("consumeMode", ConsumeMode.class);
    private final Option<ConsumeMode> whenNoCommittedOffset =
        new Option<>("whenNoCommittedOffset", ConsumeMode.class);
    private final Option<Boolean> staticAssignment =
        new Option<>("staticAssignment", Boolean.class);
    private final Option<Integer> consumerThreads = new Option<>("consumerThreads", Integer.class);
    private final Option<Integer> maxConcurrentReplays =
        new Option<>("maxConcurrentReplays", Integer.class);
    private final Option<Integer> maxBufferedRecordsPerPartition =
        new Option<>("maxBufferedRecordsPerPartition", Integer.class);
    private final Option<Long> maxBufferedBytesPerPartition =
        new Option<>("maxBufferedBytesPerPartition", Long.class);
    private final Option<Duration> pollTimeout = new Option<>("pollTimeout", Duration.class);
    private final Option<Duration> commitInterval = new Option<>("commitInterval", Duration.class);
    private final Option<Integer> commitEveryRecords =
        new Option<>("commitEveryRecords", Integer.class);
    private final Option<Duration> revokeTimeout = new Option<>("revokeTimeout", Duration.class);
    private final Option<Duration> closeTimeout = new Option<>("closeTimeout", Duration.class);
    private final Option<Duration> startupTimeout = new Option<>("startupTimeout", Duration.class);
    private final Option<Duration> metadataRefreshInterval =
        new Option<>("metadataRefreshInterval", Duration.class);
    private final Option<Duration> stallTimeout = new Option<>("stallTimeout", Duration.class);
    private final Option<BackoffPolicy> retryBackoff =
        new Option<>("retryBackoff", BackoffPolicy.class);
    private final Option<NullKeyPolicy> nullKeyPolicy =
        new Option<>("nullKeyPolicy", NullKeyPolicy.class);
    private final Option<String> deadLetterTopic = new Option<>("deadLetterTopic", String.class);
    private final Option<FailureAction> poisonRecords =
        new Option<>("poisonRecords", FailureAction.class);
    private final Option<FailureAction> undeliverableEvents =
        new Option<>("undeliverableEvents", FailureAction.class);
    private final Option<Boolean> faultSubscriptionsOnError =
        new Option<>("faultSubscriptionsOnError", Boolean.class);
    private final Option<StreamFailureHandler> failureHandler =
        new Option<>("failureHandler", StreamFailureHandler.class);
    private final Option<StreamProviderDirection> direction =
        new Option<>("direction", StreamProviderDirection.class);
    private final Option<PartitionOwnershipListener> ownershipListener =
        new Option<>("partitionOwnershipListener", PartitionOwnershipListener.class);
    private final Option<Duration> ownershipTimeout =
        new Option<>("partitionOwnershipTimeout", Duration.class);

    /** The dead-letter topic's config, from the last deadLetterTopic call that had one. */
    private TopicConfig deadLetterTopicConfig;

    private Builder() {}

    /** Sets the brokers to bootstrap from, {@code host:port[,host:port...]}; required. */
    public Builder bootstrapServers(String servers) {
      assign(bootstrapServers, servers);
      return this;
    }

    /**
     * Sets the consumer group; required, also with {@link #staticAssignment()}, because the group
     * is where delivered offsets are committed.
     */
    public Builder consumerGroupId(String groupId) {
      assign(consumerGroupId, groupId);
      return this;
    }

    /** Adds a topic: its streams are namespace {@code name}; at least one topic is required. */
    public Builder topic(String name, TopicConfig config) {
      if (name == null) {
        problems.add("topic name was null but it must be a Kafka topic name");
        return this;
      }
      if (config == null) {
        problems.add("topic '" + name + "' had a null TopicConfig");
        return this;
      }
      if (topics.containsKey(name)) {
        problems.add("topic '" + name + "' was added twice");
        return this;
      }
      topics.put(name, config);
      return this;
    }

    /** Sets where a partition starts when this runtime first reads it [LAST_COMMITTED_MESSAGE]. */
    public Builder consumeMode(ConsumeMode mode) {
      assign(consumeMode, mode);
      return this;
    }

    /**
     * Sets where {@link ConsumeMode#LAST_COMMITTED_MESSAGE} starts a partition the group never
     * committed [STREAM_START: a new group reads the backlog instead of skipping it]; STREAM_START
     * or STREAM_END.
     */
    public Builder whenNoCommittedOffset(ConsumeMode mode) {
      assign(whenNoCommittedOffset, mode);
      return this;
    }

    /**
     * Reads every partition of the topics on this node, without group membership [off]. Offsets are
     * still committed to {@link #consumerGroupId}. Use it for a single node, or with a provider
     * balancer such as {@code StaticQueueBalancer.share(i, n)}.
     */
    public Builder staticAssignment() {
      assign(staticAssignment, Boolean.TRUE);
      return this;
    }

    /** Sets how many KafkaConsumers (each on its own thread) this node runs [1]; 1 to 64. */
    public Builder consumerThreads(int threads) {
      assign(consumerThreads, threads);
      return this;
    }

    /**
     * Sets how many replays from the partitions this node runs at once [4]; 1 to 256. A
     * subscription whose token is older than its agent's cache reads the partition again with a
     * KafkaConsumer of its own (assign and seek, outside the group); beyond this many, replays wait
     * for one to finish ({@code tributary.kafka.replays.queued}).
     */
    @Incubating
    public Builder maxConcurrentReplays(int replays) {
      assign(maxConcurrentReplays, replays);
      return this;
    }

    /**
     * Sets how many fetched records a partition buffers for its agent before it is paused [the
     * larger of 10 000 and twice the cache's bucket size, cacheSize / 10]; at least 1. A paused
     * partition resumes when its buffer is half empty by records and by bytes.
     */
    public Builder maxBufferedRecordsPerPartition(int records) {
      assign(maxBufferedRecordsPerPartition, records);
      return this;
    }

    /**
     * Sets how many bytes of fetched records a partition buffers for its agent before it is paused
     * [8 MiB]; 1 KiB to 1 GiB. A record counts its serialized key, value and headers plus about 200
     * bytes of overhead. A paused partition resumes when its buffer is half empty by records and by
     * bytes.
     */
    public Builder maxBufferedBytesPerPartition(long bytes) {
      assign(maxBufferedBytesPerPartition, bytes);
      return this;
    }

    /**
     * Sets how long one poll waits when no partition has data [100 ms]; 1 ms to 10 s. It bounds how
     * quickly an idle consumer notices commits due, resumes and shutdown; it does not delay
     * records, which poll returns as soon as they arrive.
     */
    public Builder pollTimeout(Duration timeout) {
      assign(pollTimeout, timeout);
      return this;
    }

    /** Sets how often delivered offsets are committed [1 s]; 10 ms to 1 h. */
    public Builder commitInterval(Duration interval) {
      assign(commitInterval, interval);
      return this;
    }

    /**
     * Commits early once this many records were delivered since the last commit [100 000]; >= 1. It
     * bounds redelivery after a crash by count where {@link #commitInterval} bounds it by time;
     * every commit is a write on the broker, so low values cost throughput.
     */
    public Builder commitEveryRecords(int records) {
      assign(commitEveryRecords, records);
      return this;
    }

    /**
     * Sets how long a revoked partition waits for its agent to drain and stop before its offset is
     * committed and it is released [the provider's drainTimeout + 5 s]; at least 1 ms.
     */
    public Builder revokeTimeout(Duration timeout) {
      assign(revokeTimeout, timeout);
      return this;
    }

    /**
     * Sets how long closing waits for the final commit and for each Kafka client to close, and how
     * long a synchronous commit may take [10 s]; at least 1 ms.
     */
    public Builder closeTimeout(Duration timeout) {
      assign(closeTimeout, timeout);
      return this;
    }

    /**
     * Sets how long start-up may take to reach the cluster and check or create the topics [30 s];
     * 100 ms to 10 min.
     */
    public Builder startupTimeout(Duration timeout) {
      assign(startupTimeout, timeout);
      return this;
    }

    /**
     * Sets how often the topics' partition counts are checked, so that added partitions are read
     * [30 s]; 100 ms to 1 h.
     */
    public Builder metadataRefreshInterval(Duration interval) {
      assign(metadataRefreshInterval, interval);
      return this;
    }

    /**
     * Sets how long a partition with lag may go without delivering anything before it is reported
     * stalled, with a WARN log saying why [2 min]; 100 ms to 1 day.
     */
    public Builder stallTimeout(Duration timeout) {
      assign(stallTimeout, timeout);
      return this;
    }

    /**
     * Sets the backoff after a failed poll and between attempts to write a dead letter [exponential
     * 100 ms .. 10 s with jitter].
     */
    public Builder retryBackoff(BackoffPolicy backoff) {
      assign(retryBackoff, backoff);
      return this;
    }

    /** Sets the stream key of records without a key [{@link NullKeyPolicy#perPartition()}]. */
    public Builder nullKeyPolicy(NullKeyPolicy policy) {
      assign(nullKeyPolicy, policy);
      return this;
    }

    /**
     * Sets the dead-letter topic, which must exist [none]. Poison records and undeliverable events
     * go there by default once it is set.
     */
    public Builder deadLetterTopic(String name) {
      return deadLetterTopic(name, TopicConfig.existing());
    }

    /** Sets the dead-letter topic and how to create it. */
    public Builder deadLetterTopic(String name, TopicConfig config) {
      assign(deadLetterTopic, name);
      if (config == null) {
        problems.add("deadLetterTopic '" + name + "' had a null TopicConfig");
      } else {
        deadLetterTopicConfig = config;
      }
      return this;
    }

    /**
     * Sets what happens to a record whose value cannot be deserialized [DEAD_LETTER when a
     * dead-letter topic is set, else SKIP].
     */
    public Builder poisonRecords(FailureAction action) {
      assign(poisonRecords, action);
      return this;
    }

    /**
     * Sets what happens to an event that a subscription failed to process within {@code
     * maxEventDeliveryTime} [DEAD_LETTER when a dead-letter topic is set, else SKIP].
     */
    public Builder undeliverableEvents(FailureAction action) {
      assign(undeliverableEvents, action);
      return this;
    }

    /**
     * Faults an explicit subscription after an undeliverable event instead of skipping the event
     * for it [false]; implicit subscriptions are never faulted.
     */
    public Builder faultSubscriptionsOnError(boolean fault) {
      assign(faultSubscriptionsOnError, fault);
      return this;
    }

    /** Adds a handler called after the adapter's own handling of an undeliverable event [none]. */
    public Builder failureHandler(StreamFailureHandler handler) {
      assign(failureHandler, handler);
      return this;
    }

    /**
     * Sets who is told when this node gains and loses partitions [{@link
     * PartitionOwnershipListener#NONE}]; its {@code onAssigned} stage holds the delivery of the new
     * partitions back until it completes.
     */
    @Incubating
    public Builder partitionOwnershipListener(PartitionOwnershipListener listener) {
      assign(ownershipListener, listener);
      return this;
    }

    /**
     * Sets how long newly assigned partitions wait at most for the ownership listener's {@code
     * onAssigned} stage before they deliver anyway, with a WARN log [30 s]; 1 ms to 1 h.
     */
    @Incubating
    public Builder partitionOwnershipTimeout(Duration timeout) {
      assign(ownershipTimeout, timeout);
      return this;
    }

    /** Sets whether the provider consumes, produces or both [READ_WRITE]. */
    public Builder direction(StreamProviderDirection direction) {
      assign(this.direction, direction);
      return this;
    }

    /**
     * Passes a property to the KafkaConsumers (e.g. {@code max.poll.records}). Properties the
     * adapter manages are refused unless consistent with it; see {@code docs/kafka.md}.
     */
    public Builder consumerProperty(String key, String value) {
      return property(consumerProperties, "consumerProperty", key, value);
    }

    /** Passes a property to the KafkaProducer (e.g. {@code linger.ms}). */
    public Builder producerProperty(String key, String value) {
      return property(producerProperties, "producerProperty", key, value);
    }

    /**
     * Passes a property to every client, consumer, producer and admin (e.g. {@code
     * security.protocol}, {@code sasl.jaas.config}); client-specific properties win.
     */
    public Builder clientProperty(String key, String value) {
      return property(adminProperties, "clientProperty", key, value);
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

    private <T> void assign(Option<T> option, T value) {
      if (option.set) {
        problems.add(option.name + " was set twice ('" + option.value + "', then '" + value + "')");
        return;
      }
      option.set = true;
      option.value = value;
    }

    /**
     * Checks every option and builds the factory.
     *
     * @throws IllegalArgumentException listing every problem found, each with option, value and
     *     rule
     */
    public KafkaQueueAdapterFactory build() {
      List<String> errors = new ArrayList<>(problems);
      String servers = string(errors, bootstrapServers, true);
      if (servers != null) {
        for (String s : servers.split(",", -1)) {
          if (!HOST_PORT.matcher(s.trim()).matches() || !portOk(s.trim())) {
            errors.add(
                "bootstrapServers was '"
                    + servers
                    + "' but each entry must be host:port with a port from 1 to 65535 ('"
                    + s.trim()
                    + "' is not)");
            break;
          }
        }
      }
      String groupId = string(errors, consumerGroupId, true);
      if (topics.isEmpty()) {
        errors.add(
            "no topic was added but at least one is required: call topic(name, TopicConfig)");
      }
      for (Map.Entry<String, TopicConfig> e : topics.entrySet()) {
        checkTopic(errors, "topic", e.getKey(), e.getValue());
      }
      ConsumeMode mode = present(errors, consumeMode);
      ConsumeMode noCommit = present(errors, whenNoCommittedOffset);
      if (noCommit == ConsumeMode.LAST_COMMITTED_MESSAGE) {
        errors.add(
            "whenNoCommittedOffset was LAST_COMMITTED_MESSAGE but it must be STREAM_START or"
                + " STREAM_END: it says where to start when there is no committed offset");
      }
      boolean staticAssignment = this.staticAssignment.set;
      Integer threads = intRange(errors, consumerThreads, 1, 64);
      Integer replays = intRange(errors, maxConcurrentReplays, 1, 256);
      Integer maxBuffered = intRange(errors, maxBufferedRecordsPerPartition, 1, 10_000_000);
      Long maxBufferedBytes = longRange(errors, maxBufferedBytesPerPartition, 1L << 10, 1L << 30);
      Duration pollTimeout =
          duration(errors, this.pollTimeout, Duration.ofMillis(1), Duration.ofSeconds(10));
      Duration commitInterval =
          duration(errors, this.commitInterval, Duration.ofMillis(10), Duration.ofHours(1));
      Integer commitEvery = intRange(errors, commitEveryRecords, 1, Integer.MAX_VALUE);
      Duration revokeTimeout =
          duration(errors, this.revokeTimeout, Duration.ofMillis(1), Duration.ofDays(1));
      Duration closeTimeout =
          duration(errors, this.closeTimeout, Duration.ofMillis(1), Duration.ofDays(1));
      Duration startupTimeout =
          duration(errors, this.startupTimeout, Duration.ofMillis(100), Duration.ofMinutes(10));
      Duration metadataRefresh =
          duration(errors, metadataRefreshInterval, Duration.ofMillis(100), Duration.ofHours(1));
      Duration stallTimeout =
          duration(errors, this.stallTimeout, Duration.ofMillis(100), Duration.ofDays(1));
      BackoffPolicy retryBackoff = present(errors, this.retryBackoff);
      NullKeyPolicy nullKeyPolicy = present(errors, this.nullKeyPolicy);
      String dlt = string(errors, deadLetterTopic, false);
      TopicConfig dltConfig = deadLetterTopicConfig;
      if (dlt != null) {
        checkTopic(errors, "deadLetterTopic", dlt, dltConfig);
        if (topics.containsKey(dlt)) {
          errors.add(
              "deadLetterTopic was '"
                  + dlt
                  + "' but it must not be one of the consumed topics: a record that fails there"
                  + " would be dead-lettered into itself forever");
        }
      }
      FailureAction poison = present(errors, poisonRecords);
      FailureAction undeliverable = present(errors, undeliverableEvents);
      FailureAction defaultAction = dlt != null ? FailureAction.DEAD_LETTER : FailureAction.SKIP;
      poison = poison != null ? poison : defaultAction;
      undeliverable = undeliverable != null ? undeliverable : defaultAction;
      if (dlt == null && poison == FailureAction.DEAD_LETTER) {
        errors.add(
            "poisonRecords was DEAD_LETTER but no deadLetterTopic was set: set"
                + " deadLetterTopic(name) or use FailureAction.SKIP");
      }
      if (dlt == null && undeliverable == FailureAction.DEAD_LETTER) {
        errors.add(
            "undeliverableEvents was DEAD_LETTER but no deadLetterTopic was set: set"
                + " deadLetterTopic(name) or use FailureAction.SKIP");
      }
      Boolean fault = present(errors, faultSubscriptionsOnError);
      StreamFailureHandler userHandler = present(errors, failureHandler);
      StreamProviderDirection direction = present(errors, this.direction);
      PartitionOwnershipListener listener = present(errors, ownershipListener);
      Duration ownershipWait =
          duration(errors, ownershipTimeout, Duration.ofMillis(1), Duration.ofHours(1));
      checkManaged(errors, "consumerProperty", consumerProperties, groupId, true);
      checkManaged(errors, "producerProperty", producerProperties, groupId, false);
      checkManaged(errors, "clientProperty", adminProperties, groupId, true);
      checkManaged(errors, "clientProperty", adminProperties, groupId, false);
      String protocol =
          consumerProperties.getOrDefault(
              "group.protocol", adminProperties.getOrDefault("group.protocol", "classic"));
      if (!protocol.equalsIgnoreCase("classic") && !protocol.equalsIgnoreCase("consumer")) {
        errors.add(
            "consumerProperty(group.protocol) was '"
                + protocol
                + "' but it must be 'classic' or 'consumer'");
      }
      if (protocol.equalsIgnoreCase("consumer")
          && consumerProperties.containsKey("partition.assignment.strategy")) {
        errors.add(
            "consumerProperty(partition.assignment.strategy) was set but group.protocol is"
                + " 'consumer', where the broker assigns partitions; remove it");
      }
      if (!errors.isEmpty()) {
        List<String> unique = dedupe(errors);
        StringBuilder sb =
            new StringBuilder("Invalid KafkaQueueAdapterFactory configuration (")
                .append(unique.size())
                .append(unique.size() == 1 ? " problem):" : " problems):");
        for (String e : unique) {
          sb.append("\n  - ").append(e);
        }
        throw new IllegalArgumentException(sb.toString());
      }
      KafkaSettings s =
          new KafkaSettings(
              servers.trim(),
              groupId,
              Collections.unmodifiableMap(new LinkedHashMap<>(topics)),
              mode != null ? mode : ConsumeMode.LAST_COMMITTED_MESSAGE,
              noCommit != null ? noCommit : ConsumeMode.STREAM_START,
              staticAssignment,
              threads != null ? threads : DEFAULT_CONSUMER_THREADS,
              maxBuffered,
              maxBufferedBytes != null ? maxBufferedBytes : DEFAULT_MAX_BUFFERED_BYTES,
              pollTimeout != null ? pollTimeout : DEFAULT_POLL_TIMEOUT,
              commitInterval != null ? commitInterval : DEFAULT_COMMIT_INTERVAL,
              commitEvery != null ? commitEvery : DEFAULT_COMMIT_EVERY_RECORDS,
              revokeTimeout,
              closeTimeout != null ? closeTimeout : DEFAULT_CLOSE_TIMEOUT,
              startupTimeout != null ? startupTimeout : DEFAULT_STARTUP_TIMEOUT,
              metadataRefresh != null ? metadataRefresh : DEFAULT_METADATA_REFRESH_INTERVAL,
              stallTimeout != null ? stallTimeout : DEFAULT_STALL_TIMEOUT,
              retryBackoff != null
                  ? retryBackoff
                  : BackoffPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(10)),
              nullKeyPolicy != null ? nullKeyPolicy : NullKeyPolicy.perPartition(),
              dlt,
              dlt == null ? null : dltConfig,
              poison,
              undeliverable,
              fault != null && fault,
              userHandler,
              direction != null ? direction : StreamProviderDirection.READ_WRITE,
              Map.copyOf(consumerProperties),
              Map.copyOf(producerProperties),
              Map.copyOf(adminProperties),
              protocol.equalsIgnoreCase("consumer"),
              replays != null ? replays : DEFAULT_MAX_CONCURRENT_REPLAYS,
              listener != null ? listener : PartitionOwnershipListener.NONE,
              ownershipWait != null ? ownershipWait : DEFAULT_PARTITION_OWNERSHIP_TIMEOUT);
      return new KafkaQueueAdapterFactory(s);
    }

    private static List<String> dedupe(List<String> errors) {
      return new ArrayList<>(new java.util.LinkedHashSet<>(errors));
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

    private void checkTopic(List<String> errors, String option, String name, TopicConfig config) {
      if (!TOPIC_NAME.matcher(name).matches() || name.equals(".") || name.equals("..")) {
        errors.add(
            option
                + " name was '"
                + name
                + "' but a Kafka topic name must be 1 to 249 characters of [a-zA-Z0-9._-] and not"
                + " '.' or '..'");
      }
      if (config == null || !config.isAutoCreate()) {
        return;
      }
      if (config.partitions() < 1) {
        errors.add(
            option
                + " '"
                + name
                + "': partitions was "
                + config.partitions()
                + " but it must be at least 1");
      }
      if (config.replicationFactor() < 1 && config.replicationFactor() != -1) {
        errors.add(
            option
                + " '"
                + name
                + "': replicationFactor was "
                + config.replicationFactor()
                + " but it must be at least 1, or -1 for the broker's default");
      }
    }

    private void checkManaged(
        List<String> errors,
        String option,
        Map<String, String> props,
        String groupId,
        boolean consumer) {
      for (Map.Entry<String, String> e : props.entrySet()) {
        String k = e.getKey();
        String v = e.getValue();
        String prefix = option + "(" + k + ") was '" + v + "' but ";
        switch (k) {
          case "bootstrap.servers" -> errors.add(prefix + "it is managed: use bootstrapServers()");
          case "key.deserializer", "key.serializer" ->
              errors.add(
                  prefix
                      + "stream keys are always UTF-8 strings, so the key serde is managed by the"
                      + " adapter");
          case "value.deserializer", "value.serializer" ->
              errors.add(
                  prefix
                      + "values are read per topic: use TopicConfig.withValueSerde(...) or"
                      + " withValueDeserializer/withValueSerializer");
          default -> {
            if (!consumer) {
              break;
            }
            switch (k) {
              case "group.id" -> {
                if (!v.equals(groupId)) {
                  errors.add(prefix + "it is managed: use consumerGroupId()");
                }
              }
              case "enable.auto.commit" -> {
                if (!v.equalsIgnoreCase("false")) {
                  errors.add(
                      prefix
                          + "it must be false: the adapter commits only what was delivered, and"
                          + " auto-commit would commit what was merely fetched");
                }
              }
              case "auto.offset.reset" ->
                  errors.add(
                      prefix + "it is managed: use consumeMode() and whenNoCommittedOffset()");
              case "partition.assignment.strategy" -> {
                if (!isCooperativeSticky(v)) {
                  errors.add(
                      prefix
                          + "it must be "
                          + CooperativeStickyAssignor.class.getName()
                          + ": the adapter hands partitions over incrementally (cooperative"
                          + " rebalancing) and commits before it releases them");
                }
              }
              default -> {}
            }
          }
        }
      }
    }

    private static boolean isCooperativeSticky(String v) {
      String t = v.trim();
      return t.equals(CooperativeStickyAssignor.class.getName())
          || t.equals(CooperativeStickyAssignor.COOPERATIVE_STICKY_ASSIGNOR_NAME);
    }

    private String string(List<String> errors, Option<String> option, boolean required) {
      if (!option.set) {
        if (required) {
          errors.add(option.name + " was not set but it is required");
        }
        return null;
      }
      String v = option.value;
      if (v == null || v.isBlank()) {
        errors.add(option.name + " was '" + v + "' but it must be a non-blank string");
        return null;
      }
      return v;
    }

    /** The option's value; null when it was not set, or set to null (which is a problem). */
    private static <T> T present(List<String> errors, Option<T> option) {
      if (!option.set) {
        return null;
      }
      if (option.value == null) {
        errors.add(
            option.name + " was null but it must be set to a " + option.type.getSimpleName());
      }
      return option.value;
    }

    private static Integer intRange(List<String> errors, Option<Integer> option, int min, int max) {
      Integer v = present(errors, option);
      if (v != null && (v < min || v > max)) {
        errors.add(
            option.name
                + " was "
                + v
                + " but it must be "
                + (max == Integer.MAX_VALUE
                    ? "at least " + min
                    : "between " + min + " and " + max));
        return null;
      }
      return v;
    }

    private static Long longRange(List<String> errors, Option<Long> option, long min, long max) {
      Long v = present(errors, option);
      if (v != null && (v < min || v > max)) {
        errors.add(option.name + " was " + v + " but it must be between " + min + " and " + max);
        return null;
      }
      return v;
    }

    private static Duration duration(
        List<String> errors, Option<Duration> option, Duration min, Duration max) {
      Duration v = present(errors, option);
      if (v != null && (v.compareTo(min) < 0 || v.compareTo(max) > 0)) {
        errors.add(option.name + " was " + v + " but it must be between " + min + " and " + max);
        return null;
      }
      return v;
    }

    /**
     * One option of the builder: whether it was set and to what. {@code name} and {@code type} only
     * word the messages; which option a setter sets is this field, so a misspelt one does not
     * compile.
     */
    private static final class Option<T> {
      final String name;
      final Class<T> type;
      boolean set;
      T value;

      Option(String name, Class<T> type) {
        this.name = name;
        this.type = type;
      }
    }
  }

  /**
   * The buffer bound in records: the configured value, else the larger of 10 000 and two cache
   * buckets, so that at least two agent reads are always buffered.
   */
  static int resolvedMaxBuffered(KafkaSettings s, StreamProviderOptions options) {
    return s.maxBufferedRecordsPerPartition() != null
        ? s.maxBufferedRecordsPerPartition()
        : Math.max(DEFAULT_MIN_BUFFERED_RECORDS, 2 * Math.max(options.cacheSize() / 10, 1));
  }
}
