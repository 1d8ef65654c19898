package io.reportcluster.node.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;

/**
 * Node processes of one cluster ({@code config/local-cluster.conf}, as operators run it), joined
 * through the first node as their static seed, on one PostgreSQL schema and one Redis prefix. Every
 * node gets the same system properties and environment. A node may leave, as operators stop one.
 */
public final class NodeCluster implements AutoCloseable {
  private final TestDatabase db;
  private final Map<String, String> props;
  private final Map<String, String> env;
  private final String seed;
  private final SSLContext trust;
  private final List<NodeProcess> nodes = new ArrayList<>();

  private NodeCluster(
      TestDatabase db,
      Map<String, String> props,
      Map<String, String> env,
      String seed,
      SSLContext trust) {
    this.db = db;
    this.props = props;
    this.env = env;
    this.seed = seed;
    this.trust = trust;
  }

  /**
   * Starts {@code size} nodes side by side and waits until every one of them sees them all Up.
   *
   * @param props system properties of every node ({@code reports.redis.url} and {@code prefix}
   *     among them)
   * @param env environment variables of every node
   */
  public static NodeCluster start(
      int size, TestDatabase db, Map<String, String> props, Map<String, String> env) {
    return start(size, db, props, env, null);
  }

  /**
   * The same for nodes whose API speaks HTTPS ({@code reports.http.tls.enabled = on} among {@code
   * props}), reached by clients trusting what {@code trust} trusts (null: plain HTTP).
   */
  public static NodeCluster start(
      int size,
      TestDatabase db,
      Map<String, String> props,
      Map<String, String> env,
      SSLContext trust) {
    Map<String, String> withJit = new HashMap<>(env);
    // C1 only: nodes start on less CPU (two of them on two cores: Up in ~8 s instead of ~14), and
    // what the tests then run on them is light.
    withJit.putIfAbsent("JAVA_TOOL_OPTIONS", "-XX:TieredStopAtLevel=1");
    // Per node: HTTP, remoting and management ports, all chosen at once so that none repeats.
    List<Integer> ports = FreePorts.pick(3 * size);
    NodeCluster cluster =
        new NodeCluster(
            db, props, withJit, "pekko://reportcluster@127.0.0.1:" + ports.get(1), trust);
    try {
      for (int i = 0; i < size; i++) cluster.launch(ports.subList(3 * i, 3 * i + 3));
      cluster.awaitUp(Duration.ofSeconds(90));
      return cluster;
    } catch (RuntimeException | Error e) {
      cluster.close();
      throw e;
    }
  }

  /**
   * The last node leaves as operators stop one (SIGTERM: it hands its shards over and exits), and
   * the others see it gone.
   */
  public void leaveLast() {
    NodeProcess leaving = nodes.get(nodes.size() - 1);
    leaving.terminate();
    try {
      if (!leaving.awaitExit(Duration.ofSeconds(60)))
        throw new AssertionError(leaving.name() + " did not exit after SIGTERM: " + leaving.log());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    nodes.remove(leaving);
    awaitUp(Duration.ofSeconds(60));
  }

  public List<NodeProcess> nodes() {
    return List.copyOf(nodes);
  }

  public int size() {
    return nodes.size();
  }

  /** Starts a node on {@code ports}: HTTP, remoting, management. */
  private void launch(List<Integer> ports) {
    int index = nodes.size();
    Map<String, String> all = new HashMap<>(props);
    all.put("pekko.cluster.seed-nodes.0", seed);
    all.put("reports.cluster.bootstrap", "off");
    all.put("pekko.management.http.port", Integer.toString(ports.get(2)));
    all.put("reports.db.url", db.url());
    all.put("reports.db.user", TestDatabase.USER);
    try {
      nodes.add(
          NodeProcess.start(
              "node" + (index + 1),
              "local-cluster.conf",
              ports.get(0),
              ports.get(1),
              all,
              env,
              "io.reportcluster.node.Main"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every node sees every node Up (and nothing else). */
  public void awaitUp(Duration deadline) {
    Await.until(
        deadline,
        nodes.size() + " members Up on every node (logs: " + logs() + ")",
        () -> {
          for (NodeProcess n : nodes) {
            if (!n.isAlive()) throw new AssertionError(n.name() + " died; log: " + n.log());
            if (upMembers(http(n)) != nodes.size()) return false;
          }
          return true;
        });
  }

  /** A client of {@code node}'s API (over HTTPS, trusting the cluster's CA, when it speaks it). */
  public HttpJson http(NodeProcess node) {
    return trust == null ? new HttpJson(node.baseUrl()) : new HttpJson(node.baseUrl(), trust);
  }

  private List<String> logs() {
    return nodes.stream().map(n -> n.log().toString()).toList();
  }

  /** Members Up as a node sees them; -1 while it does not answer or some member is not Up. */
  private static long upMembers(HttpJson http) {
    try {
      HttpJson.Reply r = http.get("/api/v1/cluster");
      if (r.status() != 200) return -1;
      long up = 0;
      for (JsonNode m : r.body().get("members")) if ("Up".equals(m.get("status").asText())) up++;
      return r.body().get("members").size() == up ? up : -1;
    } catch (AssertionError notYet) {
      return -1;
    }
  }

  @Override
  public void close() {
    nodes.forEach(NodeProcess::close);
  }
}
