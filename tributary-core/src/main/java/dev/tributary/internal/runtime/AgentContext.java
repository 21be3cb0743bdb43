package dev.tributary.internal.runtime;

import dev.tributary.StreamId;
import dev.tributary.StreamProviderOptions;
import dev.tributary.StreamSequenceToken;
import dev.tributary.spi.QueueId;
import dev.tributary.spi.QueueReplay;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;

/**
 * What a pulling agent needs from its provider, and nothing more: options, threads and time, the
 * subscriptions it attaches, the stream filter and the stream leases. {@link
 * PersistentStreamProvider} implements it; a test can too. Every method may be called from the
 * agent's thread; none blocks.
 */
interface AgentContext {

  /** The provider's name, for logs. */
  String name();

  StreamProviderOptions options();

  /** The runtime's worker pool, which runs the agents' serial executors. */
  Executor pool();

  MeterRegistry meterRegistry();

  /**
   * The runtime's time: its clock and every delay. A timer task runs on the time's thread (a timer
   * thread, or a test's); it must only hand work to an executor.
   */
  Timers timers();

  /** The implicit subscriptions of {@code namespace}. */
  List<PersistentStreamProvider.Implicit> implicitFor(String namespace);

  /** This node's explicit subscriptions of {@code id}. */
  Set<LocalSubscription> localSubscriptions(StreamId id);

  /** This node's explicit subscriptions of the streams the mapper puts on {@code queueId}. */
  List<LocalSubscription> localSubscriptions(QueueId queueId);

  /** True when the mapper puts {@code id} on {@code queueId}. */
  boolean isHomeQueue(StreamId id, QueueId queueId);

  /** Whether an event passes a subscription's filter data; never throws. */
  boolean filter(StreamId id, Object item, String filterData);

  /** Records that an explicit subscription was faulted, everywhere. */
  void markFaulted(LocalSubscription sub);

  /**
   * The agent of {@code queueId}, the home queue of {@code sub}'s stream, holds a cursor for it:
   * completes the subscribe handshake (for a cluster-wide subscription, by confirming its revision
   * in the store). Any thread; must not block.
   */
  void attached(LocalSubscription sub, QueueId queueId);

  /**
   * Completes once this node knows every subscription that the store held when called (the store's
   * {@code sync()}); an agent waits for it before it attaches its queue's subscriptions.
   */
  java.util.concurrent.CompletionStage<Void> subscriptionsSynced();

  /**
   * Makes the observer of a cluster-wide subscription from its address, if not done yet; sets
   * {@code sub.unresolvable} when the address cannot be resolved. Called by the agent before it
   * attaches one; must not block.
   */
  void resolveIfNeeded(LocalSubscription sub);

  /**
   * Makes an observer of {@code target} for a cluster-wide subscription without installing it
   * (checked by {@link Observers#checked}), or returns null and sets {@code sub.unresolvable}. Must
   * not block.
   */
  Object observerFor(LocalSubscription sub, LocalSubscription.Target target);

  /** The agent of {@code queueId} attached its queue's subscriptions and starts reading. */
  void queueStarted(QueueId queueId);

  /** Which agent delivers each stream now. */
  StreamLeases leases();

  /**
   * The adapter's reader of {@code id}'s past in {@code queueId} from {@code from}, or null when
   * the adapter cannot read its queues' past or failed to open one (logged). Never throws.
   */
  QueueReplay openReplay(QueueId queueId, StreamId id, StreamSequenceToken from);

  /** True once the provider is closing: an agent stopping now does not hand its queue over. */
  boolean isClosing();

  /** Delivery observations; null without an {@code ObservationRegistry}. */
  Tracing tracing();
}
