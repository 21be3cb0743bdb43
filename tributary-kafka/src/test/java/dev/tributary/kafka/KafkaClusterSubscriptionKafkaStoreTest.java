package dev.tributary.kafka;

import static dev.tributary.kafka.KafkaTestSupport.unique;

import dev.tributary.spi.PubSubStore;

/**
 * The scenarios of {@link KafkaClusterSubscriptionHandOverTest} with a {@link KafkaPubSubStore} of
 * each node's own on one compacted topic: what nodes in separate JVMs share. The handshake, the
 * hand-over and the unsubscribe then travel through the broker.
 */
class KafkaClusterSubscriptionKafkaStoreTest extends KafkaClusterSubscriptionHandOverTest {
  final String storeTopic = unique("subscriptions");

  @Override
  PubSubStore storeOf(String node) {
    return KafkaPubSubStore.builder()
        .bootstrapServers(broker.bootstrapServers())
        .topic(storeTopic)
        .build();
  }
}
