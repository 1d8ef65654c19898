package io.reportcluster.node.redis;

import io.reportcluster.protocol.Api.NodeStats;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * Every node's figures in Redis: each node writes its own to {@code <prefix>node:<name>} (with a
 * TTL, so a dead node's entry disappears by itself) and lists itself in {@code <prefix>nodes}; any
 * node reads them all for the cluster overview. {@code redis-cli} alone then shows where the work
 * is, as {@code LLEN celery} did for the old stack.
 */
public final class NodeStatsStore {
  private final RedisConnections redis;
  private final RedisKeys keys;

  public NodeStatsStore(RedisConnections redis) {
    this.redis = redis;
    this.keys = redis.keys();
  }

  /**
   * Writes this node's figures every {@code interval} while Redis is reachable, until {@link
   * Publishing#stop()}.
   */
  public Publishing publish(
      Supplier<NodeStats> stats, String httpUrl, Duration interval, Duration ttl) {
    Publishing publishing = new Publishing(stats, httpUrl, ttl);
    redis.every(interval, publishing::write);
    return publishing;
  }

  /** The figures of every node listed now, sorted by name; empty when Redis is unreachable. */
  public Optional<CompletionStage<List<Map<String, String>>>> readAll() {
    return redis
        .commands()
        .map(
            commands ->
                commands
                    .smembers(keys.nodes())
                    .thenCompose(
                        names -> {
                          List<CompletableFuture<Map<String, String>>> each =
                              names.stream()
                                  .sorted()
                                  .map(n -> commands.hgetall(keys.node(n)).toCompletableFuture())
                                  .collect(Collectors.toList());
                          return CompletableFuture.allOf(each.toArray(new CompletableFuture[0]))
                              .thenApply(
                                  v ->
                                      each.stream()
                                          .map(CompletableFuture::join)
                                          .filter(m -> !m.isEmpty())
                                          .collect(Collectors.toList()));
                        }));
  }

  /** This node's entry, written while it runs. */
  public final class Publishing {
    private final Supplier<NodeStats> stats;
    private final String httpUrl;
    private final Duration ttl;
    private volatile boolean active = true;

    private Publishing(Supplier<NodeStats> stats, String httpUrl, Duration ttl) {
      this.stats = stats;
      this.httpUrl = httpUrl;
      this.ttl = ttl;
    }

    void write() {
      if (!active) return;
      NodeStats s = stats.get();
      redis
          .commands()
          .ifPresent(
              c -> {
                String key = keys.node(s.node());
                c.hset(
                    key,
                    Map.of(
                        "node", s.node(),
                        "http", httpUrl,
                        "callers", Integer.toString(s.callers()),
                        "in_flight", Integer.toString(s.inFlight()),
                        "queue_depth", Integer.toString(s.queueDepth()),
                        "queue_limit", Integer.toString(s.queueLimit()),
                        "calls_started", Long.toString(s.callsStarted()),
                        "heartbeat", Long.toString(System.currentTimeMillis())));
                c.pexpire(key, ttl.toMillis());
                c.sadd(keys.nodes(), s.node());
              });
    }

    /** On leave: the node disappears from the listing at once. */
    public void stop() {
      active = false;
      String node = stats.get().node();
      redis
          .commands()
          .ifPresent(
              c -> {
                c.del(keys.node(node));
                c.srem(keys.nodes(), node);
              });
    }
  }
}
