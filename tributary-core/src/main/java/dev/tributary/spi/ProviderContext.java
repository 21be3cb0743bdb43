package dev.tributary.spi;

import dev.tributary.StreamProviderOptions;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;

/**
 * What the runtime tells an adapter factory about the provider it serves.
 *
 * @param providerName the provider's name, for logs and metric tags
 * @param options the provider's agent options
 * @param meterRegistry where to register metrics; never null (a no-op registry when the user gave
 *     none)
 * @param clock the runtime's clock
 */
public record ProviderContext(
    String providerName, StreamProviderOptions options, MeterRegistry meterRegistry, Clock clock) {}
