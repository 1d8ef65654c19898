package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.BudgetedLlmServer;
import io.reportcluster.node.testkit.FreePorts;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.JobsClient;
import io.reportcluster.node.testkit.Scrape;
import io.reportcluster.node.testkit.TestDatabase;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Fallback chains on one node (no Redis needed), its providers real OpenAI clients against one
 * stand-in server that takes one key: {@code openai} and {@code chained} have a wrong one (401:
 * moves at once), {@code down} points at a port where nothing listens (a retryable failure: moves
 * when its retries are used up), {@code backup} has the right one. {@code busy} has a server of its
 * own, which a test makes answer 429 for a while (a cooldown longer than the node waits for).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class FallbackIT {
  private static final List<String> STEPS =
      List.of("market", "competitors", "team", "risks", "synthesis");
  private static final Duration DONE = Duration.ofSeconds(30);

  private TestDatabase db;
  private BudgetedLlmServer server;
  private BudgetedLlmServer busy;
  private ReportNode node;
  private JobsClient client;

  @BeforeAll
  void startNode() {
    db = new TestDatabase();
    server =
        BudgetedLlmServer.start(
            BudgetedLlmServer.Settings.unlimited()
                .withDelay(Duration.ofMillis(20))
                .withApiKey("sk-right"));
    busy =
        BudgetedLlmServer.start(
            BudgetedLlmServer.Settings.unlimited()
                .withDelay(Duration.ofMillis(20))
                .withApiKey("sk-right"));
    String nowhere = "http://127.0.0.1:" + FreePorts.pick(1).get(0) + "/v1";
    node =
        ReportNode.start(
            db.nodeConfig(
                """
                reports.llm.providers {
                  openai { base-url = "%1$s", api-key = "sk-wrong" }
                  chained { type = openai, base-url = "%1$s", api-key = "sk-wrong", fallback = [backup] }
                  down { type = openai, base-url = "%2$s", api-key = "sk-right" }
                  backup { type = openai, base-url = "%1$s", api-key = "sk-right", model = "stand-in" }
                  busy { type = openai, base-url = "%3$s", api-key = "sk-right" }
                }
                # A step that fails for a reason a retry may cure tries twice, 100 ms apart.
                reports.retry { max-retries = 1, backoff-base = 100ms, jitter = 0 }
                # A step whose provider pauses longer than this moves on.
                reports.llm.limits.fallback-after-cooldown = 1s
                """
                    .formatted(server.baseUrl(), nowhere, busy.baseUrl())));
    client = new JobsClient(List.of(new HttpJson(node.baseUrl())));
  }

  @AfterAll
  void stopNode() {
    try {
      if (node != null) node.close();
    } finally {
      if (server != null) server.close();
      if (busy != null) busy.close();
      if (db != null) db.close();
    }
  }

  @Test
  @DisplayName(
      "a refused key moves each step to the next provider of the job's chain at once, and counts it")
  void aRefusedKeyMovesEveryStepToTheNextProvider() {
    double movedBefore = fallbacks("openai", "backup", "unauthorized");
    int refusedBefore = server.unauthorized();
    List<String> ids =
        client.submit(3, i -> job("Fallback-" + i, "\"providers\": [\"openai\", \"backup\"]"));
    Map<String, JsonNode> views = client.awaitFinished(ids, DONE);

    assertThat(JobsClient.notSucceeded(views)).as("jobs not SUCCESS").isEmpty();
    for (JsonNode v : views.values()) {
      assertThat(texts(v.path("providers"))).containsExactly("openai", "backup");
      assertThat(v.path("steps")).hasSize(STEPS.size());
      for (JsonNode step : v.path("steps")) {
        assertThat(step.path("provider").asText()).as("who answered %s", step).isEqualTo("backup");
        assertThat(texts(step.path("providers_tried")))
            .as("providers tried for %s", step.path("name"))
            .containsExactly("openai", "backup");
        assertThat(step.path("attempts").asInt()).as("calls of %s", step.path("name")).isEqualTo(2);
      }
    }
    int moves = ids.size() * STEPS.size();
    assertThat(server.unauthorized() - refusedBefore).as("401s: one per step").isEqualTo(moves);
    assertThat(fallbacks("openai", "backup", "unauthorized") - movedBefore)
        .as("reports_llm_fallbacks_total{from=openai,to=backup,reason=unauthorized}")
        .isEqualTo(moves);
  }

  @Test
  @DisplayName(
      "a job that names one provider without a fallback fails at the refused key, for good")
  void oneProviderWithoutFallbackFailsPermanently() {
    String id = client.submit(1, i -> job("No-fallback", "\"provider\": \"openai\"")).get(0);
    JsonNode v = client.awaitFinished(List.of(id), DONE).get(id);

    assertThat(v.path("state").asText()).isEqualTo("FAILURE");
    assertThat(v.path("error").asText()).contains("UNAUTHORIZED").contains("(permanent)");
    assertThat(v.path("attempts").asInt()).as("calls made").isEqualTo(1);
    assertThat(texts(v.path("providers"))).containsExactly("openai");
  }

  @Test
  @DisplayName("a job that names one provider gets that provider's configured fallback chain")
  void oneProviderGetsItsConfiguredChain() {
    String id = client.submit(1, i -> job("Configured-chain", "\"provider\": \"chained\"")).get(0);
    JsonNode v = client.awaitFinished(List.of(id), DONE).get(id);

    assertThat(v.path("state").asText()).as("job %s", v).isEqualTo("SUCCESS");
    assertThat(texts(v.path("providers"))).containsExactly("chained", "backup");
    for (JsonNode step : v.path("steps")) {
      assertThat(step.path("provider").asText()).isEqualTo("backup");
      assertThat(texts(step.path("providers_tried"))).containsExactly("chained", "backup");
    }
  }

  @Test
  @DisplayName("a failure a retry may cure moves a step on only once its retries are used up")
  void retriesUsedUpMoveTheStepOn() {
    double movedBefore = fallbacks("down", "backup", "connection");
    String id =
        client
            .submit(1, i -> job("Retries-used-up", "\"providers\": [\"down\", \"backup\"]"))
            .get(0);
    JsonNode v = client.awaitFinished(List.of(id), DONE).get(id);

    assertThat(v.path("state").asText()).as("job %s", v).isEqualTo("SUCCESS");
    for (JsonNode step : v.path("steps")) {
      assertThat(step.path("provider").asText()).isEqualTo("backup");
      assertThat(texts(step.path("providers_tried"))).containsExactly("down", "backup");
      // Two calls to the provider that is down (the first and its one retry), one to the backup.
      assertThat(step.path("attempts").asInt()).as("calls of %s", step.path("name")).isEqualTo(3);
    }
    assertThat(fallbacks("down", "backup", "connection") - movedBefore)
        .as("reports_llm_fallbacks_total{from=down,to=backup,reason=connection}")
        .isEqualTo(STEPS.size());
  }

  @Test
  @DisplayName(
      "a step whose provider pauses after a 429 for longer than fallback-after-cooldown moves on")
  void aLongCooldownMovesTheStepOn() {
    double movedBefore = fallbacks("busy", "backup", "cooldown");
    busy.rateLimitFor(Duration.ofSeconds(3));
    // The first job's call gets the 429 (retry-after-ms ~3000): the provider pauses for 3 s.
    String first =
        client.submit(1, i -> job("Meets-the-429", "\"providers\": [\"busy\", \"backup\"]")).get(0);
    Await.until(
        Duration.ofSeconds(10),
        "the pause after the 429",
        () ->
            Scrape.sum(node.baseUrl(), "reports_llm_cooldowns_total", Map.of("provider", "busy"))
                > 0);
    String second =
        client
            .submit(1, i -> job("Finds-the-pause", "\"providers\": [\"busy\", \"backup\"]"))
            .get(0);
    Map<String, JsonNode> views = client.awaitFinished(List.of(first, second), DONE);

    assertThat(JobsClient.notSucceeded(views)).as("jobs not SUCCESS").isEmpty();
    JsonNode moved = views.get(second).path("steps").get(0);
    assertThat(moved.path("provider").asText()).as("who answered %s", moved).isEqualTo("backup");
    assertThat(texts(moved.path("providers_tried"))).containsExactly("busy", "backup");
    assertThat(moved.path("attempts").asInt())
        .as("calls of %s: a wait is not a call", moved.path("name"))
        .isEqualTo(1);
    assertThat(fallbacks("busy", "backup", "cooldown") - movedBefore)
        .as("reports_llm_fallbacks_total{from=busy,to=backup,reason=cooldown}")
        .isPositive();
    assertThat(busy.rateLimited()).as("429s: the first call only").isEqualTo(1);
  }

  private double fallbacks(String from, String to, String reason) {
    return Scrape.sum(
        node.baseUrl(),
        "reports_llm_fallbacks_total",
        Map.of("from", from, "to", to, "reason", reason));
  }

  private static String job(String startup, String providers) {
    return "{\"startup\": \"" + startup + "\", " + providers + "}";
  }

  private static List<String> texts(JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
  }
}
