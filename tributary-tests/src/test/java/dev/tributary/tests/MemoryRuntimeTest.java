package dev.tributary.tests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.StreamId;
import dev.tributary.StreamProviderOptions;
import dev.tributary.StreamRuntime;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.QueueId;
import dev.tributary.testkit.DeliveryHarness;
import dev.tributary.testkit.RecordingQueueAdapterFactory;
import dev.tributary.testkit.RuntimeInvariantsExtension;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Shared set-up of the end-to-end tests: one memory provider called {@value #MEM}, wrapped in a
 * {@link RecordingQueueAdapterFactory} so that every test also checks the SPI rules (receiver
 * lifecycle, acknowledgement order, cache never above {@code cacheSize}), and the {@link
 * RuntimeInvariantsExtension} that closes the runtime and checks for leaks after each test.
 */
abstract class MemoryRuntimeTest {

  static final String MEM = "mem";

  @RegisterExtension final RuntimeInvariantsExtension invariants = new RuntimeInvariantsExtension();

  /** The memory factory of the last {@link #start}. */
  MemoryQueueAdapterFactory memory;

  /** Its recording wrapper. */
  RecordingQueueAdapterFactory spy;

  DeliveryHarness start() {
    return start(o -> {});
  }

  DeliveryHarness start(Consumer<StreamProviderOptions.Builder> options) {
    return start(MemoryQueueAdapterFactory.builder().queueCount(4).build(), options, (h, b) -> {});
  }

  /** Starts a runtime over {@code factory}; {@code more} may add implicit subscriptions etc. */
  DeliveryHarness start(
      MemoryQueueAdapterFactory factory,
      Consumer<StreamProviderOptions.Builder> options,
      BiConsumer<DeliveryHarness, StreamRuntime.Builder> more) {
    memory = factory;
    spy = invariants.track(new RecordingQueueAdapterFactory(factory));
    DeliveryHarness h = invariants.newHarness();
    StreamRuntime.Builder b = h.runtimeBuilder().addProvider(MEM, spy, options);
    more.accept(h, b);
    return h.start(b);
  }

  /** The integers {@code from .. to-1}, boxed, as produced events. */
  static List<Object> ints(int from, int to) {
    List<Object> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      out.add(i);
    }
    return out;
  }

  /** The strings {@code prefix + i} for {@code i} in {@code from .. to-1}. */
  static List<Object> strings(String prefix, int from, int to) {
    List<Object> out = new ArrayList<>();
    for (int i = from; i < to; i++) {
      out.add(prefix + i);
    }
    return out;
  }

  QueueId queueOf(StreamId id) {
    return memory.streamQueueMapper().queueForStream(id);
  }

  /** {@code count} streams of {@code namespace} that map to {@code queue}. */
  List<StreamId> streamsOn(QueueId queue, String namespace, int count) {
    List<StreamId> out = new ArrayList<>();
    for (int i = 0; out.size() < count && i < 100_000; i++) {
      StreamId id = StreamId.of(namespace, "k" + i);
      if (queueOf(id).equals(queue)) {
        out.add(id);
      }
    }
    assertThat(out).hasSize(count);
    return out;
  }
}
