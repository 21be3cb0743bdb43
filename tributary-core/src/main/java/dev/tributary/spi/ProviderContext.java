package dev.tributary.spi;

import dev.tributary.Incubating;
import dev.tributary.StreamProviderOptions;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.Objects;

/**
 * What the runtime tells an adapter factory about the provider it serves.
 *
 * @param providerName the provider's name, for logs and metric tags
 * @param options the provider's agent options
 * @param meterRegistry where to register metrics; never null (a no-op registry when the user gave
 *     none)
 * @param clock the runtime's clock: the same instance as {@code time.clock()}
 * @param time the runtime's time: its clock and the scheduler of its delays. An adapter that reads
 *     the time or waits for a delay takes both from here, so a test that drives the runtime's time
 *     drives the adapter's too. The runtime cancels what is still scheduled on it when it closes.
 */
public record ProviderContext(
    String providerName,
    StreamProviderOptions options,
    MeterRegistry meterRegistry,
    Clock clock,
    @Incubating RuntimeTime time) {

  /** Checks that every component is set and that {@code clock} is {@code time}'s clock. */
  public ProviderContext {
    Objects.requireNonNull(providerName, "providerName was null but it must be set");
    Objects.requireNonNull(options, "options was null but it must be set");
    Objects.requireNonNull(meterRegistry, "meterRegistry was null but it must be set");
    Objects.requireNonNull(clock, "clock was null but it must be set");
    Objects.requireNonNull(time, "time was null but it must be set");
    if (!clock.equals(time.clock())) {
      throw new IllegalArgumentException(
          "clock was " + clock + " but time's clock is " + time.clock() + "; they must be one");
    }
  }

  /**
   * A context without a time of its own: {@code time} is {@link RuntimeTime#system(Clock)} over
   * {@code clock}, whose delays run on real time.
   */
  public ProviderContext(
      String providerName,
      StreamProviderOptions options,
      MeterRegistry meterRegistry,
      Clock clock) {
    this(
        providerName,
        options,
        meterRegistry,
        clock,
        RuntimeTime.system(Objects.requireNonNull(clock, "clock was null but it must be set")));
  }
}
