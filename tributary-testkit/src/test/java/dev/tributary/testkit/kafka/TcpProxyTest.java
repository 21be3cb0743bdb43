package dev.tributary.testkit.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The proxy against a plain echo server: forwarding, latency, dropped connections, partition. */
class TcpProxyTest {

  private ServerSocket echo;
  private TcpProxy proxy;

  @BeforeEach
  void startEcho() throws IOException {
    echo = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
    Thread t =
        new Thread(
            () -> {
              while (!echo.isClosed()) {
                try {
                  Socket s = echo.accept();
                  Thread c =
                      new Thread(
                          () -> {
                            try (s) {
                              s.getInputStream().transferTo(s.getOutputStream());
                            } catch (IOException ignored) {
                              // the test closed it
                            }
                          });
                  c.setDaemon(true);
                  c.start();
                } catch (IOException e) {
                  return;
                }
              }
            });
    t.setDaemon(true);
    t.start();
    proxy = TcpProxy.start("127.0.0.1", echo.getLocalPort());
  }

  @AfterEach
  void stop() throws IOException {
    proxy.close();
    echo.close();
  }

  @Test
  void forwardsBothWays() throws IOException {
    try (Socket s = connect()) {
      assertThat(roundTrip(s, "hello")).isEqualTo("hello");
    }
  }

  @Test
  void latency_delaysEachDirection() throws IOException {
    proxy.latency(Duration.ofMillis(150));
    try (Socket s = connect()) {
      long start = System.nanoTime();
      assertThat(roundTrip(s, "slow")).isEqualTo("slow");
      long ms = (System.nanoTime() - start) / 1_000_000;
      assertThat(ms).as("round trip through 150 ms each way").isGreaterThanOrEqualTo(300);
      proxy.heal();
      start = System.nanoTime();
      assertThat(roundTrip(s, "fast")).isEqualTo("fast");
      assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(300);
    }
  }

  @Test
  void dropConnections_closesWhatIsOpen_newConnectionsWork() throws IOException {
    Socket s = connect();
    assertThat(roundTrip(s, "a")).isEqualTo("a");
    await().atMost(Duration.ofSeconds(5)).until(() -> proxy.openConnections() == 1);
    proxy.dropConnections();
    s.setSoTimeout(5_000);
    assertThat(s.getInputStream().read()).as("end of stream after the drop").isEqualTo(-1);
    s.close();
    try (Socket again = connect()) {
      assertThat(roundTrip(again, "b")).isEqualTo("b");
    }
  }

  @Test
  void partition_answersNothing_healClosesHeldConnections() throws IOException {
    Socket old = connect();
    assertThat(roundTrip(old, "before")).isEqualTo("before");
    proxy.partition();
    old.setSoTimeout(700);
    old.getOutputStream().write('x');
    assertThat(readTimesOut(old.getInputStream())).as("no answer while partitioned").isTrue();
    Socket during = connect();
    during.setSoTimeout(700);
    during.getOutputStream().write('y');
    assertThat(readTimesOut(during.getInputStream())).as("a new connection gets nothing").isTrue();

    proxy.heal();
    old.setSoTimeout(5_000);
    during.setSoTimeout(5_000);
    assertThat(old.getInputStream().read()).as("held connection closed at heal").isEqualTo(-1);
    assertThat(during.getInputStream().read()).isEqualTo(-1);
    old.close();
    during.close();
    try (Socket after = connect()) {
      assertThat(roundTrip(after, "after")).isEqualTo("after");
    }
  }

  private Socket connect() throws IOException {
    Socket s = new Socket("127.0.0.1", proxy.port());
    s.setSoTimeout(10_000);
    return s;
  }

  private static String roundTrip(Socket s, String text) throws IOException {
    OutputStream out = s.getOutputStream();
    out.write(text.getBytes());
    out.flush();
    InputStream in = s.getInputStream();
    byte[] buf = new byte[text.length()];
    int n = 0;
    while (n < buf.length) {
      int r = in.read(buf, n, buf.length - n);
      if (r < 0) {
        throw new IOException("closed after " + n + " bytes");
      }
      n += r;
    }
    return new String(buf);
  }

  private static boolean readTimesOut(InputStream in) throws IOException {
    try {
      in.read();
      return false;
    } catch (SocketTimeoutException e) {
      return true;
    }
  }
}
