package dev.tributary.spi;

/** Whether a provider's adapter reads, writes or both. */
public enum StreamProviderDirection {
  /** Consumes only: producing through the stream API is rejected. */
  READ_ONLY,
  /** Produces only: no pulling agents run. */
  WRITE_ONLY,
  /** Produces and consumes. */
  READ_WRITE;

  /** True when pulling agents should run. */
  public boolean reads() {
    return this != WRITE_ONLY;
  }

  /** True when {@code AsyncStream.onNext} is allowed. */
  public boolean writes() {
    return this != READ_ONLY;
  }
}
