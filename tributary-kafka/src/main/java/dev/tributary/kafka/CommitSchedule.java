package dev.tributary.kafka;

import java.time.Clock;
import java.time.Duration;

/**
 * When a consumer loop's next periodic commit is due: {@code commitInterval} after the last one, or
 * sooner once {@code commitEveryRecords} more records were delivered.
 *
 * <p>The interval is measured on the provider time's clock ({@code ProviderContext.time().clock()},
 * in milliseconds), so a test with a manual time decides when a commit is due; the consumer thread
 * itself still polls on real time. A clock that steps back (a wall clock corrected by NTP) starts
 * the interval over from the earlier reading instead of holding commits back until it catches up.
 * Confined to the consumer thread of the {@link ConsumerLoop} that owns it.
 */
final class CommitSchedule {

  private final Clock clock;
  private final long intervalMillis;
  private final long everyRecords;
  private long lastCommitMillis;
  private long deliveredAtLastCommit;

  /** A schedule whose first interval starts now on {@code clock}, with nothing delivered yet. */
  CommitSchedule(Duration interval, int everyRecords, Clock clock) {
    this.clock = clock;
    this.intervalMillis = interval.toMillis();
    this.everyRecords = everyRecords;
    this.lastCommitMillis = clock.millis();
  }

  /**
   * True when a commit is due now with {@code delivered} records delivered so far; the schedule
   * then starts over from this time and count.
   */
  boolean due(long delivered) {
    long now = clock.millis();
    if (now < lastCommitMillis) {
      lastCommitMillis = now;
    }
    boolean elapsed = now - lastCommitMillis >= intervalMillis;
    boolean many = delivered - deliveredAtLastCommit >= everyRecords;
    if (!elapsed && !many) {
      return false;
    }
    lastCommitMillis = now;
    deliveredAtLastCommit = delivered;
    return true;
  }
}
