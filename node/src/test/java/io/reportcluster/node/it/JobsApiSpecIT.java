package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.testkit.ApiSpec;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.RecordingProvider;
import io.reportcluster.node.testkit.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The REST API, part one: what a client does with jobs. Submit (also through the seed-compatible
 * {@code /generate} and {@code /status}), idempotency keys, reading a job, cancelling it, the
 * node's stats, and load shedding at the queue bound. One node, see {@link ApiSpec}.
 */
@DisplayName("REST API: jobs")
class JobsApiSpecIT extends ApiSpec {

  // =================================================================== seed-compatible API

  @Nested
  @DisplayName("POST /generate and GET /status/{id}: the seed-compatible API")
  class SeedApi {

    @Test
    @DisplayName(
        "POST /generate answers 202 {job_id, status: queued}; /status follows the job to SUCCESS with its report")
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
      if (!"SUCCESS".equals(status.text("state")))
        assertThat(status.body().get("result").isNull()).isTrue();

      JsonNode done =
          Await.value(
              WAIT,
              "/status of " + id + " says SUCCESS",
              () -> http.get("/status/" + id).body(),
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
    @DisplayName(
        "answers 202 {job_id, status: queued, state: PENDING, created: true}, and the job can be read at once")
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
      String viaSimulated =
          created(submit(json("startup", unique("Sim"), "provider", "simulated")));
      String viaBackup = created(submit(json("startup", unique("Backup"), "provider", "backup")));

      assertThat(awaitState(viaDefault, "SUCCESS").path("provider").asText())
          .isEqualTo("simulated");
      assertThat(awaitState(viaSimulated, "SUCCESS").path("provider").asText())
          .isEqualTo("simulated");
      assertThat(awaitState(viaBackup, "SUCCESS").path("provider").asText()).isEqualTo("backup");
      assertThat(backup.calls()).filteredOn(c -> c.jobId().equals(viaBackup)).hasSize(STEPS.size());
      assertThat(simulated.calls()).noneMatch(c -> c.jobId().equals(viaBackup));
    }

    @ParameterizedTest(name = "provider \"{0}\"")
    @ValueSource(strings = {"gpt-17", "", "Simulated"})
    @DisplayName(
        "an unknown provider is 400 invalid_provider, listing the known ones; no job is created")
    void unknownProvider(String provider) {
      int jobsBefore = jobsInJournal();
      JsonNode body =
          assertError(
              submit(json("startup", "Acme", "provider", provider)),
              400,
              "invalid_provider",
              "unknown provider '" + provider + "'");
      assertThat(body.at("/detail/message").asText())
          .isEqualTo("unknown provider '" + provider + "'");
      assertThat(names(body.at("/detail/known"))).containsExactly("simulated", "backup");
      assertThat(jobsInJournal()).isEqualTo(jobsBefore);
    }

    @ParameterizedTest(name = "provider {0}")
    @ValueSource(strings = {"42", "true", "{\"name\": \"simulated\"}", "[\"simulated\"]"})
    @DisplayName("a provider that is not a string is 400 invalid_provider")
    void nonStringProvider(String providerJson) {
      int jobsBefore = jobsInJournal();
      assertError(
          submit("{\"startup\": \"Acme\", \"provider\": " + providerJson + "}"),
          400,
          "invalid_provider",
          "provider must be a string");
      assertThat(jobsInJournal()).isEqualTo(jobsBefore);
    }

