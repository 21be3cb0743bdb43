package dev.tributary.testkit.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.testkit.kafka.BackendSpec.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BackendSpecTest {

  @Test
  void absentOrBlankMeansAuto() {
    assertThat(BackendSpec.parse(null)).isEqualTo(BackendSpec.AUTO);
    assertThat(BackendSpec.parse("")).isEqualTo(BackendSpec.AUTO);
    assertThat(BackendSpec.parse("  ")).isEqualTo(BackendSpec.AUTO);
    assertThat(BackendSpec.parse("auto").kind()).isEqualTo(Kind.AUTO);
  }

  @Test
  void namedBackendsIgnoreCaseAndSurroundingBlanks() {
    assertThat(BackendSpec.parse("local").kind()).isEqualTo(Kind.LOCAL);
    assertThat(BackendSpec.parse(" LOCAL ").kind()).isEqualTo(Kind.LOCAL);
    assertThat(BackendSpec.parse("testcontainers").kind()).isEqualTo(Kind.TESTCONTAINERS);
    assertThat(BackendSpec.parse("TestContainers").kind()).isEqualTo(Kind.TESTCONTAINERS);
    assertThat(BackendSpec.parse("local").externalBootstrap()).isNull();
  }

  @Test
  void externalKeepsTheWholeBootstrapList() {
    BackendSpec spec = BackendSpec.parse("external:host:9092");
    assertThat(spec.kind()).isEqualTo(Kind.EXTERNAL);
    assertThat(spec.externalBootstrap()).isEqualTo("host:9092");

    BackendSpec several = BackendSpec.parse("External:broker-a:9092,broker-b:9093 ");
    assertThat(several.externalBootstrap()).isEqualTo("broker-a:9092,broker-b:9093");
    assertThat(several).hasToString("external:broker-a:9092,broker-b:9093");
  }

  @ParameterizedTest
  @ValueSource(strings = {"external:", "external:  ", "EXTERNAL:"})
  void externalWithoutAddressIsRejected(String value) {
    assertThatThrownBy(() -> BackendSpec.parse(value))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("bootstrap servers")
        .hasMessageContaining("external:localhost:9092");
  }

  @ParameterizedTest
  @ValueSource(strings = {"docker", "external", "localhost:9092", "loca"})
  void unknownValueNamesTheAllowedOnes(String value) {
    assertThatThrownBy(() -> BackendSpec.parse(value))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'" + value + "'")
        .hasMessageContaining("tributary.kafka")
        .hasMessageContaining("auto, local, testcontainers, external:<bootstrap-servers>");
  }

  @Test
  void builderRejectsAnUnknownBackendEagerly() {
    assertThatThrownBy(() -> KafkaBroker.builder().backend("kubernetes"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("allowed values");
  }

  @Test
  void containerEnvironmentNamesFollowTheImageConvention() {
    assertThat(ContainerBroker.envName("auto.create.topics.enable"))
        .isEqualTo("KAFKA_AUTO_CREATE_TOPICS_ENABLE");
    assertThat(ContainerBroker.envName("a_b-c.d")).isEqualTo("KAFKA_A__B___C_D");
  }
}
