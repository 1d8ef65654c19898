package io.reportcluster.node.redis;

/**
 * Every Redis key and channel reportcluster uses, named in this one place. All of them start with
 * the configured prefix ({@code reports.redis.prefix}, default {@code reports:}), so several
 * clusters, or tests, can share one Redis.
 *
 * <ul>
 *   <li>{@code <prefix>job:<id>}: a job's status hash (the status mirror);
 *   <li>{@code <prefix>events}: the pub/sub channel of live job events;
 *   <li>{@code <prefix>nodes}: the set of node names that publish stats;
 *   <li>{@code <prefix>node:<name>}: one node's stats hash;
 *   <li>{@code <prefix>discovery:<service>}: the sorted set of management contact points that
 *       Cluster Bootstrap discovers (score: last heartbeat, epoch ms);
 *   <li>{@code <prefix>budget:<provider>:<part>}: a provider entry's cluster-wide budget (parts:
 *       {@code cooldown}, {@code requests}, {@code tokens:log|amounts|sum}, the same for {@code
 *       input} and {@code output}, {@code in-flight}).
 * </ul>
 */
public record RedisKeys(String prefix) {

  public RedisKeys {
    if (prefix == null)
      throw new IllegalArgumentException("a Redis key prefix is required (may be empty)");
  }

  public String job(String jobId) {
    return prefix + "job:" + jobId;
  }

  public String eventsChannel() {
    return prefix + "events";
  }

  public String nodes() {
    return prefix + "nodes";
  }

  public String node(String nodeName) {
    return prefix + "node:" + nodeName;
  }

  public String discovery(String serviceName) {
    return prefix + "discovery:" + serviceName;
  }

  public String budget(String provider, String part) {
    return prefix + "budget:" + provider + ":" + part;
  }

  /** A SCAN/KEYS pattern matching every key of this prefix. */
  public String everything() {
    return prefix + "*";
  }
}
