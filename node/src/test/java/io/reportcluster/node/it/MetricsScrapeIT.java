package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.llm.provider.LlmCall;
import io.reportcluster.node.llm.provider.LlmCallException;
import io.reportcluster.node.llm.provider.LlmProvider;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.ProviderSettings;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.Calls;
import io.reportcluster.node.testkit.GrafanaDashboard;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.Scrape;
import io.reportcluster.node.testkit.Scrape.Sample;
import io.reportcluster.node.testkit.TestDatabase;
import io.reportcluster.node.testkit.TestRedis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code GET /metrics} as Prometheus reads it, after one node (PostgreSQL journal, Redis) ran a
 * known set of jobs: every series the README and the Grafana dashboard promise is there, with its
 * labels and the values those jobs make. The jobs, all submitted once over {@code POST
 * /api/v1/jobs}:
 *
 * <ul>
 *   <li>{@code done} on {@code simulated}: SUCCESS;
 *   <li>{@code held} on {@code simulated}: its first call is held at the provider, then the job is
 *       cancelled (REVOKED);
 *   <li>{@code limited} and {@code queued} on {@code flaky}, a provider allowed one call at a time:
 *       {@code limited}'s first call is held at the provider while {@code queued}'s waits for the
 *       slot (a budget denial, reason concurrency), then answers 429 (a cooldown, and a retry with
 *       reason rate_limited); both end in SUCCESS;
 *   <li>{@code fallback} on the chain {@code [refusing, simulated]}: {@code refusing} rejects every
 *       call as unauthorized, so each step moves to {@code simulated}; SUCCESS.
 * </ul>
 */
