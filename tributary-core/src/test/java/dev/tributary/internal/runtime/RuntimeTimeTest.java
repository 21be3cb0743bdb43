package dev.tributary.internal.runtime;

import static dev.tributary.internal.runtime.RuntimeFixture.WAIT;
import static dev.tributary.internal.runtime.RuntimeFixture.onlyAgent;
import static dev.tributary.internal.runtime.RuntimeFixture.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.tributary.StreamProviderOptions;
import dev.tributary.StreamRuntime;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.BackoffPolicy;
import dev.tributary.spi.ProviderContext;
import dev.tributary.spi.QueueId;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The runtime's timers all run on the injected {@code RuntimeTime}: on {@link ManualTime} a read
 * tick, a read retry or an initialization time-out happens when the test advances the time, at the
 * instant it is due and not before. Every delay here is far longer than the fixture's waits, so a
 * timer left on real time would fail the test instead of passing slowly.
 */
class RuntimeTimeTest {
  private static final QueueId Q0 = QueueId.of("mem", 0);
  private static final Duration TICK = Duration.ofHours(1);

  @RegisterExtension final RuntimeFixture fixture = new RuntimeFixture();

  private final ManualTime time = new ManualTime();
  private final ProbeAdapterFactory probe =
      new ProbeAdapterFactory(MemoryQueueAdapterFactory.builder().queueCount(1).build());

  private StreamRuntime runtime(Consumer<StreamProviderOptions.Builder> options) {
    return fixture.start(
        fixture
            .builder()
            .time(time)
            .addProvider(
                "mem",
                probe,
                o -> options.accept(o.cacheSize(16).getQueueMessagesTimerPeriod(TICK))));
  }

  @Test
  void adapters_getTheRuntimesTime_whoseTasksTheRuntimeCancelsWhenItCloses() {
    StreamRuntime rt = runtime(o -> {});
    ProviderContext context = probe.context();
    assertThat(context.clock()).isSameAs(time.clock());
    assertThat(context.time().clock()).isSameAs(time.clock());

    AtomicInteger ran = new AtomicInteger();
    context.time().schedule(Duration.ofMinutes(1), ran::incrementAndGet);
    context.time().schedule(Duration.ofMinutes(3), ran::incrementAndGet);
    time.advance(Duration.ofMinutes(2));
    assertThat(ran).as("due after 1 min").hasValue(1);

    rt.close();
    time.advance(Duration.ofMinutes(2));
    assertThat(ran).as("cancelled by close").hasValue(1);
    assertThat(time.pendingCount()).as("nothing of the runtime left on the time").isZero();
  }

  @Test
  void readTicks_comeOncePerPeriodOfTheInjectedTime() {
    StreamRuntime rt = runtime(o -> {});
    PullingAgent agent = onlyAgent(rt, "mem");
    await().atMost(WAIT).until(() -> snapshot(agent).state().equals("RUNNING"));
    await().atMost(WAIT).until(() -> probe.reads(Q0) == 1); // the first pump
    for (int tick = 1; tick <= 3; tick++) {
      int before = probe.reads(Q0);
      time.advance(TICK);
      await().atMost(WAIT).until(() -> probe.reads(Q0) == before + 1);
    }
  }

  @Test
  void failedRead_isRetriedAfterTheReadBackoff_notBefore() {
    Duration backoff = Duration.ofMinutes(10);
    probe.failReads(1);
    runtime(o -> o.readBackoff(BackoffPolicy.fixed(backoff)));
    time.awaitScheduled(backoff);
    assertThat(probe.reads(Q0)).isEqualTo(1);

    time.advance(backoff.minusMillis(1));
    assertThat(probe.reads(Q0)).as("no read while the retry waits").isEqualTo(1);
    time.advance(Duration.ofMillis(1));
    await().atMost(WAIT).until(() -> probe.reads(Q0) == 2);
  }

  @Test
  void hungInitialization_timesOutAfterInitQueueTimeout_andIsRetriedAfterTheBackoff() {
    Duration initTimeout = Duration.ofMinutes(2);
    Duration backoff = Duration.ofMinutes(10);
    probe.hangInitializations(1);
    StreamRuntime rt =
        runtime(o -> o.initQueueTimeout(initTimeout).readBackoff(BackoffPolicy.fixed(backoff)));
    PullingAgent agent = onlyAgent(rt, "mem");
    time.awaitScheduled(initTimeout);
    assertThat(probe.initializations(Q0)).isEqualTo(1);

    time.advance(initTimeout.minusMillis(1));
    assertThat(snapshot(agent).state()).isEqualTo("INITIALIZING");
    time.advance(Duration.ofMillis(1));
    time.awaitScheduled(backoff); // timed out: the retry waits for the backoff
    assertThat(probe.initializations(Q0)).isEqualTo(1);
    assertThat(snapshot(agent).state()).isEqualTo("INITIALIZING");

    time.advance(backoff);
    await().atMost(WAIT).until(() -> snapshot(agent).state().equals("RUNNING"));
    assertThat(probe.initializations(Q0)).isEqualTo(2);
  }
}
