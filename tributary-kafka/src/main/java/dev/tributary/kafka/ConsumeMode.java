package dev.tributary.kafka;

/**
 * Where a partition's reading starts when this runtime first owns it.
 *
 * <p>Only {@link #LAST_COMMITTED_MESSAGE} is safe for a consumer group of several nodes: the other
 * two ignore what the group committed, so they are meant for a single node, for replays and for
 * tests. Whatever the mode, a partition that this runtime already read and lost in a rebalance, or
 * one that was added to a topic while the runtime ran, continues from the group's committed offset
 * (from its beginning when nothing was committed), so that rebalancing and partition growth never
 * replay or skip records.
 */
public enum ConsumeMode {
  /**
   * Continue after the group's last committed offset; a partition the group never committed starts
   * where {@code KafkaQueueAdapterFactory.Builder.whenNoCommittedOffset} says (its beginning by
   * default, so that a new group does not skip the backlog). The default.
   */
  LAST_COMMITTED_MESSAGE,

  /** Read every partition from its first retained record, ignoring committed offsets. */
  STREAM_START,

  /** Read only records written after the partition was assigned, ignoring committed offsets. */
  STREAM_END
}
