package dev.tributary.kafka;

import dev.tributary.StreamId;
import dev.tributary.SubscriberAddress;
import dev.tributary.spi.SubscriptionRecord;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * The bytes of {@link KafkaPubSubStore}'s records (docs/kafka.md, "Subscription store"): a key per
 * subscription and per confirmation, a versioned value for each. Stateless and thread-safe.
 *
 * <p>Key, format 1: {@code 0x01}, kind ({@code 'S'} subscription, {@code 'C'} confirmation), then
 * provider, stream namespace and stream key, each an unsigned varint byte length and UTF-8 bytes,
 * then the subscription id (16 bytes, big-endian). Length prefixes make it unambiguous for any
 * string, separators and the empty key included; a key is decoded only when it is exactly this.
 *
 * <p>Subscription value, format 1: {@code 0x01}, flags ({@code 0x01} faulted, {@code 0x02} removed,
 * {@code 0x04} filter data, {@code 0x08} subscriber, {@code 0x10} revision), then the revision (16
 * bytes), the filter data and the subscriber address (varint length and UTF-8), each only when its
 * flag is set. Confirmation value, format 1: {@code 0x01} and the confirmed revision (16 bytes).
 * Readers ignore flag bits and trailing bytes they do not know, so a later field can be appended
 * under a new flag without a new format; a change old readers must not misread takes a new format
 * byte, and they skip such records.
 */
final class StoreRecordCodec {

  static final byte FORMAT = 1;
  static final byte SUBSCRIPTION = 'S';
  static final byte CONFIRMATION = 'C';

  private static final int FAULTED = 0x01;
  private static final int REMOVED = 0x02;
  private static final int FILTER = 0x04;
  private static final int SUBSCRIBER = 0x08;
  private static final int REVISION = 0x10;

  private StoreRecordCodec() {}

  /** The identity of one subscription, as its records' keys carry it. */
  record Identity(String providerName, StreamId streamId, UUID subscriptionId) {
    @Override
    public String toString() {
      return providerName + ":" + streamId + "#" + subscriptionId;
    }
  }

  /** A decoded key: what it is about and which kind of record it keys. */
  record Key(byte kind, Identity identity) {}

  /** Thrown for bytes that are not a record of this store in a format this version reads. */
  static final class UndecodableException extends Exception {
    private static final long serialVersionUID = 1L;

    UndecodableException(String message) {
      super(message);
    }
  }

  static byte[] key(byte kind, String provider, StreamId streamId, UUID subscriptionId) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(64);
    out.write(FORMAT);
    out.write(kind);
    writeString(out, provider);
    writeString(out, streamId.namespace());
    writeString(out, streamId.key());
    writeUuid(out, subscriptionId);
    return out.toByteArray();
  }

  /**
   * The bytes the store's partitioner hashes: the stream part of the key (provider, namespace,
   * key), so that every record of one stream, subscriptions and confirmations, lands in one
   * partition and is read in the order it was written.
   */
  static byte[] streamPart(String provider, StreamId streamId) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(48);
    writeString(out, provider);
    writeString(out, streamId.namespace());
    writeString(out, streamId.key());
    return out.toByteArray();
  }

  static Key decodeKey(byte[] bytes) throws UndecodableException {
    if (bytes == null) {
      throw new UndecodableException("the record has no key");
    }
    ByteBuffer in = ByteBuffer.wrap(bytes);
    try {
      byte format = in.get();
      if (format != FORMAT) {
        throw new UndecodableException("unknown key format " + format);
      }
      byte kind = in.get();
      if (kind != SUBSCRIPTION && kind != CONFIRMATION) {
        throw new UndecodableException("unknown record kind " + kind);
      }
      String provider = readString(in);
      String namespace = readString(in);
      String key = readString(in);
      UUID id = readUuid(in);
      if (in.hasRemaining()) {
        throw new UndecodableException(in.remaining() + " bytes after the key");
      }
      if (namespace.isEmpty()) {
        throw new UndecodableException("empty stream namespace");
      }
      return new Key(kind, new Identity(provider, StreamId.of(namespace, key), id));
    } catch (RuntimeException e) {
      throw new UndecodableException("malformed key: " + e);
    }
  }

  static byte[] subscriptionValue(SubscriptionRecord r) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(64);
    out.write(FORMAT);
    int flags =
        (r.faulted() ? FAULTED : 0)
            | (r.removed() ? REMOVED : 0)
            | (r.filterData() != null ? FILTER : 0)
            | (r.subscriber() != null ? SUBSCRIBER : 0)
            | (r.revision() != null ? REVISION : 0);
    out.write(flags);
    if (r.revision() != null) {
      writeUuid(out, r.revision());
    }
    if (r.filterData() != null) {
      writeString(out, r.filterData());
    }
    if (r.subscriber() != null) {
      writeString(out, r.subscriber().value());
    }
    return out.toByteArray();
  }

  static SubscriptionRecord decodeSubscription(Identity id, byte[] value)
      throws UndecodableException {
    ByteBuffer in = ByteBuffer.wrap(value);
    try {
      byte format = in.get();
      if (format != FORMAT) {
        throw new UndecodableException("unknown subscription value format " + format);
      }
      int flags = in.get() & 0xff;
      UUID revision = (flags & REVISION) != 0 ? readUuid(in) : null;
      String filter = (flags & FILTER) != 0 ? readString(in) : null;
      SubscriberAddress subscriber =
          (flags & SUBSCRIBER) != 0 ? SubscriberAddress.of(readString(in)) : null;
      return new SubscriptionRecord(
          id.subscriptionId(),
          id.providerName(),
          id.streamId(),
          filter,
          (flags & FAULTED) != 0,
          subscriber,
          revision,
          (flags & REMOVED) != 0);
    } catch (RuntimeException e) {
      throw new UndecodableException("malformed subscription value: " + e);
    }
  }

  static byte[] confirmationValue(UUID revision) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(17);
    out.write(FORMAT);
    writeUuid(out, revision);
    return out.toByteArray();
  }

  static UUID decodeConfirmation(byte[] value) throws UndecodableException {
    ByteBuffer in = ByteBuffer.wrap(value);
    try {
      byte format = in.get();
      if (format != FORMAT) {
        throw new UndecodableException("unknown confirmation value format " + format);
      }
      return readUuid(in);
    } catch (RuntimeException e) {
      throw new UndecodableException("malformed confirmation value: " + e);
    }
  }

  private static void writeString(ByteArrayOutputStream out, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    int n = b.length;
    while ((n & ~0x7f) != 0) {
      out.write((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.write(n);
    out.write(b, 0, b.length);
  }

  private static String readString(ByteBuffer in) throws UndecodableException {
    int n = 0;
    for (int shift = 0; ; shift += 7) {
      if (shift > 28) {
        throw new UndecodableException("string length varint longer than 5 bytes");
      }
      int b = in.get() & 0xff;
      n |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) {
        break;
      }
    }
    if (n < 0 || n > in.remaining()) {
      throw new UndecodableException(
          "string length " + n + " but only " + in.remaining() + " bytes remain");
    }
    ByteBuffer slice = in.slice();
    slice.limit(n);
    in.position(in.position() + n);
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(slice)
          .toString();
    } catch (CharacterCodingException e) {
      throw new UndecodableException("a string is not valid UTF-8");
    }
  }

  private static void writeUuid(ByteArrayOutputStream out, UUID id) {
    ByteBuffer b = ByteBuffer.allocate(16);
    b.putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits());
    out.write(b.array(), 0, 16);
  }

  private static UUID readUuid(ByteBuffer in) {
    return new UUID(in.getLong(), in.getLong());
  }
}
