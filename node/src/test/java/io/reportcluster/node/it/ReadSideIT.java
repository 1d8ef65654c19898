package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.llm.provider.LlmCall;
import io.reportcluster.node.llm.provider.LlmCallException;
import io.reportcluster.node.llm.provider.LlmProvider;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.Scrape;
import io.reportcluster.node.testkit.TestDatabase;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The read side, on the embedded H2 journal and on PostgreSQL: GET /api/v1/jobs lists what the
 * journal holds, newest first, filtered, counted and paged; it survives a restart; retrying a
 * failed job shows in it.
 */
@DisplayName("the job list (read side)")
class ReadSideIT {
  private static final Duration DEADLINE = Duration.ofSeconds(60);

  private TestDatabase pg;
  private Path h2Dir;
  private ReportNode node;

  /** A provider that fails every call permanently while {@code refuse} is set. */
  private static final class Switchable implements LlmProvider {
    final AtomicBoolean refuse = new AtomicBoolean();
    final String name;
    final LlmProvider delegate;

    Switchable(String name, LlmProvider delegate) {
      this.name = name;
      this.delegate = delegate;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public LlmCall start(LlmRequest request) {
      if (refuse.get()) {
        return LlmCall.of(
            CompletableFuture.failedFuture(
                new LlmCallException(LlmCallException.Kind.UNAUTHORIZED, "key refused")),
            () -> {});
      }
      return delegate.start(request);
    }
  }

  private Switchable primary;
  private Switchable backup;

  @AfterEach
  void stop() throws Exception {
    if (node != null) node.close();
    if (pg != null) pg.close();
  }

  private Config config(String database) throws Exception {
    String overrides = "reports.llm.callers = 4\nreports.retry.max-retries = 0\n";
    if (database.equals("postgres")) {
      if (pg == null) pg = new TestDatabase();
      return pg.nodeConfig(overrides);
    }
    if (h2Dir == null) h2Dir = Files.createTempDirectory("read-side-h2");
    Config cfg =
        ConfigFactory.parseString(
                overrides
                    + "reports.http.port = 0\npekko.management.http.port = 0\n"
                    + "reports.node-name = test-node\n"
                    + "reports.db.url = \"jdbc:h2:file:"
                    + h2Dir.resolve("journal")
                    + ";DB_CLOSE_DELAY=-1;WRITE_DELAY=0\"")
            .withFallback(ConfigFactory.parseFile(TestDatabase.profileFile("embedded.conf")));
    return ConfigFactory.load(cfg);
  }

  private HttpJson start(String database) throws Exception {
    Config config = config(database);
    SimulatedProvider.Settings s =
        SimulatedProvider.Settings.fromConfig(config.getConfig("reports.llm.simulated"));
    primary =
        new Switchable(
            "simulated", new SimulatedProvider(s.withLatency(Duration.ofMillis(5), 0.3)));
    backup =
        new Switchable("backup", new SimulatedProvider(s.withLatency(Duration.ofMillis(5), 0.3)));
    Map<String, LlmProvider> providers = new LinkedHashMap<>();
    providers.put("simulated", primary);
    providers.put("backup", backup);
    node = ReportNode.start(config, new ProviderRegistry(providers, "simulated"));
    return new HttpJson(node.baseUrl());
  }

  private static String submit(HttpJson http, String startup, String provider) {
    HttpJson.Reply r =
        http.postJson(
            "/api/v1/jobs",
            "{\"startup\": \"" + startup + "\", \"provider\": \"" + provider + "\"}");
    assertThat(r.status()).as("submit %s: %s", startup, r.body()).isEqualTo(202);
    return r.text("job_id");
  }

  private static JsonNode list(HttpJson http, String query) {
    HttpJson.Reply r = http.get("/api/v1/jobs" + query);
    assertThat(r.status()).as("list %s: %s", query, r.body()).isEqualTo(200);
    return r.body();
  }

  private static List<String> ids(JsonNode page) {
    List<String> ids = new ArrayList<>();
    page.get("jobs").forEach(j -> ids.add(j.get("job_id").asText()));
    return ids;
  }

  /** Every page of a list, following next_cursor; ids in the order the pages gave them. */
  private static List<String> allPages(HttpJson http, String filters, int limit) {
    List<String> ids = new ArrayList<>();
    String cursor = null;
    do {
      String q = "?limit=" + limit + filters + (cursor == null ? "" : "&cursor=" + cursor);
      JsonNode page = list(http, q);
      ids.addAll(ids(page));
      cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
    } while (cursor != null);
    return ids;
  }

  private static void awaitListed(HttpJson http, int total, String state) {
    Await.until(
        DEADLINE,
        total + " jobs listed as " + state,
        () -> list(http, "?state=" + state + "&limit=1").get("total").asLong() == total);
  }

