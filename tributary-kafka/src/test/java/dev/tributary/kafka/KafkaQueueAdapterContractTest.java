package dev.tributary.kafka;

import dev.tributary.StreamProviderOptions;
import dev.tributary.spi.QueueAdapterFactory;
import dev.tributary.testkit.QueueAdapterContractTest;
import dev.tributary.testkit.kafka.KafkaBroker;
import java.time.Duration;
import org.apache.kafka.common.serialization.Serdes;

/**
 * The adapter contract of the testkit, run against the Kafka adapter and a real broker.
 *
 * <p>All tests share one topic and one consumer group: each test's runtime commits what it
 * delivered when it closes, so the next test starts after it and sees only its own events.
 */
class KafkaQueueAdapterContractTest extends QueueAdapterContractTest {
  static final KafkaBroker broker = KafkaBroker.shared();
  static final String TOPIC = KafkaTestSupport.unique("contract");
  static final String GROUP = KafkaTestSupport.unique("contract-group");

  @Override
  protected QueueAdapterFactory newFactory(String providerName) {
    return KafkaTestSupport.factory(broker, GROUP)
        .topic(TOPIC, TopicConfig.autoCreate(4, (short) 1).withValueSerde(Serdes.String()))
        .consumerProperty("heartbeat.interval.ms", "300")
        .build();
  }

  @Override
  protected String namespace() {
    return TOPIC;
  }

  @Override
  protected Duration deliveryTimeout() {
    return Duration.ofSeconds(30);
  }

  @Override
  protected void configureProvider(StreamProviderOptions.Builder options) {
    options.cacheSize(256);
  }

  /** Kafka gives every record its own offset: a batch's events do not share one. */
  @Override
  protected boolean batchSharesSequenceNumber() {
    return false;
  }
}
