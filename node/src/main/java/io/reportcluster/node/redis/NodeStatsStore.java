package io.reportcluster.node.redis;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.reportcluster.protocol.Api.NodeStats;
import io.reportcluster.protocol.Json;
import io.reportcluster.protocol.NodeCalls;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
 * is, as {@code LLEN celery} did for the old stack. The field {@code calls} holds the node's calls
 * in flight and the head of its queue as compact JSON ({@link NodeCalls}).
 */
public final class NodeStatsStore {
  /** The field of a node's entry that holds its calls. */
  public static final String CALLS = "calls";

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
      Supplier<NodeStats> stats,
      Supplier<NodeCalls> calls,
      String httpUrl,
      Duration interval,
      Duration ttl) {
    Publishing publishing = new Publishing(stats, calls, httpUrl, ttl);
    redis.every(interval, publishing::write);
    return publishing;
  }

  /**
   * The figures of every node listed now, sorted by name, each field as written but {@code calls},
   * parsed (a JSON tree; null if missing or unreadable); empty when Redis is unreachable.
   */
  public Optional<CompletionStage<List<Map<String, Object>>>> readAll() {
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
                                          .map(NodeStatsStore::withCallsParsed)
                                          .collect(Collectors.toList()));
                        }));
  }

  private static Map<String, Object> withCallsParsed(Map<String, String> entry) {
    Map<String, Object> out = new LinkedHashMap<>(entry);
    String calls = entry.get(CALLS);
    Object parsed = null;
    if (calls != null) {
      try {
        parsed = Json.MAPPER.readTree(calls);
      } catch (JsonProcessingException e) {
        // A node of another version, or a torn write: the figures are still worth showing.
      }
    }
    out.put(CALLS, parsed);
    return out;
  }

  /** This node's entry, written while it runs. */
  public final class Publishing {
    private final Supplier<NodeStats> stats;
    private final Supplier<NodeCalls> calls;
    private final String httpUrl;
    private final Duration ttl;
    private volatile boolean active = true;

    private Publishing(
        Supplier<NodeStats> stats, Supplier<NodeCalls> calls, String httpUrl, Duration ttl) {
      this.stats = stats;
      this.calls = calls;
      this.httpUrl = httpUrl;
      this.ttl = ttl;
    }

    void write() {
      if (!active) return;
      NodeStats s = stats.get();
      String callsField = callsJson();
      redis
          .commands()
          .ifPresent(
              c -> {
                String key = keys.node(s.node());
                Map<String, String> fields =
                    new HashMap<>(
                        Map.of(
                            "node", s.node(),
                            "http", httpUrl,
                            "callers", Integer.toString(s.callers()),
                            "in_flight", Integer.toString(s.inFlight()),
                            "queue_depth", Integer.toString(s.queueDepth()),
                            "queue_limit", Integer.toString(s.queueLimit()),
                            "calls_started", Long.toString(s.callsStarted()),
                            "heartbeat", Long.toString(System.currentTimeMillis())));
                fields.put(CALLS, callsField);
                c.hset(key, fields);
                c.pexpire(key, ttl.toMillis());
                c.sadd(keys.nodes(), s.node());
              });
    }

    private String callsJson() {
      try {
        return Json.MAPPER.writeValueAsString(calls.get());
      } catch (JsonProcessingException e) {
        return "null"; // our own records always serialize; the figures still go out
      }
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
