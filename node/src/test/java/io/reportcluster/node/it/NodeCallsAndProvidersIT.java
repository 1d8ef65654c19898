package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.redis.RedisKeys;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.JobsClient;
import io.reportcluster.node.testkit.TestDatabase;
import io.reportcluster.node.testkit.TestRedis;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
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
 * What the dashboard's nodes page and overview read, on a real node (a PostgreSQL journal, the
 * shared Redis under a prefix of this test's own): its calls in flight and its queue, every node's
 * calls in the cluster overview, and the provider entries with their limits and budgets, never with
 * a key.
 *
 * <p>The node has one caller and a simulated provider that takes a minute per call, and three jobs
 * run: the first job's first call stays in flight for the whole test, the other two wait behind it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class NodeCallsAndProvidersIT {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(15);
  private static final String API_KEY = "sk-test-secret-123";
  private static final String URL_PASSWORD = "url-secret-456";

  private TestDatabase db;
  private TestRedis redis;
  private ReportNode node;
  private HttpJson http;
  private List<String> ids;
  private Instant submitted;

  @BeforeAll
  void startNodeWithThreeJobs() {
    db = new TestDatabase();
    redis = new TestRedis();
    node =
        ReportNode.start(
            db.nodeConfig(
                redis.nodeConfig()
                    + """
                    reports.llm.callers = 1
                    reports.llm.drain-timeout = 2s
                    reports.llm.simulated { latency-median = 60s, latency-spread = 0 }
                    reports.llm.providers {
                      simulated.limits { rpm = 600, tpm = 1000000 }
                      openai {
                        base-url = "https://user:%s@llm.example.invalid/v1"
                        api-key = "%s"
                        model = "gpt-test"
                        limits { rpm = 50, input-tpm = 40000, max-concurrent = 3 }
                        fallback = [simulated]
                      }
                    }
                    """
                        .formatted(URL_PASSWORD, API_KEY)));
    http = new HttpJson(node.baseUrl());
    submitted = Instant.now().minusSeconds(1);
    ids =
        new JobsClient(List.of(http))
            .submit(3, i -> "{\"startup\": \"Calls-" + i + "\", \"provider\": \"simulated\"}");
  }

  @AfterAll
  void stopNode() {
    try {
      // Cancelled jobs stop their calls at once: the node then leaves without a drain to wait for.
      if (ids != null) ids.forEach(id -> http.delete("/api/v1/jobs/" + id));
      if (node != null) node.close();
    } finally {
      try {
        if (redis != null) redis.close();
      } finally {
        if (db != null) db.close();
      }
    }
  }

  @Test
  @DisplayName(
      "GET /api/v1/node/calls: the call the caller holds (job, step, provider, since when) and the"
          + " two waiting behind it")
  void theNodesCallsInFlightAndItsQueue() {
    JsonNode calls =
        Await.value(
            WAIT,
            "one call in flight and two queued",
            () -> http.get("/api/v1/node/calls").body(),
            b -> b.path("in_flight").size() == 1 && b.path("queued").size() == 2);

    assertThat(calls.path("node").asText()).isEqualTo(node.nodeName());
    assertThat(calls.path("callers").asInt()).isEqualTo(1);
    assertThat(calls.path("queue_depth").asInt()).isEqualTo(2);
    assertThat(MAPPER.convertValue(calls.path("queue_by_provider"), Map.class))
        .containsExactly(Map.entry("simulated", 2));
    JsonNode running = calls.path("in_flight").get(0);
    assertThat(running.path("step").asInt()).isZero();
    assertThat(running.path("step_name").asText()).isEqualTo("market");
    assertThat(running.path("provider").asText()).isEqualTo("simulated");
    assertThat(running.path("attempt").asInt()).isEqualTo(1);
    assertThat(running.path("started_at").asText()).endsWith("Z");
    assertThat(Instant.parse(running.path("started_at").asText()))
        .isBetween(submitted, Instant.now());
    List<String> seen = new ArrayList<>(List.of(running.path("job_id").asText()));
    for (JsonNode q : calls.path("queued")) {
      seen.add(q.path("job_id").asText());
      assertThat(q.path("step").asInt()).isZero();
      assertThat(q.path("step_name").asText()).isEqualTo("market");
      assertThat(q.path("provider").asText()).isEqualTo("simulated");
      assertThat(q.has("waiting_for")).as("waiting_for in %s", q).isTrue();
      assertThat(q.path("waiting_for").isNull()).as("waits for the caller only: %s", q).isTrue();
      assertThat(Instant.parse(q.path("queued_at").asText())).isBetween(submitted, Instant.now());
    }
    assertThat(seen).containsExactlyInAnyOrderElementsOf(ids);
  }

  @Test
  @DisplayName(
      "GET /api/v1/cluster: each node's entry from Redis carries its calls, as its Redis hash does")
  void theClusterOverviewCarriesEachNodesCalls() {
    JsonNode self =
        Await.value(
            WAIT,
            "this node's calls in the cluster overview",
            () -> selfIn(http.get("/api/v1/cluster").body()),
            n -> n != null && n.path("calls").path("queued").size() == 2);

    assertThat(self.has("heartbeat")).as("an entry read from Redis: %s", self).isTrue();
    JsonNode calls = self.path("calls");
    assertThat(calls.isObject()).as("calls as an object, not a string: %s", self).isTrue();
    assertThat(calls.path("node").asText()).isEqualTo(node.nodeName());
    assertThat(calls.path("queue_depth").asInt()).isEqualTo(2);
    assertThat(calls.path("in_flight")).hasSize(1);
    assertThat(ids).contains(calls.path("in_flight").get(0).path("job_id").asText());

    String stored =
        redis.commands().hget(new RedisKeys(redis.prefix()).node(node.nodeName()), "calls");
    assertThat(stored).as("the calls field of the node's hash").isNotNull();
    JsonNode parsed = parse(stored);
    assertThat(parsed.path("in_flight")).hasSize(1);
    assertThat(parsed.path("queue_depth").asInt()).isEqualTo(2);
  }

  @Test
  @DisplayName(
      "GET /api/v1/providers: every entry with its limits, fallback, prices and budget; no key, no"
          + " base URL")
  void theProvidersWithTheirLimitsAndBudgetsButNoSecrets() {
    HttpJson.Reply reply =
        Await.value(
            WAIT,
            "the simulated budget counts every call started in its window",
            () -> http.get("/api/v1/providers"),
            r -> {
              long inWindow =
                  provider(r.body(), "simulated")
                      .path("budget")
                      .path("requests_in_window")
                      .asLong();
              // The node's own count of calls started (a restarted caller may start one again).
              long started = http.get("/api/v1/node/stats").body().path("calls_started").asLong();
              return r.status() == 200 && inWindow >= 1 && inWindow == started;
            });

    String raw = reply.raw().body();
    assertThat(raw)
        .doesNotContain(API_KEY)
        .doesNotContain(URL_PASSWORD)
        .doesNotContain("llm.example.invalid")
        .doesNotContain("api_key")
        .doesNotContain("base_url");
    assertThat(names(reply.body())).containsExactly("openai", "simulated");

    JsonNode openai = provider(reply.body(), "openai");
    assertThat(openai.path("type").asText()).isEqualTo("openai");
    assertThat(openai.path("model").asText()).isEqualTo("gpt-test");
    JsonNode limits = openai.path("limits");
    assertThat(limits.path("rpm").asInt()).isEqualTo(50);
    assertThat(limits.path("tpm").isNull()).as("tpm unlimited: %s", limits).isTrue();
    assertThat(limits.path("input_tpm").asLong()).isEqualTo(40_000);
    assertThat(limits.path("output_tpm").isNull()).isTrue();
    assertThat(limits.path("max_concurrent").asInt()).isEqualTo(3);
    assertThat(texts(openai.path("fallback"))).containsExactly("simulated");
    assertThat(openai.path("prices").path("input_per_million").asDouble()).isEqualTo(0.15);
    assertThat(openai.path("prices").path("output_per_million").asDouble()).isEqualTo(0.60);
    JsonNode idle = openai.path("budget");
    assertThat(idle.path("mode").asText()).isEqualTo("shared");
    assertThat(idle.path("window_seconds").asInt()).isEqualTo(60);
    assertThat(idle.path("requests_in_window").asLong()).isZero();
    assertThat(idle.path("requests_in_window").isNull()).isFalse();
    assertThat(idle.path("tokens_in_window").isNull()).as("not counted: %s", idle).isTrue();
    assertThat(idle.path("input_tokens_in_window").asLong()).isZero();
    assertThat(idle.path("cooldown_until").isNull()).isTrue();

    JsonNode simulated = provider(reply.body(), "simulated");
    assertThat(simulated.path("type").asText()).isEqualTo("simulated");
    assertThat(simulated.path("limits").path("rpm").asInt()).isEqualTo(600);
    assertThat(simulated.path("limits").path("tpm").asLong()).isEqualTo(1_000_000);
    assertThat(simulated.path("limits").path("max_concurrent").isNull()).isTrue();
    assertThat(simulated.path("fallback")).isEmpty();
    JsonNode busy = simulated.path("budget");
    assertThat(busy.path("mode").asText()).isEqualTo("shared");
    // The call in flight reserved its prompt's tokens and its max output (1024).
    assertThat(busy.path("tokens_in_window").asLong()).isGreaterThan(1024);
  }

  private JsonNode selfIn(JsonNode overview) {
    for (JsonNode n : overview.path("nodes")) {
      if (node.nodeName().equals(n.path("node").asText())) return n;
    }
    return null;
  }

  private static JsonNode provider(JsonNode body, String name) {
    for (JsonNode p : body.path("providers")) {
      if (name.equals(p.path("name").asText())) return p;
    }
    throw new AssertionError("no provider " + name + " in " + body);
  }

  private static List<String> names(JsonNode body) {
    return StreamSupport.stream(body.path("providers").spliterator(), false)
        .map(p -> p.path("name").asText())
        .toList();
  }

  private static List<String> texts(JsonNode array) {
    return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
  }

  private static JsonNode parse(String json) {
    try {
      return MAPPER.readTree(json);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + json, e);
    }
  }
}
