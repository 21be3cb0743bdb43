package dev.tributary.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.testkit.RuntimeInvariantsExtension;
import org.junit.jupiter.api.Test;

/**
 * Every test of this module runs under {@link RuntimeInvariantsExtension}, registered by JUnit's
 * auto-detection (src/test/resources/junit-platform.properties): during a test, the default
 * uncaught-exception handler is the one it installs.
 */
class RuntimeInvariantsRegisteredTest {

  @Test
  void theExtensionWatchesThisModulesTests() {
    assertThat(Thread.getDefaultUncaughtExceptionHandler())
        .as("the default uncaught-exception handler during a test")
        .isNotNull()
        .extracting(h -> h.getClass().getName())
        .asString()
        .startsWith(RuntimeInvariantsExtension.class.getName());
  }
}
