package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.FreePorts;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.NodeProcess;
import io.reportcluster.node.testkit.TestDatabase;
import io.reportcluster.node.testkit.TestRedis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Three node processes on PostgreSQL and Redis, as operators run them. A node killed with kill -9,
 * or leaving with SIGTERM, loses no job and records no result twice.
 */
class ClusterFailoverIT {
  private static final int STEPS = 5;
  private static final int JOBS = 24;

  private TestDatabase db;
  private final List<NodeProcess> nodes = new ArrayList<>();
  private TestRedis redis;

  @BeforeEach
  void startCluster() throws Exception {
    db = new TestDatabase();
    redis = new TestRedis();
    // Per node: HTTP, remoting and management ports.
    List<Integer> ports = FreePorts.pick(9);
    String seed = "pekko://reportcluster@127.0.0.1:" + ports.get(1);
    for (int i = 0; i < 3; i++) {
      nodes.add(
          NodeProcess.start(
              "node" + (i + 1),
              "local-cluster.conf",
              ports.get(3 * i),
              ports.get(3 * i + 1),
              Map.of(
                  "pekko.cluster.seed-nodes.0",
                  seed,
                  "reports.cluster.bootstrap",
                  "off",
                  "pekko.management.http.port",
                  Integer.toString(ports.get(3 * i + 2)),
                  "reports.db.url",
                  db.url(),
                  "reports.db.user",
                  TestDatabase.USER,
                  "reports.redis.url",
                  redis.url(),
                  "reports.redis.prefix",
                  redis.prefix(),
                  "reports.llm.simulated.latency-median",
                  "300ms")));
    }
    HttpJson first = new HttpJson(nodes.get(0).baseUrl());
    Await.until(Duration.ofSeconds(120), "3 members Up", () -> upMembers(first) == 3);
  }

  @AfterEach
  void stopCluster() {
    nodes.forEach(NodeProcess::close);
    db.close();
    redis.close();
  }

  private static long upMembers(HttpJson http) {
    try {
      HttpJson.Reply r = http.get("/api/v1/cluster");
      if (r.status() != 200) return -1;
      long up = 0;
      for (var m : r.body().get("members")) if ("Up".equals(m.get("status").asText())) up++;
      return r.body().get("members").size() == up ? up : -1;
    } catch (AssertionError notYet) {
      return -1;
    }
  }

  /**
   * Submits as a careful client does: with an Idempotency-Key, and again with the same key after a
   * 503 (which means "not created; retry"). On a loaded 2-core machine a fresh cluster's first asks
   * (shard allocation, remember-entities writes) can outlast the ask timeout; what this test checks
   * is that every accepted job survives the failover, not how fast a cold cluster answers.
   */
  private List<String> submitRoundRobin(int count) {
    List<String> ids = new ArrayList<>();
    String run = UUID.randomUUID().toString();
    for (int i = 0; i < count; i++) {
      HttpJson http = new HttpJson(nodes.get(i % nodes.size()).baseUrl());
      String body = "{\"startup\": \"Chaos-" + i + "\"}";
      Map<String, String> key =
          Map.of("Idempotency-Key", run + "-" + i, "Content-Type", "application/json");
      HttpJson.Reply r = postPatiently(http, body, key);
      for (int retry = 0; r.status() == 503 && retry < 5; retry++)
        r = postPatiently(http, body, key);
      assertThat(r.status()).as("submit %d: %s", i, r.body()).isIn(200, 202);
      ids.add(r.text("job_id"));
    }
    return ids;
  }

  /**
   * A submit that timed out on the client (a cold cluster on a loaded machine) is sent again with
   * its Idempotency-Key, which names the same job: never a second one.
   */
  private static HttpJson.Reply postPatiently(
      HttpJson http, String body, Map<String, String> headers) {
    AssertionError last = null;
    for (int attempt = 0; attempt < 3; attempt++) {
      try {
        return http.post("/api/v1/jobs", body, headers);
      } catch (AssertionError timedOut) {
        last = timedOut;
      }
    }
    throw last;
  }

  private static long succeeded(HttpJson http, List<String> ids) {
    return ids.stream()
        .filter(
            id -> {
              try {
                return "SUCCESS".equals(http.get("/api/v1/jobs/" + id).text("state"));
              } catch (AssertionError unreachable) {
                return false;
              }
            })
        .count();
  }

  /** Nodes that run at least one unfinished job now, by node name (from the job views). */
  private static List<String> busyNodes(HttpJson http, List<String> ids) {
    List<String> names = new ArrayList<>();
    for (String id : ids) {
      HttpJson.Reply r = http.get("/api/v1/jobs/" + id);
      if (!"SUCCESS".equals(r.text("state")) && r.text("node") != null) names.add(r.text("node"));
    }
    return names;
  }

