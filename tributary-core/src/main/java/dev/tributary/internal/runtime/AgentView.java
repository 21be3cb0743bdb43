package dev.tributary.internal.runtime;

import dev.tributary.AgentState;

/**
 * What one pulling agent publishes for health and status: written by the agent's thread only (after
 * each pump, on state changes and read outcomes), read by any thread. Each field is volatile and
 * read on its own; a reader may see one pump's figures next to the previous pump's, never torn
 * values.
 */
final class AgentView {
  volatile AgentState state = AgentState.STARTING;

  /** When the cache became full (reading paused by backpressure), on the runtime's clock; -1. */
  volatile long pressureSinceMillis = -1;

  /** When the agent last acknowledged batches to its receiver; when it started, before that. */
  volatile long lastAckMillis;

  /** The last failed read or initialization, while reads keep failing; null once one worked. */
  volatile String lastReadError;

  volatile long lastReadErrorMillis = -1;

  /** Agent thread: a read (or initialization) failed at {@code now}. */
  void readFailed(Throwable error, long now) {
    lastReadErrorMillis = now;
    lastReadError = String.valueOf(error);
  }

  /** Agent thread: a read worked; cheap when nothing failed before (one volatile read). */
  void readWorked() {
    if (lastReadError != null) {
      lastReadError = null;
      lastReadErrorMillis = -1;
    }
  }

  /** Agent thread: publishes whether the cache is full now. */
  void pressure(boolean underPressure, long now) {
    if (!underPressure) {
      if (pressureSinceMillis >= 0) {
        pressureSinceMillis = -1;
      }
    } else if (pressureSinceMillis < 0) {
      pressureSinceMillis = now;
    }
  }
}
