package dev.tributary.pekko;

import dev.tributary.StreamId;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * What an entity actor knows about itself when it is created: its stream, and how to ask its
 * supervisor to passivate it.
 *
 * <p>One per incarnation: a passivated entity that is created again gets a new context, and a
 * {@link #passivate()} from an old incarnation does not stop the new one.
 */
public final class EntityContext {
  private final StreamId streamId;
  private final long incarnation;
  private final ActorRef<EntitySupervisor.Command> supervisor;

  EntityContext(
      StreamId streamId, long incarnation, ActorRef<EntitySupervisor.Command> supervisor) {
    this.streamId = streamId;
    this.incarnation = incarnation;
    this.supervisor = supervisor;
  }

  /** The entity's stream. */
  public StreamId streamId() {
    return streamId;
  }

  /** The stream's key: for Kafka, the record key. */
  public String key() {
    return streamId.key();
  }

  /**
   * Asks the supervisor to stop this entity once the delivery in flight (if any) is acknowledged;
   * the next event of the stream creates it again. Events that arrive meanwhile wait for the new
   * incarnation: none is lost.
   */
  public void passivate() {
    supervisor.tell(new EntitySupervisor.Passivate(streamId, incarnation));
  }

  @Override
  public String toString() {
    return "EntityContext{streamId=" + streamId + ", incarnation=" + incarnation + "}";
  }
}
