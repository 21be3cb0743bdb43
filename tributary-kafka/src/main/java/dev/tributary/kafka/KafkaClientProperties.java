package dev.tributary.kafka;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The properties of one provider's Kafka clients: the user's ({@code clientProperty}, then the
 * client-specific ones, which win), then the ones the adapter manages (docs/kafka.md, "Client
 * properties the adapter manages").
 *
 * <p>Immutable; each call returns a new map. The admin client's are built before the adapter exists
 * (start-up checks the topics with it), the consumers' by the consumer loops' creator and the
 * producer's by {@link KafkaEventWriter}, on whatever thread creates the client.
 */
final class KafkaClientProperties {

  private final KafkaSettings settings;
  private final String clientPrefix;

  /**
   * {@code clientPrefix} ({@code tributary-<provider>-<n>}) starts the client ids the adapter sets
   * unless the user does.
   */
  KafkaClientProperties(KafkaSettings settings, String clientPrefix) {
    this.settings = settings;
    this.clientPrefix = clientPrefix;
  }

  /** The admin client's properties; its timeouts are the startup timeout. */
  static Map<String, Object> admin(KafkaSettings s, String provider) {
    Map<String, Object> p = new HashMap<>(s.clientProperties());
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, s.bootstrapServers());
    p.putIfAbsent(AdminClientConfig.CLIENT_ID_CONFIG, "tributary-" + provider + "-admin");
    int timeout = (int) Math.min(Integer.MAX_VALUE, s.startupTimeout().toMillis());
    p.putIfAbsent(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, timeout);
    p.putIfAbsent(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, timeout);
    return p;
  }

  /** The properties of consumer {@code index}: the user's, then the ones the adapter manages. */
  Map<String, Object> consumer(int index) {
    Map<String, Object> p = reader();
    p.put(ConsumerConfig.GROUP_ID_CONFIG, settings.groupId());
    p.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, clientPrefix + "-consumer-" + index);
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

  /**
   * The properties of the consumer of replay {@code index}: the user's, then assign-only ones: no
   * group (it never joins, commits or rebalances), no automatic offset reset (a position retention
   * removed must be reported, not skipped silently).
   */
  Map<String, Object> replayConsumer(int index) {
    Map<String, Object> p = reader();
    p.remove(ConsumerConfig.GROUP_ID_CONFIG);
    p.remove(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG);
    p.remove(ConsumerConfig.GROUP_PROTOCOL_CONFIG);
    p.remove(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG);
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, clientPrefix + "-replay-" + index);
    return p;
  }

  /**
   * What every consumer of the adapter is created with: the user's properties, then the managed
   * ones: bytes in (the adapter decodes), no auto-commit, and no automatic offset reset: Kafka
   * would apply a reset policy to positions that retention removed too, silently, so the adapter
   * decides every start and restart itself (see ConsumerLoop and KafkaReplay).
   */
  private Map<String, Object> reader() {
    Map<String, Object> p = new HashMap<>(settings.clientProperties());
    p.putAll(settings.consumerProperties());
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "none");
    p.putIfAbsent(
        ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG,
        Integer.toString(KafkaQueueAdapterFactory.DEFAULT_FETCH_MAX_WAIT_MS));
    return p;
  }

  /** The producer's properties: {@code acks=all} unless the user sets it. */
  Map<String, Object> producer() {
    Map<String, Object> p = new HashMap<>(settings.clientProperties());
    p.putAll(settings.producerProperties());
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, settings.bootstrapServers());
    p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    p.putIfAbsent(ProducerConfig.ACKS_CONFIG, "all");
    p.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, clientPrefix + "-producer");
    return p;
  }
}
