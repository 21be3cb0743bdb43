package dev.tributary;

/** What the pulling agent of an owned queue is doing, as reported by health and status. */
@Incubating
public enum AgentState {
  /** The queue is owned but no agent runs for it (yet, or it failed to start). */
  NONE,
  /** The agent initializes its receiver (retried with backoff until it works). */
  STARTING,
  /** The agent reads and delivers. */
  RUNNING,
  /**
   * Stopped by {@link StreamProvider#stopAgents()}: no reading, no delivery; the agent keeps its
   * cache, cursors and subscriptions, and the queue stays owned by this node.
   */
  SUSPENDED,
  /** The agent drains and stops (the queue was released, or the runtime closes). */
  STOPPING,
  /** The agent has stopped. */
  STOPPED
}
