package io.reportcluster.node.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.llm.provider.LlmCall;
import io.reportcluster.node.llm.provider.LlmProvider;
import io.reportcluster.node.testkit.Calls;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.RecordingProvider;
import io.reportcluster.node.testkit.TestDatabase;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The REST API of a node, as a client sees it: real nodes on a private PostgreSQL schema, real
 * HTTP over loopback. Every answer is checked for its status, its JSON content type and its
 * body; every error is {@code {"error": code, "detail": ...}}, never a stack trace.
 *
 * <p>The shared node has one LLM caller, and its provider can hold a chosen step of a chosen
 * startup until the test releases it. That makes "a job is mid-way", "jobs wait for a caller"
 * and "the in-flight answer arrived" exact moments instead of guesses about latency.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@DisplayName("REST API")
class JobRoutesTest {
  private static final Duration WAIT = Duration.ofSeconds(20);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final List<String> STEPS = List.of("market", "competitors", "team", "risks", "synthesis");
  private static final int MAX_BODY_BYTES = 64 * 1024;
  private static final int MAX_STARTUP = 200;
  private static final Set<String> TERMINAL = Set.of("SUCCESS", "FAILURE", "REVOKED");

  private TestDatabase db;
  private ReportNode node;
  private HttpJson http;
  private GatedProvider gates;
  /** The default provider ("simulated"): every call the node made to it, and every answer. */
  private RecordingProvider simulated;
  /** A second provider ("backup"), picked per job with {@code "provider": "backup"}. */
  private RecordingProvider backup;
  /** Jobs the current test created: each test leaves them finished, so counters stay exact. */
  private final Set<String> createdJobs = ConcurrentHashMap.newKeySet();

  @BeforeAll
  void startNode() {
    db = new TestDatabase();
    Config config = db.nodeConfig("""
        reports.node-name = "api-spec-node"
        reports.llm.callers = 1
        """);
    gates = new GatedProvider(simulatedProvider(config, Duration.ofMillis(5)));
    simulated = new RecordingProvider(gates);
    backup = new RecordingProvider(new Named("backup", simulatedProvider(config, Duration.ofMillis(5))));
    Map<String, LlmProvider> providers = new LinkedHashMap<>();
    providers.put("simulated", simulated);
    providers.put("backup", backup);
    node = ReportNode.start(config, new ProviderRegistry(providers, "simulated"));
    http = new HttpJson(node.baseUrl());
  }

  @AfterEach
  void finishTheJobsOfTheTest() {
    gates.releaseAll();
    for (String id : createdJobs) {
      Await.until(WAIT, "job " + id + " finished", () -> TERMINAL.contains(http.get("/api/v1/jobs/" + id).text("state")));
    }
    createdJobs.clear();
  }

  @AfterAll
  void stopNode() {
    if (gates != null) gates.releaseAll();
    if (node != null) node.close();
    if (db != null) db.close();
  }

  // =================================================================== seed-compatible API

  @Nested
  @DisplayName("POST /generate and GET /status/{id}: the seed-compatible API")
  class SeedApi {

    @Test
    @DisplayName("POST /generate answers 202 {job_id, status: queued}; /status follows the job to SUCCESS with its report")
    void generateThenPollStatusUntilSuccess() {
      String name = unique("TeslaAI");
      HttpJson.Reply accepted = track(http.postJson("/generate", startup(name)));

      assertJson(accepted, 202);
      assertThat(fieldNames(accepted.body())).containsExactly("job_id", "status");
      assertThat(accepted.text("status")).isEqualTo("queued");
      String id = accepted.text("job_id");
      assertThat(UUID.fromString(id)).as("job ids are UUIDs").isNotNull();

      HttpJson.Reply status = http.get("/status/" + id);
      assertJson(status, 200);
      assertThat(fieldNames(status.body())).containsExactly("job_id", "state", "result");
      assertThat(status.text("job_id")).isEqualTo(id);
      assertThat(status.text("state")).isIn("PENDING", "STARTED", "SUCCESS");
      if (!"SUCCESS".equals(status.text("state"))) assertThat(status.body().get("result").isNull()).isTrue();

      JsonNode done = Await.value(WAIT, "/status of " + id + " says SUCCESS", () -> http.get("/status/" + id).body(),
          b -> "SUCCESS".equals(b.path("state").asText()));
      assertThat(done.path("job_id").asText()).isEqualTo(id);
      assertThat(done.path("result").asText()).startsWith("Summary: " + name + " ");
    }

    @Test
    @DisplayName("GET /status/{id} of an unknown job is 404 unknown_job")
    void statusOfUnknownJob() {
      String id = UUID.randomUUID().toString();
      assertError(http.get("/status/" + id), 404, "unknown_job", "no job with id '" + id + "'");
    }
  }

  // =================================================================== submit

  @Nested
  @DisplayName("POST /api/v1/jobs: submit")
  class Submit {

    @Test
    @DisplayName("answers 202 {job_id, status: queued, state: PENDING, created: true}, and the job can be read at once")
    void submitAnswers202() {
      String name = unique("Acme");
      HttpJson.Reply r = submit(startup(name));

      assertJson(r, 202);
      assertThat(fieldNames(r.body())).containsExactly("job_id", "status", "state", "created");
      assertThat(r.text("status")).isEqualTo("queued");
      assertThat(r.text("state")).isEqualTo("PENDING");
      assertThat(r.body().path("created").asBoolean()).isTrue();

      HttpJson.Reply read = http.get("/api/v1/jobs/" + r.text("job_id"));
      assertJson(read, 200);
      assertThat(read.text("startup")).isEqualTo(name);
    }

    @Test
    @DisplayName("without an Idempotency-Key, two equal submits are two jobs")
    void equalSubmitsWithoutKeyAreDistinctJobs() {
      String body = startup(unique("Twice"));
      HttpJson.Reply first = submit(body);
      HttpJson.Reply second = submit(body);
      assertJson(first, 202);
      assertJson(second, 202);
      assertThat(second.body().path("created").asBoolean()).isTrue();
      assertThat(second.text("job_id")).isNotEqualTo(first.text("job_id"));
    }

