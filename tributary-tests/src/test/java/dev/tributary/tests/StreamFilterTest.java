package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.EventSequenceToken;
import dev.tributary.StreamFilter;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.testkit.Behavior;
import dev.tributary.testkit.DeliveryHarness;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * Stream filters: one filter per runtime, filter data per subscription; only matching events reach
 * a subscription, a filter that throws lets the event through, and filtered-out events still count
 * as passed for acknowledgement. After Orleans' StreamFilteringTests.
 */
class StreamFilterTest extends MemoryRuntimeTest {

  private final List<String> calls = new CopyOnWriteArrayList<>();

  private final StreamFilter filter =
      (id, item, data) -> {
        calls.add(id + "|" + item + "|" + data);
        return switch (data) {
          case "even" -> ((Integer) item) % 2 == 0;
          case "odd" -> ((Integer) item) % 2 == 1;
          case "none" -> false;
          case "boom" -> throw new IllegalStateException("broken filter");
          default -> true;
        };
      };

  private DeliveryHarness startFiltered() {
    return start(
        MemoryQueueAdapterFactory.builder().queueCount(2).build(),
        o -> {},
        (h, b) -> b.streamFilter(filter));
  }

  private void subscribe(DeliveryHarness h, String subscriber, StreamId s, String filterData) {
    h.subscribe(subscriber, h.stream(s), null, filterData, Behavior.ACK);
  }

  @Test
  void filterData_selectsWhichEventsASubscriptionReceives() {
    DeliveryHarness h = startFiltered();
    StreamId s = StreamId.of("numbers", "n");
    subscribe(h, "even", s, "even");
    subscribe(h, "odd", s, "odd");
    subscribe(h, "unfiltered", s, null);
    h.produce(s, ints(0, 20));
    h.awaitCount("unfiltered", s, 20).awaitCount("even", s, 10).awaitCount("odd", s, 10);
    List<Object> evens = new ArrayList<>();
    List<Object> odds = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      (i % 2 == 0 ? evens : odds).add(i);
    }
    h.assertExactly("even", s, evens)
        .assertExactly("odd", s, odds)
        .assertExactly("unfiltered", s, ints(0, 20))
        .assertInOrderNoDuplicates();
    List<StreamSequenceToken> all = h.tokens("unfiltered", s);
    List<StreamSequenceToken> evenTokens = h.tokens("even", s);
    for (int i = 0; i < 10; i++) {
      assertThat(evenTokens.get(i)).isEqualTo(all.get(2 * i));
    }
    assertThat(calls).contains(s + "|4|even").noneMatch(c -> c.endsWith("|null"));
  }

  @Test
  void throwingFilter_deliversTheEvent() {
    DeliveryHarness h = startFiltered();
    StreamId s = StreamId.of("numbers", "boom");
    subscribe(h, "boom", s, "boom");
    h.produce(s, ints(0, 10));
    h.awaitCount("boom", s, 10).assertExactly("boom", s, ints(0, 10)).assertNoErrors();
  }

  @Test
  void filterInsideABatch_keepsEachEventsToken() {
    DeliveryHarness h = startFiltered();
    StreamId s = StreamId.of("numbers", "batched");
    subscribe(h, "even", s, "even");
    subscribe(h, "all", s, null);
    h.produceBatch(s, ints(0, 5));
    h.produceBatch(s, ints(5, 10));
    h.awaitCount("all", s, 10).awaitCount("even", s, 5);
    h.assertExactly("even", s, List.of(0, 2, 4, 6, 8));
    List<StreamSequenceToken> all = h.tokens("all", s);
    assertThat(h.tokens("even", s))
        .containsExactly(all.get(0), all.get(2), all.get(4), all.get(6), all.get(8));
    assertThat(((EventSequenceToken) all.get(2)).eventIndex()).isEqualTo(2);
  }

  @Test
  void eventsFilteredOutOfEverySubscription_areStillAcknowledged() {
    DeliveryHarness h = startFiltered();
    StreamId s = StreamId.of("numbers", "none");
    subscribe(h, "none", s, "none");
    h.produce(s, ints(0, 10));
    h.awaitThat("filtered events acknowledged", () -> memory.acknowledgedCount() == 10);
    assertThat(h.count("none", s)).isZero();
    subscribe(h, "witness", s, null);
    h.produce(s, ints(10, 12));
    h.awaitCount("witness", s, 2);
    assertThat(h.count("none", s)).isZero();
  }
}
