package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.StreamId;
import dev.tributary.SubscriberAddress;
import dev.tributary.kafka.StoreRecordCodec.Identity;
import dev.tributary.kafka.StoreRecordCodec.Key;
import dev.tributary.kafka.StoreRecordCodec.UndecodableException;
import dev.tributary.spi.SubscriptionRecord;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The store's record format, without a broker: round trips, unambiguous keys, bad bytes. */
class KafkaPubSubStoreCodecTest {

  static Stream<Arguments> identities() {
    return Stream.of(
        Arguments.of("kafka", "orders", "customer-42"),
        Arguments.of("kafka", "orders", ""),
        Arguments.of("p/q", "a/b", "c/d"),
        Arguments.of("kafka", "orders", "a\u0000b:c#d|e\\f"),
        Arguments.of("prov\u00e9", "ns-\u65e5\u672c", "\ud83d\ude00 key \u00fc"),
        Arguments.of("", "n", "x".repeat(70_000)));
  }

  @ParameterizedTest
  @MethodSource("identities")
  void keys_roundTrip(String provider, String namespace, String key) throws Exception {
    UUID id = UUID.randomUUID();
    for (byte kind : new byte[] {StoreRecordCodec.SUBSCRIPTION, StoreRecordCodec.CONFIRMATION}) {
      Key k =
          StoreRecordCodec.decodeKey(
              StoreRecordCodec.key(kind, provider, StreamId.of(namespace, key), id));
      assertThat(k.kind()).isEqualTo(kind);
      assertThat(k.identity()).isEqualTo(new Identity(provider, StreamId.of(namespace, key), id));
    }
  }

  @Test
  void keys_areUnambiguous_whereSeparatorsWouldCollide() {
    UUID id = UUID.randomUUID();
    List<String[]> parts =
        List.of(
            new String[] {"a", "b/c", "d"},
            new String[] {"a", "b", "c/d"},
            new String[] {"a/b", "c", "d"},
            new String[] {"a", "bc", "d"},
            new String[] {"a", "b", "cd"},
            new String[] {"ab", "c", "d"});
    Set<String> encoded = new HashSet<>();
    for (String[] p : parts) {
      encoded.add(
          Arrays.toString(
              StoreRecordCodec.key(
                  StoreRecordCodec.SUBSCRIPTION, p[0], StreamId.of(p[1], p[2]), id)));
    }
    assertThat(encoded).hasSize(parts.size());
  }

  @Test
  void subscriptionValues_roundTripEveryField() throws Exception {
    Identity id = new Identity("kafka", StreamId.of("orders", "k"), UUID.randomUUID());
    List<SubscriptionRecord> records =
        List.of(
            new SubscriptionRecord(id.subscriptionId(), "kafka", id.streamId(), null, false),
            new SubscriptionRecord(id.subscriptionId(), "kafka", id.streamId(), "", true),
            new SubscriptionRecord(
                id.subscriptionId(),
                "kafka",
                id.streamId(),
                "amount > 10 \u00e9",
                false,
                SubscriberAddress.of("pekko://app@10.0.0.1:25520/user/sub-1#123456789"),
                UUID.randomUUID(),
                false),
            new SubscriptionRecord(
                    id.subscriptionId(),
                    "kafka",
                    id.streamId(),
                    null,
                    true,
                    SubscriberAddress.of("addr"),
                    UUID.randomUUID(),
                    false)
                .asRemoved());
    for (SubscriptionRecord r : records) {
      assertThat(StoreRecordCodec.decodeSubscription(id, StoreRecordCodec.subscriptionValue(r)))
          .isEqualTo(r);
    }
  }

  @Test
  void confirmationValues_roundTrip() throws Exception {
    UUID rev = UUID.randomUUID();
    assertThat(StoreRecordCodec.decodeConfirmation(StoreRecordCodec.confirmationValue(rev)))
        .isEqualTo(rev);
  }

  @Test
  void laterFields_areIgnoredByThisFormat() throws Exception {
    Identity id = new Identity("kafka", StreamId.of("orders", "k"), UUID.randomUUID());
    SubscriptionRecord r =
        new SubscriptionRecord(id.subscriptionId(), "kafka", id.streamId(), "f", false);
    byte[] v = StoreRecordCodec.subscriptionValue(r);
    byte[] extended = Arrays.copyOf(v, v.length + 3);
    extended[1] |= (byte) 0x80; // a flag this version does not know, its field appended
    extended[v.length] = 2;
    assertThat(StoreRecordCodec.decodeSubscription(id, extended)).isEqualTo(r);
  }

  static Stream<byte[]> badKeys() {
    byte[] good =
        StoreRecordCodec.key(
            StoreRecordCodec.SUBSCRIPTION, "kafka", StreamId.of("o", "k"), UUID.randomUUID());
    byte[] otherFormat = good.clone();
    otherFormat[0] = 9;
    byte[] otherKind = good.clone();
    otherKind[1] = 'X';
    return Stream.of(
        null,
        new byte[0],
        "plain text key".getBytes(java.nio.charset.StandardCharsets.UTF_8),
        otherFormat,
        otherKind,
        Arrays.copyOf(good, good.length - 1),
        Arrays.copyOf(good, good.length + 1),
        new byte[] {1, 'S', (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0x7f},
        new byte[] {1, 'S', 1, (byte) 0xc3, 0});
  }

  @ParameterizedTest
  @MethodSource("badKeys")
  void badKeys_areUndecodable(byte[] key) {
    assertThatThrownBy(() -> StoreRecordCodec.decodeKey(key))
        .isInstanceOf(UndecodableException.class);
  }

  @Test
  void badValues_areUndecodable() {
    Identity id = new Identity("kafka", StreamId.of("orders", "k"), UUID.randomUUID());
    for (byte[] v :
        List.of(
            new byte[0],
            new byte[] {2, 0},
            new byte[] {1},
            new byte[] {1, 0x10, 1, 2},
            new byte[] {1, 0x08, 0}, // a blank subscriber address
            new byte[] {1, 0x08, 1, 'a'})) { // a subscriber without a revision
      assertThatThrownBy(() -> StoreRecordCodec.decodeSubscription(id, v))
          .isInstanceOf(UndecodableException.class);
    }
    assertThatThrownBy(() -> StoreRecordCodec.decodeConfirmation(new byte[] {1, 2, 3}))
        .isInstanceOf(UndecodableException.class);
  }
}