@DisplayName("GET /metrics: a scrape after known jobs")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsScrapeIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String NODE = "metrics-node";
  private static final List<String> STEPS =
      List.of("market", "competitors", "team", "risks", "synthesis");

  /** Every route template this scenario's requests must show up as. */
  private static final Set<String> ROUTES_USED =
      Set.of(
          "/api/v1/jobs",
          "/api/v1/jobs/{id}",
          "/status/{id}",
          "/api/v1/health",
          "/metrics",
          "other");

  private TestDatabase db;
  private TestRedis redis;
  private ReportNode node;
  private HttpJson http;

  /** The first call of each of these startups waits at its provider until the gate opens. */
  private final Map<String, CompletableFuture<Void>> gates = new ConcurrentHashMap<>();

  /** Startups whose held call reached its provider. */
  private final Set<String> atProvider = ConcurrentHashMap.newKeySet();

  private final Map<String, String> jobs = new LinkedHashMap<>();
  private String text;
  private List<Sample> samples;

  @BeforeAll
  void runTheJobsAndScrape() {
    db = new TestDatabase();
    redis = new TestRedis();
    Config config =
        db.nodeConfig(
            redis.nodeConfig()
                + """
                reports.node-name = "%s"
                reports.llm.callers = 2
                # The 429's Retry-After (1 s) is what the retry waits for.
                reports.retry.backoff-base = 100ms
                """
                    .formatted(NODE));
    SimulatedProvider.Settings sim =
        SimulatedProvider.Settings.fromConfig(config.getConfig("reports.llm.simulated"))
            .withLatency(Duration.ofMillis(5), 0);
    Map<String, LlmProvider> providers = new LinkedHashMap<>();
    providers.put(
        "simulated",
        new Scripted("simulated", sim, (r, simulated) -> held(r, () -> simulated.start(r))));
    providers.put(
        "flaky",
        new Scripted(
            "flaky",
            sim,
            (r, simulated) ->
                held(
                    r,
                    () ->
                        failed(
                            new LlmCallException(
                                LlmCallException.Kind.RATE_LIMITED,
                                "429: slow down",
                                Duration.ofSeconds(1))))));
    providers.put(
        "refusing",
        new Scripted(
            "refusing",
            sim,
            (r, simulated) ->
                failed(new LlmCallException(LlmCallException.Kind.UNAUTHORIZED, "401: bad key"))));
    ProviderSettings flaky =
        new ProviderSettings(
            "flaky",
            ProviderSettings.Type.SIMULATED,
            "",
            "",
            "simulated",
            1024,
            Duration.ofSeconds(30),
            1.0,
            2.0,
            new ProviderSettings.Limits(0, 0, 0, 0, 1),
            List.of());
    node =
        ReportNode.start(
            config, new ProviderRegistry(providers, Map.of("flaky", flaky), "simulated"));
    http = new HttpJson(node.baseUrl());
    Await.until(
        WAIT, "node sees Redis", () -> "up".equals(http.get("/api/v1/health").text("redis")));

    String done = submit("done", "{\"startup\": \"%s\", \"provider\": \"simulated\"}");
    awaitState(done, "SUCCESS");
    assertThat(http.get("/status/" + done).status()).isEqualTo(200);
    assertThat(http.get("/no/such/" + done).status()).isEqualTo(404);

    gates.put("held", new CompletableFuture<>());
    String held = submit("held", "{\"startup\": \"%s\", \"provider\": \"simulated\"}");
    Await.until(WAIT, "held's call is at the provider", () -> atProvider.contains("held"));
    assertThat(http.delete("/api/v1/jobs/" + held).status()).isEqualTo(200);
    awaitState(held, "REVOKED");

    gates.put("limited", new CompletableFuture<>());
    String limited = submit("limited", "{\"startup\": \"%s\", \"provider\": \"flaky\"}");
    Await.until(WAIT, "limited's call is at the provider", () -> atProvider.contains("limited"));
    String queued = submit("queued", "{\"startup\": \"%s\", \"provider\": \"flaky\"}");
    Await.until(
        WAIT,
        "queued's call is held back: flaky allows one call at a time",
        () ->
            Scrape.sum(
                    node.baseUrl(),
                    "reports_llm_budget_denied_total",
                    Map.of("provider", "flaky", "reason", "concurrency"))
                > 0);
    gates.get("limited").complete(null);
    awaitState(limited, "SUCCESS");
    awaitState(queued, "SUCCESS");

    String fallback =
        submit("fallback", "{\"startup\": \"%s\", \"providers\": [\"refusing\", \"simulated\"]}");
    awaitState(fallback, "SUCCESS");

    // jvm_gc_pause_seconds appears with the first collection the JVM reports.
    System.gc();
    text =
        Await.value(
            WAIT,
            "every job's end counted, a GC pause seen",
            () -> Scrape.text(node.baseUrl()),
            t ->
                sum(Scrape.samples(t), "reports_jobs_finished_total", Map.of()) == jobs.size()
                    && t.contains("jvm_gc_pause_seconds_count"));
    samples = Scrape.samples(text);
  }

  @AfterAll
  void stop() {
    gates.values().forEach(g -> g.complete(null));
    try {
      if (node != null) node.close();
    } finally {
      if (db != null) db.close();
      if (redis != null) redis.close();
    }
  }

  // =================================================================== jobs

  @Test
  @DisplayName(
      "reports_jobs_submitted_total{node, provider} counts each new job once, by the first provider"
          + " of its chain")
  void jobsSubmitted() {
    assertLabels("reports_jobs_submitted_total", "node", "provider");
    assertThat(byLabel("reports_jobs_submitted_total", "provider"))
        .isEqualTo(Map.of("simulated", 2.0, "flaky", 2.0, "refusing", 1.0));
  }

  @Test
  @DisplayName("reports_jobs_finished_total{node, provider, state} counts each end once")
  void jobsFinished() {
    assertLabels("reports_jobs_finished_total", "node", "provider", "state");
    assertThat(value("reports_jobs_finished_total", "provider", "simulated", "state", "SUCCESS"))
        .isEqualTo(1);
    assertThat(value("reports_jobs_finished_total", "provider", "simulated", "state", "REVOKED"))
        .isEqualTo(1);
    assertThat(value("reports_jobs_finished_total", "provider", "flaky", "state", "SUCCESS"))
        .isEqualTo(2);
    assertThat(value("reports_jobs_finished_total", "provider", "refusing", "state", "SUCCESS"))
        .isEqualTo(1);
    assertThat(byLabel("reports_jobs_finished_total", "state")).doesNotContainKey("FAILURE");
  }

  @Test
  @DisplayName(
      "reports_job_duration_seconds{node, provider, state} is a histogram of submit to end, one"
          + " observation per finished job")
  void jobDuration() {
    assertLabels("reports_job_duration_seconds_bucket", "node", "provider", "state", "le");
    assertLabels("reports_job_duration_seconds_count", "node", "provider", "state");
    assertThat(
            value(
                "reports_job_duration_seconds_count", "provider", "simulated", "state", "SUCCESS"))
        .isEqualTo(1);
    assertThat(value("reports_job_duration_seconds_count", "provider", "flaky", "state", "SUCCESS"))
        .isEqualTo(2);
    assertThat(
            value(
                "reports_job_duration_seconds_bucket",
                "provider",
                "flaky",
                "state",
                "SUCCESS",
                "le",
                "+Inf"))
        .isEqualTo(2);
    List<Double> buckets =
        samples.stream()
            .filter(s -> s.name().equals("reports_job_duration_seconds_bucket"))
            .filter(s -> s.labels().get("provider").equals("flaky"))
            .map(Sample::value)
            .toList();
    assertThat(buckets).as("cumulative buckets").hasSizeGreaterThan(5).isSorted();
  }

  @Test
  @DisplayName(
      "reports_step_duration_seconds{node, provider, step} is a histogram per completed step, by"
          + " the provider that answered it")
  void stepDuration() {
    assertLabels("reports_step_duration_seconds_bucket", "node", "provider", "step", "le");
    assertThat(byLabel("reports_step_duration_seconds_count", "provider"))
        .as("done and fallback's steps answered by simulated, limited and queued's by flaky")
        .isEqualTo(Map.of("simulated", 10.0, "flaky", 10.0));
    assertThat(byLabel("reports_step_duration_seconds_count", "step").keySet())
        .containsExactlyInAnyOrderElementsOf(STEPS);
  }

  @Test
  @DisplayName("reports_job_retries_total{node, reason} counts attempts that will be retried")
  void retries() {
    assertLabels("reports_job_retries_total", "node", "reason");
    assertThat(byLabel("reports_job_retries_total", "reason"))
        .isEqualTo(Map.of("rate_limited", 1.0));
  }

  // =================================================================== LLM calls and budgets

  @Test
  @DisplayName(
      "tokens and cost by provider and model; budget waits, denials, cooldowns and fallbacks by"
          + " provider; the pool's gauges")
  void callsAndBudgets() {
    assertLabels("reports_llm_tokens_total", "node", "provider", "model", "kind");
    assertThat(value("reports_llm_tokens_total", "provider", "simulated", "kind", "input"))
        .isPositive();
    assertThat(value("reports_llm_tokens_total", "provider", "flaky", "kind", "output"))
        .isPositive();
    assertLabels("reports_llm_cost_usd_total", "node", "provider", "model");
    assertThat(value("reports_llm_cost_usd_total", "provider", "flaky", "model", "simulated"))
        .as("flaky has prices")
        .isPositive();

    assertLabels("reports_llm_budget_wait_seconds_bucket", "node", "provider", "le");
    assertThat(
            value("reports_llm_budget_denied_total", "provider", "flaky", "reason", "concurrency"))
        .isPositive();
    assertThat(value("reports_llm_cooldowns_total", "provider", "flaky")).isEqualTo(1);
    assertThat(value("reports_llm_budget_limit", "provider", "flaky", "kind", "concurrent"))
        .isEqualTo(1);

    JsonNode fallbackJob = http.get("/api/v1/jobs/" + jobs.get("fallback")).body();
    long moved = 0;
    for (JsonNode step : fallbackJob.path("steps"))
      if (step.path("providers_tried").size() == 2) moved++;
    assertThat(moved).isPositive();
    assertThat(
            value(
                "reports_llm_fallbacks_total",
                "from",
                "refusing",
                "to",
                "simulated",
                "reason",
                "unauthorized"))
        .isEqualTo(moved);

    assertThat(value("reports_llm_callers")).isEqualTo(2);
    assertThat(value("reports_llm_in_flight")).isZero();
    assertThat(value("reports_llm_queue_depth")).isZero();
    assertThat(value("reports_mirror_lag_seconds_count")).isPositive();
  }

  // =================================================================== HTTP

  @Test
  @DisplayName(
      "http_server_requests_seconds{node, method, route, status}: routes are templates, never a raw"
          + " path with a job id")
  void httpRequests() {
    assertLabels("http_server_requests_seconds_bucket", "node", "method", "route", "status", "le");
    assertLabels("http_server_requests_seconds_count", "node", "method", "route", "status");
    String series = "http_server_requests_seconds_count";
    assertThat(value(series, "method", "POST", "route", "/api/v1/jobs", "status", "202"))
        .isEqualTo(jobs.size());
    assertThat(value(series, "method", "GET", "route", "/api/v1/jobs/{id}", "status", "200"))
        .isPositive();
    assertThat(value(series, "method", "DELETE", "route", "/api/v1/jobs/{id}", "status", "200"))
        .isEqualTo(1);
    assertThat(value(series, "method", "GET", "route", "/status/{id}", "status", "200"))
        .isEqualTo(1);
    assertThat(value(series, "method", "GET", "route", "other", "status", "404")).isEqualTo(1);
    assertThat(byLabel(series, "route").keySet()).containsExactlyInAnyOrderElementsOf(ROUTES_USED);

    List<String> leaks = new ArrayList<>();
    for (Sample s : samples)
      for (String v : s.labels().values())
        for (String id : jobs.values()) if (v.contains(id)) leaks.add(s.name() + s.labels());
    assertThat(leaks).as("series with a job id in a label").isEmpty();
  }

  // =================================================================== JVM

  @Test
  @DisplayName("the JVM's memory, GC, threads, classes, CPU, uptime and file descriptors")
  void jvm() {
    assertLabels("jvm_memory_used_bytes", "node", "area", "id");
    assertThat(value("jvm_memory_used_bytes", "area", "heap")).isPositive();
    assertThat(names())
        .contains(
            "jvm_gc_pause_seconds_count",
            "jvm_threads_live_threads",
            "jvm_classes_loaded_classes",
            "system_cpu_count",
            "process_uptime_seconds",
            "process_files_open_files");
  }

  // =================================================================== the dashboard

  @Test
  @DisplayName("every metric ops/grafana/reportcluster.json names is in the scrape")
  void dashboardNamesOnlyServedMetrics() {
    Set<String> named = GrafanaDashboard.read().metricNames();
    assertThat(named).contains("reports_read_side_lag_seconds_bucket").hasSizeGreaterThan(15);
    Set<String> missing = new TreeSet<>(named);
    missing.removeAll(names());
    assertThat(missing).as("metrics the dashboard names that the node does not serve").isEmpty();
  }

  // =================================================================== scenario

  /** Submits a job whose startup is {@code name} plus a unique tail; returns its id. */
  private String submit(String name, String bodyFormat) {
    String startup = name + "-" + UUID.randomUUID().toString().substring(0, 8);
    HttpJson.Reply r = http.postJson("/api/v1/jobs", bodyFormat.formatted(startup));
    assertThat(r.status()).as("submit of %s: %s", name, r.raw().body()).isEqualTo(202);
    jobs.put(name, r.text("job_id"));
    return r.text("job_id");
  }

  private void awaitState(String id, String state) {
    Await.until(
        WAIT,
        "job " + id + " is " + state,
        () -> state.equals(http.get("/api/v1/jobs/" + id).text("state")));
  }

  /**
   * The first call of a gated startup waits at the provider for its gate, then goes on as {@code
   * then}; null (the provider answers as usual) for any other call.
   */
  private LlmCall held(LlmRequest r, Supplier<LlmCall> then) {
    String name = r.startup().substring(0, r.startup().indexOf('-'));
    CompletableFuture<Void> gate = gates.get(name);
    if (gate == null || r.step() != 0 || r.attempt() != 1) return null;
    atProvider.add(name);
    return Calls.after(gate, then);
  }

  private static LlmCall failed(LlmCallException why) {
    return LlmCall.of(CompletableFuture.failedFuture(why), () -> {});
  }

  /** A simulated provider under a name, whose script may answer a call in its stead. */
  private static final class Scripted implements LlmProvider {
    private final String name;
    private final LlmProvider simulated;
    private final BiFunction<LlmRequest, LlmProvider, LlmCall> script;

    Scripted(
        String name,
        SimulatedProvider.Settings settings,
        BiFunction<LlmRequest, LlmProvider, LlmCall> s) {
      this.name = name;
      this.simulated = new SimulatedProvider(name, settings);
      this.script = s;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public LlmCall start(LlmRequest request) {
      LlmCall scripted = script.apply(request, simulated);
      return scripted != null ? scripted : simulated.start(request);
    }
  }

  // =================================================================== reading the scrape

  private Set<String> names() {
    return samples.stream().map(Sample::name).collect(Collectors.toSet());
  }

  /** The series exists, and each of its samples has exactly these labels. */
  private void assertLabels(String name, String... labels) {
    List<Set<String>> sets =
        samples.stream().filter(s -> s.name().equals(name)).map(s -> s.labels().keySet()).toList();
    assertThat(sets).as("samples of %s", name).isNotEmpty();
    assertThat(new HashSet<>(sets)).as("label sets of %s", name).containsExactly(Set.of(labels));
    assertThat(samples)
        .filteredOn(s -> s.name().equals(name))
        .allSatisfy(s -> assertThat(s.labels()).containsEntry("node", NODE));
  }

  /** The sum of the samples of {@code name} whose labels include these pairs. */
  private double value(String name, String... labelPairs) {
    Map<String, String> want = new LinkedHashMap<>();
    for (int i = 0; i < labelPairs.length; i += 2) want.put(labelPairs[i], labelPairs[i + 1]);
    return sum(samples, name, want);
  }

  private static double sum(List<Sample> samples, String name, Map<String, String> want) {
    return samples.stream()
        .filter(s -> s.name().equals(name))
        .filter(s -> s.labels().entrySet().containsAll(want.entrySet()))
        .mapToDouble(Sample::value)
        .sum();
  }

  /** The samples of {@code name} summed by the value of one label. */
  private Map<String, Double> byLabel(String name, String label) {
    return samples.stream()
        .filter(s -> s.name().equals(name) && s.labels().containsKey(label))
        .collect(
            Collectors.groupingBy(
                s -> s.labels().get(label), Collectors.summingDouble(Sample::value)));
  }
}
