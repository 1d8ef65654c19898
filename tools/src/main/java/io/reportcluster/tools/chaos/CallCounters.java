package io.reportcluster.tools.chaos;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Samples every node's calls_started (GET /api/v1/node/stats) once a second, so that the calls
 * started during the run can be set against the calls the journal recorded.
 */
final class CallCounters {
  private final ChaosRun run;
  private final LocalCluster cluster;

  CallCounters(ChaosRun run, LocalCluster cluster) {
    this.run = run;
    this.cluster = cluster;
  }

  void sampleLoop() {
    while (!run.stopChaos && !Thread.currentThread().isInterrupted()) {
      for (ClusterNode n : cluster.nodes) if (!n.frozen) sample(n, false);
      ChaosRun.sleep(1000);
    }
  }

  /** Reads calls_started of n's current process; a new process starts a new incarnation. */
  void sample(ClusterNode n, boolean atStart) {
    long pid = n.pid();
    if (!Processes.alive(pid) || n.frozen) return;
    JsonNode s = cluster.getJson(n, "/api/v1/node/stats", 1500);
    if (s == null || !s.has("calls_started")) return;
    n.counted(pid, s.get("calls_started").asLong(), atStart);
  }

  long total() {
    return cluster.nodes.stream().mapToLong(ClusterNode::callsSoFar).sum();
  }
}
