package dev.tributary.testkit.kafka;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP proxy on a loopback port that forwards every connection to one upstream address, and can
 * impair the traffic it carries: added latency each way, all connections dropped at once, or a
 * network partition (nothing forwarded in either direction).
 *
 * <p>It is the fault mechanism of the fault suite's network faults because it needs nothing but a
 * JVM: no root, no {@code tc netem}, no network namespaces, so it runs the same on a laptop and on
 * a CI machine that gives no privileges. Clients reach a broker through it when the broker
 * advertises the proxy's port (see {@link LocalKafkaCluster}, which gives each client link a
 * listener of its own), so one client process can be cut off while the others are not.
 *
 * <p>Each direction of a connection has a reader thread, which reads whatever arrives and queues it
 * with the instant it is due ({@code now + latency}, never before the chunk ahead of it), and a
 * writer thread, which writes each chunk once it is due and while the proxy is not partitioned. So
 * latency delays bytes without limiting throughput, and order is kept. During a {@link
 * #partition()} new connections are accepted (the client's connect succeeds, as a SYN to a host
 * whose replies are lost would not, but nothing ever comes back, which is what a client notices)
 * and nothing is forwarded; {@link #heal()} then closes every connection that lived through the
 * partition, as TCP gives up on a connection whose segments were lost for that long.
 *
 * <p>Thread-safe. Threads are daemons named {@code tcp-proxy-PORT-...}.
 */
public final class TcpProxy implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(TcpProxy.class);

  private static final int CHUNK = 16 * 1024;
  private static final int CONNECT_TIMEOUT_MS = 2_000;

  private final String upstreamHost;
  private final int upstreamPort;
  private final ServerSocket server;
  private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
  private final Object gate = new Object();
  private final AtomicInteger accepted = new AtomicInteger();
  private volatile long latencyNanos;
  private volatile boolean partitioned;
  private volatile boolean closed;

  private TcpProxy(String upstreamHost, int upstreamPort, ServerSocket server) {
    this.upstreamHost = upstreamHost;
    this.upstreamPort = upstreamPort;
    this.server = server;
  }

  /** Starts a proxy on a free loopback port that forwards to {@code host:port}. */
  public static TcpProxy start(String host, int port) {
    ServerSocket server;
    try {
      server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot bind a proxy port", e);
    }
    TcpProxy proxy = new TcpProxy(host, port, server);
    Thread acceptor = new Thread(proxy::acceptLoop, "tcp-proxy-" + proxy.port() + "-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    return proxy;
  }

  /** The loopback port clients connect to. */
  public int port() {
    return server.getLocalPort();
  }

  /** The upstream port this proxy forwards to. */
  public int upstreamPort() {
    return upstreamPort;
  }

  /** Delays every byte by {@code latency} in each direction (zero: none) from now on. */
  public void latency(Duration latency) {
    if (latency.isNegative()) {
      throw new IllegalArgumentException("latency was " + latency + " but it must not be negative");
    }
    latencyNanos = latency.toNanos();
  }

  /** Closes every connection it carries now; clients see their connections drop and reconnect. */
  public void dropConnections() {
    for (Connection c : connections) {
      c.close();
    }
  }

  /**
   * Stops forwarding in both directions until {@link #heal()}: requests in flight, and connections
   * opened meanwhile, get no answer.
   */
  public void partition() {
    partitioned = true;
  }

  /** Whether a {@link #partition()} is in force. */
  public boolean isPartitioned() {
    return partitioned;
  }

  /**
   * Ends every impairment: no latency; after a partition, the connections that lived through it are
   * closed (their clients reconnect) and forwarding resumes.
   */
  public void heal() {
    latencyNanos = 0;
    if (partitioned) {
      dropConnections();
      synchronized (gate) {
        partitioned = false;
        gate.notifyAll();
      }
    }
  }

  /** Connections open now. */
  public int openConnections() {
    return connections.size();
  }

  /** Connections accepted since the start. */
  public int acceptedConnections() {
    return accepted.get();
  }

  /** Stops listening and closes every connection. */
  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    dropConnections();
    synchronized (gate) {
      gate.notifyAll();
    }
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        if (!closed) {
          LOG.warn("proxy {} stopped accepting", port(), e);
        }
        return;
      }
      accepted.incrementAndGet();
      Connection c = new Connection(client);
      connections.add(c);
      Thread t = new Thread(c::open, "tcp-proxy-" + port() + "-connect");
      t.setDaemon(true);
      t.start();
    }
  }

  /** Parks until {@code dueNanos} has passed and no partition is in force; false once closed. */
  private boolean awaitForwarding(long dueNanos, Connection c) {
    for (long wait = dueNanos - System.nanoTime(); wait > 0; wait = dueNanos - System.nanoTime()) {
      LockSupport.parkNanos(wait);
    }
    synchronized (gate) {
      while (partitioned && !c.closed && !closed) {
        try {
          gate.wait(1_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
    return !c.closed && !closed;
  }

  /** One client connection and its upstream connection. */
  private final class Connection {
    private final Socket client;
    private volatile Socket upstream;
    private volatile boolean closed;

    Connection(Socket client) {
      this.client = client;
    }

    void open() {
      // During a partition the upstream connection waits too: nothing reaches the other side.
      if (!awaitForwarding(0, this)) {
        close();
        return;
      }
      Socket up = new Socket();
      try {
        up.setTcpNoDelay(true);
        client.setTcpNoDelay(true);
        up.connect(new InetSocketAddress(upstreamHost, upstreamPort), CONNECT_TIMEOUT_MS);
      } catch (IOException e) {
        // The broker is down: the client sees its connection close, as it would see a refusal.
        LOG.debug("proxy {}: upstream {} unreachable: {}", port(), upstreamPort, e.toString());
        closeQuietly(up);
        close();
        return;
      }
      upstream = up;
      if (closed) {
        closeQuietly(up);
        return;
      }
      try {
        pump(client.getInputStream(), up.getOutputStream(), "up");
        pump(up.getInputStream(), client.getOutputStream(), "down");
      } catch (IOException e) {
        close();
      }
    }

    private void pump(InputStream in, OutputStream out, String direction) {
      BlockingQueue<Chunk> queue = new LinkedBlockingQueue<>();
      String name = "tcp-proxy-" + port() + "-" + direction;
      Thread reader =
          new Thread(
              null,
              () -> {
                byte[] buf = new byte[CHUNK];
                long lastDue = 0;
                try {
                  for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                    long due = Math.max(lastDue, System.nanoTime() + latencyNanos);
                    lastDue = due;
                    queue.add(new Chunk(Arrays.copyOf(buf, n), due));
                  }
                } catch (IOException e) {
                  // the socket was closed or reset
                }
                queue.add(Chunk.END);
              },
              name + "-read",
              256 * 1024);
      Thread writer =
          new Thread(
              null,
              () -> {
                try {
                  while (true) {
                    Chunk chunk = queue.poll(1, TimeUnit.SECONDS);
                    if (closed || TcpProxy.this.closed) {
                      break;
                    }
                    if (chunk == null) {
                      continue;
                    }
                    if (chunk == Chunk.END || !awaitForwarding(chunk.dueNanos, this)) {
                      break;
                    }
                    out.write(chunk.bytes);
                    out.flush();
                  }
                } catch (IOException e) {
                  // the other side went away
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
                close();
              },
              name + "-write",
              256 * 1024);
      reader.setDaemon(true);
      writer.setDaemon(true);
      reader.start();
      writer.start();
    }

    void close() {
      closed = true;
      connections.remove(this);
      closeQuietly(client);
      Socket up = upstream;
      if (up != null) {
        closeQuietly(up);
      }
      synchronized (gate) {
        gate.notifyAll();
      }
    }
  }

  /** Bytes read from one side, due for the other side at {@code dueNanos}. */
  private record Chunk(byte[] bytes, long dueNanos) {
    static final Chunk END = new Chunk(new byte[0], 0);
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // nothing to do
    }
  }
}
