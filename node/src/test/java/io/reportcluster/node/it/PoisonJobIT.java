package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.FreePorts;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.NodeProcess;
import io.reportcluster.node.testkit.TestDatabase;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A job whose LLM call kills its node every time must end in FAILURE after max-retries, not take
 * down node after node for ever: every attempt's start is journaled, so an attempt that died with
 * its node counts. The other jobs of the node finish.
 */
class PoisonJobIT {
  private static final int MAX_RETRIES = 1;
  private TestDatabase db;
  private NodeProcess node;

  @BeforeEach
  void createSchema() {
    db = new TestDatabase();
  }

  @AfterEach
  void stop() {
    if (node != null) node.close();
    db.close();
  }

  private NodeProcess startNode(List<Integer> ports) throws Exception {
    return NodeProcess.start(
        "poisoned",
        "postgres.conf",
        ports.get(0),
        ports.get(1),
        Map.of(
            "reports.db.url", db.url(),
            "reports.db.user", TestDatabase.USER,
            "pekko.management.http.port", "0",
            "reports.retry.max-retries", Integer.toString(MAX_RETRIES),
            "reports.retry.backoff-base", "100ms",
            "reports.llm.simulated.latency-median", "5ms",
            "reports.llm.simulated.latency-spread", "0"),
        "io.reportcluster.node.testkit.PoisonedNodeMain");
  }

  /** The job's state, or null while the node does not answer (it may die at any moment). */
  private static String stateOf(HttpJson http, String id) {
    try {
      return http.get("/status/" + id).text("state");
    } catch (AssertionError notAnswering) {
      return null;
    }
  }

  private static boolean answers(HttpJson http) {
    try {
      return http.get("/api/v1/health").status() == 200;
    } catch (AssertionError notYet) {
      return false;
    }
  }

  @Test
  void aCallThatKillsItsNodeEveryTimeEndsInFailureAfterMaxRetries() throws Exception {
    List<Integer> ports = FreePorts.pick(2);
    HttpJson http = new HttpJson("http://127.0.0.1:" + ports.get(0));
    node = startNode(ports);
    Await.until(Duration.ofSeconds(60), "the node answers", () -> answers(http));
    String healthy = http.postJson("/api/v1/jobs", "{\"startup\": \"Healthy\"}").text("job_id");
    String poison = http.postJson("/api/v1/jobs", "{\"startup\": \"Poison\"}").text("job_id");

    int crashes = 0;
    while (true) {
      NodeProcess current = node;
      Await.until(
          Duration.ofSeconds(60),
          "the node dies or the poison job ends",
          () -> !current.isAlive() || "FAILURE".equals(stateOf(http, poison)));
      if (current.isAlive()) break;
      crashes++;
      assertThat(crashes)
          .as("crashes of the node (log: %s)", current.log())
          .isLessThanOrEqualTo(MAX_RETRIES + 1);
      node = startNode(ports);
      NodeProcess restarted = node;
      // The restarted node recovers the job and calls again; on a slow machine that call may
      // halt it before its HTTP server has answered once: that is the next crash, counted above.
      Await.until(
          Duration.ofSeconds(60),
          "the restarted node answers or dies",
          () -> answers(http) || !restarted.isAlive());
    }

    assertThat(crashes).isEqualTo(MAX_RETRIES + 1);
    HttpJson.Reply failed = http.get("/api/v1/jobs/" + poison);
    assertThat(failed.text("state")).isEqualTo("FAILURE");
    assertThat(failed.text("error"))
        .contains("INTERRUPTED", "gave up after " + (MAX_RETRIES + 1) + " attempts");
    Await.until(
        Duration.ofSeconds(60),
        "the healthy job SUCCESS",
        () -> "SUCCESS".equals(stateOf(http, healthy)));
    assertThat(db.countEvents("AttemptStarted").get("ReportJob|" + poison))
        .isEqualTo(MAX_RETRIES + 1);
  }
}