    @Test
    @DisplayName(
        "a chain of providers is kept with the job; each step says which providers it was handed"
            + " to and which answered")
    void providerChain() {
      String id =
          submit("{\"startup\": \"Acme\", \"providers\": [\"backup\", \"simulated\"]}")
              .text("job_id");
      JsonNode job = awaitState(id, "SUCCESS");
      assertThat(names(job.path("providers"))).containsExactly("backup", "simulated");
      for (JsonNode step : job.path("steps")) {
        assertThat(step.path("provider").asText()).isEqualTo("backup");
        assertThat(names(step.path("providers_tried"))).containsExactly("backup");
      }
      assertThat(job.path("waiting_for").isNull() || job.path("waiting_for").isMissingNode())
          .as("a finished job waits for nothing")
          .isTrue();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(
        delimiter = '|',
        value = {
          "an empty chain | \"providers\": [] | providers must be a list of 1 to 10 provider names, in order",
          "not a list | \"providers\": \"simulated\" | providers must be a list of 1 to 10 provider names, in order",
          "a name that is not a string | \"providers\": [1] | providers must hold strings",
          "a name twice | \"providers\": [\"simulated\", \"simulated\"] | providers names 'simulated' more than once",
          "both provider and providers | \"provider\": \"simulated\", \"providers\": [\"backup\"] | name either provider (one, with its configured fallback) or providers (a chain), not both"
        })
    @DisplayName("a bad chain is 400 invalid_provider; no job is created")
    void badChain(String why, String fields, String detail) {
      int jobsBefore = jobsInJournal();
      assertError(
          submit("{\"startup\": \"Acme\", " + fields + "}"), 400, "invalid_provider", detail);
      assertThat(jobsInJournal()).isEqualTo(jobsBefore);
    }

    @Test
    @DisplayName("an unknown name in a chain is 400 invalid_provider, listing the known ones")
    void unknownInChain() {
      JsonNode body =
          assertError(
              submit("{\"startup\": \"Acme\", \"providers\": [\"simulated\", \"gpt-17\"]}"),
              400,
              "invalid_provider",
              "unknown provider 'gpt-17'");
      assertThat(names(body.at("/detail/known"))).containsExactly("simulated", "backup");
    }
  }

  // =================================================================== idempotency

  @Nested
  @DisplayName("Idempotency-Key")
  class Idempotency {

    @Test
    @DisplayName(
        "the same key and body return the same job (200, created: false), never a second job")
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
      assertThat(simulated.calls())
          .filteredOn(c -> c.startup().equals(name))
          .extracting(LlmRequest::jobId)
          .hasSize(STEPS.size())
          .containsOnly(id);
      assertThat(db.countEvents("Submitted")).containsEntry("ReportJob|" + id, 1);
      assertThat(jobsInJournal()).isEqualTo(jobsBefore + 1);
    }

    @Test
    @DisplayName(
        "the same key with another startup or provider is 409 idempotency_conflict; the job is unchanged")
    void sameKeyOtherRequestConflicts() {
      String key = "order-" + UUID.randomUUID();
      String name = unique("Original");
      String id = created(submit(startup(name), key));
      int jobsBefore = jobsInJournal();

      assertError(
          submit(startup(unique("Other")), key),
          409,
          "idempotency_conflict",
          "already names job " + id);
      assertError(
          submit(json("startup", name, "provider", "backup"), key),
          409,
          "idempotency_conflict",
          "already names job " + id);

      assertThat(jobsInJournal()).isEqualTo(jobsBefore);
      JsonNode job = awaitState(id, "SUCCESS");
      assertThat(job.path("startup").asText()).isEqualTo(name);
      assertThat(job.path("provider").asText()).isEqualTo("simulated");
    }

    @Test
    @DisplayName(
        "a key of 255 characters is accepted; 256 characters or an empty key is 400 invalid_idempotency_key")
    void keyLength() {
      int jobsBefore = jobsInJournal();
      assertError(
          submit(startup("Acme"), "k".repeat(256)),
          400,
          "invalid_idempotency_key",
          "1 to 255 characters");
      assertError(
          submit(startup("Acme"), ""), 400, "invalid_idempotency_key", "1 to 255 characters");
      assertThat(jobsInJournal()).isEqualTo(jobsBefore);

      HttpJson.Reply longest =
          submit(startup(unique("Acme")), UUID.randomUUID() + "k".repeat(255 - 36));
      assertJson(longest, 202);
      assertThat(longest.body().path("created").asBoolean()).isTrue();
    }
  }

  // =================================================================== read one job

  @Nested
  @DisplayName("GET /api/v1/jobs/{id}")
  class GetJob {

