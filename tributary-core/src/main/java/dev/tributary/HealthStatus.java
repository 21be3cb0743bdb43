package dev.tributary;

/**
 * How well a runtime, a provider or one of its queues does its job, worst last.
 *
 * <p>The gauge {@code tributary.health} reports {@link #gaugeValue()}: 1, 0.5 or 0.
 */
@Incubating
public enum HealthStatus {
  /** Everything works. */
  UP(1.0),
  /** It works, but something needs attention: a stall, backpressure for long, failing reads. */
  DEGRADED(0.5),
  /** It does not work: not started, closed, or its queue technology is unreachable. */
  DOWN(0.0);

  private final double gaugeValue;

  HealthStatus(double gaugeValue) {
    this.gaugeValue = gaugeValue;
  }

  /** 1 for UP, 0.5 for DEGRADED, 0 for DOWN. */
  public double gaugeValue() {
    return gaugeValue;
  }

  /** The worse of this and {@code other}. */
  public HealthStatus worst(HealthStatus other) {
    return other != null && other.ordinal() > ordinal() ? other : this;
  }
}
