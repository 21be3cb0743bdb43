/**
 * Tributary's core: the API users touch ({@code dev.tributary}), the SPI adapter authors implement
 * ({@code dev.tributary.spi}) and the in-memory adapters ({@code dev.tributary.memory}). The
 * runtime ({@code dev.tributary.internal.*}) is not exported.
 */
module dev.tributary.core {
  requires transitive micrometer.core;
  requires transitive micrometer.observation;
  requires org.slf4j;

  exports dev.tributary;
  exports dev.tributary.spi;
  exports dev.tributary.memory;
}