    @Test
    @DisplayName(
        "a finished job shows state, attempts, every step with its timings, result, node and times")
    void finishedJob() {
      String name = unique("Finished");
      String id = created(submit(startup(name)));
      awaitState(id, "SUCCESS");

      HttpJson.Reply r = http.get("/api/v1/jobs/" + id);
      assertJson(r, 200);
      JsonNode job = r.body();
      assertThat(fieldNames(job))
          .containsExactly(
              "job_id",
              "startup",
              "provider",
              "state",
              "attempts",
              "current_step",
              "steps",
              "result",
              "error",
              "node",
              "submitted_at",
              "updated_at",
              "finished_at",
              "next_retry_at",
              "usage",
              "providers",
              "waiting_for",
              "runs",
              "owner");
      assertThat(job.get("owner").isNull()).as("no API keys: nobody's job").isTrue();
      assertThat(names(job.path("providers"))).containsExactly("simulated");
      JsonNode run = job.path("runs").path(0);
      assertThat(job.path("runs")).as("one run: never retried").hasSize(1);
      assertThat(run.path("run").asInt()).isEqualTo(1);
      assertThat(run.path("state").asText()).isEqualTo("SUCCESS");
      assertThat(run.path("started_at").asText()).isEqualTo(job.path("submitted_at").asText());
      assertThat(run.path("finished_at").asText()).isEqualTo(job.path("finished_at").asText());
      assertThat(job.get("waiting_for").isNull()).as("a finished job waits for nothing").isTrue();
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
      long inputTokens = 0;
      long outputTokens = 0;
      for (int i = 0; i < STEPS.size(); i++) {
        JsonNode step = steps.get(i);
        assertThat(fieldNames(step))
            .containsExactly(
                "name",
                "state",
                "attempts",
                "started_at",
                "finished_at",
                "duration_ms",
                "last_error",
                "provider",
                "model",
                "usage",
                "finish_reason",
                "providers_tried");
        assertThat(step.path("name").asText()).isEqualTo(STEPS.get(i));
        assertThat(names(step.path("providers_tried"))).containsExactly("simulated");
        // The simulated provider counts words as tokens and costs nothing (its price is 0).
        assertThat(step.path("provider").asText()).isEqualTo("simulated");
        assertThat(step.path("model").asText()).isEqualTo("simulated");
        assertThat(step.path("finish_reason").asText()).isEqualTo("STOP");
        assertThat(fieldNames(step.get("usage")))
            .containsExactly("input_tokens", "output_tokens", "cost_usd");
        assertThat(step.path("usage").path("input_tokens").asLong()).isPositive();
        assertThat(step.path("usage").path("output_tokens").asLong()).isPositive();
        inputTokens += step.path("usage").path("input_tokens").asLong();
        outputTokens += step.path("usage").path("output_tokens").asLong();
        assertThat(step.path("state").asText()).isEqualTo("SUCCESS");
        assertThat(step.path("attempts").asInt()).isEqualTo(1);
        Instant started = instant(step, "started_at");
        Instant ended = instant(step, "finished_at");
        assertThat(started)
            .as("step %d starts after the one before ends", i)
            .isAfterOrEqualTo(previousEnd);
        assertThat(ended).isAfterOrEqualTo(started);
        assertThat(step.path("duration_ms").asLong())
            .isEqualTo(Duration.between(started, ended).toMillis());
        assertThat(step.get("last_error").isNull()).isTrue();
        previousEnd = ended;
      }
      assertThat(previousEnd).isEqualTo(finished);
      // The job's usage is its steps' usage, summed.
      assertThat(job.path("usage").path("input_tokens").asLong()).isEqualTo(inputTokens);
      assertThat(job.path("usage").path("output_tokens").asLong()).isEqualTo(outputTokens);
      assertThat(job.path("usage").path("cost_usd").asDouble()).isZero();
    }

