package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import io.reportcluster.node.redis.RedisKeys;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.RecordingProvider;
import io.reportcluster.node.testkit.TestDatabase;
import io.reportcluster.node.testkit.TestRedis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Three nodes with no seed list, only the same Redis: Cluster Bootstrap finds the contact points in
 * the Redis discovery set and forms one cluster; a node that leaves takes its entry out.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class RedisDiscoveryIT {
  private static final String SERVICE = "reportcluster";

  private TestDatabase db;
  private TestRedis redis;
  private final List<ReportNode> nodes = new ArrayList<>();

  @BeforeEach
  void setUp() {
    db = new TestDatabase();
    redis = new TestRedis();
  }

  @AfterEach
  void tearDown() {
    try {
      // Newest first, so the oldest (coordinator, leader) goes last.
      for (int i = nodes.size() - 1; i >= 0; i--) {
        try {
          nodes.get(i).close();
        } catch (RuntimeException e) {
          System.err.println("closing " + nodes.get(i).nodeName() + ": " + e);
        }
      }
    } finally {
      try {
        redis.close();
      } finally {
        db.close();
      }
    }
  }

  private Config nodeConfig(String name) {
    return db.nodeConfig(
        String.join(
            "\n",
            "reports.node-name = \"" + name + "\"",
            redis.nodeConfig(),
            "reports.cluster.bootstrap = on",
            "reports.db.pool-size = 4",
            "pekko.cluster.seed-nodes = []",
            "pekko.remote.artery.canonical.port = 0",
            "pekko.management.http.port = 0"));
  }

  @Test
  void threeNodesWithOnlyRedisFormOneClusterAndALeavingNodeLeavesDiscovery() {
    Config first = nodeConfig("disc-1");
    SimulatedProvider.Settings sim =
        SimulatedProvider.Settings.fromConfig(first.getConfig("reports.llm.simulated"));
    for (String name : List.of("disc-1", "disc-2", "disc-3")) {
      RecordingProvider provider =
          new RecordingProvider(new SimulatedProvider(sim.withLatency(Duration.ofMillis(30), 0.3)));
      nodes.add(ReportNode.start(nodeConfig(name), ProviderRegistry.of(provider)));
    }
    List<HttpJson> http = nodes.stream().map(n -> new HttpJson(n.baseUrl())).toList();

    // One cluster: every node sees the same three members, all Up.
    List<Set<String>> lastSeen = new ArrayList<>();
    try {
      Await.until(
          Duration.ofSeconds(60),
          "each node sees 3 members Up, the same set",
          () -> {
            List<Set<String>> views = describe(http);
            lastSeen.clear();
            lastSeen.addAll(views);
            Set<Set<String>> distinct = new HashSet<>(views);
            return distinct.size() == 1 && distinct.iterator().next().size() == 3;
          });
    } catch (AssertionError e) {
      throw new AssertionError(
          e.getMessage() + "; members Up as each node saw them last: " + lastSeen, e);
    }
    Set<String> selves = new HashSet<>();
    for (HttpJson h : http) selves.add(h.get("/api/v1/cluster").text("self"));
    assertThat(upMembers(http.get(0))).isEqualTo(selves);

    // Discovery lists each node's management address, as the node itself bound it.
    String key = new RedisKeys(redis.prefix()).discovery(SERVICE);
    Set<String> management = new TreeSet<>();
    for (ReportNode n : nodes) management.add(managementAddress(n));
    assertThat(management).hasSize(3);
    assertThat(new TreeSet<>(redis.commands().zrange(key, 0, -1))).isEqualTo(management);

    // The cluster works: a job submitted to any node reaches SUCCESS.
    List<String> jobs = new ArrayList<>();
    for (HttpJson h : http) {
      HttpJson.Reply r =
          h.postJson("/api/v1/jobs", "{\"startup\": \"disc-" + UUID.randomUUID() + "\"}");
      assertThat(r.status()).as("submit: %s", r.body()).isEqualTo(202);
      jobs.add(r.text("job_id"));
    }
    for (String id : jobs) {
      Await.until(
          Duration.ofSeconds(30),
          "job " + id + " SUCCESS",
          () -> "SUCCESS".equals(http.get(0).get("/api/v1/jobs/" + id).text("state")));
    }

    // A node that stops gracefully leaves the discovery set, and the cluster.
    ReportNode leaving = nodes.remove(2);
    String leavingManagement = managementAddress(leaving);
    String leavingMember = http.get(2).get("/api/v1/cluster").text("self");
    leaving.close();
    assertThat(redis.commands().zrange(key, 0, -1)).doesNotContain(leavingManagement).hasSize(2);
    Await.until(
        Duration.ofSeconds(30),
        "the others see 2 members Up, without the leaver",
        () ->
            upMembers(http.get(0)).size() == 2
                && !upMembers(http.get(0)).contains(leavingMember)
                && upMembers(http.get(1)).equals(upMembers(http.get(0))));
    // Its entry stays out: the survivors' heartbeats do not bring it back.
    Await.until(
        Duration.ofSeconds(5),
        "discovery set stable at 2",
        () -> redis.commands().zrange(key, 0, -1).size() == 2);
  }

  /** host:port of the node's management server, as its own PekkoManagement reports it. */
  private static String managementAddress(ReportNode node) {
    try {
      var uri =
          PekkoManagement.get(Adapter.toClassic(node.system()))
              .start()
              .toCompletableFuture()
              .get(10, TimeUnit.SECONDS);
      return uri.host().address() + ":" + uri.port();
    } catch (Exception e) {
      throw new AssertionError("management address of " + node.nodeName() + ": " + e, e);
    }
  }

  private static Set<String> upMembers(HttpJson http) {
    Set<String> up = new HashSet<>();
    HttpJson.Reply r = http.get("/api/v1/cluster");
    if (r.status() != 200) return up;
    for (JsonNode m : r.body().path("members")) {
      if ("Up".equals(m.path("status").asText())) up.add(m.path("address").asText());
    }
    return up;
  }

  /** Each node's set of members Up, in node order. */
  private static List<Set<String>> describe(List<HttpJson> http) {
    return http.stream().map(RedisDiscoveryIT::upMembers).toList();
  }
}
