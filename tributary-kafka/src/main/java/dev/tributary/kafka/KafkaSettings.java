package dev.tributary.kafka;

import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.StreamFailureHandler;
import dev.tributary.spi.StreamProviderDirection;
import java.time.Duration;
import java.util.Map;

/**
 * The checked options of one {@link KafkaQueueAdapterFactory}. Options whose defaults depend on the
 * provider's agent options (maxBufferedRecordsPerPartition, revokeTimeout) are null until the
 * adapter resolves them.
 */
record KafkaSettings(
    String bootstrapServers,
    String groupId,
    Map<String, TopicConfig> topics,
    ConsumeMode consumeMode,
    ConsumeMode whenNoCommittedOffset,
    boolean staticAssignment,
    int consumerThreads,
    Integer maxBufferedRecordsPerPartition,
    long maxBufferedBytesPerPartition,
    Duration pollTimeout,
    Duration commitInterval,
    int commitEveryRecords,
    Duration revokeTimeout,
    Duration closeTimeout,
    Duration startupTimeout,
    Duration metadataRefreshInterval,
    Duration stallTimeout,
    BackoffPolicy retryBackoff,
    NullKeyPolicy nullKeyPolicy,
    String deadLetterTopic,
    TopicConfig deadLetterTopicConfig,
    FailureAction poisonRecords,
    FailureAction undeliverableEvents,
    boolean faultSubscriptionsOnError,
    StreamFailureHandler failureHandler,
    StreamProviderDirection direction,
    Map<String, String> consumerProperties,
    Map<String, String> producerProperties,
    Map<String, String> clientProperties,
    boolean consumerGroupProtocol,
    int maxConcurrentReplays,
    PartitionOwnershipListener ownershipListener,
    Duration ownershipTimeout) {

  @Override
  public String toString() {
    return "bootstrapServers="
        + bootstrapServers
        + ", groupId="
        + groupId
        + ", topics="
        + topics
        + ", consumeMode="
        + consumeMode
        + (staticAssignment ? ", staticAssignment" : "")
        + ", consumerThreads="
        + consumerThreads
        + ", maxConcurrentReplays="
        + maxConcurrentReplays
        + (deadLetterTopic == null ? "" : ", deadLetterTopic=" + deadLetterTopic);
  }
}