    @Test
    @DisplayName("\"provider\" picks the LLM provider of the job; null or absent means the default")
    void providerPicksTheProvider() {
      String viaDefault = created(submit(json("startup", unique("Default"), "provider", null)));
      String viaSimulated = created(submit(json("startup", unique("Sim"), "provider", "simulated")));
      String viaBackup = created(submit(json("startup", unique("Backup"), "provider", "backup")));

      assertThat(awaitState(viaDefault, "SUCCESS").path("provider").asText()).isEqualTo("simulated");
      assertThat(awaitState(viaSimulated, "SUCCESS").path("provider").asText()).isEqualTo("simulated");
      assertThat(awaitState(viaBackup, "SUCCESS").path("provider").asText()).isEqualTo("backup");
      assertThat(backup.calls()).filteredOn(c -> c.jobId().equals(viaBackup)).hasSize(STEPS.size());
      assertThat(simulated.calls()).noneMatch(c -> c.jobId().equals(viaBackup));
    }

    @ParameterizedTest(name = "provider \"{0}\"")
    @ValueSource(strings = {"gpt-17", "", "Simulated"})
    @DisplayName("an unknown provider is 400 invalid_provider, listing the known ones; no job is created")
    void unknownProvider(String provider) {
      int jobsBefore = jobsInJournal();
      JsonNode body = assertError(submit(json("startup", "Acme", "provider", provider)), 400, "invalid_provider",
          "unknown provider '" + provider + "'");
      assertThat(body.at("/detail/message").asText()).isEqualTo("unknown provider '" + provider + "'");
      assertThat(names(body.at("/detail/known"))).containsExactly("simulated", "backup");
      assertThat(jobsInJournal()).isEqualTo(jobsBefore);
    }

    @ParameterizedTest(name = "provider {0}")
    @ValueSource(strings = {"42", "true", "{\"name\": \"simulated\"}", "[\"simulated\"]"})
    @DisplayName("a provider that is not a string is 400 invalid_provider")
    void nonStringProvider(String providerJson) {
      int jobsBefore = jobsInJournal();
      assertError(submit("{\"startup\": \"Acme\", \"provider\": " + providerJson + "}"), 400, "invalid_provider",
          "provider must be a string");
      assertThat(jobsInJournal()).isEqualTo(jobsBefore);
    }
  }

  // =================================================================== idempotency

  @Nested
  @DisplayName("Idempotency-Key")
  class Idempotency {

    @Test
    @DisplayName("the same key and body return the same job (200, created: false), never a second job")
    void sameKeySameBodySameJob() {
      String key = "order-" + UUID.randomUUID();
      String name = unique("Idem");
      int jobsBefore = jobsInJournal();

      HttpJson.Reply first = submit(startup(name), key);
      assertJson(first, 202);
      assertThat(first.body().path("created").asBoolean()).isTrue();
      String id = first.text("job_id");

      HttpJson.Reply repeat = submit(startup(name), key);
      assertJson(repeat, 200);
      assertThat(repeat.text("job_id")).isEqualTo(id);
      assertThat(repeat.text("status")).isEqualTo("existing");
      assertThat(repeat.body().path("created").asBoolean()).isFalse();
      assertThat(jobsInJournal()).isEqualTo(jobsBefore + 1);

      awaitState(id, "SUCCESS");
      HttpJson.Reply afterDone = submit(startup(name), key);
      assertJson(afterDone, 200);
      assertThat(afterDone.text("job_id")).isEqualTo(id);
      assertThat(afterDone.text("state")).isEqualTo("SUCCESS");
      assertThat(afterDone.body().path("created").asBoolean()).isFalse();

      // One job ran, once: one call per step, all for that job id.
      assertThat(simulated.calls()).filteredOn(c -> c.startup().equals(name))
          .extracting(LlmRequest::jobId).hasSize(STEPS.size()).containsOnly(id);
      assertThat(db.countEvents("Submitted")).containsEntry("ReportJob|" + id, 1);
      assertThat(jobsInJournal()).isEqualTo(jobsBefore + 1);
    }

    @Test
    @DisplayName("the same key with another startup or provider is 409 idempotency_conflict; the job is unchanged")
    void sameKeyOtherRequestConflicts() {
      String key = "order-" + UUID.randomUUID();
      String name = unique("Original");
      String id = created(submit(startup(name), key));
      int jobsBefore = jobsInJournal();

      assertError(submit(startup(unique("Other")), key), 409, "idempotency_conflict",
          "already names job " + id);
      assertError(submit(json("startup", name, "provider", "backup"), key), 409, "idempotency_conflict",
          "already names job " + id);

      assertThat(jobsInJournal()).isEqualTo(jobsBefore);
      JsonNode job = awaitState(id, "SUCCESS");
      assertThat(job.path("startup").asText()).isEqualTo(name);
      assertThat(job.path("provider").asText()).isEqualTo("simulated");
    }

    @Test
    @DisplayName("a key of 255 characters is accepted; 256 characters or an empty key is 400 invalid_idempotency_key")
    void keyLength() {
      int jobsBefore = jobsInJournal();
      assertError(submit(startup("Acme"), "k".repeat(256)), 400, "invalid_idempotency_key", "1 to 255 characters");
      assertError(submit(startup("Acme"), ""), 400, "invalid_idempotency_key", "1 to 255 characters");
      assertThat(jobsInJournal()).isEqualTo(jobsBefore);

      HttpJson.Reply longest = submit(startup(unique("Acme")), UUID.randomUUID() + "k".repeat(255 - 36));
      assertJson(longest, 202);
      assertThat(longest.body().path("created").asBoolean()).isTrue();
    }
  }

  // =================================================================== read one job

  @Nested
  @DisplayName("GET /api/v1/jobs/{id}")
  class GetJob {

