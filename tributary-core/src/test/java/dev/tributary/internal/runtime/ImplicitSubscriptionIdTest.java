package dev.tributary.internal.runtime;

import static dev.tributary.internal.runtime.RuntimeFixture.WAIT;
import static dev.tributary.internal.runtime.RuntimeFixture.join;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamId;
import dev.tributary.StreamObserver;
import dev.tributary.StreamRuntime;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.DeliveryFailure;
import dev.tributary.spi.StreamFailureHandler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * An implicit subscription's id is derived only when something reports on it, and it is the same
 * name-based id every time and on every node: provider, namespace and key.
 */
class ImplicitSubscriptionIdTest {
  @RegisterExtension final RuntimeFixture fixture = new RuntimeFixture();

  @Test
  void failureReports_carryTheNameBasedIdOfTheImplicitSubscription() {
    List<DeliveryFailure> reported = new CopyOnWriteArrayList<>();
    StreamFailureHandler handler = RuntimeFixture.recordingFailures(reported);
    MemoryQueueAdapterFactory memory =
        MemoryQueueAdapterFactory.builder().queueCount(1).failureHandler(handler).build();
    StreamRuntime rt =
        fixture.start(
            fixture
                .builder()
                .addProvider(
                    "mem",
                    memory,
                    o ->
                        o.maxEventDeliveryTime(Duration.ZERO)
                            .deliveryBackoff(BackoffPolicy.fixed(Duration.ofMillis(1))))
                .implicitSubscription(
                    "mem",
                    "orders",
                    id ->
                        (StreamObserver<Object>)
                            (item, token) ->
                                CompletableFuture.failedFuture(new IllegalStateException("no"))));
    StreamId a = StreamId.of("orders", "a");
    StreamId b = StreamId.of("orders", "b");
    join(rt.provider("mem").stream(a).onNext("a1"));
    join(rt.provider("mem").stream(b).onNext("b1"));
    join(rt.provider("mem").stream(a).onNext("a2"));
    await().atMost(WAIT).until(() -> reported.size() == 3);

    PersistentStreamProvider.Implicit implicit =
        new PersistentStreamProvider.Implicit("mem", "orders", id -> null);
    for (DeliveryFailure f : reported) {
      assertThat(f.implicit()).isTrue();
      assertThat(f.subscriptionId()).isEqualTo(implicit.subscriptionId(f.streamId()));
    }
    assertThat(implicit.subscriptionId(a)).isNotEqualTo(implicit.subscriptionId(b));
    assertThat(reported)
        .filteredOn(f -> f.streamId().equals(a))
        .extracting(DeliveryFailure::subscriptionId)
        .containsOnly(implicit.subscriptionId(a))
        .hasSize(2);
  }
}
