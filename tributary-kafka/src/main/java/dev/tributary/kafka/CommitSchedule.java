package dev.tributary.kafka;

import java.time.Duration;

/**
 * When a consumer loop's next periodic commit is due: {@code commitInterval} after the last one, or
 * sooner once {@code commitEveryRecords} more records were delivered.
 *
 * <p>Pure bookkeeping: the caller passes the time ({@code System.nanoTime()} units) and the count
 * of records delivered so far. Confined to the consumer thread of the {@link ConsumerLoop} that
 * owns it.
 */
final class CommitSchedule {

  private final long intervalNanos;
  private final long everyRecords;
  private long lastCommitNanos;
  private long deliveredAtLastCommit;

  /** A schedule whose first interval starts at {@code nowNanos}, with nothing delivered yet. */
  CommitSchedule(Duration interval, int everyRecords, long nowNanos) {
    this.intervalNanos = interval.toNanos();
    this.everyRecords = everyRecords;
    this.lastCommitNanos = nowNanos;
  }

  /**
   * True when a commit is due at {@code nowNanos} with {@code delivered} records delivered so far;
   * the schedule then starts over from that time and count.
   */
  boolean due(long nowNanos, long delivered) {
    boolean elapsed = nowNanos - lastCommitNanos >= intervalNanos;
    boolean many = delivered - deliveredAtLastCommit >= everyRecords;
    if (!elapsed && !many) {
      return false;
    }
    lastCommitNanos = nowNanos;
    deliveredAtLastCommit = delivered;
    return true;
  }
}