    @Test
    @DisplayName("a finished job shows state, attempts, every step with its timings, result, node and times")
    void finishedJob() {
      String name = unique("Finished");
      String id = created(submit(startup(name)));
      awaitState(id, "SUCCESS");

      HttpJson.Reply r = http.get("/api/v1/jobs/" + id);
      assertJson(r, 200);
      JsonNode job = r.body();
      assertThat(fieldNames(job)).containsExactly("job_id", "startup", "provider", "state", "attempts", "current_step",
          "steps", "result", "error", "node", "submitted_at", "updated_at", "finished_at", "next_retry_at");
      assertThat(job.path("job_id").asText()).isEqualTo(id);
      assertThat(job.path("startup").asText()).isEqualTo(name);
      assertThat(job.path("provider").asText()).isEqualTo("simulated");
      assertThat(job.path("state").asText()).isEqualTo("SUCCESS");
      assertThat(job.path("attempts").asInt()).isEqualTo(STEPS.size());
      assertThat(job.get("current_step").isNull()).isTrue();
      assertThat(job.path("result").asText()).startsWith("Summary: " + name + " ");
      assertThat(job.get("error").isNull()).isTrue();
      assertThat(job.path("node").asText()).isEqualTo("api-spec-node");
      assertThat(job.get("next_retry_at").isNull()).isTrue();
      Instant submitted = instant(job, "submitted_at");
      Instant finished = instant(job, "finished_at");
      assertThat(finished).isAfterOrEqualTo(submitted);
      assertThat(instant(job, "updated_at")).isEqualTo(finished);

      JsonNode steps = job.get("steps");
      assertThat(steps.size()).isEqualTo(STEPS.size());
      Instant previousEnd = submitted;
      for (int i = 0; i < STEPS.size(); i++) {
        JsonNode step = steps.get(i);
        assertThat(fieldNames(step)).containsExactly("name", "state", "attempts", "started_at", "finished_at",
            "duration_ms", "last_error");
        assertThat(step.path("name").asText()).isEqualTo(STEPS.get(i));
        assertThat(step.path("state").asText()).isEqualTo("SUCCESS");
        assertThat(step.path("attempts").asInt()).isEqualTo(1);
        Instant started = instant(step, "started_at");
        Instant ended = instant(step, "finished_at");
        assertThat(started).as("step %d starts after the one before ends", i).isAfterOrEqualTo(previousEnd);
        assertThat(ended).isAfterOrEqualTo(started);
        assertThat(step.path("duration_ms").asLong()).isEqualTo(Duration.between(started, ended).toMillis());
        assertThat(step.get("last_error").isNull()).isTrue();
        previousEnd = ended;
      }
      assertThat(previousEnd).isEqualTo(finished);
    }

    @Test
    @DisplayName("a running job shows its current step as STARTED, the steps done with timings, the rest PENDING")
    void runningJob() {
      String name = unique("Running");
      gates.hold(name, 2);
      String id = created(submit(startup(name)));

      JsonNode job = Await.value(WAIT, "job " + id + " running its third step", () -> http.get("/api/v1/jobs/" + id).body(),
          j -> "STARTED".equals(j.at("/steps/2/state").asText()));
      assertThat(job.path("state").asText()).isEqualTo("STARTED");
      assertThat(job.path("current_step").asText()).isEqualTo("team");
      assertThat(job.path("attempts").asInt()).isEqualTo(3);
      assertThat(job.get("result").isNull()).isTrue();
      assertThat(job.get("finished_at").isNull()).isTrue();
      for (int i = 0; i < 2; i++) {
        assertThat(job.at("/steps/" + i + "/state").asText()).isEqualTo("SUCCESS");
        assertThat(job.at("/steps/" + i + "/duration_ms").isNumber()).isTrue();
      }
      JsonNode current = job.at("/steps/2");
      assertThat(current.path("attempts").asInt()).isEqualTo(1);
      assertThat(instant(current, "started_at")).isAfterOrEqualTo(instant(job.at("/steps/1"), "finished_at"));
      assertThat(current.get("finished_at").isNull()).isTrue();
      assertThat(current.get("duration_ms").isNull()).isTrue();
      for (int i = 3; i < STEPS.size(); i++) {
        JsonNode later = job.at("/steps/" + i);
        assertThat(later.path("state").asText()).isEqualTo("PENDING");
        assertThat(later.path("attempts").asInt()).isZero();
        assertThat(later.get("started_at").isNull()).isTrue();
      }

      gates.release(name, 2);
      assertThat(awaitState(id, "SUCCESS").path("attempts").asInt()).isEqualTo(STEPS.size());
    }
  }

  // =================================================================== unknown and odd ids

  static Stream<Arguments> unknownIds() {
    List<String[]> ids = List.of(
        new String[] {UUID.randomUUID().toString(), null},
        new String[] {"0".repeat(64), null},
        new String[] {"null", null},
        new String[] {"a%20b", "a b"},
        new String[] {"x".repeat(200), null},
        new String[] {"x".repeat(2000), null},
        new String[] {"job_1", null},
        new String[] {"%E2%82%AC", "€"},
        new String[] {"..%2F..%2Fetc%2Fpasswd", "../../etc/passwd"},
        new String[] {"%00", "\u0000"},
        new String[] {"%27%3B%20DROP%20TABLE%20event_journal%3B--", "'; DROP TABLE event_journal;--"});
    List<String[]> routes = List.of(
        new String[] {"GET", "/api/v1/jobs/"}, new String[] {"DELETE", "/api/v1/jobs/"}, new String[] {"GET", "/status/"});
    return routes.stream().flatMap(route -> ids.stream().map(id -> arguments(route[0], route[1], id[0],
        id[1] == null ? id[0] : id[1])));
  }

  @ParameterizedTest(name = "{0} {1}{2}")
  @MethodSource("unknownIds")
  @DisplayName("an unknown or malformed job id is 404 unknown_job, whatever its characters or length")
  void unknownJob(String method, String prefix, String encodedId, String decodedId) {
    String label = decodedId.length() > 40 ? decodedId.substring(0, 40) : decodedId;
    JsonNode body = assertError(send(method, prefix + encodedId, BodyPublishers.noBody(), null), 404, "unknown_job",
        "no job with id '" + label);
    assertThat(body.path("detail").asText()).isEqualTo("no job with id '" + decodedId + "'");
  }

  // =================================================================== cancel

  @Nested
  @DisplayName("DELETE /api/v1/jobs/{id}: cancel")
  class Cancel {

