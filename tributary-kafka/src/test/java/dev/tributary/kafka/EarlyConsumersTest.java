package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.KafkaException;
import org.junit.jupiter.api.Test;

class EarlyConsumersTest {

  private final List<MockConsumer<byte[], byte[]>> made = new CopyOnWriteArrayList<>();

  private MockConsumer<byte[], byte[]> make() {
    MockConsumer<byte[], byte[]> c = new MockConsumer<>("earliest");
    made.add(c);
    return c;
  }

  @Test
  void handsEachConsumerOutOnce_andClosesOnlyTheUnused() {
    EarlyConsumers early = new EarlyConsumers(3, i -> make(), "early-test");
    assertThat(early.apply(0)).isSameAs(made.get(0));
    assertThat(early.apply(2)).isSameAs(made.get(2));
    assertThatThrownBy(() -> early.apply(0))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("consumer 0 was taken already");
    early.closeUnused();
    await().atMost(Duration.ofSeconds(10)).until(() -> made.get(1).closed());
    assertThat(made.get(0).closed()).isFalse();
    assertThat(made.get(2).closed()).isFalse();
    assertThatThrownBy(() -> early.apply(1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("consumer 1 was closed");
  }

  @Test
  void aConsumerThatCannotBeBuilt_failsTheTakeWithItsOwnError_andClosesTheOthers() {
    KafkaException bad = new KafkaException("no resolvable bootstrap urls");
    EarlyConsumers early =
        new EarlyConsumers(
            2,
            i -> {
              if (i == 1) {
                throw bad;
              }
              return make();
            },
            "early-test");
    assertThatThrownBy(() -> early.apply(0)).isSameAs(bad);
    assertThat(made).hasSize(1);
    assertThat(made.get(0).closed()).as("the one built before the failure").isTrue();
  }

  @Test
  void closeUnused_whileStillBuilding_closesThemOnceBuilt() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    EarlyConsumers early =
        new EarlyConsumers(
            1,
            i -> {
              try {
                assertThat(release.await(10, TimeUnit.SECONDS)).isTrue();
              } catch (InterruptedException e) {
                throw new IllegalStateException(e);
              }
              return make();
            },
            "early-test");
    early.closeUnused();
    release.countDown();
    await().atMost(Duration.ofSeconds(10)).until(() -> made.size() == 1 && made.get(0).closed());
  }
}
