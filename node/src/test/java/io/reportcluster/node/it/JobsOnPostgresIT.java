package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.RecordingProvider;
import io.reportcluster.node.testkit.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Whole jobs through real HTTP, on a real PostgreSQL journal, with the node restarted mid-run. */
class JobsOnPostgresIT {
  private static final int STEPS = 5;
  private TestDatabase db;

  @BeforeEach
  void createSchema() {
    db = new TestDatabase();
  }

  @AfterEach
  void dropSchema() {
    db.close();
  }

  private static RecordingProvider simulated(Config config, Duration latency) {
    SimulatedProvider.Settings s =
        SimulatedProvider.Settings.fromConfig(config.getConfig("reports.llm.simulated"));
    return new RecordingProvider(new SimulatedProvider(s.withLatency(latency, 0.3)));
  }

  private static List<String> submit(HttpJson http, int count, String prefix) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      HttpJson.Reply r = http.postJson("/generate", "{\"startup\": \"" + prefix + "-" + i + "\"}");
      assertThat(r.status()).as("submit %d: %s", i, r.body()).isEqualTo(202);
      assertThat(r.text("status")).isEqualTo("queued");
      ids.add(r.text("job_id"));
    }
    return ids;
  }

  private static long countInState(HttpJson http, List<String> ids, String state) {
    return ids.stream().filter(id -> state.equals(http.get("/status/" + id).text("state"))).count();
  }

  @Test
  void thirtyJobsAllReachSuccessWithAResultEach() {
    Config config = db.nodeConfig("");
    RecordingProvider provider = simulated(config, Duration.ofMillis(20));
    try (ReportNode node = ReportNode.start(config, ProviderRegistry.of(provider))) {
      HttpJson http = new HttpJson(node.baseUrl());
      List<String> ids = submit(http, 30, "Startup");

      Await.until(
          Duration.ofSeconds(60),
          "all 30 jobs SUCCESS",
          () -> countInState(http, ids, "SUCCESS") == 30);

      for (String id : ids) {
        HttpJson.Reply status = http.get("/status/" + id);
        assertThat(status.text("result")).contains("Summary:");
      }
      assertThat(provider.answered()).hasSize(30 * STEPS);
      assertThat(provider.maxInFlight()).isLessThanOrEqualTo(4);
    }
    // Every job's journal holds each step once and one result.
    assertThat(db.countEvents("StepCompleted").values()).hasSize(30).allMatch(n -> n == STEPS);
    assertThat(db.countEvents("Succeeded").values()).hasSize(30).allMatch(n -> n == 1);
  }

  @Test
  void jobsStoppedMidwayFinishAfterARestartWithoutRedoingACompletedStep() {
    Config config = db.nodeConfig("");
    RecordingProvider before = simulated(config, Duration.ofMillis(100));
    List<String> ids;
    try (ReportNode node = ReportNode.start(config, ProviderRegistry.of(before))) {
      HttpJson http = new HttpJson(node.baseUrl());
      ids = submit(http, 20, "Restart");
      // Stop while work is mid-way: some steps done, no job finished yet is not required,
      // but at least some must still be running.
      Await.until(Duration.ofSeconds(30), "some steps done", () -> before.answered().size() >= 12);
    }
    Map<String, Integer> doneAtStop = db.countEvents("StepCompleted");
    long unfinishedAtStop =
        ids.stream().filter(id -> doneAtStop.getOrDefault("ReportJob|" + id, 0) < STEPS).count();
    assertThat(unfinishedAtStop).as("jobs left unfinished by the stop").isGreaterThan(0);

    RecordingProvider after = simulated(config, Duration.ofMillis(20));
    try (ReportNode node = ReportNode.start(config, ProviderRegistry.of(after))) {
      HttpJson http = new HttpJson(node.baseUrl());
      // Nobody touches the jobs: they resume on their own (remember-entities).
      Await.until(
          Duration.ofSeconds(60),
          "unfinished jobs resumed by themselves",
          () ->
              after.answered().stream().map(r -> r.jobId()).collect(Collectors.toSet()).size()
                  == unfinishedAtStop);
      Await.until(
          Duration.ofSeconds(60),
          "all 20 jobs SUCCESS",
          () -> countInState(http, ids, "SUCCESS") == 20);
    }

    // No step completed before the stop was called again after it.
    for (var call : after.calls()) {
      int completedBefore = doneAtStop.getOrDefault("ReportJob|" + call.jobId(), 0);
      assertThat(call.step())
          .as("job %s step %d was done before the stop", call.jobId(), call.step())
          .isGreaterThanOrEqualTo(completedBefore);
    }
    Set<String> resumed = after.calls().stream().map(r -> r.jobId()).collect(Collectors.toSet());
    assertThat(resumed).hasSize((int) unfinishedAtStop);
    assertThat(db.countEvents("StepCompleted").values()).hasSize(20).allMatch(n -> n == STEPS);
    assertThat(db.countEvents("Succeeded").values()).hasSize(20).allMatch(n -> n == 1);
  }
}
