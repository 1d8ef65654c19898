package io.reportcluster.node.redis;

import io.reportcluster.node.llm.PoolMetrics;
import java.time.Duration;
import java.util.Map;

/**
 * Writes this node's figures to {@code <prefix>node:<name>} (with a TTL, so a dead node's entry
 * disappears by itself) and lists the node in {@code <prefix>nodes}: {@code redis-cli} alone
 * then shows where the work is, as {@code LLEN celery} did for the old stack.
 */
public final class NodeStatsStore {
  private final RedisConnections redis;
  private final String prefix;
  private final String nodeName;
  private final String httpUrl;
  private final PoolMetrics metrics;
  private final Duration ttl;

  public NodeStatsStore(RedisConnections redis, String prefix, String nodeName, String httpUrl, PoolMetrics metrics,
      Duration ttl) {
    this.redis = redis;
    this.prefix = prefix;
    this.nodeName = nodeName;
    this.httpUrl = httpUrl;
    this.metrics = metrics;
    this.ttl = ttl;
    redis.whileUp(this::publish);
  }

  public static String nodesKey(String prefix) {
    return prefix + "nodes";
  }

  public static String nodeKey(String prefix, String nodeName) {
    return prefix + "node:" + nodeName;
  }

  void publish() {
    redis.commands().ifPresent(c -> {
      String key = nodeKey(prefix, nodeName);
      c.hset(key, Map.of(
          "node", nodeName,
          "http", httpUrl,
          "callers", Integer.toString(metrics.callers),
          "in_flight", Integer.toString(metrics.inFlight()),
          "queue_depth", Integer.toString(metrics.queueDepth()),
          "queue_limit", Integer.toString(metrics.queueLimit),
          "calls_started", Long.toString(metrics.callsStarted()),
          "heartbeat", Long.toString(System.currentTimeMillis())));
      c.pexpire(key, ttl.toMillis());
      c.sadd(nodesKey(prefix), nodeName);
    });
  }

  /** On leave: the node disappears from the listing at once. */
  public void remove() {
    redis.commands().ifPresent(c -> {
      c.del(nodeKey(prefix, nodeName));
      c.srem(nodesKey(prefix), nodeName);
    });
  }
}
