/** Tributary's Kafka adapter: {@code KafkaQueueAdapterFactory} and its options. */
module dev.tributary.kafka {
  requires transitive dev.tributary.core;
  requires transitive kafka.clients;
  requires org.slf4j;

  exports dev.tributary.kafka;
}
