package dev.tributary.examples.pekko;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Checks that README.md's excerpt of this example is the compiled code between the tags of {@link
 * PekkoOrders}. It does not run the example: that takes a broker and half a minute, and is the
 * {@code -Ppekko-orders} profile's job.
 */
class ReadmeExcerptTest {

  @Test
  void readmeShowsTheCodeOfPekkoOrders() throws IOException {
    String source =
        Files.readString(
            Path.of("src/main/java/dev/tributary/examples/pekko/PekkoOrders.java"),
            StandardCharsets.UTF_8);
    String snippet = dedent(between(source, "// tag::readme[]\n", "    // end::readme[]"));
    String readme = Files.readString(Path.of("../../README.md"), StandardCharsets.UTF_8);
    String shown =
        between(
            readme,
            "<!-- pekko-orders-example:start -->\n```java\n",
            "```\n<!-- pekko-orders-example:end -->");
    assertThat(shown)
        .as("README.md's pekko-orders excerpt must be the code of PekkoOrders between the tags")
        .isEqualTo(snippet);
  }

  private static String between(String text, String start, String end) {
    int s = text.indexOf(start);
    assertThat(s).as("marker %s", start).isNotNegative();
    int e = text.indexOf(end, s + start.length());
    assertThat(e).as("marker %s", end).isNotNegative();
    return text.substring(s + start.length(), e);
  }

  private static String dedent(String block) {
    StringBuilder out = new StringBuilder();
    for (String line : block.split("\n", -1)) {
      out.append(line.startsWith("    ") ? line.substring(4) : line.strip()).append('\n');
    }
    return out.toString().replaceAll("\n+$", "\n");
  }
}
