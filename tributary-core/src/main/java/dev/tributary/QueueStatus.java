package dev.tributary;

/**
 * One owned queue in a {@link ProviderStatus}. Offsets and lag are -1 when the adapter cannot tell
 * (the memory adapters); the cache and subscription figures are those the agent published after its
 * last pump.
 *
 * @param queue the queue (for Kafka {@code topic-partition})
 * @param agentState what the queue's agent does
 * @param lag events in the queue not yet delivered to every subscription; -1 when unknown
 * @param committedOffset the offset last committed for the queue (Kafka: the group's); -1 when
 *     unknown or none
 * @param deliveredOffset the delivered watermark: the oldest offset some subscription still needs,
 *     or the one after the last delivered; -1 when unknown
 * @param cacheSize batches held by the agent's cache
 * @param cacheCapacity the cache's capacity ({@code cacheSize} option)
 * @param underPressure true while the cache is full and reading paused
 * @param activeStreams streams the agent tracks
 * @param activeSubscriptions subscriptions with a cursor in the agent
 */
@Incubating
public record QueueStatus(
    String queue,
    AgentState agentState,
    long lag,
    long committedOffset,
    long deliveredOffset,
    int cacheSize,
    int cacheCapacity,
    boolean underPressure,
    int activeStreams,
    int activeSubscriptions) {}
