package dev.tributary.kafka;

import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.Map;

/**
 * The validated, resolved options of one {@link KafkaPubSubStore}; immutable.
 *
 * @param replicationFactor -1 for the broker's default
 * @param topicConfigs the configs a created topic gets: the store's defaults, then the user's
 * @param meterRegistry null when the store reports no metrics
 */
record StoreSettings(
    String bootstrapServers,
    String topic,
    int partitions,
    short replicationFactor,
    boolean createTopic,
    Map<String, String> topicConfigs,
    Map<String, String> clientProperties,
    Duration startTimeout,
    Duration closeTimeout,
    Duration pollTimeout,
    MeterRegistry meterRegistry) {}
