package dev.tributary.tests;

import dev.tributary.memory.GeneratorAdapterFactory;
import dev.tributary.spi.QueueAdapterFactory;
import dev.tributary.testkit.QueueAdapterContractTest;

/**
 * The generator adapter meets the parts of the contract that apply to a read-only, non-rewindable
 * queue: receiver lifecycle, mapping, and rejecting rewinds at once. Tests that produce are
 * skipped.
 */
class GeneratorAdapterContractTest extends QueueAdapterContractTest {

  @Override
  protected QueueAdapterFactory newFactory(String providerName) {
    return GeneratorAdapterFactory.builder()
        .namespace(namespace())
        .queueCount(4)
        .streamCount(8)
        .eventsPerStream(10)
        .build();
  }

  @Override
  protected boolean supportsProduce() {
    return false;
  }
}
