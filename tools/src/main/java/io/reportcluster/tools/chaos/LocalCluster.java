package io.reportcluster.tools.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.tools.http.ServiceClient;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The local cluster the run works on, through ops/cluster: started fresh (and stopped at the end)
 * or taken as it runs; whether it is whole; what its members are.
 */
final class LocalCluster {
  final List<ClusterNode> nodes = new ArrayList<>();
  final ServiceClient http = ServiceClient.create(Duration.ofSeconds(2));
  private final ChaosRun run;
  private final ChaosOptions o;
  private final Path state;
  private boolean startedCluster;
  private volatile boolean clusterDown;

  LocalCluster(ChaosRun run) {
    this.run = run;
    this.o = run.o;
    this.state = o.repo.resolve(".cluster");
  }

  /** .cluster/ at the repository root: the nodes' PIDs and logs. */
  Path stateDir() {
    return state;
  }

  void prepare() {
    if (!Files.isExecutable(o.repo.resolve("ops/cluster"))) {
      throw new Fatal("no ops/cluster under " + o.repo + " (pass --repo)");
    }
    int n;
    if (o.useRunning) {
      try {
        n = Integer.parseInt(Files.readString(state.resolve("nodes")).trim());
      } catch (IOException | NumberFormatException e) {
        throw new Fatal(
            "--use-running: no cluster started by ops/cluster (" + state.resolve("nodes") + ")");
      }
      if (n < 3) throw new Fatal("the running cluster has " + n + " nodes; chaos needs 3 or more");
      for (int i = 1; i <= n; i++) nodes.add(new ClusterNode(i, state));
      for (ClusterNode node : nodes) {
        if (!node.alive()) {
          throw new Fatal(
              node.name
                  + " of the running cluster is not running (ops/cluster node-start "
                  + node.i
                  + ")");
        }
      }
      if (!waitWhole(60))
        throw new Fatal("the running cluster is not whole: not all " + n + " members are Up");
      try {
        String env = Files.readString(state.resolve("env"));
        Matcher m = Pattern.compile("REPORTS_SIM_LATENCY=(\\S+)").matcher(env);
        if (m.find()) o.latency = m.group(1) + " (running cluster)";
      } catch (IOException ignored) {
        o.latency = "unknown (running cluster)";
      }
    } else {
      n = o.nodes;
      for (int i = 1; i <= 9; i++) {
        if (new ClusterNode(i, state).alive()) {
          throw new Fatal(
              "node"
                  + i
                  + " of a cluster is already running (ops/cluster status): pass --use-running,"
                  + " or stop it first with ops/cluster down");
        }
      }
      for (int i = 1; i <= n; i++) nodes.add(new ClusterNode(i, state));
      run.note(
          "starting a fresh cluster: ops/cluster up --nodes "
              + n
              + " --fresh --latency "
              + o.latency);
      startedCluster = true;
      int rc = script(600, "up", "--nodes", Integer.toString(n), "--fresh", "--latency", o.latency);
      if (rc != 0) throw new Fatal("ops/cluster up failed (exit " + rc + ")");
      if (!waitWhole(120)) throw new Fatal("the cluster did not become whole");
    }
  }

  /** Stops the cluster this run started, unless --keep-up. */
  void cleanUp() {
    if (startedCluster && !o.keepUp && !clusterDown) {
      clusterDown = true;
      run.note("stopping the cluster this run started (ops/cluster down)");
      script(180, "down");
    } else if (startedCluster && o.keepUp) {
      run.note("--keep-up: the cluster keeps running (ops/cluster down stops it)");
    }
  }

  /** Ctrl-C: never leave a node frozen. */
  void continueFrozen() {
    for (ClusterNode n : nodes) {
      if (n.frozen) {
        try {
          new ProcessBuilder("kill", "-CONT", Long.toString(n.pid()))
              .start()
              .waitFor(5, TimeUnit.SECONDS);
        } catch (Exception ignored) {
          // best effort
        }
      }
    }
  }

  /** Runs ops/cluster with the arguments, its output copied to stderr; the exit status or -1. */
  int script(int timeoutS, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(o.repo.resolve("ops/cluster").toString());
    cmd.addAll(List.of(args));
    try {
      Process p =
          new ProcessBuilder(cmd).directory(o.repo.toFile()).redirectErrorStream(true).start();
      p.getOutputStream().close();
      Thread copier =
          new Thread(
              () -> {
                try (BufferedReader r =
                    new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                  String line;
                  while ((line = r.readLine()) != null) System.err.println("    | " + line);
                } catch (IOException ignored) {
                  // process gone
                }
              });
      copier.setDaemon(true);
      copier.start();
      if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return -1;
      }
      copier.join(2000);
      return p.exitValue();
    } catch (IOException e) {
      throw new Fatal("cannot run ops/cluster: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** All nodes running, each a member that is Up, and node views with exactly N Up members. */
  boolean whole() {
    for (ClusterNode n : nodes) {
      if (n.frozen || !n.alive()) return false;
      JsonNode h = getJson(n, "/api/v1/health", 1500);
      if (h == null || !"Up".equals(h.path("cluster_member").asText())) return false;
    }
    for (ClusterNode n : nodes) {
      Map<String, String> m = members(n);
      if (m == null) return false;
      if (m.size() != nodes.size() || !m.values().stream().allMatch("Up"::equals)) return false;
    }
    return true;
  }

  boolean waitWhole(int timeoutS) {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutS);
    while (System.nanoTime() < end) {
      if (whole()) return true;
      ChaosRun.sleep(500);
    }
    return false;
  }

  /** Member address to status as node n sees them; null if n does not answer. */
  Map<String, String> members(ClusterNode n) {
    JsonNode c = getJson(n, "/api/v1/cluster", 1500);
    if (c == null || !c.has("members")) return null;
    Map<String, String> out = new LinkedHashMap<>();
    for (JsonNode m : c.get("members"))
      out.put(m.path("address").asText(), m.path("status").asText());
    return out;
  }

  JsonNode getJson(ClusterNode n, String path, long timeoutMs) {
    return http.getJson(n.uri(path), Duration.ofMillis(timeoutMs));
  }

  /** The nodes in the submit rotation now. */
  List<ClusterNode> live() {
    return nodes.stream().filter(n -> n.available && !n.frozen).toList();
  }
}
