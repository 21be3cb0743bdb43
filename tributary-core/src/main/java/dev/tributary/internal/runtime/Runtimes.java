package dev.tributary.internal.runtime;

import dev.tributary.StreamRuntime;

/** The one door from the public builder into the runtime; this package is not exported. */
public final class Runtimes {
  private Runtimes() {}

  /** Builds the runtime that {@code config} describes; nothing runs until it is started. */
  public static StreamRuntime create(RuntimeConfig config) {
    return new PersistentStreamRuntime(config);
  }
}
