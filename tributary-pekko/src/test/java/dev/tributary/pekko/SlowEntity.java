package dev.tributary.pekko;

import java.time.Duration;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/** Wraps a test entity so that each event reaches it after a delay (a timer, not a sleep). */
final class SlowEntity {
  private SlowEntity() {}

  private record Delayed(Ledger.Msg msg) implements Ledger.Msg {}

  static Behavior<Ledger.Msg> wrap(Behavior<Ledger.Msg> inner, Duration delay) {
    return Behaviors.setup(
        ctx -> {
          org.apache.pekko.actor.typed.ActorRef<Ledger.Msg> target = ctx.spawnAnonymous(inner);
          ctx.watch(target);
          return Behaviors.<Ledger.Msg>receive(
                  (c, msg) -> {
                    if (msg instanceof Delayed d) {
                      target.tell(d.msg());
                    } else {
                      c.scheduleOnce(delay, c.getSelf(), new Delayed(msg));
                    }
                    return Behaviors.same();
                  })
              .narrow();
        });
  }
}
