package io.reportcluster.node.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.llm.provider.LlmCall;
import io.reportcluster.node.llm.provider.LlmProvider;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * What the REST API specs share: the REST API of a node, as a client sees it, on a real node on a
 * private PostgreSQL schema, over real HTTP on loopback. Every answer is checked for its status,
 * its JSON content type and its body; every error is {@code {"error": code, "detail": ...}}, never
 * a stack trace.
 *
 * <p>The spec's node has one LLM caller, and its provider can hold a chosen step of a chosen
 * startup until the test releases it. That makes "a job is mid-way", "jobs wait for a caller" and
 * "the in-flight answer arrived" exact moments instead of guesses about latency.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class ApiSpec {
  protected static final Duration WAIT = Duration.ofSeconds(20);
  protected static final ObjectMapper JSON = new ObjectMapper();
  protected static final List<String> STEPS =
      List.of("market", "competitors", "team", "risks", "synthesis");
  protected static final int MAX_BODY_BYTES = 64 * 1024;
  protected static final int MAX_STARTUP = 200;
  protected static final Set<String> TERMINAL = Set.of("SUCCESS", "FAILURE", "REVOKED");

  protected TestDatabase db;
  protected ReportNode node;
  protected HttpJson http;
  protected StepGates gates;

  /** The default provider ("simulated"): every call the node made to it, and every answer. */
  protected RecordingProvider simulated;

  /** A second provider ("backup"), picked per job with {@code "provider": "backup"}. */
  protected RecordingProvider backup;

  /** Jobs the current test created: each test leaves them finished, so counters stay exact. */
  private final Set<String> createdJobs = ConcurrentHashMap.newKeySet();

  @BeforeAll
  protected void startNode() {
    db = new TestDatabase();
    Config config =
        db.nodeConfig(
            """
        reports.node-name = "api-spec-node"
        reports.llm.callers = 1
        """);
    gates = new StepGates(simulatedProvider(config, Duration.ofMillis(5)));
    simulated = new RecordingProvider(gates);
    backup =
        new RecordingProvider(new Named("backup", simulatedProvider(config, Duration.ofMillis(5))));
    Map<String, LlmProvider> providers = new LinkedHashMap<>();
    providers.put("simulated", simulated);
    providers.put("backup", backup);
    node = ReportNode.start(config, new ProviderRegistry(providers, "simulated"));
    http = new HttpJson(node.baseUrl());
  }

  @AfterEach
  protected void finishTheJobsOfTheTest() {
    gates.releaseAll();
    for (String id : createdJobs) {
      Await.until(
          WAIT,
          "job " + id + " finished",
          () -> TERMINAL.contains(http.get("/api/v1/jobs/" + id).text("state")));
    }
    createdJobs.clear();
  }

  @AfterAll
  protected void stopNode() {
    if (gates != null) gates.releaseAll();
    if (node != null) node.close();
    if (db != null) db.close();
  }

  // =================================================================== requests

  protected static SimulatedProvider simulatedProvider(Config config, Duration latency) {
    SimulatedProvider.Settings s =
        SimulatedProvider.Settings.fromConfig(config.getConfig("reports.llm.simulated"));
    return new SimulatedProvider(s.withLatency(latency, 0));
  }

  protected HttpJson.Reply submit(String body) {
    return track(http.postJson("/api/v1/jobs", body));
  }

  protected HttpJson.Reply submit(String body, String idempotencyKey) {
    return track(
        http.post(
            "/api/v1/jobs",
            body,
            Map.of("Content-Type", "application/json", "Idempotency-Key", idempotencyKey)));
  }

  /** Any request, over HTTP/1.1 (a body of unknown length is then sent chunked). */
  protected HttpJson.Reply send(
      String method, String path, BodyPublisher body, String contentType) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
            .version(HttpClient.Version.HTTP_1_1)
            .method(method, body);
    if (contentType != null) b.header("Content-Type", contentType);
    return http.send(b);
  }

  /** Remembers a job this test created, so that the test ends only once the job has. */
  protected HttpJson.Reply track(HttpJson.Reply r) {
    if ((r.status() == 202 || r.status() == 200) && r.text("job_id") != null)
      createdJobs.add(r.text("job_id"));
    return r;
  }

  protected static String created(HttpJson.Reply r) {
    assertJson(r, 202);
    assertThat(r.body().path("job_id").asText()).isNotBlank();
    return r.text("job_id");
  }

  protected JsonNode awaitState(String id, String state) {
    JsonNode job =
        Await.value(
            WAIT,
            "job " + id + " finished",
            () -> http.get("/api/v1/jobs/" + id).body(),
            j ->
                TERMINAL.contains(j.path("state").asText())
                    || state.equals(j.path("state").asText()));
    assertThat(job.path("state").asText()).as("state of %s", job).isEqualTo(state);
    return job;
  }

  protected String startupOf(String id) {
    HttpJson.Reply r = http.get("/api/v1/jobs/" + id);
    assertJson(r, 200);
    return r.text("startup");
  }

  protected JsonNode stats() {
    HttpJson.Reply r = http.get("/api/v1/node/stats");
    assertJson(r, 200);
    return r.body();
  }

  /** Jobs the journal holds (each has exactly one Submitted event). */
  protected int jobsInJournal() {
    return db.countEvents("Submitted").size();
  }

  // =================================================================== answers

  protected static void assertJson(HttpJson.Reply r, int status) {
    assertThat(r.status()).as("status, body %s", r.raw().body()).isEqualTo(status);
    assertThat(r.raw().headers().firstValue("Content-Type"))
        .as("content type")
        .hasValue("application/json");
    assertThat(r.body().isObject()).as("a JSON object: %s", r.raw().body()).isTrue();
  }

  /** A JSON error: the status, {"error": code, "detail": ...} and nothing of the node's insides. */
  protected static JsonNode assertError(
      HttpJson.Reply r, int status, String error, String detailContains) {
    assertJson(r, status);
    assertThat(fieldNames(r.body())).containsExactly("error", "detail");
    assertThat(r.body().path("error").asText())
        .as("error code in %s", r.raw().body())
        .isEqualTo(error);
    JsonNode detail = r.body().get("detail");
    assertThat(detail.isTextual() ? detail.asText() : detail.toString())
        .as("detail")
        .contains(detailContains);
    assertThat(r.raw().body())
        .as("no internals leak")
        .doesNotContain("Exception", "\tat ", "pekko.", "jackson");
    return r.body();
  }

  protected static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  protected static List<String> names(JsonNode array) {
    List<String> names = new ArrayList<>();
    array.forEach(n -> names.add(n.asText()));
    return names;
  }

  protected static Instant instant(JsonNode node, String field) {
    assertThat(node.path(field).isTextual()).as("%s in %s", field, node).isTrue();
    return Instant.parse(node.path(field).asText());
  }

  // =================================================================== bodies

  protected static String unique(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  protected static String startup(String name) {
    return json("startup", name);
  }

  protected static String json(Object... keysAndValues) {
    Map<String, Object> map = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2)
      map.put((String) keysAndValues[i], keysAndValues[i + 1]);
    try {
      return JSON.writeValueAsString(map);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  // =================================================================== providers

  /** A provider under another name ("backup"). */
  private record Named(String name, LlmProvider delegate) implements LlmProvider {
    @Override
    public LlmCall start(LlmRequest request) {
      return delegate.start(request);
    }
  }

  /**
   * Passes calls to a real provider, except the chosen step of a chosen startup, which it holds
   * until released: the call is then in flight for as long as the test needs.
   */
  protected static final class StepGates implements LlmProvider {
    private final LlmProvider delegate;
    private final Map<String, CompletableFuture<Void>> gates = new ConcurrentHashMap<>();

    public StepGates(LlmProvider delegate) {
      this.delegate = delegate;
    }

    public void hold(String startup, int step) {
      gates.put(startup + "#" + step, new CompletableFuture<>());
    }

    public void release(String startup, int step) {
      CompletableFuture<Void> gate = gates.remove(startup + "#" + step);
      if (gate != null) gate.complete(null);
    }

    public void releaseAll() {
      gates
          .keySet()
          .forEach(
              key -> {
                CompletableFuture<Void> gate = gates.remove(key);
                if (gate != null) gate.complete(null);
              });
    }

    @Override
    public String name() {
      return delegate.name();
    }

    @Override
    public LlmCall start(LlmRequest request) {
      CompletableFuture<Void> gate = gates.get(request.startup() + "#" + request.step());
      return gate == null
          ? delegate.start(request)
          : Calls.after(gate, () -> delegate.start(request));
    }
  }
}
