package io.reportcluster.node.cluster;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.reportcluster.node.redis.DiscoveryRegistration;
import io.reportcluster.node.redis.RedisConnections;
import io.reportcluster.node.redis.RedisServiceDiscovery;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;

/**
 * How a node becomes a member: it joins itself (the embedded single node), joins the static seed
 * nodes (Pekko does that on its own), or finds the others through Cluster Bootstrap with contact
 * points discovered in Redis. Also starts pekko-management (cluster endpoints, health, the
 * bootstrap contact point).
 */
public final class ClusterMembership {
  private ClusterMembership() {}

  /**
   * How many members of the cluster are up (at least 1: this node), for limits a node divides among
   * its peers when it cannot share them.
   */
  public static int upMembers(ActorSystem<?> system) {
    int up = 0;
    for (Member m : Cluster.get(system).state().getMembers()) {
      if (m.status() == MemberStatus.up()) up++;
    }
    return Math.max(1, up);
  }

  /**
   * With Cluster Bootstrap, a management port of 0 is replaced by a free port chosen now. Bootstrap
   * takes this node's own contact point from the configured port before the server binds; left at
   * 0, no node finds itself among the contact points discovered in Redis (they carry the bound
   * ports), so none forms the cluster and every node waits forever.
   */
  public static Config withFixedManagementPort(Config config) {
    if (!config.getBoolean("reports.cluster.bootstrap")
        || config.getInt("pekko.management.http.port") != 0) {
      return config;
    }
    String host = config.getString("pekko.management.http.bind-hostname");
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName(host))) {
      return ConfigFactory.parseString("pekko.management.http.port = " + probe.getLocalPort())
          .withFallback(config);
    } catch (IOException e) {
      throw new IllegalStateException(
          "no free management port on " + host + ": " + e.getMessage(), e);
    }
  }

  /** With no seed nodes and no bootstrap, forms a one-node cluster (reports.cluster.join-self). */
  public static void joinSelfIfAlone(ActorSystem<?> system, Config config) {
    Config cluster = config.getConfig("reports.cluster");
    if (!cluster.getBoolean("bootstrap")
        && cluster.getBoolean("join-self")
        && config.getStringList("pekko.cluster.seed-nodes").isEmpty()) {
      Cluster self = Cluster.get(system);
      self.manager().tell(Join.create(self.selfMember().address()));
    }
  }

  /**
   * pekko-management when enabled (or needed by bootstrap) and, with bootstrap, this node's entry
   * in Redis discovery (taken out when the node leaves) followed by Cluster Bootstrap.
   */
  public static void startManagement(
      ActorSystem<?> system, Config config, Optional<RedisConnections> redis) throws Exception {
    Config reports = config.getConfig("reports");
    boolean bootstrap = reports.getBoolean("cluster.bootstrap");
    if (!reports.getBoolean("management.enabled") && !bootstrap) return;
    var classic = Adapter.toClassic(system);
    var uri = PekkoManagement.get(classic).start().toCompletableFuture().get(30, TimeUnit.SECONDS);
    if (!bootstrap) return;
    RedisConnections discovery =
        redis.orElseThrow(
            () -> new IllegalStateException("reports.cluster.bootstrap needs reports.redis.url"));
    long ttl = reports.getDuration("cluster.discovery-ttl").toMillis();
    RedisServiceDiscovery.register(classic, discovery, ttl);
    DiscoveryRegistration registration =
        new DiscoveryRegistration(
            discovery,
            config.getString(
                "pekko.management.cluster.bootstrap.contact-point-discovery.service-name"),
            uri.host().address(),
            uri.port(),
            ttl,
            reports.getDuration("cluster.discovery-heartbeat"));
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseClusterLeave(),
            "leave-discovery",
            () -> {
              registration.remove();
              return CompletableFuture.completedFuture(Done.getInstance());
            });
    ClusterBootstrap.get(classic).start();
  }
}
