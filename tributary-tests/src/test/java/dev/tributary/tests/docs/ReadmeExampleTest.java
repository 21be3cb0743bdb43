package dev.tributary.tests.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.tributary.AsyncStream;
import dev.tributary.StreamId;
import dev.tributary.StreamRuntime;
import dev.tributary.StreamSubscriptionHandle;
import dev.tributary.memory.MemoryQueueAdapterFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Compiles and runs the README's example, and checks that the README shows exactly this code. */
class ReadmeExampleTest {

  @Test
  void readmeExampleDeliversEveryOrderInOrder() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    CountDownLatch done = new CountDownLatch(3);
    // tag::readme[]
    try (StreamRuntime runtime =
        StreamRuntime.builder()
            .addProvider(
                "memory",
                MemoryQueueAdapterFactory.builder().queueCount(4).build(),
                agents ->
                    agents.getQueueMessagesTimerPeriod(Duration.ofMillis(100)).cacheSize(4096))
            .build()) {
      runtime.start();

      AsyncStream<String> orders =
          runtime.provider("memory").stream(StreamId.of("orders", "customer-42"));
      StreamSubscriptionHandle<String> handle =
          orders
              .subscribe(
                  (order, token) -> {
                    seen.add(order + " @" + token.sequenceNumber());
                    done.countDown();
                    return CompletableFuture.completedFuture(null); // the acknowledgement
                  })
              .toCompletableFuture()
              .join(); // completes once the agent holds a cursor: nothing produced later is missed

      orders.onNext("book");
      orders.onNext("pen");
      orders.onNext("lamp");
      done.await(10, TimeUnit.SECONDS);
      handle.unsubscribe().toCompletableFuture().join();
    } // close() drains in-flight deliveries, acknowledges them and stops the agents
    // end::readme[]
    assertThat(seen).containsExactly("book @0", "pen @1", "lamp @2");
  }

  @Test
  void readmeShowsThisExample() throws IOException {
    String source =
        Files.readString(
            Path.of("src/test/java/dev/tributary/tests/docs/ReadmeExampleTest.java"),
            StandardCharsets.UTF_8);
    String snippet = dedent(between(source, "// tag::readme[]\n", "    // end::readme[]"));
    String readme = Files.readString(Path.of("../README.md"), StandardCharsets.UTF_8);
    String shown =
        between(readme, "<!-- example:start -->\n```java\n", "```\n<!-- example:end -->");
    assertThat(shown)
        .as("README.md's example must be the code of ReadmeExampleTest between the tags")
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
