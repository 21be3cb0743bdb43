package dev.tributary.benchmarks.e2e;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Locale;

/**
 * Prints Tributary's pipeline state at a fixed period while a run goes on ({@code --trace-ms}):
 * records delivered, events cached by the agents, records buffered by the consumer for them, and
 * how many partitions are paused and caches under pressure. Shows at a glance which stage waits.
 */
final class Tracer {
  private Tracer() {}

  static Thread start(MeterRegistry registry, Tally tally, int periodMs) {
    Thread t =
        new Thread(
            () -> {
              long began = System.nanoTime();
              long lastDelivered = 0;
              System.out.println(
                  (tally.countsKeys() ? "    t(ms)  keys done" : "    t(ms)  delivered")
                      + "  +delta  cached  buffered  paused  pressure");
              while (!Thread.currentThread().isInterrupted()) {
                try {
                  Thread.sleep(periodMs);
                } catch (InterruptedException e) {
                  return;
                }
                long d = tally.progressCount();
                System.out.printf(
                    Locale.ROOT,
                    "  %7d %10d %7d %7d %9d %7d %9d%n",
                    (System.nanoTime() - began) / 1_000_000,
                    d,
                    d - lastDelivered,
                    sum(registry, "tributary.cache.size"),
                    sum(registry, "tributary.kafka.partition.buffered"),
                    sum(registry, "tributary.kafka.partition.paused"),
                    sum(registry, "tributary.cache.pressure"));
                lastDelivered = d;
              }
            },
            "bench-tracer");
    t.setDaemon(true);
    t.start();
    return t;
  }

  static long sum(MeterRegistry registry, String name) {
    long total = 0;
    for (Gauge g : registry.find(name).gauges()) {
      total += (long) g.value();
    }
    return total;
  }
}