  @ParameterizedTest(name = "on {0}")
  @ValueSource(strings = {"h2", "postgres"})
  @DisplayName(
      "lists jobs newest first, filtered by state, provider, startup and time, with counts")
  void listsFiltersAndCounts(String database) throws Exception {
    HttpJson http = start(database);
    String run = UUID.randomUUID().toString().substring(0, 8);
    Instant before = Instant.now();
    List<String> submitted = new ArrayList<>();
    for (int i = 0; i < 6; i++) submitted.add(submit(http, "Acme-" + run + "-" + i, "simulated"));
    for (int i = 0; i < 3; i++) submitted.add(submit(http, "Globex-" + run + "-" + i, "backup"));
    awaitListed(http, 9, "SUCCESS");
    primary.refuse.set(true);
    String failed = submit(http, "Initech-" + run, "simulated");
    awaitListed(http, 1, "FAILURE");

    JsonNode all = list(http, "?limit=50");
    List<String> newestFirst = new ArrayList<>(submitted);
    newestFirst.add(failed);
    java.util.Collections.reverse(newestFirst);
    assertThat(ids(all)).containsExactlyElementsOf(newestFirst);
    assertThat(all.get("counts").get("SUCCESS").asLong()).isEqualTo(9);
    assertThat(all.get("counts").get("FAILURE").asLong()).isEqualTo(1);
    assertThat(all.get("counts").get("PENDING").asLong()).isZero();
    assertThat(all.get("total").asLong()).isEqualTo(10);
    assertThat(all.get("next_cursor").isNull()).isTrue();

    JsonNode first = all.get("jobs").get(newestFirst.size() - 1);
    assertThat(first.get("startup").asText()).isEqualTo("Acme-" + run + "-0");
    assertThat(first.get("state").asText()).isEqualTo("SUCCESS");
    assertThat(first.get("steps_done").asInt()).isEqualTo(first.get("steps_total").asInt());
    assertThat(first.get("usage").get("input_tokens").asLong()).isPositive();
    assertThat(first.get("node").asText()).isEqualTo("test-node");
    assertThat(first.get("finished_at").isNull()).isFalse();
    JsonNode failedRow = all.get("jobs").get(0);
    assertThat(failedRow.get("state").asText()).isEqualTo("FAILURE");
    assertThat(failedRow.get("error").asText()).contains("key refused");

    assertThat(ids(list(http, "?state=FAILURE"))).containsExactly(failed);
    assertThat(ids(list(http, "?state=SUCCESS,FAILURE&limit=50"))).hasSize(10);
    JsonNode onBackup = list(http, "?provider=backup");
    assertThat(ids(onBackup)).containsExactlyInAnyOrderElementsOf(submitted.subList(6, 9));
    assertThat(onBackup.get("counts").get("SUCCESS").asLong()).isEqualTo(3);
    assertThat(ids(list(http, "?q=" + "gLoBeX-" + run))).hasSize(3);
    assertThat(ids(list(http, "?q=" + run + "-1"))).hasSize(2);
    JsonNode searchedFailed = list(http, "?q=initech&state=SUCCESS");
    assertThat(ids(searchedFailed)).isEmpty();
    assertThat(searchedFailed.get("counts").get("FAILURE").asLong())
        .as("counts ignore the state filter")
        .isEqualTo(1);
    String since = URLEncoder.encode(before.toString(), StandardCharsets.UTF_8);
    assertThat(ids(list(http, "?limit=50&since=" + since))).hasSize(10);
    assertThat(ids(list(http, "?until=" + since))).isEmpty();
    assertThat(list(http, "?limit=1").get("lag_ms").asLong()).isGreaterThanOrEqualTo(0);

    // The projection's lag is measured where it runs.
    Await.until(
        DEADLINE,
        "the read side's lag in /metrics",
        () ->
            Scrape.sum(node.baseUrl(), "reports_read_side_lag_seconds_count", Map.of()) >= 10 * 7);
  }

  @ParameterizedTest(name = "on {0}")
  @ValueSource(strings = {"h2", "postgres"})
  @DisplayName("pages hold every job once, in order, while new jobs arrive")
  void pagingWhileJobsArrive(String database) throws Exception {
    HttpJson http = start(database);
    Set<String> earlier = new HashSet<>();
    for (int i = 0; i < 40; i++) earlier.add(submit(http, "Early-" + i, "simulated"));
    Await.until(
        DEADLINE, "40 jobs listed", () -> list(http, "?limit=1").get("total").asLong() == 40);

    CompletableFuture<List<String>> arriving =
        CompletableFuture.supplyAsync(
            () -> {
              List<String> later = new ArrayList<>();
              for (int i = 0; i < 40; i++) later.add(submit(http, "Late-" + i, "simulated"));
              return later;
            });
    List<String> seen = new ArrayList<>();
    String cursor = null;
    do {
      JsonNode page = list(http, "?limit=3" + (cursor == null ? "" : "&cursor=" + cursor));
      seen.addAll(ids(page));
      cursor = page.get("next_cursor").isNull() ? null : page.get("next_cursor").asText();
    } while (cursor != null);
    List<String> later = arriving.join();

    assertThat(seen).as("no job twice").doesNotHaveDuplicates();
    assertThat(seen).as("every job that was listed before paging began").containsAll(earlier);
    assertThat(later).allMatch(id -> !earlier.contains(id));
    Await.until(
        DEADLINE, "80 jobs listed", () -> list(http, "?limit=1").get("total").asLong() == 80);
    List<String> whole = allPages(http, "", 7);
    assertThat(whole).hasSize(80).doesNotHaveDuplicates().containsAll(later).containsAll(earlier);
  }

