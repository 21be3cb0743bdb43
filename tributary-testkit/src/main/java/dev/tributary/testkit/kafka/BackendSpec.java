package dev.tributary.testkit.kafka;

import java.util.Locale;
import java.util.Objects;

/**
 * A parsed value of the {@value #PROPERTY} system property, naming how a {@link KafkaBroker} gets
 * its broker.
 *
 * <p>Parsing is kept apart from {@link KafkaBroker} so that a typo in a build script fails with a
 * message listing the accepted values instead of silently falling back to a default.
 *
 * @param kind which backend was asked for
 * @param externalBootstrap the bootstrap servers of an already running broker; only set for {@link
 *     Kind#EXTERNAL}
 */
record BackendSpec(Kind kind, String externalBootstrap) {

  /** The system property that selects the backend. */
  static final String PROPERTY = "tributary.kafka";

  /** The accepted values, as quoted in error messages. */
  static final String ALLOWED = "auto, local, testcontainers, external:<bootstrap-servers>";

  private static final String EXTERNAL_PREFIX = "external:";

  /** The kind of backend a spec asks for; {@link #AUTO} is resolved when the broker starts. */
  enum Kind {
    /** Testcontainers when a Docker engine answers, otherwise a local forked broker. */
    AUTO,
    /** A broker JVM forked from the current one. */
    LOCAL,
    /** A broker in a Docker container managed by Testcontainers. */
    TESTCONTAINERS,
    /** A broker somebody else runs; lifecycle operations are refused. */
    EXTERNAL
  }

  static final BackendSpec AUTO = new BackendSpec(Kind.AUTO, null);

  BackendSpec {
    Objects.requireNonNull(kind, "kind");
    if ((kind == Kind.EXTERNAL) != (externalBootstrap != null)) {
      throw new IllegalArgumentException(
          "external bootstrap servers must be given exactly for the external backend");
    }
  }

  /**
   * Parses a backend value; {@code null} or blank means {@code auto}. Kind names are matched
   * case-insensitively, the bootstrap address after {@code external:} is kept verbatim (trimmed).
   *
   * @throws IllegalArgumentException if the value names no known backend, or {@code external:} has
   *     no address
   */
  static BackendSpec parse(String value) {
    if (value == null || value.isBlank()) {
      return AUTO;
    }
    String trimmed = value.trim();
    String lower = trimmed.toLowerCase(Locale.ROOT);
    if (lower.startsWith(EXTERNAL_PREFIX)) {
      String bootstrap = trimmed.substring(EXTERNAL_PREFIX.length()).trim();
      if (bootstrap.isEmpty()) {
        throw new IllegalArgumentException(
            "-D"
                + PROPERTY
                + "="
                + value
                + ": external needs the broker's bootstrap servers, e.g. external:localhost:9092");
      }
      return new BackendSpec(Kind.EXTERNAL, bootstrap);
    }
    switch (lower) {
      case "auto":
        return AUTO;
      case "local":
        return new BackendSpec(Kind.LOCAL, null);
      case "testcontainers":
        return new BackendSpec(Kind.TESTCONTAINERS, null);
      default:
        throw new IllegalArgumentException(
            "Unknown Kafka backend '"
                + value
                + "' (from -D"
                + PROPERTY
                + "); allowed values: "
                + ALLOWED);
    }
  }

  /** Reads and parses the {@value #PROPERTY} system property. */
  static BackendSpec fromSystemProperty() {
    return parse(System.getProperty(PROPERTY));
  }

  @Override
  public String toString() {
    return kind == Kind.EXTERNAL
        ? EXTERNAL_PREFIX + externalBootstrap
        : kind.name().toLowerCase(Locale.ROOT);
  }
}
