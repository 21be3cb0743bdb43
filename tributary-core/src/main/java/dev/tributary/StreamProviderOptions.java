package dev.tributary;

import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.SimpleQueueAdapterCache;
import dev.tributary.spi.StreamQueueBalancer;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * How a provider's pulling agents read, cache and deliver. Immutable; see {@code
 * docs/configuration.md} for why each default is what it is.
 */
public final class StreamProviderOptions {

  /** Default {@link Builder#getQueueMessagesTimerPeriod}: 100 ms. */
  public static final Duration DEFAULT_TIMER_PERIOD = Duration.ofMillis(100);

  /** Default {@link Builder#cacheSize}: 4096 batches per queue. */
  public static final int DEFAULT_CACHE_SIZE = 4096;

  /** Default {@link Builder#batchContainerBatchSize}: 1. */
  public static final int DEFAULT_BATCH_CONTAINER_BATCH_SIZE = 1;

  /** Default {@link Builder#maxEventDeliveryTime}: 1 minute. */
  public static final Duration DEFAULT_MAX_EVENT_DELIVERY_TIME = Duration.ofMinutes(1);

  /** Default {@link Builder#streamInactivityPeriod}: 30 minutes. */
  public static final Duration DEFAULT_STREAM_INACTIVITY_PERIOD = Duration.ofMinutes(30);

  /** Default {@link Builder#initQueueTimeout}: 5 seconds. */
  public static final Duration DEFAULT_INIT_QUEUE_TIMEOUT = Duration.ofSeconds(5);

  /** Default {@link Builder#subscribeTimeout}: 30 seconds. */
  public static final Duration DEFAULT_SUBSCRIBE_TIMEOUT = Duration.ofSeconds(30);

