package io.reportcluster.node.redis;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.discovery.Lookup;
import org.apache.pekko.discovery.ServiceDiscovery;
import scala.Option;
import scala.concurrent.Future;
import scala.concurrent.duration.FiniteDuration;
import scala.jdk.javaapi.CollectionConverters;
import scala.jdk.javaapi.FutureConverters;

/**
 * Pekko Discovery backed by Redis: the contact points of a service are the members of the sorted
 * set {@code <prefix>discovery:<service>} whose score (last heartbeat, epoch ms) is recent ({@link
 * RedisKeys#discovery}); {@link DiscoveryRegistration} keeps each node's own entry fresh. Cluster
 * Bootstrap uses it, so a node started with only the Redis URL finds the others.
 *
 * <p>Configured as {@code pekko.discovery.reports-redis.class}; Pekko instantiates it, so it finds
 * its node's Redis connections through {@link #register}.
 */
public final class RedisServiceDiscovery extends ServiceDiscovery {
  private static final Map<ActorSystem, Registered> NODES = new ConcurrentHashMap<>();

  record Registered(RedisConnections redis, long ttlMillis) {}

  public static void register(ActorSystem system, RedisConnections redis, long ttlMillis) {
    NODES.put(system, new Registered(redis, ttlMillis));
    system.registerOnTermination(() -> NODES.remove(system));
  }

  private final ActorSystem system;

  public RedisServiceDiscovery(ExtendedActorSystem system) {
    this.system = system;
  }

  @Override
  public Future<Resolved> lookup(Lookup lookup, FiniteDuration resolveTimeout) {
    Registered node = NODES.get(system);
    if (node == null) {
      return FutureConverters.asScala(
          CompletableFuture.<Resolved>failedFuture(
              new IllegalStateException("no Redis configured for discovery (reports.redis.url)")));
    }
    var commands = node.redis().commands();
    if (commands.isEmpty()) {
      return FutureConverters.asScala(
          CompletableFuture.<Resolved>failedFuture(
              new IllegalStateException("Redis unreachable: no contact points now")));
    }
    long since = System.currentTimeMillis() - node.ttlMillis();
    CompletableFuture<Resolved> resolved =
        commands
            .get()
            .zrangebyscore(
                node.redis().keys().discovery(lookup.serviceName()),
                io.lettuce.core.Range.create((double) since, Double.POSITIVE_INFINITY))
            .thenApply(members -> new Resolved(lookup.serviceName(), targets(members)))
            .toCompletableFuture();
    return FutureConverters.asScala(resolved);
  }

  private static scala.collection.immutable.Seq<ResolvedTarget> targets(List<String> members) {
    List<ResolvedTarget> out = new ArrayList<>();
    for (String m : members) {
      int colon = m.lastIndexOf(':');
      if (colon <= 0) continue;
      Object port = Integer.valueOf(m.substring(colon + 1));
      out.add(new ResolvedTarget(m.substring(0, colon), Option.apply(port), Option.empty()));
    }
    return CollectionConverters.asScala(out).toList();
  }
}
