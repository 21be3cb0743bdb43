package dev.tributary.testkit.kafka;

import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The network path of one client process to every broker of a {@link LocalKafkaCluster}: one {@link
 * TcpProxy} per broker, impaired together. A client that bootstraps from {@link
 * #bootstrapServers()} reaches the brokers only through these proxies (the brokers advertise them
 * on this link's listener), so impairing the link affects that client alone.
 */
public final class ClientLink {

  private final int index;
  private final List<TcpProxy> proxies;

  ClientLink(int index, List<TcpProxy> proxies) {
    this.index = index;
    this.proxies = List.copyOf(proxies);
  }

  /** This link's number, from 0. */
  public int index() {
    return index;
  }

  /** The proxies' addresses, one per broker, for a client's {@code bootstrap.servers}. */
  public String bootstrapServers() {
    return proxies.stream().map(p -> "127.0.0.1:" + p.port()).collect(Collectors.joining(","));
  }

  /** Delays every byte on this link by {@code latency} each way. */
  public void latency(Duration latency) {
    proxies.forEach(p -> p.latency(latency));
  }

  /** Drops every connection on this link at once. */
  public void dropConnections() {
    proxies.forEach(TcpProxy::dropConnections);
  }

  /** Cuts this link off from every broker until {@link #heal()}. */
  public void partition() {
    proxies.forEach(TcpProxy::partition);
  }

  /** Whether the link is partitioned. */
  public boolean isPartitioned() {
    return proxies.stream().anyMatch(TcpProxy::isPartitioned);
  }

  /** Ends every impairment (see {@link TcpProxy#heal()}). */
  public void heal() {
    proxies.forEach(TcpProxy::heal);
  }

  /** Connections open on this link now, to every broker. */
  public int openConnections() {
    return proxies.stream().mapToInt(TcpProxy::openConnections).sum();
  }

  int proxyPort(int broker) {
    return proxies.get(broker).port();
  }

  void close() {
    proxies.forEach(TcpProxy::close);
  }
}