    @Test
    @DisplayName("a running job becomes REVOKED and stays so: its call in flight is cancelled at the provider")
    void cancelRunningJob() {
      String name = unique("Cancelled");
      gates.hold(name, 2);
      String id = created(submit(startup(name)));
      Await.until(WAIT, "job " + id + " mid-way, its third call in flight",
          () -> "STARTED".equals(http.get("/api/v1/jobs/" + id).body().at("/steps/2/state").asText()));

      HttpJson.Reply cancel = http.delete("/api/v1/jobs/" + id);
      assertJson(cancel, 200);
      JsonNode revoked = cancel.body();
      assertThat(revoked.path("job_id").asText()).isEqualTo(id);
      assertThat(revoked.path("state").asText()).isEqualTo("REVOKED");
      assertThat(revoked.get("result").isNull()).isTrue();
      assertThat(revoked.path("error").asText()).isEqualTo("cancelled by a client");
      Instant cancelledAt = instant(revoked, "finished_at");
      assertThat(revoked.at("/steps/0/state").asText()).isEqualTo("SUCCESS");
      assertThat(revoked.at("/steps/1/state").asText()).isEqualTo("SUCCESS");
      assertThat(revoked.at("/steps/2/state").asText()).isEqualTo("REVOKED");
      assertThat(revoked.at("/steps/3/state").asText()).isEqualTo("PENDING");

      // The running call is stopped at the provider (no paying for an answer nobody wants), and
      // the only caller is free again without the held call ever being released.
      Await.until(WAIT, "the provider saw the cancelled job's call cancelled",
          () -> simulated.cancelled().stream().anyMatch(c -> c.jobId().equals(id) && c.step() == 2));
      String next = created(submit(startup(unique("AfterCancel"))));
      Await.until(WAIT, "the caller took the next job",
          () -> simulated.calls().stream().anyMatch(c -> c.jobId().equals(next)));
      assertThat(simulated.answered()).noneMatch(c -> c.jobId().equals(id) && c.step() == 2);

      HttpJson.Reply after = http.get("/api/v1/jobs/" + id);
      assertJson(after, 200);
      assertThat(after.text("state")).isEqualTo("REVOKED");
      assertThat(after.body().get("result").isNull()).isTrue();
      assertThat(after.body().at("/steps/2/state").asText()).isEqualTo("REVOKED");
      assertThat(after.body().at("/steps/2/finished_at").isNull()).isTrue();
      assertThat(instant(after.body(), "finished_at")).isEqualTo(cancelledAt);
      HttpJson.Reply seed = http.get("/status/" + id);
      assertJson(seed, 200);
      assertThat(seed.text("state")).isEqualTo("REVOKED");
      assertThat(seed.body().get("result").isNull()).isTrue();

      HttpJson.Reply again = http.delete("/api/v1/jobs/" + id);
      assertJson(again, 200);
      assertThat(again.text("state")).isEqualTo("REVOKED");
      assertThat(instant(again.body(), "finished_at")).isEqualTo(cancelledAt);

      awaitState(next, "SUCCESS");
      assertThat(simulated.calls()).filteredOn(c -> c.jobId().equals(id))
          .as("no step of the cancelled job ran after the cancel").extracting(LlmRequest::step).containsExactly(0, 1, 2);
    }

    @Test
    @DisplayName("a job still waiting for a caller is REVOKED and its call leaves the queue unmade")
    void cancelQueuedJob() {
      String holder = unique("Holder");
      gates.hold(holder, 0);
      String holderId = created(submit(startup(holder)));
      Await.until(WAIT, "the only caller busy", () -> simulated.calls().stream().anyMatch(c -> c.jobId().equals(holderId)));
      String queued = created(submit(startup(unique("Queued"))));
      Await.until(WAIT, "one call queued", () -> stats().path("queue_depth").asInt() == 1);
      assertThat(http.get("/api/v1/jobs/" + queued).text("state")).isEqualTo("PENDING");

      HttpJson.Reply cancel = http.delete("/api/v1/jobs/" + queued);
      assertJson(cancel, 200);
      assertThat(cancel.text("state")).isEqualTo("REVOKED");
      assertThat(cancel.body().path("attempts").asInt()).isZero();
      Await.until(WAIT, "the queue is empty again", () -> stats().path("queue_depth").asInt() == 0);

      gates.release(holder, 0);
      awaitState(holderId, "SUCCESS");
      assertThat(simulated.calls()).noneMatch(c -> c.jobId().equals(queued));
      assertThat(http.get("/api/v1/jobs/" + queued).text("state")).isEqualTo("REVOKED");
    }

    @Test
    @DisplayName("a job that finished with SUCCESS is 409 job_finished and keeps its result")
    void cancelFinishedJob() {
      String id = created(submit(startup(unique("Done"))));
      awaitState(id, "SUCCESS");

      assertError(http.delete("/api/v1/jobs/" + id), 409, "job_finished", "already finished with SUCCESS");

      JsonNode job = awaitState(id, "SUCCESS");
      assertThat(job.path("result").asText()).startsWith("Summary: ");
    }
  }

  // =================================================================== node stats

  @Nested
  @DisplayName("GET /api/v1/node/stats")
  class NodeStats {

    @Test
    @DisplayName("shows callers, calls in flight, the queue of calls waiting for a caller, its limit and call counters")
    void stats() {
      JsonNode before = Await.value(WAIT, "an idle node", JobRoutesTest.this::stats,
          s -> s.path("in_flight").asInt() == 0 && s.path("queue_depth").asInt() == 0);
      assertThat(fieldNames(before)).containsExactly("node", "callers", "in_flight", "queue_depth", "queue_limit",
          "calls_started", "calls_succeeded", "calls_failed");
      assertThat(before.path("node").asText()).isEqualTo("api-spec-node");
      assertThat(before.path("callers").asInt()).isEqualTo(1);
      assertThat(before.path("queue_limit").asInt()).isEqualTo(10000);
      long started = before.path("calls_started").asLong();
      long succeeded = before.path("calls_succeeded").asLong();
      long failed = before.path("calls_failed").asLong();
      assertThat(started).isEqualTo(succeeded + failed);

      // Three jobs, one caller: one call in flight (held), two jobs waiting.
      String a = unique("StatsA");
      gates.hold(a, 0);
      List<String> ids = new ArrayList<>(List.of(created(submit(startup(a)))));
      ids.add(created(submit(startup(unique("StatsB")))));
      ids.add(created(submit(startup(unique("StatsC")))));
      JsonNode busy = Await.value(WAIT, "two calls waiting for the caller", JobRoutesTest.this::stats,
          s -> s.path("queue_depth").asInt() == 2);
      assertThat(busy.path("in_flight").asInt()).isEqualTo(1);
      assertThat(busy.path("calls_started").asLong()).isEqualTo(started + 1);
      assertThat(http.get("/api/v1/jobs/" + ids.get(2)).text("state")).isEqualTo("PENDING");

      gates.release(a, 0);
      ids.forEach(id -> awaitState(id, "SUCCESS"));
      JsonNode after = Await.value(WAIT, "every call counted", JobRoutesTest.this::stats,
          s -> s.path("calls_succeeded").asLong() == succeeded + 3L * STEPS.size());
      assertThat(after.path("in_flight").asInt()).isZero();
      assertThat(after.path("queue_depth").asInt()).isZero();
      assertThat(after.path("calls_started").asLong()).isEqualTo(started + 3L * STEPS.size());
      assertThat(after.path("calls_failed").asLong()).isEqualTo(failed);
    }
  }

  // =================================================================== bad input

