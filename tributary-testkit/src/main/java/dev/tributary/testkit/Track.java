package dev.tributary.testkit;

import dev.tributary.StreamId;
import dev.tributary.StreamSequenceToken;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What one subscriber received on one stream: its deliveries in arrival order, its errors, and the
 * order violations found while recording. Thread-safe.
 */
final class Track {
  private static final int MAX_VIOLATIONS = 20;

  final String subscriber;
  final StreamId streamId;
  private final List<Delivery> deliveries = new ArrayList<>();
  private final Set<StreamSequenceToken> seen = new HashSet<>();
  private final Map<StreamSequenceToken, Integer> attemptsByToken = new HashMap<>();
  private final List<Throwable> errors = new ArrayList<>();
  private final List<String> violations = new ArrayList<>();
  private StreamSequenceToken last;
  private long attempts;
  private int duplicates;
  private int outOfOrder;
  private int completions;

  Track(String subscriber, StreamId streamId) {
    this.subscriber = subscriber;
    this.streamId = streamId;
  }

  /** Counts a delivery attempt and returns its number for {@code token}, 1 for the first. */
  synchronized int attempt(StreamSequenceToken token) {
    attempts++;
    return attemptsByToken.merge(token, 1, Integer::sum);
  }

  /**
   * Records an acknowledged event; returns false when it broke the order. Every delivery of a token
   * recorded before is a duplicate, wherever it falls (a replay of several events counts each one);
   * a new token at or before the last one is out of order.
   */
  synchronized boolean record(Object item, StreamSequenceToken token) {
    boolean ok = true;
    if (!seen.add(token)) {
      ok = false;
      duplicates++;
      violation("duplicate " + token + " (" + item + ") after " + last);
    } else if (last != null && token.compareTo(last) <= 0) {
      ok = false;
      outOfOrder++;
      violation("out of order " + token + " (" + item + ") after " + last);
    }
    deliveries.add(new Delivery(subscriber, streamId, item, token));
    last = token;
    return ok;
  }

  private void violation(String what) {
    if (violations.size() < MAX_VIOLATIONS) {
      violations.add(subscriber + " on " + streamId + ": " + what);
    }
  }

  synchronized void error(Throwable error) {
    errors.add(error);
  }

  synchronized void completed() {
    completions++;
  }

  synchronized List<Delivery> deliveries() {
    return List.copyOf(deliveries);
  }

  /** The items in the order their tokens were first delivered: replays left out. */
  synchronized List<Object> firstItems() {
    List<Object> out = new ArrayList<>();
    Set<StreamSequenceToken> firsts = new HashSet<>();
    for (Delivery d : deliveries) {
      if (firsts.add(d.token())) {
        out.add(d.item());
      }
    }
    return out;
  }

  /** The tokens in the order they were first delivered. */
  synchronized List<StreamSequenceToken> firstTokens() {
    List<StreamSequenceToken> out = new ArrayList<>();
    Set<StreamSequenceToken> firsts = new HashSet<>();
    for (Delivery d : deliveries) {
      if (firsts.add(d.token())) {
        out.add(d.token());
      }
    }
    return out;
  }

  synchronized List<Object> items() {
    List<Object> out = new ArrayList<>(deliveries.size());
    for (Delivery d : deliveries) {
      out.add(d.item());
    }
    return out;
  }

  synchronized List<StreamSequenceToken> tokens() {
    List<StreamSequenceToken> out = new ArrayList<>(deliveries.size());
    for (Delivery d : deliveries) {
      out.add(d.token());
    }
    return out;
  }

  synchronized int count() {
    return deliveries.size();
  }

  synchronized List<Throwable> errors() {
    return List.copyOf(errors);
  }

  synchronized List<String> violations() {
    return List.copyOf(violations);
  }

  synchronized int duplicates() {
    return duplicates;
  }

  synchronized int outOfOrder() {
    return outOfOrder;
  }

  synchronized long attempts() {
    return attempts;
  }

  synchronized int attempts(StreamSequenceToken token) {
    return attemptsByToken.getOrDefault(token, 0);
  }

  synchronized int completions() {
    return completions;
  }

  @Override
  public synchronized String toString() {
    return subscriber
        + " on "
        + streamId
        + ": "
        + deliveries.size()
        + " delivered, last "
        + last
        + ", "
        + errors.size()
        + " error(s), "
        + duplicates
        + " duplicate(s), "
        + outOfOrder
        + " out of order";
  }
}
