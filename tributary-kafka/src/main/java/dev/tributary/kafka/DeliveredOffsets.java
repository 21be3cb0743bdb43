package dev.tributary.kafka;

import java.util.Base64;
import java.util.BitSet;

/**
 * Offsets above a committed offset that were delivered already, as they travel in the commit's
 * metadata string: {@code "trb1:"} followed by the URL-safe Base64 of a bit set whose bit {@code i}
 * stands for offset {@code committed + 1 + i} (the committed offset itself is, by definition, not
 * delivered yet).
 *
 * <p>The encoding is bounded by {@link #MAX_BITS} so that it stays well within the broker's {@code
 * offset.metadata.max.bytes} (4096 by default); offsets beyond the bound are left out, which can
 * only cause a redelivery, never a loss. Immutable.
 */
final class DeliveredOffsets {
  static final String PREFIX = "trb1:";

  /** The most offsets above the commit that one commit remembers: 2,250 bytes, 3,000 characters. */
  static final int MAX_BITS = 18_000;

  static final DeliveredOffsets NONE = new DeliveredOffsets(-1, new BitSet());

  private final long base;
  private final BitSet bits;

  private DeliveredOffsets(long base, BitSet bits) {
    this.base = base;
    this.bits = bits;
  }

  /** The offsets {@code metadata} lists above {@code committed}; none when it is not ours. */
  static DeliveredOffsets decode(long committed, String metadata) {
    if (committed < 0 || metadata == null || !metadata.startsWith(PREFIX)) {
      return NONE;
    }
    try {
      byte[] bytes = Base64.getUrlDecoder().decode(metadata.substring(PREFIX.length()));
      BitSet bits = BitSet.valueOf(bytes);
      return bits.isEmpty() ? NONE : new DeliveredOffsets(committed, bits);
    } catch (IllegalArgumentException notOurs) {
      return NONE;
    }
  }

  /** True when {@code offset} was delivered already. */
  boolean contains(long offset) {
    long i = offset - base - 1;
    return base >= 0 && i >= 0 && i < MAX_BITS && bits.get((int) i);
  }

  /** The highest offset listed, or -1 when none is. */
  long highest() {
    return base < 0 || bits.isEmpty() ? -1 : base + bits.length();
  }

  /** How many offsets are listed. */
  int size() {
    return bits.cardinality();
  }

  static Builder builder(long committed) {
    return new Builder(committed);
  }

  /** Collects delivered offsets above one commit offset. */
  static final class Builder {
    private final long base;
    private final BitSet bits = new BitSet();

    private Builder(long base) {
      this.base = base;
    }

    /** Lists {@code offset} when it is above the commit and within the bound. */
    Builder add(long offset) {
      long i = offset - base - 1;
      if (base >= 0 && i >= 0 && i < MAX_BITS) {
        bits.set((int) i);
      }
      return this;
    }

    /** Lists every offset of {@code other} that is above this commit. */
    Builder addAll(DeliveredOffsets other) {
      for (int i = other.bits.nextSetBit(0); i >= 0; i = other.bits.nextSetBit(i + 1)) {
        add(other.base + 1 + i);
      }
      return this;
    }

    /** The metadata string; empty when no offset is listed. */
    String encode() {
      if (bits.isEmpty()) {
        return "";
      }
      return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bits.toByteArray());
    }
  }
}