    @Test
    @DisplayName(
        "a running job shows its current step as STARTED, the steps done with timings, the rest PENDING")
    void runningJob() {
      String name = unique("Running");
      gates.hold(name, 2);
      String id = created(submit(startup(name)));

      JsonNode job =
          Await.value(
              WAIT,
              "job " + id + " running its third step",
              () -> http.get("/api/v1/jobs/" + id).body(),
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
      assertThat(instant(current, "started_at"))
          .isAfterOrEqualTo(instant(job.at("/steps/1"), "finished_at"));
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

  // =================================================================== cancel

  @Nested
  @DisplayName("DELETE /api/v1/jobs/{id}: cancel")
  class Cancel {

    @Test
    @DisplayName(
        "a running job becomes REVOKED and stays so: its call in flight is cancelled at the provider")
    void cancelRunningJob() {
      String name = unique("Cancelled");
      gates.hold(name, 2);
      String id = created(submit(startup(name)));
      Await.until(
          WAIT,
          "job " + id + " mid-way, its third call in flight",
          () ->
              "STARTED"
                  .equals(http.get("/api/v1/jobs/" + id).body().at("/steps/2/state").asText()));

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
      Await.until(
          WAIT,
          "the provider saw the cancelled job's call cancelled",
          () ->
              simulated.cancelled().stream().anyMatch(c -> c.jobId().equals(id) && c.step() == 2));
      String next = created(submit(startup(unique("AfterCancel"))));
      Await.until(
          WAIT,
          "the caller took the next job",
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
      assertThat(simulated.calls())
          .filteredOn(c -> c.jobId().equals(id))
          .as("no step of the cancelled job ran after the cancel")
          .extracting(LlmRequest::step)
          .containsExactly(0, 1, 2);
    }

    @Test
    @DisplayName("a job still waiting for a caller is REVOKED and its call leaves the queue unmade")
    void cancelQueuedJob() {
      String holder = unique("Holder");
      gates.hold(holder, 0);
      String holderId = created(submit(startup(holder)));
      Await.until(
          WAIT,
          "the only caller busy",
          () -> simulated.calls().stream().anyMatch(c -> c.jobId().equals(holderId)));
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

      assertError(
          http.delete("/api/v1/jobs/" + id), 409, "job_finished", "already finished with SUCCESS");

      JsonNode job = awaitState(id, "SUCCESS");
      assertThat(job.path("result").asText()).startsWith("Summary: ");
    }
  }

  // =================================================================== metrics

  @Nested
  @DisplayName("GET /metrics")
  class Metrics {

    @Test
    @DisplayName("counts the tokens and cost of answered calls by provider and model")
    void tokensAndCost() {
      String id = created(submit(startup(unique("Metered"))));
      awaitState(id, "SUCCESS");
      JsonNode usage = http.get("/api/v1/jobs/" + id).body().path("usage");

      String text = prometheusText();
      String labels =
          "kind=\"input\",model=\"simulated\",node=\"api-spec-node\",provider=\"simulated\"";
      assertThat(text).contains("reports_llm_tokens_total{" + labels + "}");
      assertThat(sample(text, "reports_llm_tokens_total{" + labels + "}"))
          .as("every answered call's input tokens, this job's among them")
          .isGreaterThanOrEqualTo(usage.path("input_tokens").asDouble());
      assertThat(text)
          .contains(
              "reports_llm_cost_usd_total{model=\"simulated\",node=\"api-spec-node\",provider=\"simulated\"}");
    }

    private String prometheusText() {
      try {
        var r =
            java.net.http.HttpClient.newHttpClient()
                .send(
                    java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create(node.baseUrl() + "/metrics"))
                        .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        return r.body();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }

    private double sample(String text, String series) {
      return text.lines()
          .filter(l -> l.startsWith(series + " "))
          .mapToDouble(l -> Double.parseDouble(l.substring(series.length() + 1)))
          .findFirst()
          .orElseThrow();
    }
  }

  // =================================================================== node stats

  @Nested
  @DisplayName("GET /api/v1/node/stats")
  class NodeStats {

    @Test
    @DisplayName(
        "shows callers, calls in flight, the queue of calls waiting for a caller, its limit and call counters")
    void stats() {
      JsonNode before =
          Await.value(
              WAIT,
              "an idle node",
              JobsApiSpecIT.this::stats,
              s -> s.path("in_flight").asInt() == 0 && s.path("queue_depth").asInt() == 0);
      assertThat(fieldNames(before))
          .containsExactly(
              "node",
              "callers",
              "in_flight",
              "queue_depth",
              "queue_limit",
              "calls_started",
              "calls_succeeded",
              "calls_failed");
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
      JsonNode busy =
          Await.value(
              WAIT,
              "two calls waiting for the caller",
              JobsApiSpecIT.this::stats,
              s -> s.path("queue_depth").asInt() == 2);
      assertThat(busy.path("in_flight").asInt()).isEqualTo(1);
      assertThat(busy.path("calls_started").asLong()).isEqualTo(started + 1);
      assertThat(http.get("/api/v1/jobs/" + ids.get(2)).text("state")).isEqualTo("PENDING");

      gates.release(a, 0);
      ids.forEach(id -> awaitState(id, "SUCCESS"));
      JsonNode after =
          Await.value(
              WAIT,
              "every call counted",
              JobsApiSpecIT.this::stats,
              s -> s.path("calls_succeeded").asLong() == succeeded + 3L * STEPS.size());
      assertThat(after.path("in_flight").asInt()).isZero();
      assertThat(after.path("queue_depth").asInt()).isZero();
      assertThat(after.path("calls_started").asLong()).isEqualTo(started + 3L * STEPS.size());
      assertThat(after.path("calls_failed").asLong()).isEqualTo(failed);
    }
  }

  // =================================================================== load shedding

  @Nested
  @DisplayName("load shedding (reports.llm.queue-limit)")
  class LoadShedding {

    @Test
    @DisplayName(
        "beyond the queue bound, submits get 503 overloaded with Retry-After; every job accepted before finishes")
    void shedsBeyondTheBoundAndLosesNothing() {
      try (TestDatabase shedDb = new TestDatabase()) {
        Config config =
            shedDb.nodeConfig(
                """
            reports.node-name = "shedding-node"
            reports.llm.callers = 1
            reports.llm.queue-limit = 2
            reports.job.steps = [a, b, c]
            # a second cluster in this JVM: the shared node already holds the JMX name
            pekko.cluster.jmx.enabled = off
            """);
        StepGates gated = new StepGates(simulatedProvider(config, Duration.ofMillis(200)));
        RecordingProvider provider = new RecordingProvider(gated);
        try (ReportNode small = ReportNode.start(config, ProviderRegistry.of(provider))) {
          HttpJson api = new HttpJson(small.baseUrl());
          gated.hold("Busy-0", 0);
          List<String> accepted = new ArrayList<>();
          accepted.add(created(api.postJson("/api/v1/jobs", startup("Busy-0"))));
          Await.until(WAIT, "the only caller busy", () -> provider.inFlight() == 1);
          accepted.add(created(api.postJson("/api/v1/jobs", startup("Busy-1"))));
          accepted.add(created(api.postJson("/generate", startup("Busy-2"))));

          JsonNode full =
              Await.value(
                  WAIT,
                  "the queue at its bound",
                  () -> api.get("/api/v1/node/stats").body(),
                  s -> s.path("queue_depth").asInt() == 2);
          assertThat(full.path("queue_limit").asInt()).isEqualTo(2);
          assertThat(full.path("in_flight").asInt()).isEqualTo(1);

          for (String path : List.of("/api/v1/jobs", "/generate", "/api/v1/jobs")) {
            HttpJson.Reply shed = api.postJson(path, startup(unique("Shed")));
            assertError(shed, 503, "overloaded", "(limit 2); the job was not created; retry later");
            assertThat(shed.raw().headers().firstValue("Retry-After"))
                .as("Retry-After")
                .hasValue("5");
          }
          // Reads are never shed.
          HttpJson.Reply waiting = api.get("/api/v1/jobs/" + accepted.get(2));
          assertJson(waiting, 200);
          assertThat(waiting.text("state")).isEqualTo("PENDING");

          gated.release("Busy-0", 0);
          for (String id : accepted) {
            JsonNode done =
                Await.value(
                    WAIT,
                    "accepted job " + id + " SUCCESS",
                    () -> api.get("/api/v1/jobs/" + id).body(),
                    j -> TERMINAL.contains(j.path("state").asText()));
            assertThat(done.path("state").asText()).isEqualTo("SUCCESS");
            assertThat(done.path("result").asText()).isNotBlank();
          }
          assertThat(provider.answered())
              .extracting(LlmRequest::jobId)
              .hasSize(3 * 3)
              .containsOnly(accepted.toArray(String[]::new));
          assertThat(shedDb.countEvents("Submitted"))
              .as("shed submits never became jobs")
              .hasSize(3);

          // Once the queue drains, the node accepts work again.
          Await.until(
              WAIT,
              "the queue drained",
              () -> api.get("/api/v1/node/stats").body().path("queue_depth").asInt() == 0);
          String later = created(api.postJson("/api/v1/jobs", startup("AfterTheRush")));
          Await.until(
              WAIT,
              "the later job SUCCESS",
              () -> "SUCCESS".equals(api.get("/api/v1/jobs/" + later).text("state")));
        }
      }
    }
  }
}
