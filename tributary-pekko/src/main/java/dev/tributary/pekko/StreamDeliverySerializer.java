package dev.tributary.pekko;

import dev.tributary.EventSequenceToken;
import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.NotSerializableException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import org.apache.pekko.Done;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.SerializerWithStringManifest;
import org.apache.pekko.serialization.Serializers;

/**
 * Pekko's serializer of {@link StreamDelivery}, bound in tributary-pekko's {@code reference.conf}
 * (Pekko's Java serialization is off by default, and would not do for the nested event anyway).
 *
 * <p>Format, version 1, big-endian: a version byte; the subscription id (two longs); the stream's
 * namespace and key (modified UTF-8); the token (a tag byte, then sequence number and event index);
 * the write time (a long, -1 when unknown); the headers (a count, then per header its key and its
 * value as a length, -1 for null, and the bytes); the reply-to actor in {@link ActorRefResolver}'s
 * serialization format; and the event nested as Pekko serializes it: the id of the serializer bound
 * to its class, that serializer's manifest, and its bytes. The event's type is the user's: bind a
 * serializer to it as for any message that crosses the network.
 *
 * <p>The acknowledgement is Pekko's own {@link StatusReply} of {@link Done}, which Pekko serializes
 * itself.
 */
public final class StreamDeliverySerializer extends SerializerWithStringManifest {
  /** This serializer's id, registered in {@code reference.conf}. */
  public static final int IDENTIFIER = 1_547_113;

  static final String MANIFEST = "D1";
  private static final byte VERSION = 1;
  private static final byte TOKEN_EVENT_SEQUENCE = 0;

  private final ExtendedActorSystem system;
  private volatile Serialization serialization;
  private volatile ActorRefResolver resolver;

  /** Created by Pekko's serialization extension. */
  public StreamDeliverySerializer(ExtendedActorSystem system) {
    this.system = system;
  }

  @Override
  public int identifier() {
    return IDENTIFIER;
  }

  @Override
  public String manifest(Object o) {
    if (o instanceof StreamDelivery<?>) {
      return MANIFEST;
    }
    throw new IllegalArgumentException(
        "StreamDeliverySerializer cannot serialize " + o.getClass().getName());
  }

  @Override
  public byte[] toBinary(Object o) {
    if (!(o instanceof StreamDelivery<?> d)) {
      throw new IllegalArgumentException(
          "StreamDeliverySerializer cannot serialize " + o.getClass().getName());
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(VERSION);
      out.writeLong(d.subscriptionId().getMostSignificantBits());
      out.writeLong(d.subscriptionId().getLeastSignificantBits());
      EventContext c = d.context();
      out.writeUTF(c.streamId().namespace());
      out.writeUTF(c.streamId().key());
      out.writeByte(TOKEN_EVENT_SEQUENCE);
      out.writeLong(c.token().sequenceNumber());
      out.writeInt(c.token().eventIndex());
      out.writeLong(c.timestampMillis());
      out.writeInt(c.headers().size());
      for (Map.Entry<String, byte[]> h : c.headers().entrySet()) {
        out.writeUTF(h.getKey());
        byte[] v = h.getValue();
        out.writeInt(v == null ? -1 : v.length);
        if (v != null) {
          out.write(v);
        }
      }
      out.writeUTF(resolver().toSerializationFormat(d.replyTo()));
      Object event = d.event();
      Serializer s = serialization().findSerializerFor(event);
      byte[] payload = s.toBinary(event);
      out.writeInt(s.identifier());
      out.writeUTF(Serializers.manifestFor(s, event));
      out.writeInt(payload.length);
      out.write(payload);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  @Override
  public Object fromBinary(byte[] bytes, String manifest) throws NotSerializableException {
    if (!MANIFEST.equals(manifest)) {
      throw new NotSerializableException(
          "StreamDeliverySerializer knows manifest " + MANIFEST + ", not '" + manifest + "'");
    }
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
      byte version = in.readByte();
      if (version != VERSION) {
        throw new NotSerializableException(
            "StreamDelivery of format version " + version + "; this node reads " + VERSION);
      }
      UUID subscription = new UUID(in.readLong(), in.readLong());
      StreamId stream = StreamId.of(in.readUTF(), in.readUTF());
      byte tag = in.readByte();
      if (tag != TOKEN_EVENT_SEQUENCE) {
        throw new NotSerializableException("StreamDelivery with unknown token tag " + tag);
      }
      StreamSequenceToken token = new EventSequenceToken(in.readLong(), in.readInt());
      long timestamp = in.readLong();
      int headerCount = in.readInt();
      Map<String, byte[]> headers = new LinkedHashMap<>();
      for (int i = 0; i < headerCount; i++) {
        String key = in.readUTF();
        int length = in.readInt();
        byte[] v = null;
        if (length >= 0) {
          v = new byte[length];
          in.readFully(v);
        }
        headers.put(key, v);
      }
      ActorRef<StatusReply<Done>> replyTo = resolver().resolveActorRef(in.readUTF());
      int serializerId = in.readInt();
      String eventManifest = in.readUTF();
      byte[] payload = new byte[in.readInt()];
      in.readFully(payload);
      Object event = serialization().deserialize(payload, serializerId, eventManifest).get();
      return new StreamDelivery<>(
          event,
          EventContext.of(stream, token, timestamp, java.util.Collections.unmodifiableMap(headers)),
          subscription,
          replyTo);
    } catch (IOException e) {
      NotSerializableException n =
          new NotSerializableException("a malformed StreamDelivery: " + e.getMessage());
      n.initCause(e);
      throw n;
    }
  }

  private Serialization serialization() {
    Serialization s = serialization;
    if (s == null) {
      s = SerializationExtension.get(system);
      serialization = s;
    }
    return s;
  }

  private ActorRefResolver resolver() {
    ActorRefResolver r = resolver;
    if (r == null) {
      r = ActorRefResolver.get(Adapter.toTyped(system));
      resolver = r;
    }
    return r;
  }
}
