package dev.tributary.internal.runtime;

import dev.tributary.StreamId;
import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;

/**
 * An agent's streams by id: open addressing (linear probing) over the {@link StreamState}s
 * themselves, which carry their id's hash. A lookup reads a slot and the state it finds, where a
 * {@link java.util.HashMap} reads a slot, a node and then the state: one cache miss less per
 * record, and no node (32 bytes) per stream. At most half full; removal shifts the following run
 * back, so there are no tombstones.
 *
 * <p>A {@link Map} so that the agent's code reads as before. Every value must be the state of its
 * key ({@code put(s.id, s)}). Iterators walk a snapshot of the slots, so removing while iterating
 * (through the iterator or the map) neither skips nor repeats a stream. Confined to the agent's
 * thread, like the states.
 */
final class StreamTable extends AbstractMap<StreamId, StreamState> {
  private static final int MIN_SLOTS = 16;

  private StreamState[] slots = new StreamState[MIN_SLOTS];
  private int size;

  /** Spreads the id's hash over the slots: ids of similar keys have nearby hashes. */
  private static int spread(int h) {
    h *= 0x9E3779B9;
    return h ^ (h >>> 16);
  }

  @Override
  public StreamState get(Object key) {
    if (!(key instanceof StreamId id)) {
      return null;
    }
    StreamState[] t = slots;
    int mask = t.length - 1;
    int h = id.hashCode();
    for (int i = spread(h) & mask; ; i = (i + 1) & mask) {
      StreamState s = t[i];
      if (s == null) {
        return null;
      }
      if (s.hash == h && (s.id == id || s.id.equals(id))) {
        return s;
      }
    }
  }

  @Override
  public boolean containsKey(Object key) {
    return get(key) != null;
  }

  @Override
  public StreamState put(StreamId id, StreamState state) {
    if (state == null || !state.id.equals(id)) {
      throw new IllegalArgumentException(
          "state was " + state + " but it must be the state of " + id);
    }
    int i = indexOf(id);
    if (i >= 0) {
      StreamState old = slots[i];
      slots[i] = state;
      return old;
    }
    if (2 * (size + 1) > slots.length) {
      resize(2 * slots.length);
    }
    insert(state);
    size++;
    return null;
  }

  @Override
  public StreamState remove(Object key) {
    if (!(key instanceof StreamId id)) {
      return null;
    }
    int i = indexOf(id);
    if (i < 0) {
      return null;
    }
    StreamState old = slots[i];
    deleteAt(i);
    size--;
    return old;
  }

  @Override
  public int size() {
    return size;
  }

  @Override
  public void clear() {
    slots = new StreamState[MIN_SLOTS];
    size = 0;
  }

  /** How many slots the table has; for tests. */
  int capacity() {
    return slots.length;
  }

  private int indexOf(StreamId id) {
    StreamState[] t = slots;
    int mask = t.length - 1;
    int h = id.hashCode();
    for (int i = spread(h) & mask; ; i = (i + 1) & mask) {
      StreamState s = t[i];
      if (s == null) {
        return -1;
      }
      if (s.hash == h && (s.id == id || s.id.equals(id))) {
        return i;
      }
    }
  }

  private void insert(StreamState state) {
    StreamState[] t = slots;
    int mask = t.length - 1;
    int i = spread(state.hash) & mask;
    while (t[i] != null) {
      i = (i + 1) & mask;
    }
    t[i] = state;
  }

  /** Empties slot {@code i} and moves back what followed it in its run (Knuth's algorithm R). */
  private void deleteAt(int i) {
    StreamState[] t = slots;
    int mask = t.length - 1;
    int gap = i;
    for (int j = (i + 1) & mask; t[j] != null; j = (j + 1) & mask) {
      int home = spread(t[j].hash) & mask;
      // t[j] may move to the gap unless its home lies cyclically in (gap, j].
      boolean stays = gap <= j ? (gap < home && home <= j) : (gap < home || home <= j);
      if (!stays) {
        t[gap] = t[j];
        gap = j;
      }
    }
    t[gap] = null;
    if (slots.length > MIN_SLOTS && 8 * size < slots.length) {
      // Shrinks once mostly empty, after a mass inactivity cleanup.
      resize(slots.length / 2);
    }
  }

  private void resize(int n) {
    StreamState[] old = slots;
    slots = new StreamState[n];
    for (StreamState s : old) {
      if (s != null) {
        insert(s);
      }
    }
  }

  @Override
  public Set<Map.Entry<StreamId, StreamState>> entrySet() {
    return new AbstractSet<>() {
      @Override
      public Iterator<Map.Entry<StreamId, StreamState>> iterator() {
        Iterator<StreamState> states = new Snapshot();
        return new Iterator<>() {
          @Override
          public boolean hasNext() {
            return states.hasNext();
          }

          @Override
          public Map.Entry<StreamId, StreamState> next() {
            StreamState s = states.next();
            return new SimpleImmutableEntry<>(s.id, s);
          }

          @Override
          public void remove() {
            states.remove();
          }
        };
      }

      @Override
      public int size() {
        return size;
      }
    };
  }

  @Override
  public java.util.Collection<StreamState> values() {
    return new java.util.AbstractCollection<>() {
      @Override
      public Iterator<StreamState> iterator() {
        return new Snapshot();
      }

      @Override
      public int size() {
        return size;
      }
    };
  }

  /** Iterates the states present when it was made; {@code remove()} removes from the table. */
  private final class Snapshot implements Iterator<StreamState> {
    private final StreamState[] states =
        Arrays.stream(slots).filter(s -> s != null).toArray(StreamState[]::new);
    private int next;
    private StreamState last;

    @Override
    public boolean hasNext() {
      return next < states.length;
    }

    @Override
    public StreamState next() {
      if (next >= states.length) {
        throw new NoSuchElementException();
      }
      last = states[next++];
      return last;
    }

    @Override
    public void remove() {
      if (last == null) {
        throw new IllegalStateException("next() was not called, or remove() was already");
      }
      StreamTable.this.remove(last.id, last);
      last = null;
    }
  }
}
