package dev.tributary;

import java.util.Objects;

/**
 * Where a subscriber that may live on another node of the cluster receives its events: an opaque
 * string made by the runtime's {@link dev.tributary.spi.SubscriberResolver} (for Pekko, an actor
 * reference in its serialization format).
 *
 * <p>A subscription made with an address is cluster-wide: its record in the {@link
 * dev.tributary.spi.PubSubStore} names the address, and whichever node owns the stream's queue
 * resolves it and delivers to it, also after the queue moves to another node.
 *
 * @param value the address, never blank
 */
@Incubating
public record SubscriberAddress(String value) {

  /** Validates the address. */
  public SubscriberAddress {
    Objects.requireNonNull(value, "subscriber address was null");
    if (value.isBlank()) {
      throw new IllegalArgumentException("subscriber address was blank");
    }
  }

  /** Returns the address {@code value}. */
  public static SubscriberAddress of(String value) {
    return new SubscriberAddress(value);
  }

  @Override
  public String toString() {
    return value;
  }
}