  private void assertEveryJobRecordedOnce(List<String> ids) {
    Map<String, Integer> succeeded = db.countEvents("Succeeded");
    Map<String, Integer> steps = db.countEvents("StepCompleted");
    for (String id : ids) {
      assertThat(succeeded.get("ReportJob|" + id)).as("results of job %s", id).isEqualTo(1);
      assertThat(steps.get("ReportJob|" + id)).as("completed steps of job %s", id).isEqualTo(STEPS);
    }
  }

  @Test
  void aNodeKilledWithKill9LosesNoJobAndItsJobsFinishOnTheSurvivors() throws Exception {
    List<String> ids = submitRoundRobin(JOBS);
    HttpJson survivor = new HttpJson(nodes.get(0).baseUrl());
    // Kill a node while it holds unfinished jobs (not the first seed, so the test can keep
    // asking the same survivor).
    NodeProcess victim =
        Await.value(
                    Duration.ofSeconds(60),
                    "a non-seed node running jobs",
                    () ->
                        busyNodes(survivor, ids).stream()
                            .filter(n -> !n.equals("node1"))
                            .findFirst()
                            .orElse(null),
                    n -> n != null && n.matches("node[23]"))
                .equals("node2")
            ? nodes.get(1)
            : nodes.get(2);
    victim.kill9();

    Await.until(Duration.ofSeconds(60), "the killed node removed", () -> upMembers(survivor) == 2);
    Await.until(
        Duration.ofSeconds(180), "all jobs SUCCESS", () -> succeeded(survivor, ids) == JOBS);
    for (String id : ids) {
      assertThat(survivor.get("/api/v1/jobs/" + id).text("node"))
          .as("job %s", id)
          .isNotEqualTo(victim.name());
    }
    assertEveryJobRecordedOnce(ids);
  }

  /** The node whose log says the read side's projection runs there, if one says it yet. */
  private NodeProcess projectionNode() {
    for (NodeProcess n : nodes) {
      try {
        String log = java.nio.file.Files.readString(n.log().toPath());
        if (log.contains("the job-list projection runs on this node") && n.isAlive()) return n;
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    return null;
  }

  @Test
  void theJobListCatchesUpAfterTheNodeRunningItsProjectionIsKilled() throws Exception {
    List<String> ids = submitRoundRobin(JOBS);
    NodeProcess victim =
        Await.value(
            Duration.ofSeconds(60),
            "the node running the projection",
            this::projectionNode,
            n -> n != null);
    NodeProcess other = nodes.stream().filter(n -> n != victim).findFirst().orElseThrow();
    HttpJson survivor = new HttpJson(other.baseUrl());
    victim.kill9();

    Await.until(Duration.ofSeconds(60), "the killed node removed", () -> upMembers(survivor) == 2);
    Await.until(
        Duration.ofSeconds(180), "all jobs SUCCESS", () -> succeeded(survivor, ids) == JOBS);
    // The projection starts again on a survivor, from its stored offset: every job once, final.
    Await.until(
        Duration.ofSeconds(120),
        "the list shows every job SUCCESS",
        () -> {
          HttpJson.Reply r = survivor.get("/api/v1/jobs?state=SUCCESS&limit=200");
          return r.status() == 200 && r.body().get("total").asLong() == JOBS;
        });
    HttpJson.Reply page = survivor.get("/api/v1/jobs?limit=200");
    List<String> listed = new ArrayList<>();
    page.body().get("jobs").forEach(j -> listed.add(j.get("job_id").asText()));
    assertThat(listed).doesNotHaveDuplicates().containsExactlyInAnyOrderElementsOf(ids);
    assertThat(page.body().get("total").asLong()).isEqualTo(JOBS);
    NodeProcess moved = projectionNode();
    assertThat(moved).as("a survivor runs the projection now").isNotNull().isNotSameAs(victim);
    Await.until(
        Duration.ofSeconds(30),
        "the read side caught up with the journal",
        () -> survivor.get("/api/v1/jobs?limit=1").body().get("lag_ms").asLong() == 0);
  }

  @Test
  void aNodeLeavingWithSigtermHandsItsJobsOverAndExitsCleanly() throws Exception {
    List<String> ids = submitRoundRobin(JOBS);
    HttpJson survivor = new HttpJson(nodes.get(0).baseUrl());
    NodeProcess leaving = nodes.get(2);
    Await.until(
        Duration.ofSeconds(60),
        "node3 running jobs",
        () -> busyNodes(survivor, ids).contains("node3"));
    leaving.terminate();

    assertThat(leaving.awaitExit(Duration.ofSeconds(60))).as("node3 exits after SIGTERM").isTrue();
    assertThat(leaving.exitCode())
        .as("exit code after a graceful leave (log: %s)", leaving.log())
        .isIn(0, 143);
    Await.until(Duration.ofSeconds(30), "2 members left", () -> upMembers(survivor) == 2);
    Await.until(
        Duration.ofSeconds(180), "all jobs SUCCESS", () -> succeeded(survivor, ids) == JOBS);
    assertEveryJobRecordedOnce(ids);
    // Drained, not abandoned: no call was cut off by the leave.
    assertThat(db.countEvents("AttemptFailed")).isEmpty();
  }
}
