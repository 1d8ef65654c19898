package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.auth.ApiKey;
import io.reportcluster.node.auth.ApiKeys;
import io.reportcluster.node.auth.Tokens;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.SseClient;
import io.reportcluster.node.testkit.TestDatabase;
import io.reportcluster.node.testkit.TestRedis;
import java.net.URI;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * API keys on a real node (PostgreSQL, Redis): nothing without a key, each client key sees and
 * touches only its own jobs, admin keys everything, and per-key limits refuse with 429.
 */
@DisplayName("API keys")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ApiKeysIT {
  private static final Duration DEADLINE = Duration.ofSeconds(60);
  private TestDatabase db;
  private TestRedis redis;
  private HikariDataSource ds;
  private ApiKeys keys;
  private ReportNode node;
  private String admin;
  private String alice;
  private String bob;
  private String url;

  @BeforeAll
  void start() {
    db = new TestDatabase();
    redis = new TestRedis();
    admin = Tokens.mint().token();
    Config config =
        db.nodeConfig(
            redis.nodeConfig()
                + "reports.auth.enabled = on\n"
                + "reports.auth.cache-ttl = 200ms\n"
                + "reports.auth.bootstrap-admin-token = \""
                + admin
                + "\"\n");
    SimulatedProvider.Settings s =
        SimulatedProvider.Settings.fromConfig(config.getConfig("reports.llm.simulated"));
    node =
        ReportNode.start(
            config,
            ProviderRegistry.of(new SimulatedProvider(s.withLatency(Duration.ofMillis(20), 0.3))));
    url = node.baseUrl();
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(db.url());
    hc.setUsername(TestDatabase.USER);
    hc.setMaximumPoolSize(1);
    ds = new HikariDataSource(hc);
    keys = new ApiKeys(ds, Duration.ZERO);
    alice = keys.create("alice-" + UUID.randomUUID(), ApiKey.Role.CLIENT, 0, 0, 0, 0);
    bob = keys.create("bob-" + UUID.randomUUID(), ApiKey.Role.CLIENT, 0, 0, 0, 0);
  }

  @AfterAll
  void stop() {
    if (node != null) node.close();
    if (ds != null) ds.close();
    redis.close();
    db.close();
  }

  private HttpJson.Reply send(String method, String path, String token) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url + path))
            .method(
                method,
                method.equals("POST")
                    ? HttpRequest.BodyPublishers.ofString("{\"startup\": \"Keyed\"}")
                    : HttpRequest.BodyPublishers.noBody())
            .header("Content-Type", "application/json");
    if (token != null) b.header("Authorization", "Bearer " + token);
    return new HttpJson(url).send(b);
  }

  /** The status only: /metrics answers Prometheus text, not JSON. */
  private int statusOf(String path, String token) {
    try {
      return java.net.http.HttpClient.newHttpClient()
          .send(
              HttpRequest.newBuilder(URI.create(url + path))
                  .header("Authorization", "Bearer " + token)
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              java.net.http.HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private String submit(String token, String startup, String idempotencyKey) {
    Map<String, String> headers =
        idempotencyKey == null
            ? Map.of("Content-Type", "application/json", "Authorization", "Bearer " + token)
            : Map.of(
                "Content-Type",
                "application/json",
                "Authorization",
                "Bearer " + token,
                "Idempotency-Key",
                idempotencyKey);
    HttpJson.Reply r =
        new HttpJson(url).post("/api/v1/jobs", "{\"startup\": \"" + startup + "\"}", headers);
    assertThat(r.status()).as("submit: %s", r.body()).isIn(200, 202);
    return r.text("job_id");
  }

  private void awaitSuccess(String token, String id) {
    Await.until(
        DEADLINE,
        "job " + id + " SUCCESS",
        () -> "SUCCESS".equals(send("GET", "/api/v1/jobs/" + id, token).text("state")));
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    "POST, /api/v1/jobs",
    "GET, /api/v1/jobs",
    "GET, /api/v1/jobs/7f3c1e9a-2b4d-4c8e-9f10-1a2b3c4d5e6f",
    "DELETE, /api/v1/jobs/7f3c1e9a-2b4d-4c8e-9f10-1a2b3c4d5e6f",
    "POST, /api/v1/jobs/7f3c1e9a-2b4d-4c8e-9f10-1a2b3c4d5e6f/retry",
    "GET, /api/v1/jobs/7f3c1e9a-2b4d-4c8e-9f10-1a2b3c4d5e6f/events",
    "GET, /api/v1/events",
    "POST, /generate",
    "GET, /status/7f3c1e9a-2b4d-4c8e-9f10-1a2b3c4d5e6f",
    "GET, /api/v1/stats",
    "GET, /api/v1/cluster",
    "GET, /api/v1/node/calls",
    "GET, /api/v1/providers",
    "GET, /metrics",
  })
  @DisplayName("without a key, or with a wrong one, every job endpoint is 401 JSON")
  void noKeyNoService(String method, String path) {
    for (String token :
        new String[] {null, "nonsense", Tokens.mint().token(), alice.substring(0, 20) + "x"}) {
      HttpJson.Reply r = send(method, path, token);
      assertThat(r.status()).as("%s %s with %s: %s", method, path, token, r.body()).isEqualTo(401);
      assertThat(r.text("error")).isEqualTo("unauthorized");
      assertThat(r.raw().headers().firstValue("WWW-Authenticate"))
          .hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
      assertThat(r.raw().body()).doesNotContain(alice).doesNotContain(admin);
    }
    assertThat(send("GET", "/api/v1/health", null).status()).isEqualTo(200);
  }

  @Test
  @DisplayName("a client key sees, streams and cancels only its own jobs; an admin key all")
  void ownJobsOnly() {
    String mine = submit(alice, "Alice Co", null);
    awaitSuccess(alice, mine);
    String running = submit(alice, "Alice Two", null);

    assertThat(send("GET", "/api/v1/jobs/" + mine, bob).status()).isEqualTo(404);
    assertThat(send("GET", "/status/" + mine, bob).status()).isEqualTo(404);
    assertThat(send("DELETE", "/api/v1/jobs/" + running, bob).status()).isEqualTo(404);
    assertThat(send("POST", "/api/v1/jobs/" + mine + "/retry", bob).status()).isEqualTo(404);
    try (SseClient sse =
        SseClient.connect(url + "/api/v1/jobs/" + mine + "/events?access_token=" + bob)) {
      assertThat(sse.status()).isEqualTo(404);
    }
    Await.until(
        DEADLINE,
        "alice's jobs listed",
        () -> send("GET", "/api/v1/jobs?limit=200", alice).body().get("total").asLong() >= 2);
    JsonNode bobs = send("GET", "/api/v1/jobs?limit=200", bob).body();
    List<String> bobSees = new ArrayList<>();
    bobs.get("jobs").forEach(j -> bobSees.add(j.get("job_id").asText()));
    assertThat(bobSees).doesNotContain(mine, running);

    assertThat(send("GET", "/api/v1/jobs/" + mine, alice).status()).isEqualTo(200);
    assertThat(send("GET", "/api/v1/jobs/" + mine, admin).status()).isEqualTo(200);
    HttpJson.Reply cancelled = send("DELETE", "/api/v1/jobs/" + running, admin);
    assertThat(cancelled.status()).isIn(200, 409);
    Await.until(
        DEADLINE,
        "the admin key lists both of alice's jobs",
        () -> {
          List<String> adminSees = new ArrayList<>();
          send("GET", "/api/v1/jobs?limit=200", admin)
              .body()
              .get("jobs")
              .forEach(j -> adminSees.add(j.get("job_id").asText()));
          return adminSees.contains(mine) && adminSees.contains(running);
        });
  }

  @Test
  @DisplayName("the stream of every job carries only the key's own jobs")
  void allJobsStreamIsFiltered() {
    try (SseClient sse = SseClient.connect(url + "/api/v1/events?access_token=" + bob)) {
      assertThat(sse.status()).isEqualTo(200);
      String alices = submit(alice, "Alice Streamed", null);
      String bobs = submit(bob, "Bob Streamed", null);
      List<String> seen = new ArrayList<>();
      Await.until(
          DEADLINE,
          "bob's job finished on his stream",
          () -> {
            SseClient.Item item = sse.next(Duration.ofSeconds(30));
            if (item instanceof SseClient.Event e && e.json().has("job_id")) {
              seen.add(e.json().get("job_id").asText());
              return e.json().get("job_id").asText().equals(bobs)
                  && "SUCCESS".equals(e.json().path("state").asText());
            }
            return false;
          });
      assertThat(seen).contains(bobs).doesNotContain(alices);
    }
  }

  @Test
  @DisplayName("a client key cannot read the cluster's figures or metrics; an admin key can")
  void adminOnly() {
    for (String path :
        List.of("/metrics", "/api/v1/cluster", "/api/v1/node/calls", "/api/v1/stats")) {
      HttpJson.Reply r = send("GET", path, alice);
      assertThat(r.status()).as(path).isEqualTo(403);
      assertThat(r.text("error")).isEqualTo("forbidden");
      assertThat(statusOf(path, admin)).as(path).isEqualTo(200);
    }
  }

  @Test
  @DisplayName("two clients' same Idempotency-Key names two jobs")
  void idempotencyKeysAreScoped() {
    String key = "shared-" + UUID.randomUUID();
    String a = submit(alice, "Same", key);
    String b = submit(bob, "Same", key);
    assertThat(a).isNotEqualTo(b);
    assertThat(submit(alice, "Same", key)).isEqualTo(a);
  }

  @Test
  @DisplayName("a key over its submit rate gets 429 with Retry-After; its accepted jobs finish")
  void rateLimited() {
    String limited = keys.create("rate-" + UUID.randomUUID(), ApiKey.Role.CLIENT, 3, 0, 0, 0);
    List<String> accepted = new ArrayList<>();
    HttpJson.Reply refused = null;
    for (int i = 0; i < 6 && refused == null; i++) {
      HttpJson.Reply r = send("POST", "/api/v1/jobs", limited);
      if (r.status() == 429) refused = r;
      else accepted.add(r.text("job_id"));
    }
    assertThat(accepted).hasSize(3);
    assertThat(refused).isNotNull();
    assertThat(refused.text("error")).isEqualTo("rate_limited");
    assertThat(refused.raw().headers().firstValue("Retry-After")).isPresent();
    for (String id : accepted) awaitSuccess(limited, id);
  }

  @Test
  @DisplayName("a key at its cap of unfinished jobs, or over its daily tokens, is refused")
  void capsAndBudgets() {
    String budgeted = keys.create("budget-" + UUID.randomUUID(), ApiKey.Role.CLIENT, 0, 0, 1, 0);
    String first = submit(budgeted, "Spender", null);
    awaitSuccess(budgeted, first);
    Await.until(
        DEADLINE,
        "the spent budget refuses",
        () -> send("POST", "/api/v1/jobs", budgeted).status() == 429);
    HttpJson.Reply r = send("POST", "/api/v1/jobs", budgeted);
    assertThat(r.text("error")).isEqualTo("daily_budget_spent");
    assertThat(r.text("detail")).contains("tokens today");
  }

  @Test
  @DisplayName("a revoked key stops working on the node within its cache time")
  void revoked() {
    String name = "gone-" + UUID.randomUUID();
    String token = keys.create(name, ApiKey.Role.CLIENT, 0, 0, 0, 0);
    assertThat(send("GET", "/api/v1/jobs", token).status()).isEqualTo(200);
    assertThat(keys.revoke(name)).isTrue();
    Await.until(
        Duration.ofSeconds(5),
        "the revoked key refused",
        () -> send("GET", "/api/v1/jobs", token).status() == 401);
  }

  @Test
  @DisplayName("a node beyond loopback without keys refuses to start, saying why")
  void openBeyondLoopbackRefused() {
    Config open = db.nodeConfig("reports.http.host = \"0.0.0.0\"\nreports.auth.enabled = off\n");
    SimulatedProvider.Settings s =
        SimulatedProvider.Settings.fromConfig(open.getConfig("reports.llm.simulated"));
    assertThatThrownBy(() -> ReportNode.start(open, ProviderRegistry.of(new SimulatedProvider(s))))
        .hasMessageContaining("no API keys")
        .hasMessageContaining("0.0.0.0");
  }
}
