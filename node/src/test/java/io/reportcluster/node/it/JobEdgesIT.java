package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.HeldCallsProvider;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.SseClient;
import io.reportcluster.node.testkit.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The edges where a job could be created behind a client's back, an unknown id could write to the
 * journal, or a call could go on after its node stopped caring: one real node on a real PostgreSQL
 * journal, driven over HTTP.
 */
class JobEdgesIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private TestDatabase db;
  private ReportNode node;

  @BeforeEach
  void createSchema() {
    db = new TestDatabase();
  }

  @AfterEach
  void stop() {
    if (node != null) node.close();
    db.close();
  }

  private static SimulatedProvider simulated(Config config, Duration latency) {
    SimulatedProvider.Settings s =
        SimulatedProvider.Settings.fromConfig(config.getConfig("reports.llm.simulated"));
    return new SimulatedProvider(s.withLatency(latency, 0));
  }

  private static String jobIdOfKey(String idempotencyKey) {
    return UUID.nameUUIDFromBytes(
            ("idempotency-key:" + idempotencyKey).getBytes(StandardCharsets.UTF_8))
        .toString();
  }

  private long journalRows() {
    return queryLong("SELECT count(*) FROM " + db.schema() + ".event_journal");
  }

  private long queryLong(String sql) {
    try (Connection c =
            DriverManager.getConnection(TestDatabase.SERVER_URL, TestDatabase.USER, "");
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  @DisplayName(
      "a submit answered 503 because the journal was stuck never becomes a job; the client's retry creates exactly one")
  void a503MeansNotCreated() throws Exception {
    Config config =
        db.nodeConfig(
            """
        reports.http.ask-timeout = 1s
        reports.http.submit-margin = 500ms
        """);
    node = ReportNode.start(config, ProviderRegistry.of(simulated(config, Duration.ofMillis(5))));
    HttpJson http = new HttpJson(node.baseUrl());
    String key = "client-retry-" + UUID.randomUUID();
    Map<String, String> headers =
        Map.of("Content-Type", "application/json", "Idempotency-Key", key);

    // The journal stops answering (a failover, a database stall) while the submit waits for it.
    try (Connection lock =
            DriverManager.getConnection(TestDatabase.SERVER_URL, TestDatabase.USER, "");
        Statement st = lock.createStatement()) {
      lock.setAutoCommit(false);
      st.execute("LOCK TABLE " + db.schema() + ".event_journal IN ACCESS EXCLUSIVE MODE");
      HttpJson.Reply stuck = http.post("/generate", "{\"startup\": \"Stalled\"}", headers);
      assertThat(stuck.status()).as("%s", stuck.body()).isEqualTo(503);
      assertThat(stuck.raw().headers().firstValue("Retry-After")).isPresent();
      lock.rollback();
    }

    // The stuck Submit reaches its job now, after the client gave up: it must not create it. The
    // retry arrives behind it at the same entity, so it sees whatever the stuck one did.
    HttpJson.Reply retry = http.post("/api/v1/jobs", "{\"startup\": \"Stalled\"}", headers);
    assertThat(retry.status()).as("the retry creates the job: %s", retry.body()).isEqualTo(202);
    assertThat(retry.body().path("created").asBoolean()).isTrue();
    String id = retry.text("job_id");
    assertThat(id).isEqualTo(jobIdOfKey(key));
    Await.until(
        WAIT, "the job SUCCESS", () -> "SUCCESS".equals(http.get("/status/" + id).text("state")));
    assertThat(db.countEvents("Submitted")).containsExactly(Map.entry("ReportJob|" + id, 1));
  }

  @Test
  @DisplayName("/generate takes an Idempotency-Key: the same key is the same job")
  void seedSubmitsAreIdempotentWithAKey() {
    Config config = db.nodeConfig("");
    node = ReportNode.start(config, ProviderRegistry.of(simulated(config, Duration.ofMillis(5))));
    HttpJson http = new HttpJson(node.baseUrl());
    Map<String, String> headers =
        Map.of("Content-Type", "application/json", "Idempotency-Key", "seed-key-1");

    HttpJson.Reply first = http.post("/generate", "{\"startup\": \"Seed\"}", headers);
    HttpJson.Reply again = http.post("/generate", "{\"startup\": \"Seed\"}", headers);

    assertThat(first.status()).isEqualTo(202);
    assertThat(again.status()).isEqualTo(202);
    assertThat(again.text("job_id")).isEqualTo(first.text("job_id"));
    HttpJson.Reply conflict = http.post("/generate", "{\"startup\": \"Other\"}", headers);
    assertThat(conflict.status()).isEqualTo(409);
    Await.until(
        WAIT,
        "the job SUCCESS",
        () -> "SUCCESS".equals(http.get("/status/" + first.text("job_id")).text("state")));
    assertThat(db.countEvents("Submitted")).hasSize(1);
  }

  @Test
  @DisplayName(
      "reads, cancels and event streams of unknown ids write nothing to the journal and remember no entity")
  void unknownIdsLeaveTheJournalUntouched() {
    Config config = db.nodeConfig("reports.job.finished-idle-timeout = 1h");
    node = ReportNode.start(config, ProviderRegistry.of(simulated(config, Duration.ofMillis(5))));
    HttpJson http = new HttpJson(node.baseUrl());
    String known = http.postJson("/api/v1/jobs", "{\"startup\": \"Known\"}").text("job_id");
    Await.until(
        WAIT,
        "the known job SUCCESS",
        () -> "SUCCESS".equals(http.get("/status/" + known).text("state")));
    long before = journalRows();

    for (int i = 0; i < 50; i++) {
      String unknown = UUID.randomUUID().toString();
      for (String path :
          List.of(
              "/api/v1/jobs/" + unknown,
              "/status/" + unknown,
              "/api/v1/jobs/" + unknown.toUpperCase(),
              "/api/v1/jobs/not-a-uuid-" + i,
              "/status/" + unknown + "x")) {
        HttpJson.Reply r = http.get(path);
        assertThat(r.status()).as("GET %s", path).isEqualTo(404);
        assertThat(r.text("error")).isEqualTo("unknown_job");
      }
      assertThat(http.delete("/api/v1/jobs/" + unknown).status()).isEqualTo(404);
      try (SseClient sse =
          SseClient.connect(node.baseUrl() + "/api/v1/jobs/" + unknown + "/events")) {
        assertThat(sse.status()).isEqualTo(404);
      }
    }

    assertThat(journalRows()).as("journal rows (events and remembered entities)").isEqualTo(before);
    // The known job is still found, from the journal's knowledge or its entity.
    assertThat(http.get("/api/v1/jobs/" + known).text("state")).isEqualTo("SUCCESS");
  }

  @Test
  @DisplayName("a node that learns the cluster downed it stops its calls at once, without draining")
  void aDownedNodeStopsItsCallsAtOnce() {
    Config config =
        db.nodeConfig(
            """
        reports.llm.drain-timeout = 60s
        pekko.coordinated-shutdown.phases.before-cluster-shutdown.timeout = 65s
        """);
    HeldCallsProvider provider = new HeldCallsProvider(simulated(config, Duration.ofMillis(5)));
    provider.hold("Frozen");
    node = ReportNode.start(config, ProviderRegistry.of(provider));
    HttpJson http = new HttpJson(node.baseUrl());
    String id = http.postJson("/api/v1/jobs", "{\"startup\": \"Frozen\"}").text("job_id");
    HeldCallsProvider.HeldCall call = provider.nextCall("Frozen", WAIT);

    Cluster cluster = Cluster.get(node.system());
    cluster.manager().tell(new Down(cluster.selfMember().address()));

    // Well before the drain timeout: the call is cancelled, not awaited.
    Await.until(
        Duration.ofSeconds(15),
        "the held call cancelled",
        () -> provider.cancelled().contains(call.request()));
    Await.until(
        Duration.ofSeconds(30),
        "the node stopped",
        () -> node.system().getWhenTerminated().toCompletableFuture().isDone());
    assertThat(db.countEvents("StepCompleted")).as("nothing persisted for job %s", id).isEmpty();
  }

  @Test
  @DisplayName("a graceful stop cancels the calls still running when the drain timeout passes")
  void theDrainTimeoutCancelsCallsStillRunning() {
    Config config = db.nodeConfig("reports.llm.drain-timeout = 1s");
    HeldCallsProvider provider = new HeldCallsProvider(simulated(config, Duration.ofMillis(5)));
    provider.hold("Slow");
    node = ReportNode.start(config, ProviderRegistry.of(provider));
    HttpJson http = new HttpJson(node.baseUrl());
    http.postJson("/api/v1/jobs", "{\"startup\": \"Slow\"}");
    LlmRequest running = provider.nextCall("Slow", WAIT).request();

    node.close();
    node = null;

    assertThat(provider.cancelled()).as("the call left running after the drain").contains(running);
  }
}