  static Stream<Arguments> invalidBodies() {
    List<Arguments> cases = List.of(
        arguments("missing startup", "{}", "invalid_startup", "startup is required"),
        arguments("only other fields", "{\"name\": \"TeslaAI\"}", "invalid_startup", "startup is required"),
        arguments("null startup", "{\"startup\": null}", "invalid_startup", "startup is required"),
        arguments("empty startup", "{\"startup\": \"\"}", "invalid_startup", "startup must not be empty"),
        arguments("whitespace-only startup", "{\"startup\": \" \\t\\n\\u3000 \"}", "invalid_startup",
            "startup must not be empty"),
        arguments("number startup", "{\"startup\": 42}", "invalid_startup", "startup must be a string"),
        arguments("boolean startup", "{\"startup\": true}", "invalid_startup", "startup must be a string"),
        arguments("object startup", "{\"startup\": {\"name\": \"TeslaAI\"}}", "invalid_startup",
            "startup must be a string"),
        arguments("array startup", "{\"startup\": [\"TeslaAI\"]}", "invalid_startup", "startup must be a string"),
        arguments("startup of 201 characters", startup("S".repeat(MAX_STARTUP + 1)), "invalid_startup",
            "startup is longer than 200 characters"),
        arguments("startup of 201 emoji", startup("🚀".repeat(MAX_STARTUP + 1)), "invalid_startup",
            "startup is longer than 200 characters"),
        arguments("truncated JSON", "{\"startup\": ", "malformed_json", "at line 1"),
        arguments("unquoted JSON", "{startup: TeslaAI}", "malformed_json", "at line 1, column 2"),
        arguments("single quotes", "{'startup': 'TeslaAI'}", "malformed_json", "at line 1"),
        arguments("trailing garbage", "{\"startup\": \"TeslaAI\"} garbage", "malformed_json", "'garbage'"),
        arguments("two objects", "{\"startup\": \"A\"}{\"startup\": \"B\"}", "malformed_json", "at line 1, column 17"),
        arguments("array body", "[{\"startup\": \"TeslaAI\"}]", "invalid_body", "the body must be a JSON object"),
        arguments("string body", "\"TeslaAI\"", "invalid_body", "the body must be a JSON object"),
        arguments("number body", "42", "invalid_body", "the body must be a JSON object"),
        arguments("null body", "null", "invalid_body", "the body must be a JSON object"),
        arguments("empty body", "", "malformed_json", "the body is empty"),
        arguments("whitespace body", " \r\n\t ", "malformed_json", "the body is empty"));
    return Stream.of("/api/v1/jobs", "/generate").flatMap(path -> cases.stream().map(c -> {
      Object[] a = c.get();
      return arguments(path, a[0], a[1], a[2], a[3]);
    }));
  }

  @ParameterizedTest(name = "POST {0}: {1}")
  @MethodSource("invalidBodies")
  @DisplayName("an invalid body is 400 with a JSON error saying what is wrong; no job is created")
  void invalidBody(String path, String why, String body, String error, String detail) {
    int jobsBefore = jobsInJournal();
    assertError(http.postJson(path, body), 400, error, detail);
    assertThat(jobsInJournal()).as("jobs in the journal").isEqualTo(jobsBefore);
  }

  /** Names refused whatever else they hold: (why, name, what the detail says). */
  static Stream<Arguments> refusedStartups() {
    String empty = "startup must not be empty or only spaces";
    String control = "startup must not contain control characters or line breaks (found ";
    String format = "startup must not contain invisible formatting characters such as bidi controls or zero-width "
        + "characters (found ";
    List<Arguments> cases = List.of(
        // Only spaces, of any kind: String.strip() alone keeps the no-break ones.
        arguments("only no-break spaces U+00A0", "\\u00A0\\u00A0\\u00A0", empty),
        arguments("only figure space U+2007", "\\u2007", empty),
        arguments("only narrow no-break space U+202F", "\\u202F\\u202F", empty),
        arguments("only ideographic space U+3000", "\\u3000", empty),
        arguments("a mix of Unicode spaces", " \\u00A0\\t\\u2003\\u205F\\u1680\\u202F\\u3000\\u2028 ", empty),
        // Control characters and line breaks inside the name.
        arguments("NUL", "Acme\\u0000Corp", control + "U+0000)"),
        arguments("BEL", "Acme\\u0007", control + "U+0007)"),
        arguments("newline", "Acme\\nINFO forged log line", control + "U+000A)"),
        arguments("DEL", "Acme\\u007FCorp", control + "U+007F)"),
        arguments("C1 next line U+0085", "Acme\\u0085Corp", control + "U+0085)"),
        arguments("line separator U+2028", "Acme\\u2028Corp", control + "U+2028)"),
        arguments("paragraph separator U+2029", "Acme\\u2029Corp", control + "U+2029)"),
        // Bidi controls: the name would display in another order than it is stored.
        arguments("right-to-left override U+202E", "Acme\\u202Egnp.exe", format + "U+202E)"),
        arguments("left-to-right embedding U+202A", "\\u202AAcme", format + "U+202A)"),
        arguments("right-to-left embedding U+202B", "Acme\\u202B", format + "U+202B)"),
        arguments("pop directional formatting U+202C", "Ac\\u202Cme", format + "U+202C)"),
        arguments("left-to-right override U+202D", "Ac\\u202Dme", format + "U+202D)"),
        arguments("left-to-right isolate U+2066", "Ac\\u2066me", format + "U+2066)"),
        arguments("right-to-left isolate U+2067", "Ac\\u2067me", format + "U+2067)"),
        arguments("first strong isolate U+2068", "Ac\\u2068me", format + "U+2068)"),
        arguments("pop directional isolate U+2069", "Ac\\u2069me", format + "U+2069)"),
        arguments("left-to-right mark U+200E", "Acme\\u200E", format + "U+200E)"),
        arguments("right-to-left mark U+200F", "\\u200FAcme", format + "U+200F)"),
        arguments("Arabic letter mark U+061C", "Acme\\u061C", format + "U+061C)"),
        // Zero-width characters: two names that look the same would be different names.
        arguments("zero-width space U+200B", "Ac\\u200Bme", format + "U+200B)"),
        arguments("zero-width non-joiner U+200C", "Ac\\u200Cme", format + "U+200C)"),
        arguments("zero-width joiner U+200D", "Ac\\u200Dme", format + "U+200D)"),
        arguments("word joiner U+2060", "Ac\\u2060me", format + "U+2060)"),
        arguments("byte order mark U+FEFF first", "\\uFEFFAcme", format + "U+FEFF)"),
        arguments("only a zero-width space", "\\u200B", format + "U+200B)"),
        // Not text at all.
        arguments("unpaired surrogate", "Acme\\uD800", "startup must be valid Unicode text"));
    return Stream.of("/api/v1/jobs", "/generate").flatMap(path -> cases.stream().map(c -> {
      Object[] a = c.get();
      return arguments(path, a[0], a[1], a[2]);
    }));
  }

