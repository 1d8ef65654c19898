package io.reportcluster.node.redis;

/**
 * Keeps this node's management address in the Redis discovery set while it runs (a heartbeat every
 * {@code reports.cluster.discovery-heartbeat}) and takes it out when the node leaves.
 */
public final class DiscoveryRegistration {
  private final RedisConnections redis;
  private final String key;
  private final String member;
  private final long ttlMillis;
  private volatile boolean active = true;

  public DiscoveryRegistration(
      RedisConnections redis,
      String serviceName,
      String host,
      int port,
      long ttlMillis,
      java.time.Duration heartbeatInterval) {
    this.redis = redis;
    this.key = redis.keys().discovery(serviceName);
    this.member = host + ":" + port;
    this.ttlMillis = ttlMillis;
    redis.every(heartbeatInterval, this::heartbeat);
    heartbeat();
  }

  void heartbeat() {
    if (!active) return;
    redis
        .commands()
        .ifPresent(
            c -> {
              long now = System.currentTimeMillis();
              c.zadd(key, (double) now, member);
              // Entries of nodes long gone are dropped by whoever is alive.
              c.zremrangebyscore(
                  key,
                  io.lettuce.core.Range.create(
                      Double.NEGATIVE_INFINITY, (double) (now - 10 * ttlMillis)));
            });
  }

  public void remove() {
    active = false;
    redis.commands().ifPresent(c -> c.zrem(key, member));
  }
}
