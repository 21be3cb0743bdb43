package dev.tributary.examples.pekko;

import java.io.Serializable;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;

/**
 * One customer, as a cluster-sharded typed actor: applies the customer's orders to its account in
 * the {@link Accounts} store and acknowledges each one by replying.
 *
 * <p>An order is {@code "<sequence> <cents> <sentNanos>"}; the producer numbers each customer's
 * orders from 0, so the actor can tell the next order from a repeat (at-least-once) or a gap (which
 * would be a loss or a reordering). Its account lives in the store, not in the actor, so it
 * survives the actor moving to the other node.
 */
final class CustomerActor {
  private CustomerActor() {}

  /** What a customer actor receives. */
  interface Command extends Serializable {}

  /**
   * An order of this customer: its offset, the node whose runtime delivered it, and where the
   * acknowledgement goes. Crosses nodes only during hand-overs; Java serialization keeps the
   * example short (use Jackson or Protobuf in production).
   */
  record OrderPlaced(String order, long offset, String sentBy, ActorRef<StatusReply<Done>> replyTo)
      implements Command {
    private static final long serialVersionUID = 1L;
  }

  static Behavior<Command> create(String customerId, String node, Accounts accounts) {
    accounts.activated(node);
    return Behaviors.receive(Command.class)
        .onMessage(
            OrderPlaced.class,
            placed -> {
              String[] f = placed.order().split(" ");
              accounts.apply(
                  customerId,
                  Long.parseLong(f[0]),
                  Long.parseLong(f[1]),
                  Long.parseLong(f[2]),
                  node,
                  !placed.sentBy().equals(node));
              placed.replyTo().tell(StatusReply.ack()); // the acknowledgement
              return Behaviors.same();
            })
        .build();
  }
}
