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
  requires org.slf4j;

  exports dev.tributary.pekko;
}
