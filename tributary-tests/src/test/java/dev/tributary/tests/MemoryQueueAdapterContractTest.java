package dev.tributary.tests;

import dev.tributary.memory.MemoryQueueAdapterFactory;
import dev.tributary.spi.QueueAdapterFactory;
import dev.tributary.testkit.QueueAdapterContractTest;

/** The memory adapter meets the queue adapter contract. */
class MemoryQueueAdapterContractTest extends QueueAdapterContractTest {

  @Override
  protected QueueAdapterFactory newFactory(String providerName) {
    return MemoryQueueAdapterFactory.builder().queueCount(4).build();
  }
}