  @ParameterizedTest(name = "POST {0}: {1}")
  @MethodSource("refusedStartups")
  @DisplayName("a startup of only (Unicode) spaces, or with control, line-break, bidi or zero-width characters, is 400 "
      + "invalid_startup naming the character; no job is created")
  void refusedStartup(String path, String why, String jsonEscapedName, String detail) {
    int jobsBefore = jobsInJournal();
    // The name as JSON escapes, exactly as a client would send it.
    assertError(http.postJson(path, "{\"startup\": \"" + jsonEscapedName + "\"}"), 400, "invalid_startup", detail);
    assertThat(jobsInJournal()).as("jobs in the journal").isEqualTo(jobsBefore);
  }

  @Nested
  @DisplayName("the startup name")
  class StartupName {

    @Test
    @DisplayName("is at most 200 characters (code points) after trimming: exactly 200 is accepted")
    void lengthLimit() {
      String plain = "S".repeat(MAX_STARTUP - 8) + UUID.randomUUID().toString().substring(0, 8);
      assertThat(startupOf(created(submit(startup(plain))))).isEqualTo(plain);

      String emoji = "🚀".repeat(MAX_STARTUP);
      assertThat(startupOf(created(submit(startup(emoji))))).isEqualTo(emoji);

      String padded = "  \t" + plain + " \n ";
      assertThat(startupOf(created(submit(startup(padded))))).as("stored trimmed").isEqualTo(plain);
    }

