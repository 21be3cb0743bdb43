package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.StreamId;
import dev.tributary.spi.BatchContainer;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** The buffer and watermark rules that decide what is handed out and what is committed. */
class PartitionStateTest {

  private static KafkaBatchContainer rec(long offset) {
    return new KafkaBatchContainer(
        StreamId.of("t", "k"),
        0,
        offset,
        "v" + offset,
        null,
        1000 + offset,
        null,
        null,
        false,
        100);
  }

  private static List<KafkaBatchContainer> recs(long from, long to) {
    List<KafkaBatchContainer> out = new ArrayList<>();
    for (long o = from; o < to; o++) {
      out.add(rec(o));
    }
    return out;
  }

  private final PartitionState state =
      new PartitionState(new TopicPartition("t", 0), null, 10, 1L << 20, false);

  @Test
  void eachOffsetIsHandedOutOnce_evenWhenAFetchRepeatsIt() {
    state.startAt(0);
    assertThat(state.append(recs(0, 5), 5)).isTrue();
    assertThat(state.append(recs(3, 8), 8)).isFalse(); // a re-fetch after a re-seek overlaps
    List<BatchContainer> out = state.drain(100);
    assertThat(out)
        .extracting(b -> ((KafkaBatchContainer) b).offset())
        .containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L);
    assertThat(state.drain(100)).isEmpty();
  }

  @Test
  void commitCandidate_isTheDeliveredWatermark_andNeverGoesBackwards() {
    state.startAt(0);
    state.append(recs(0, 6), 6);
    assertThat(state.commitCandidate()).isEqualTo(-1);
    List<BatchContainer> out = state.drain(6);
    state.delivered(out.subList(0, 3));
    assertThat(state.commitCandidate()).isEqualTo(3);
    state.delivered(out.subList(0, 1)); // a late, older acknowledgement
    assertThat(state.deliveredWatermark()).isEqualTo(3);
    // 4 and 5 are acknowledged before 3 (another stream was behind): the watermark waits for 3.
    state.delivered(out.subList(4, 6));
    assertThat(state.commitCandidate()).isEqualTo(3);
    assertThat(state.deliveredAbove(3)).isEqualTo(encoded(3, 4, 5));
    state.delivered(out.subList(3, 4));
    assertThat(state.commitCandidate()).isEqualTo(6);
    assertThat(state.deliveredAbove(6)).isEmpty();
  }

  /** A compacted topic (or transaction markers) leaves gaps: acknowledgements still find theirs. */
  @Test
  void offsetsWithGaps_areAcknowledgedExactly() {
    long[] offsets = {0, 2, 3, 7, 8, 10};
    List<KafkaBatchContainer> in = new ArrayList<>();
    for (long o : offsets) {
      in.add(rec(o));
    }
    state.startAt(0);
    state.append(in, 11);
    List<BatchContainer> out = state.drain(100);
    assertThat(out).hasSize(6);
    state.delivered(List.of(out.get(3))); // 7: its distance from 0 points past what was handed out
    assertThat(state.commitCandidate()).isEqualTo(0);
    state.delivered(List.of(rec(9))); // never fetched: ignored
    state.delivered(List.of(out.get(0), out.get(2), out.get(1)));
    assertThat(state.commitCandidate()).isEqualTo(8);
    assertThat(state.deliveredAbove(8)).isEmpty();
    state.delivered(List.of(out.get(5)));
    assertThat(state.commitCandidate()).isEqualTo(8);
    assertThat(state.deliveredAbove(8)).isEqualTo(encoded(8, 10));
    state.delivered(List.of(out.get(4)));
    assertThat(state.commitCandidate()).isEqualTo(11);
  }

  private static String encoded(long committed, long... offsets) {
    DeliveredOffsets.Builder b = DeliveredOffsets.builder(committed);
    for (long o : offsets) {
      b.add(o);
    }
    return b.encode();
  }

  @Test
  void outOfOrderAcknowledgements_keepTheWatermarkExact_andListWhatIsDeliveredAboveIt() {
    state.startAt(100);
    state.append(recs(100, 108), 108);
    List<BatchContainer> out = state.drain(8);
    // Offsets 101, 103, 104 and 107 were delivered; 100 (a slow stream) was not.
    state.delivered(List.of(out.get(1), out.get(3), out.get(4), out.get(7)));
    assertThat(state.deliveredWatermark()).isEqualTo(100);
    assertThat(state.commitCandidate()).isEqualTo(100);
    String metadata = state.deliveredAbove(100);
    assertThat(metadata).startsWith(DeliveredOffsets.PREFIX);

    // The next owner starts at 100 with that metadata: it skips exactly what was delivered.
    PartitionState next = new PartitionState(new TopicPartition("t", 0), null, 10, 1L << 20, false);
    next.restoreDelivered(100, metadata);
    next.startAt(100);
    next.append(recs(100, 108), 108);
    List<BatchContainer> again = next.drain(100);
    assertThat(again)
        .extracting(b -> ((KafkaBatchContainer) b).offset())
        .containsExactly(100L, 102L, 105L, 106L);
    assertThat(next.skippedAsDelivered()).isEqualTo(4);
    // Until its own deliveries pass them, it keeps listing what the earlier owner delivered.
    next.delivered(List.of(again.get(2)));
    assertThat(next.deliveredAbove(100)).isEqualTo(encoded(100, 101, 103, 104, 105, 107));
    next.delivered(List.of(again.get(0), again.get(1), again.get(3)));
    assertThat(next.commitCandidate()).isEqualTo(108);
    assertThat(next.deliveredAbove(108)).isEmpty();
  }

  /**
   * Item 9 of the delivery-correctness issue: a dead letter given up by an agent still stopping
   * after a revoke timeout was registered with the partition's new state and could freeze its
   * commits. A state recognizes only the records it handed out itself.
   */
  @Test
  void handedOut_recognizesOnlyThisAssignmentsRecords() {
    state.startAt(0);
    state.append(recs(0, 3), 3);
    KafkaBatchContainer mine = (KafkaBatchContainer) state.drain(10).get(1);
    PartitionState next = new PartitionState(new TopicPartition("t", 0), null, 10, 1L << 20, false);
    next.startAt(0);
    next.append(recs(0, 3), 3);
    next.drain(10);
    assertThat(state.handedOut(mine)).isTrue();
    assertThat(next.handedOut(mine)).as("same offset, another assignment's record").isFalse();
    state.delivered(List.of(mine));
    assertThat(state.handedOut(mine)).as("acknowledged already").isFalse();
  }

  /**
   * A second hand-over: what the first owner delivered right after the last record the second
   * handed out must not become the committed offset (which by definition is not delivered), or the
   * third reader delivers it again.
   */
  @Test
  void restoredOffsetsRightAfterTheLastHandedOut_areCarriedOnThroughASecondHandOver() {
    PartitionState second =
        new PartitionState(new TopicPartition("t", 0), null, 1000, 1L << 20, false);
    second.restoreDelivered(100, encoded(100, 105, 107));
    second.startAt(100);
    second.append(recs(100, 110), 110);
    second.delivered(second.drain(5)); // 100..104; 106, 108, 109 stay buffered
    long commit = second.commitCandidate();
    assertThat(commit).as("the first record still needed").isEqualTo(106);
    PartitionState third =
        new PartitionState(new TopicPartition("t", 0), null, 1000, 1L << 20, false);
    third.restoreDelivered(commit, second.deliveredAbove(commit));
    third.startAt(commit);
    third.append(recs(commit, 110), 110);
    assertThat(third.drain(100))
        .extracting(b -> ((KafkaBatchContainer) b).offset())
        .containsExactly(106L, 108L, 109L);
  }

  /**
   * A record whose dead letter is not written yet holds the commit below it; it must not be listed
   * as delivered above the commit either, or a crash before the write loses it.
   */
  @Test
  void pendingDeadLetter_isNotListedAsDeliveredAboveTheCommit() {
    state.startAt(0);
    state.append(recs(0, 10), 10);
    List<BatchContainer> out = new ArrayList<>(state.drain(10));
    state.deadLetterPending(3);
    state.deadLetterPending(6);
    out.remove(1); // offset 1 belongs to a slow stream, still in flight
    state.delivered(out);
    long commit = state.commitCandidate();
    assertThat(commit).isEqualTo(1);
    DeliveredOffsets listed = DeliveredOffsets.decode(commit, state.deliveredAbove(commit));
    assertThat(listed.contains(6)).as("dead letter of 6 pending").isFalse();
    assertThat(listed.contains(3)).as("dead letter of 3 pending").isFalse();
    assertThat(listed.contains(5)).isTrue();
    assertThat(listed.size()).isEqualTo(6); // 2, 4, 5, 7, 8, 9
  }

  @Test
  void foreignOrBrokenMetadata_skipsNothing() {
    for (String metadata : new String[] {null, "", "some other app", "trb1:%%%"}) {
      PartitionState next =
          new PartitionState(new TopicPartition("t", 0), null, 10, 1L << 20, false);
      next.restoreDelivered(5, metadata);
      next.startAt(5);
      next.append(recs(5, 9), 9);
      assertThat(next.drain(10)).as("metadata %s", metadata).hasSize(4);
    }
  }

  @Test
  void deliveredOffsets_beyondTheBound_areLeftOut_neverMisread() {
    DeliveredOffsets.Builder b = DeliveredOffsets.builder(0);
    b.add(1).add(DeliveredOffsets.MAX_BITS).add(DeliveredOffsets.MAX_BITS + 1).add(0).add(-3);
    String encoded = b.encode();
    assertThat(encoded.length()).isLessThan(4096);
    DeliveredOffsets d = DeliveredOffsets.decode(0, encoded);
    assertThat(d.contains(1)).isTrue();
    assertThat(d.contains(DeliveredOffsets.MAX_BITS)).isTrue();
    assertThat(d.contains(DeliveredOffsets.MAX_BITS + 1)).as("beyond the bound").isFalse();
    assertThat(d.contains(0)).as("the commit offset itself").isFalse();
    assertThat(d.size()).isEqualTo(2);
    String full =
        DeliveredOffsets.builder(0).addAll(everyOffsetUpTo(DeliveredOffsets.MAX_BITS)).encode();
    assertThat(full.length()).as("the largest metadata").isLessThan(4096);
  }

  private static DeliveredOffsets everyOffsetUpTo(int n) {
    DeliveredOffsets.Builder b = DeliveredOffsets.builder(0);
    for (int i = 1; i <= n; i++) {
      b.add(i);
    }
    return DeliveredOffsets.decode(0, b.encode());
  }

  @Test
  void trailingPoisonRecords_areCommittedOnceEverythingHandedOutWasDelivered() {
    state.startAt(0);
    state.append(recs(0, 3), 5); // offsets 3 and 4 were poison: dealt with, not buffered
    List<BatchContainer> out = state.drain(10);
    assertThat(state.commitCandidate()).isEqualTo(-1);
    state.delivered(out.subList(0, 2));
    assertThat(state.commitCandidate()).isEqualTo(2); // offset 2 still in flight
    state.delivered(out.subList(2, 3));
    assertThat(state.commitCandidate()).isEqualTo(5);
  }

  @Test
  void pendingDeadLetter_holdsTheCommitAtItsOffset() {
    state.startAt(0);
    state.deadLetterPending(2);
    state.append(List.of(rec(0), rec(1), rec(3)), 4);
    state.delivered(state.drain(10));
    assertThat(state.commitCandidate()).isEqualTo(2);
    state.deadLetterDone(2);
    assertThat(state.commitCandidate()).isEqualTo(4);
  }

  @Test
  void fullBuffer_asksForPause_andHalfDrainedAsksForResume() {
    state.startAt(0);
    state.append(recs(0, 10), 10);
    assertThat(state.isFull()).isTrue();
    state.paused = true;
    state.drain(4);
    assertThat(state.resumeRequested).isFalse();
    state.drain(1);
    assertThat(state.canResume()).isTrue();
    assertThat(state.resumeRequested).isTrue();
  }

  @Test
  void lagAndOldestAge_followDelivery() {
    state.startAt(0);
    state.logEndOffset = 10;
    state.append(recs(0, 10), 10);
    assertThat(state.lag()).isEqualTo(10);
    assertThat(state.oldestUndeliveredTimestamp).isEqualTo(1000);
    List<BatchContainer> out = state.drain(10);
    state.delivered(out.subList(0, 4));
    assertThat(state.lag()).isEqualTo(6);
    assertThat(state.oldestUndeliveredTimestamp).isEqualTo(1004);
    state.committedAt(4, "");
    state.committedAt(2, "");
    assertThat(state.committed).isEqualTo(4);
  }

  @Test
  void bytesBound_pausesBeforeTheRecordBound_andResumesAtHalf() {
    // 10 records of 100 bytes reckoned each against a 1 KiB bound: full at 1000 bytes, not at 10
    // records; resumable once at most 512 bytes remain.
    PartitionState bytes =
        new PartitionState(new TopicPartition("t", 0), null, 1_000, 1_000, false);
    bytes.startAt(0);
    bytes.append(recs(0, 9), 9);
    assertThat(bytes.isFull()).isFalse();
    assertThat(bytes.bufferedBytes()).isEqualTo(900);
    bytes.append(recs(9, 10), 10);
    assertThat(bytes.isFull()).isTrue();
    bytes.paused = true;
    bytes.drain(4);
    assertThat(bytes.canResume()).isFalse();
    bytes.drain(1);
    assertThat(bytes.bufferedBytes()).isEqualTo(500);
    assertThat(bytes.canResume()).isTrue();
    assertThat(bytes.resumeRequested).isTrue();
  }

  @Test
  void everyRecord_isHandedOutOnceInOrder_acrossRingGrowthAndPartialAcks() {
    state.startAt(0);
    List<Long> seen = new ArrayList<>();
    long next = 0;
    for (int round = 0; round < 50; round++) {
      state.append(recs(next, next + 37), next + 37);
      next += 37;
      List<BatchContainer> out = state.drain(23 + round % 7);
      out.forEach(b -> seen.add(((KafkaBatchContainer) b).offset()));
      if (!out.isEmpty()) {
        // The second half first: acknowledgements arrive in any order.
        state.delivered(out.subList(out.size() / 2, out.size()));
        state.delivered(out.subList(0, out.size() / 2));
      }
    }
    List<BatchContainer> rest;
    while (!(rest = state.drain(1000)).isEmpty()) {
      rest.forEach(b -> seen.add(((KafkaBatchContainer) b).offset()));
      state.delivered(rest);
    }
    assertThat(seen).hasSize((int) next);
    for (int i = 0; i < seen.size(); i++) {
      assertThat(seen.get(i)).isEqualTo(i);
    }
    assertThat(state.oldestHandedOut()).isEqualTo(-1);
    assertThat(state.commitCandidate()).isEqualTo(next);
  }
}
