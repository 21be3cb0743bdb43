/**
 * Tributary's Apache Pekko integration: stream keys as typed actors, actors as subscribers, the
 * runtime's lifecycle in {@code CoordinatedShutdown}. Pekko itself is the application's to bring
 * (the Maven dependencies are {@code provided}), so every Pekko module of one system has the
 * application's version.
 */
module dev.tributary.pekko {
  requires transitive dev.tributary.core;
  requires transitive pekko.actor.typed;
  requires transitive pekko.actor;
  requires transitive scala.library;
  // ShardedEntities: the Kafka provider's ownership hook and Pekko Cluster Sharding (provided; only
  // needed by applications that use sharded entities).
  requires transitive dev.tributary.kafka;
  requires static transitive pekko.cluster.sharding.typed;
  requires static pekko.cluster.sharding;
  requires static pekko.cluster.typed;
  requires static pekko.cluster;
  requires org.slf4j;

  exports dev.tributary.pekko;
}