    @Test
    @DisplayName("is stripped of every kind of Unicode space at its ends; spaces inside it are kept")
    void unicodeSpacesAreStripped() {
      String name = unique("Acme\u00A0Corp");
      String sent = "\u00A0\u202F \u3000" + name + "\u2007\t\u00A0";
      assertThat(startupOf(created(submit(startup(sent))))).isEqualTo(name);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"Société Générale 🚀", "北京初创科技有限公司", "Ελληνικά & Ünïcødé — Ω", "Acme \"Quoted\" \\ Back/slash",
        "شركة ناشئة", "Love ❤️ Inc 🇫🇷", "Crème Brûlée Ltd.\u00A0(Paris)"})
    @DisplayName("round-trips any Unicode text unchanged: in the job, in the provider's calls, in the report")
    void unicodeRoundTrip(String name) {
      HttpJson.Reply accepted = track(http.postJson("/generate", startup(name)));
      assertJson(accepted, 202);
      String id = accepted.text("job_id");

      JsonNode job = awaitState(id, "SUCCESS");
      assertThat(job.path("startup").asText()).isEqualTo(name);
      assertThat(simulated.calls()).filteredOn(c -> c.jobId().equals(id)).extracting(LlmRequest::startup)
          .hasSize(STEPS.size()).containsOnly(name);
      HttpJson.Reply status = http.get("/status/" + id);
      assertJson(status, 200);
      assertThat(status.text("result")).startsWith("Summary: " + name + " ");
    }
  }

  // =================================================================== content type and size

  static Stream<Arguments> wrongContentTypes() {
    List<Arguments> cases = List.of(
        arguments("text/plain", "{\"startup\": \"TeslaAI\"}", "text/plain"),
        arguments("application/x-www-form-urlencoded", "startup=TeslaAI", "application/x-www-form-urlencoded"),
        arguments("application/xml", "<startup>TeslaAI</startup>", "application/xml"),
        arguments(null, "{\"startup\": \"TeslaAI\"}", "application/octet-stream"));
    return Stream.of("/api/v1/jobs", "/generate").flatMap(path -> cases.stream().map(c -> {
      Object[] a = c.get();
      return arguments(path, a[0], a[1], a[2]);
    }));
  }

  @ParameterizedTest(name = "POST {0} as {1}")
  @MethodSource("wrongContentTypes")
  @DisplayName("a body that is not declared application/json is 415 unsupported_media_type")
  void wrongContentType(String path, String contentType, String body, String seenAs) {
    int jobsBefore = jobsInJournal();
    assertError(send("POST", path, BodyPublishers.ofString(body), contentType), 415, "unsupported_media_type",
        "send the body as application/json, not " + seenAs);
    assertThat(jobsInJournal()).isEqualTo(jobsBefore);
  }

  @Test
  @DisplayName("application/json with a charset parameter is JSON")
  void jsonWithCharset() {
    HttpJson.Reply r = track(send("POST", "/api/v1/jobs", BodyPublishers.ofString(startup(unique("Charset"))),
        "application/json; charset=utf-8"));
    assertJson(r, 202);
  }

  @Nested
  @DisplayName("the body size limit (reports.http.max-body-bytes, 64 KiB)")
  class BodySize {

    @Test
    @DisplayName("a body of exactly 64 KiB is read")
    void exactlyTheLimit() {
      assertJson(track(send("POST", "/api/v1/jobs", BodyPublishers.ofByteArray(bodyOfSize(MAX_BODY_BYTES)),
          "application/json")), 202);
    }

    @Test
    @DisplayName("one byte more, with a Content-Length, is 413 body_too_large")
    void overTheLimitWithContentLength() {
      int jobsBefore = jobsInJournal();
      assertError(send("POST", "/api/v1/jobs", BodyPublishers.ofByteArray(bodyOfSize(MAX_BODY_BYTES + 1)),
          "application/json"), 413, "body_too_large", "the body is larger than 65536 bytes");
      assertThat(jobsInJournal()).isEqualTo(jobsBefore);
    }

    @Test
    @DisplayName("a chunked body (no Content-Length) within the limit is read")
    void chunkedWithinTheLimit() {
      assertJson(track(send("POST", "/api/v1/jobs", chunked(bodyOfSize(MAX_BODY_BYTES)), "application/json")), 202);
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {MAX_BODY_BYTES + 1, 1024 * 1024})
    @DisplayName("a chunked body (no Content-Length) over the limit is 413 body_too_large too")
    void chunkedOverTheLimit(int size) {
      int jobsBefore = jobsInJournal();
      assertError(send("POST", "/api/v1/jobs", chunked(bodyOfSize(size)), "application/json"), 413, "body_too_large",
          "the body is larger than 65536 bytes");
      assertThat(jobsInJournal()).isEqualTo(jobsBefore);
    }
  }

  // =================================================================== routing

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("unknownPaths")
  @DisplayName("an unknown path is 404 not_found")
  void unknownPath(String method, String path) {
    assertError(send(method, path, BodyPublishers.noBody(), null), 404, "not_found",
        "The requested resource could not be found.");
  }

  static Stream<Arguments> unknownPaths() {
    return Stream.of(
        arguments("GET", "/"),
        arguments("GET", "/nope"),
        arguments("GET", "/api/v1"),
        arguments("GET", "/api/v1/nope"),
        arguments("GET", "/api/v2/jobs"),
        arguments("GET", "/api/v1/jobs/"),
        arguments("GET", "/api/v1/jobs/" + UUID.randomUUID() + "/steps"),
        arguments("POST", "/api/v1/jobs/" + UUID.randomUUID() + "/cancel"),
        arguments("GET", "/status"),
        arguments("GET", "/status/"),
        arguments("POST", "/generate/now"));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("wrongMethods")
  @DisplayName("a known path with the wrong method is 405 method_not_allowed, with an Allow header")
  void wrongMethod(String method, String path, String allowed) {
    HttpJson.Reply r = send(method, path, BodyPublishers.ofString(startup("TeslaAI")), "application/json");
    assertError(r, 405, "method_not_allowed", "HTTP method not allowed, supported methods: " + allowed);
    assertThat(r.raw().headers().firstValue("Allow")).hasValue(allowed);
  }

  static Stream<Arguments> wrongMethods() {
    String id = UUID.randomUUID().toString();
    return Stream.of(
        arguments("PUT", "/api/v1/jobs", "POST"),
        arguments("DELETE", "/api/v1/jobs", "POST"),
        arguments("PATCH", "/api/v1/jobs", "POST"),
        arguments("GET", "/generate", "POST"),
        arguments("PUT", "/generate", "POST"),
        arguments("POST", "/status/x", "GET"),
        arguments("DELETE", "/status/" + id, "GET"),
        arguments("PUT", "/api/v1/jobs/" + id, "GET, DELETE"),
        arguments("POST", "/api/v1/jobs/" + id, "GET, DELETE"),
        arguments("PATCH", "/api/v1/jobs/" + id, "GET, DELETE"),
        arguments("POST", "/api/v1/node/stats", "GET"));
  }

  static Stream<Arguments> requestsRefusedBeforeRouting() {
    return Stream.of(
        arguments("a URI over 2048 characters",
            "GET /api/v1/jobs/" + "x".repeat(3000) + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            414, "uri_too_long", "URI length exceeds the configured limit of 2048 characters"),
        arguments("a header over 8 KiB",
            "POST /api/v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nIdempotency-Key: "
                + "k".repeat(9000) + "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            431, "request_header_fields_too_large", "HTTP header value exceeds the configured limit of 8192 characters"),
        arguments("a malformed percent-encoding",
            "GET /api/v1/jobs/%zz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            400, "bad_request", "Illegal request-target"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("requestsRefusedBeforeRouting")
  @DisplayName("a request refused by the HTTP layer before routing still gets a JSON error")
  void refusedBeforeRouting(String why, String request, int status, String error, String detail) throws Exception {
    try (Socket socket = new Socket(node.httpAddress().getAddress(), node.httpAddress().getPort())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int headEnd = answer.indexOf("\r\n\r\n");
      assertThat(headEnd).as("an HTTP answer: %s", answer).isPositive();
      List<String> head = List.of(answer.substring(0, headEnd).split("\r\n"));
      String body = answer.substring(headEnd + 4);
      assertThat(head.get(0)).startsWith("HTTP/1.1 " + status + " ");
      assertThat(head).as("headers").anyMatch(h -> h.equalsIgnoreCase("Content-Type: application/json"));
      JsonNode json = JSON.readTree(body);
      assertThat(fieldNames(json)).containsExactly("error", "detail");
      assertThat(json.path("error").asText()).isEqualTo(error);
      assertThat(json.path("detail").asText()).contains(detail);
    }
  }

  // =================================================================== load shedding

  @Nested
  @DisplayName("load shedding (reports.llm.queue-limit)")
  class LoadShedding {

    @Test
    @DisplayName("beyond the queue bound, submits get 503 overloaded with Retry-After; every job accepted before finishes")
    void shedsBeyondTheBoundAndLosesNothing() {
      try (TestDatabase shedDb = new TestDatabase()) {
        Config config = shedDb.nodeConfig("""
            reports.node-name = "shedding-node"
            reports.llm.callers = 1
            reports.llm.queue-limit = 2
            reports.job.steps = [a, b, c]
            # a second cluster in this JVM: the shared node already holds the JMX name
            pekko.cluster.jmx.enabled = off
            """);
        GatedProvider gated = new GatedProvider(simulatedProvider(config, Duration.ofMillis(200)));
        RecordingProvider provider = new RecordingProvider(gated);
        try (ReportNode small = ReportNode.start(config, ProviderRegistry.of(provider))) {
          HttpJson api = new HttpJson(small.baseUrl());
          gated.hold("Busy-0", 0);
          List<String> accepted = new ArrayList<>();
          accepted.add(created(api.postJson("/api/v1/jobs", startup("Busy-0"))));
          Await.until(WAIT, "the only caller busy", () -> provider.inFlight() == 1);
          accepted.add(created(api.postJson("/api/v1/jobs", startup("Busy-1"))));
          accepted.add(created(api.postJson("/generate", startup("Busy-2"))));

          JsonNode full = Await.value(WAIT, "the queue at its bound", () -> api.get("/api/v1/node/stats").body(),
              s -> s.path("queue_depth").asInt() == 2);
          assertThat(full.path("queue_limit").asInt()).isEqualTo(2);
          assertThat(full.path("in_flight").asInt()).isEqualTo(1);

          for (String path : List.of("/api/v1/jobs", "/generate", "/api/v1/jobs")) {
            HttpJson.Reply shed = api.postJson(path, startup(unique("Shed")));
            assertError(shed, 503, "overloaded", "(limit 2); the job was not created; retry later");
            assertThat(shed.raw().headers().firstValue("Retry-After")).as("Retry-After").hasValue("5");
          }
          // Reads are never shed.
          HttpJson.Reply waiting = api.get("/api/v1/jobs/" + accepted.get(2));
          assertJson(waiting, 200);
          assertThat(waiting.text("state")).isEqualTo("PENDING");

          gated.release("Busy-0", 0);
          for (String id : accepted) {
            JsonNode done = Await.value(WAIT, "accepted job " + id + " SUCCESS",
                () -> api.get("/api/v1/jobs/" + id).body(), j -> TERMINAL.contains(j.path("state").asText()));
            assertThat(done.path("state").asText()).isEqualTo("SUCCESS");
            assertThat(done.path("result").asText()).isNotBlank();
          }
          assertThat(provider.answered()).extracting(LlmRequest::jobId).hasSize(3 * 3)
              .containsOnly(accepted.toArray(String[]::new));
          assertThat(shedDb.countEvents("Submitted")).as("shed submits never became jobs").hasSize(3);

          // Once the queue drains, the node accepts work again.
          Await.until(WAIT, "the queue drained", () -> api.get("/api/v1/node/stats").body().path("queue_depth").asInt() == 0);
          String later = created(api.postJson("/api/v1/jobs", startup("AfterTheRush")));
          Await.until(WAIT, "the later job SUCCESS", () -> "SUCCESS".equals(api.get("/api/v1/jobs/" + later).text("state")));
        }
      }
    }
  }

  // =================================================================== helpers

  private static SimulatedProvider simulatedProvider(Config config, Duration latency) {
    SimulatedProvider.Settings s = SimulatedProvider.Settings.fromConfig(config.getConfig("reports.llm.simulated"));
    return new SimulatedProvider(s.withLatency(latency, 0));
  }

  private HttpJson.Reply submit(String body) {
    return track(http.postJson("/api/v1/jobs", body));
  }

  private HttpJson.Reply submit(String body, String idempotencyKey) {
    return track(http.post("/api/v1/jobs", body, Map.of("Content-Type", "application/json",
        "Idempotency-Key", idempotencyKey)));
  }

  /** Any request, over HTTP/1.1 (a body of unknown length is then sent chunked). */
  private HttpJson.Reply send(String method, String path, BodyPublisher body, String contentType) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
        .version(HttpClient.Version.HTTP_1_1)
        .method(method, body);
    if (contentType != null) b.header("Content-Type", contentType);
    return http.send(b);
  }

  /** Remembers a job this test created, so that the test ends only once the job has. */
  private HttpJson.Reply track(HttpJson.Reply r) {
    if ((r.status() == 202 || r.status() == 200) && r.text("job_id") != null) createdJobs.add(r.text("job_id"));
    return r;
  }

  private static String created(HttpJson.Reply r) {
    assertJson(r, 202);
    assertThat(r.body().path("job_id").asText()).isNotBlank();
    return r.text("job_id");
  }

  private JsonNode awaitState(String id, String state) {
    JsonNode job = Await.value(WAIT, "job " + id + " finished", () -> http.get("/api/v1/jobs/" + id).body(),
        j -> TERMINAL.contains(j.path("state").asText()) || state.equals(j.path("state").asText()));
    assertThat(job.path("state").asText()).as("state of %s", job).isEqualTo(state);
    return job;
  }

  private String startupOf(String id) {
    HttpJson.Reply r = http.get("/api/v1/jobs/" + id);
    assertJson(r, 200);
    return r.text("startup");
  }

  private JsonNode stats() {
    HttpJson.Reply r = http.get("/api/v1/node/stats");
    assertJson(r, 200);
    return r.body();
  }

  /** Jobs the journal holds (each has exactly one Submitted event). */
  private int jobsInJournal() {
    return db.countEvents("Submitted").size();
  }

  private static void assertJson(HttpJson.Reply r, int status) {
    assertThat(r.status()).as("status, body %s", r.raw().body()).isEqualTo(status);
    assertThat(r.raw().headers().firstValue("Content-Type")).as("content type").hasValue("application/json");
    assertThat(r.body().isObject()).as("a JSON object: %s", r.raw().body()).isTrue();
  }

  /** A JSON error: the status, {"error": code, "detail": ...} and nothing of the node's insides. */
  private static JsonNode assertError(HttpJson.Reply r, int status, String error, String detailContains) {
    assertJson(r, status);
    assertThat(fieldNames(r.body())).containsExactly("error", "detail");
    assertThat(r.body().path("error").asText()).as("error code in %s", r.raw().body()).isEqualTo(error);
    JsonNode detail = r.body().get("detail");
    assertThat(detail.isTextual() ? detail.asText() : detail.toString()).as("detail").contains(detailContains);
    assertThat(r.raw().body()).as("no internals leak").doesNotContain("Exception", "\tat ", "pekko.", "jackson");
    return r.body();
  }

  private static List<String> fieldNames(JsonNode node) {
    List<String> names = new ArrayList<>();
    node.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private static List<String> names(JsonNode array) {
    List<String> names = new ArrayList<>();
    array.forEach(n -> names.add(n.asText()));
    return names;
  }

  private static Instant instant(JsonNode node, String field) {
    assertThat(node.path(field).isTextual()).as("%s in %s", field, node).isTrue();
    return Instant.parse(node.path(field).asText());
  }

  private static String unique(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static String startup(String name) {
    return json("startup", name);
  }

  private static String json(Object... keysAndValues) {
    Map<String, Object> map = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) map.put((String) keysAndValues[i], keysAndValues[i + 1]);
    try {
      return JSON.writeValueAsString(map);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A valid submit body of exactly {@code size} bytes: a unique startup, padded with spaces. */
  private static byte[] bodyOfSize(int size) {
    byte[] head = ("{\"startup\": \"" + unique("Sized") + "\"").getBytes(StandardCharsets.UTF_8);
    byte[] body = new byte[size];
    Arrays.fill(body, (byte) ' ');
    System.arraycopy(head, 0, body, 0, head.length);
    body[size - 1] = '}';
    return body;
  }

  /** A body publisher of unknown length: java.net.http sends it with Transfer-Encoding: chunked. */
  private static BodyPublisher chunked(byte[] body) {
    return BodyPublishers.fromPublisher(BodyPublishers.ofByteArray(body));
  }

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
  private static final class GatedProvider implements LlmProvider {
    private final LlmProvider delegate;
    private final Map<String, CompletableFuture<Void>> gates = new ConcurrentHashMap<>();

    GatedProvider(LlmProvider delegate) {
      this.delegate = delegate;
    }

    void hold(String startup, int step) {
      gates.put(startup + "#" + step, new CompletableFuture<>());
    }

    void release(String startup, int step) {
      CompletableFuture<Void> gate = gates.remove(startup + "#" + step);
      if (gate != null) gate.complete(null);
    }

    void releaseAll() {
      gates.keySet().forEach(key -> {
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
      return gate == null ? delegate.start(request) : Calls.after(gate, () -> delegate.start(request));
    }
  }
}