  /** Default {@link Builder#drainTimeout}: 30 seconds. */
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);

  /** Default {@link Builder#maxReadAttempts}: 6. */
  public static final int DEFAULT_MAX_READ_ATTEMPTS = 6;

  /** Default {@link Builder#stallThreshold}: 1 minute. */
  public static final Duration DEFAULT_STALL_THRESHOLD = Duration.ofMinutes(1);

  private final Duration timerPeriod;
  private final int cacheSize;
  private final int batchContainerBatchSize;
  private final Duration maxEventDeliveryTime;
  private final Duration streamInactivityPeriod;
  private final Duration initQueueTimeout;
  private final Duration subscribeTimeout;
  private final Duration drainTimeout;
  private final int maxReadAttempts;
  private final Duration stallThreshold;
  private final BackoffPolicy deliveryBackoff;
  private final BackoffPolicy readBackoff;
  private final Supplier<StreamQueueBalancer> balancer;

  private StreamProviderOptions(Builder b) {
    timerPeriod = or(b.timerPeriod, DEFAULT_TIMER_PERIOD);
    cacheSize = b.cacheSize != null ? b.cacheSize : DEFAULT_CACHE_SIZE;
    batchContainerBatchSize =
        b.batchContainerBatchSize != null
            ? b.batchContainerBatchSize
            : DEFAULT_BATCH_CONTAINER_BATCH_SIZE;
    maxEventDeliveryTime = or(b.maxEventDeliveryTime, DEFAULT_MAX_EVENT_DELIVERY_TIME);
    streamInactivityPeriod = or(b.streamInactivityPeriod, DEFAULT_STREAM_INACTIVITY_PERIOD);
    initQueueTimeout = or(b.initQueueTimeout, DEFAULT_INIT_QUEUE_TIMEOUT);
    subscribeTimeout = or(b.subscribeTimeout, DEFAULT_SUBSCRIBE_TIMEOUT);
    drainTimeout = or(b.drainTimeout, DEFAULT_DRAIN_TIMEOUT);
    maxReadAttempts = b.maxReadAttempts != null ? b.maxReadAttempts : DEFAULT_MAX_READ_ATTEMPTS;
    stallThreshold = or(b.stallThreshold, DEFAULT_STALL_THRESHOLD);
    deliveryBackoff =
        or(
            b.deliveryBackoff,
            BackoffPolicy.exponential(Duration.ofSeconds(1), Duration.ofSeconds(30)));
    readBackoff =
        or(b.readBackoff, BackoffPolicy.exponential(Duration.ofMillis(100), Duration.ofSeconds(5)));
    balancer = b.balancer;
  }

  private static <T> T or(T value, T fallback) {
    return value != null ? value : fallback;
  }

  /** Returns a builder with every option at its default. */
  public static Builder builder() {
    return new Builder();
  }

  /** The options with every default. */
  public static StreamProviderOptions defaults() {
    return new Builder().build();
  }

  /** How often an idle agent reads its queue when the receiver does not signal data. */
  public Duration getQueueMessagesTimerPeriod() {
    return timerPeriod;
  }

  /** How many batches each queue's cache holds. */
  public int cacheSize() {
    return cacheSize;
  }

  /** How many queue batches one delivery call carries. */
  public int batchContainerBatchSize() {
    return batchContainerBatchSize;
  }

  /** How long an event is retried for one subscription before the failure handler decides. */
  public Duration maxEventDeliveryTime() {
    return maxEventDeliveryTime;
  }

  /** How long a stream without events and deliveries stays in an agent's memory. */
  public Duration streamInactivityPeriod() {
    return streamInactivityPeriod;
  }

  /** How long a receiver may take to initialize before the agent retries. */
  public Duration initQueueTimeout() {
    return initQueueTimeout;
  }

  /** How long {@code subscribe} waits for an agent of this node to own the stream's queue. */
  public Duration subscribeTimeout() {
    return subscribeTimeout;
  }

  /** How long {@code close} waits for in-flight deliveries. */
  public Duration drainTimeout() {
    return drainTimeout;
  }

  /** How many times a failing read is retried with {@link #readBackoff()} before the next tick. */
  public int maxReadAttempts() {
    return maxReadAttempts;
  }

  /**
   * How long a queue's cache may stay full with nothing acknowledged before health reports the
   * queue stalled (DEGRADED).
   */
  @Incubating
  public Duration stallThreshold() {
    return stallThreshold;
  }

  /** Delay between retries of a failed delivery. */
  public BackoffPolicy deliveryBackoff() {
    return deliveryBackoff;
  }

  /** Delay between retries of a failed read. */
  public BackoffPolicy readBackoff() {
    return readBackoff;
  }

  /** The balancer factory, or null for the adapter's or the static all-queues balancer. */
  public Supplier<StreamQueueBalancer> balancer() {
    return balancer;
  }

  @Override
  public String toString() {
    return "StreamProviderOptions{timerPeriod="
        + timerPeriod
        + ", cacheSize="
        + cacheSize
        + ", batchContainerBatchSize="
        + batchContainerBatchSize
        + ", maxEventDeliveryTime="
        + maxEventDeliveryTime
        + ", streamInactivityPeriod="
        + streamInactivityPeriod
        + ", initQueueTimeout="
        + initQueueTimeout
        + ", subscribeTimeout="
        + subscribeTimeout
        + ", drainTimeout="
        + drainTimeout
        + ", maxReadAttempts="
        + maxReadAttempts
        + ", stallThreshold="
        + stallThreshold
        + "}";
  }

  /**
   * Builds {@link StreamProviderOptions}. Each option may be set once; each setter checks its value
   * at once and names the rule it broke.
   */
  public static final class Builder {
    private Duration timerPeriod;
    private Integer cacheSize;
    private Integer batchContainerBatchSize;
    private Duration maxEventDeliveryTime;
    private Duration streamInactivityPeriod;
    private Duration initQueueTimeout;
    private Duration subscribeTimeout;
    private Duration drainTimeout;
    private Integer maxReadAttempts;
    private Duration stallThreshold;
    private BackoffPolicy deliveryBackoff;
    private BackoffPolicy readBackoff;
    private Supplier<StreamQueueBalancer> balancer;

    private Builder() {}

    /** Sets how often an idle agent reads [100 ms]; at least 1 ms. */
    public Builder getQueueMessagesTimerPeriod(Duration period) {
      once("getQueueMessagesTimerPeriod", timerPeriod);
      timerPeriod = atLeast("getQueueMessagesTimerPeriod", period, Duration.ofMillis(1));
      return this;
    }

    /** Sets each queue's cache size in batches [4096]; at least 16. */
    public Builder cacheSize(int size) {
      once("cacheSize", cacheSize);
      if (size < SimpleQueueAdapterCache.MIN_CACHE_SIZE) {
        throw new IllegalArgumentException(
            "cacheSize was "
                + size
                + " but it must be at least "
                + SimpleQueueAdapterCache.MIN_CACHE_SIZE);
      }
      cacheSize = size;
      return this;
    }

    /** Sets how many queue batches one delivery carries [1]; 1 to 10000. */
    public Builder batchContainerBatchSize(int size) {
      once("batchContainerBatchSize", batchContainerBatchSize);
      if (size < 1 || size > 10_000) {
        throw new IllegalArgumentException(
            "batchContainerBatchSize was " + size + " but it must be between 1 and 10000");
      }
      batchContainerBatchSize = size;
      return this;
    }

    /** Sets how long a failing event is retried per subscription [1 min]; at least 0. */
    public Builder maxEventDeliveryTime(Duration time) {
      once("maxEventDeliveryTime", maxEventDeliveryTime);
      maxEventDeliveryTime = atLeast("maxEventDeliveryTime", time, Duration.ZERO);
      return this;
    }

    /** Sets how long an idle stream is remembered [30 min]; at least 1 ms. */
    public Builder streamInactivityPeriod(Duration period) {
      once("streamInactivityPeriod", streamInactivityPeriod);
      streamInactivityPeriod = atLeast("streamInactivityPeriod", period, Duration.ofMillis(1));
      return this;
    }

    /** Sets how long a receiver may take to initialize [5 s]; at least 1 ms. */
    public Builder initQueueTimeout(Duration timeout) {
      once("initQueueTimeout", initQueueTimeout);
      initQueueTimeout = atLeast("initQueueTimeout", timeout, Duration.ofMillis(1));
      return this;
    }

    /** Sets how long subscribe waits for an owning agent [30 s]; at least 1 ms. */
    public Builder subscribeTimeout(Duration timeout) {
      once("subscribeTimeout", subscribeTimeout);
      subscribeTimeout = atLeast("subscribeTimeout", timeout, Duration.ofMillis(1));
      return this;
    }

    /** Sets how long close waits for in-flight deliveries [30 s]; at least 0. */
    public Builder drainTimeout(Duration timeout) {
      once("drainTimeout", drainTimeout);
      drainTimeout = atLeast("drainTimeout", timeout, Duration.ZERO);
      return this;
    }

    /** Sets how many times a failing read is retried before the next tick [6]; 1 to 100. */
    public Builder maxReadAttempts(int attempts) {
      once("maxReadAttempts", maxReadAttempts);
      if (attempts < 1 || attempts > 100) {
        throw new IllegalArgumentException(
            "maxReadAttempts was " + attempts + " but it must be between 1 and 100");
      }
      maxReadAttempts = attempts;
      return this;
    }

    /**
     * Sets how long a queue's cache may stay full (reading paused by backpressure) with nothing
     * acknowledged before health reports the queue stalled [1 min]; at least 1 ms.
     */
    @Incubating
    public Builder stallThreshold(Duration threshold) {
      once("stallThreshold", stallThreshold);
      stallThreshold = atLeast("stallThreshold", threshold, Duration.ofMillis(1));
      return this;
    }

    /** Sets the backoff between delivery retries [exponential 1 s .. 30 s with jitter]. */
    public Builder deliveryBackoff(BackoffPolicy policy) {
      once("deliveryBackoff", deliveryBackoff);
      deliveryBackoff =
          Objects.requireNonNull(policy, "deliveryBackoff was null but it must be set");
      return this;
    }

    /** Sets the backoff between read retries [exponential 100 ms .. 5 s with jitter]. */
    public Builder readBackoff(BackoffPolicy policy) {
      once("readBackoff", readBackoff);
      readBackoff = Objects.requireNonNull(policy, "readBackoff was null but it must be set");
      return this;
    }

    /**
     * Sets the queue balancer [the adapter's, else all queues]. A supplier, because a balancer
     * belongs to one runtime.
     */
    public Builder balancer(Supplier<StreamQueueBalancer> balancerFactory) {
      once("balancer", balancer);
      balancer = Objects.requireNonNull(balancerFactory, "balancer was null but it must be set");
      return this;
    }

    /** Builds the options; unset options take their defaults. */
    public StreamProviderOptions build() {
      return new StreamProviderOptions(this);
    }

    private static void once(String name, Object current) {
      if (current != null) {
        throw new IllegalStateException(name + " was already set to " + current);
      }
    }

    private static Duration atLeast(String name, Duration value, Duration min) {
      if (value == null) {
        throw new NullPointerException(name + " was null but it must be a duration >= " + min);
      }
      if (value.compareTo(min) < 0) {
        throw new IllegalArgumentException(
            name + " was " + value + " but it must be at least " + min);
      }
      return value;
    }
  }
}
