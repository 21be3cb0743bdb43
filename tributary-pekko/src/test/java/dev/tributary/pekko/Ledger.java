package dev.tributary.pekko;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;

/**
 * What the test entities saw: every message that reached an entity (repeats included), every event
 * it acknowledged, and how often each entity was created. Thread-safe.
 */
final class Ledger {

  /** A test entity's messages. */
  interface Msg {}

  /** One event, as the message adapter makes it. */
  record Event(String value, EventContext context, ActorRef<StatusReply<Done>> replyTo)
      implements Msg {}

  /** The stop message of entities that passivate with one. */
  enum Stop implements Msg {
    INSTANCE
  }

  /** What an entity does with a message. */
  enum Action {
    ACK,
    /** Acknowledge, then ask to be passivated. */
    ACK_AND_PASSIVATE,
    /** Never reply: the ask times out. */
    IGNORE,
    /** Reply with an error. */
    REJECT,
    /** Throw: the entity stops (the default supervision of a typed actor). */
    THROW
  }

  /** Decides what the entity does with {@code value}, the {@code copy}-th time it arrives (1..). */
  @FunctionalInterface
  interface Script {
    Script ACK = (key, value, copy) -> Action.ACK;

    Action on(String key, String value, int copy);
  }

  /** The adapter of the test entities. */
  static final MessageAdapter<String, Msg> ADAPTER = Event::new;

  private final Map<String, List<String>> received = new ConcurrentHashMap<>();
  private final Map<String, List<EventContext>> contexts = new ConcurrentHashMap<>();
  private final Map<String, List<String>> acked = new ConcurrentHashMap<>();
  private final Map<String, List<StreamSequenceToken>> ackedTokens = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> created = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> copies = new ConcurrentHashMap<>();
  private final AtomicLong receivedCount = new AtomicLong();
  private final AtomicLong ackedCount = new AtomicLong();
  private final AtomicInteger stopped = new AtomicInteger();
  private final AtomicInteger live = new AtomicInteger();
  private volatile Runnable onPostStop = () -> {};

  /** Runs {@code r} when an entity stops (on the entity's thread). */
  void onPostStop(Runnable r) {
    onPostStop = r;
  }

  /** The behavior of a test entity that follows {@code script}. */
  Behavior<Msg> entity(EntityContext entity, Script script) {
    String key = entity.key();
    created.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
    live.incrementAndGet();
    return Behaviors.<Msg>receive(
        (ctx, msg) -> {
          if (msg == Stop.INSTANCE) {
            return Behaviors.stopped();
          }
          Event e = (Event) msg;
          assertThat(e.context().key()).isEqualTo(key);
          received.computeIfAbsent(key, k -> synchronizedList()).add(e.value());
          contexts.computeIfAbsent(key, k -> synchronizedList()).add(e.context());
          receivedCount.incrementAndGet();
          int copy =
              copies
                  .computeIfAbsent(key + "|" + e.value(), k -> new AtomicInteger())
                  .incrementAndGet();
          switch (script.on(key, e.value(), copy)) {
            case ACK, ACK_AND_PASSIVATE -> {
              acked.computeIfAbsent(key, k -> synchronizedList()).add(e.value());
              ackedTokens.computeIfAbsent(key, k -> synchronizedList()).add(e.context().token());
              ackedCount.incrementAndGet();
              e.replyTo().tell(StatusReply.ack());
              if (script.on(key, e.value(), copy) == Action.ACK_AND_PASSIVATE) {
                entity.passivate();
              }
            }
            case IGNORE -> {}
            case REJECT -> e.replyTo().tell(StatusReply.error("rejected " + e.value()));
            case THROW ->
                throw new IllegalStateException("entity of " + key + " fails on " + e.value());
          }
          return Behaviors.same();
        },
        (ctx, signal) -> {
          if (signal instanceof PostStop) {
            stopped.incrementAndGet();
            live.decrementAndGet();
            onPostStop.run();
          }
          return Behaviors.same();
        });
  }

  private static <X> List<X> synchronizedList() {
    return java.util.Collections.synchronizedList(new ArrayList<>());
  }

  long receivedCount() {
    return receivedCount.get();
  }

  long ackedCount() {
    return ackedCount.get();
  }

  int created(String key) {
    AtomicInteger c = created.get(key);
    return c == null ? 0 : c.get();
  }

  int createdTotal() {
    return created.values().stream().mapToInt(AtomicInteger::get).sum();
  }

  int stopped() {
    return stopped.get();
  }

  int live() {
    return live.get();
  }

  List<String> received(String key) {
    return copy(received.get(key));
  }

  /** The contexts of the messages {@code key} received, in the order of {@link #received}. */
  List<EventContext> contexts(String key) {
    return copy(contexts.get(key));
  }

  List<String> acked(String key) {
    return copy(acked.get(key));
  }

  private static <X> List<X> copy(List<X> l) {
    if (l == null) {
      return List.of();
    }
    synchronized (l) {
      return List.copyOf(l);
    }
  }

  /**
   * Every key acknowledged exactly its expected values, in production order, each once, with
   * growing tokens; and nothing else was acknowledged.
   */
  void assertAckedExactly(Map<String, List<String>> expected) {
    long total = 0;
    for (Map.Entry<String, List<String>> e : expected.entrySet()) {
      assertThat(acked(e.getKey())).as("acknowledged by %s", e.getKey()).isEqualTo(e.getValue());
      List<StreamSequenceToken> tokens = copy(ackedTokens.get(e.getKey()));
      for (int i = 1; i < tokens.size(); i++) {
        assertThat(tokens.get(i).isNewerThan(tokens.get(i - 1)))
            .as("tokens of %s grow: %s", e.getKey(), tokens)
            .isTrue();
      }
      total += e.getValue().size();
    }
    assertThat(ackedCount()).as("events acknowledged in all").isEqualTo(total);
  }

  /** Every key received its values in order: each arrival is the next value or a repeat of one. */
  void assertReceivedInOrder(Map<String, List<String>> expected) {
    for (Map.Entry<String, List<String>> e : expected.entrySet()) {
      List<String> got = received(e.getKey());
      List<String> want = e.getValue();
      int next = 0;
      for (String v : got) {
        int at = want.indexOf(v);
        assertThat(at)
            .as("%s received %s, which it expects no more", e.getKey(), v)
            .isGreaterThanOrEqualTo(0);
        assertThat(at)
            .as("%s received %s out of order: %s", e.getKey(), v, got)
            .isLessThanOrEqualTo(next);
        if (at == next) {
          next++;
        }
      }
    }
  }

  static StreamId id(String topic, String key) {
    return StreamId.of(topic, key);
  }
}