  @ParameterizedTest(name = "on {0}")
  @ValueSource(strings = {"h2", "postgres"})
  @DisplayName("keeps its history across a restart, and goes on from where it was")
  void survivesARestart(String database) throws Exception {
    HttpJson http = start(database);
    List<String> first = new ArrayList<>();
    for (int i = 0; i < 5; i++) first.add(submit(http, "Before-" + i, "simulated"));
    awaitListed(http, 5, "SUCCESS");
    List<String> listed = allPages(http, "", 2);
    node.close();
    node = null;

    HttpJson again = start(database);
    assertThat(allPages(again, "", 2)).as("the same history at once").isEqualTo(listed);
    List<String> after = new ArrayList<>();
    for (int i = 0; i < 3; i++) after.add(submit(again, "After-" + i, "simulated"));
    awaitListed(again, 8, "SUCCESS");
    List<String> now = allPages(again, "", 50);
    assertThat(now).hasSize(8).doesNotHaveDuplicates();
    assertThat(now.subList(0, 3)).containsExactlyInAnyOrderElementsOf(after);
    assertThat(now.subList(3, 8)).containsExactlyElementsOf(listed);
  }

  @ParameterizedTest(name = "on {0}")
  @ValueSource(strings = {"h2"})
  @DisplayName("a FAILURE job retried runs again from its failed step; view and list show two runs")
  void retryAFailedJob(String database) throws Exception {
    HttpJson http = start(database);
    primary.refuse.set(true);
    String id = submit(http, "Retried", "simulated");
    awaitListed(http, 1, "FAILURE");
    HttpJson.Reply refused = http.post("/api/v1/jobs/" + id + "/retry", "", Map.of());
    assertThat(refused.status()).isEqualTo(202);
    primary.refuse.set(false);
    // The first retry ran while the provider still refused: it failed again.
    awaitListed(http, 1, "FAILURE");
    Await.until(
        DEADLINE,
        "the second run recorded",
        () -> list(http, "?state=FAILURE").path("jobs").path(0).path("runs").asInt() == 2);

    HttpJson.Reply retried = http.post("/api/v1/jobs/" + id + "/retry", "", Map.of());
    assertThat(retried.status()).as(retried.body().toString()).isEqualTo(202);
    awaitListed(http, 1, "SUCCESS");
    JsonNode row = list(http, "?state=SUCCESS").get("jobs").get(0);
    assertThat(row.get("runs").asInt()).isEqualTo(3);
    assertThat(row.get("error").isNull()).isTrue();
    JsonNode view = http.get("/api/v1/jobs/" + id).body();
    assertThat(view.get("runs")).hasSize(3);
    assertThat(view.get("runs").get(0).get("state").asText()).isEqualTo("FAILURE");
    assertThat(view.get("runs").get(2).get("state").asText()).isEqualTo("SUCCESS");

    HttpJson.Reply again = http.post("/api/v1/jobs/" + id + "/retry", "", Map.of());
    assertThat(again.status()).isEqualTo(409);
    assertThat(again.text("error")).isEqualTo("not_failed");
    HttpJson.Reply unknown =
        http.post("/api/v1/jobs/" + UUID.randomUUID() + "/retry", "", Map.of());
    assertThat(unknown.status()).isEqualTo(404);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "?state=DONE",
        "?state=SUCCESS,",
        "?limit=0",
        "?limit=201",
        "?limit=ten",
        "?cursor=not-a-cursor",
        "?cursor=ajE6LTE",
        "?since=yesterday",
        "?since=2026-12-02T10:00:00Z&until=2026-12-01T10:00:00Z",
        "?sort=asc",
      })
  @DisplayName("a bad filter is a 400 with a JSON error naming it")
  void badFilters(String query) throws Exception {
    HttpJson http = node == null ? start("h2") : new HttpJson(node.baseUrl());
    HttpJson.Reply r = http.get("/api/v1/jobs" + query);
    assertThat(r.status()).as(r.body().toString()).isEqualTo(400);
    assertThat(r.text("error")).isEqualTo("bad_filter");
    assertThat(r.text("detail")).isNotBlank();
    assertThat(http.get("/api/v1/stats?minutes=0").status()).isEqualTo(400);
  }
}
