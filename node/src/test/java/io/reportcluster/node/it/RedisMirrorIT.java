package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.llm.provider.LlmCallException;
import io.reportcluster.node.llm.provider.LlmProvider;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.HeldCallsProvider;
import io.reportcluster.node.testkit.HeldCallsProvider.HeldCall;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.RedisProbe;
import io.reportcluster.node.testkit.RedisServer;
import io.reportcluster.node.testkit.SseClient;
import io.reportcluster.node.testkit.TestDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The Redis status mirror, specified on a real node (real HTTP, a real PostgreSQL journal, a real
 * Redis), read the way an operator reads it: {@code HGETALL <prefix>job:<id>}, {@code TTL}, {@code
 * SUBSCRIBE <prefix>events}, {@code HGETALL <prefix>node:<name>}.
 *
 * <ul>
 *   <li>Every transition of a job is written to the hash {@code <prefix>job:<id>}: flat fields
 *       (state, startup, attempts, result, error, node, updated_at, current_step) and {@code view},
 *       the job's full JSON, equal to what {@code GET /api/v1/jobs/{id}} answers and to what the
 *       job itself (the entity, the source of truth) knows.
 *   <li>A finished job's hash expires after {@code reports.redis.finished-ttl}; a running job's
 *       hash never expires.
 *   <li>Each transition is published on {@code <prefix>events} in order, and a job's states never
 *       go backwards there.
 *   <li>Reads of a job are served from the mirror when it has the job, from the job otherwise.
 *   <li>Each node publishes its figures to {@code <prefix>node:<name>} (with a TTL) and lists
 *       itself in {@code <prefix>nodes}.
 *   <li>Redis is never on a job's critical path: during an outage jobs go on and the API answers
 *       from the jobs; once Redis is back, even empty and however long it was away, the node sees
 *       it within a health interval and the mirror converges within {@code mirror-refresh +
 *       health-interval + margin}, never putting back an older state.
 * </ul>
 *
 * <p>The shared Redis on 127.0.0.1:6379 is used only under a prefix of this class's own, whose keys
 * are deleted afterwards; the outage is played on a private redis-server.
 *
 * <p>How the test sees the entity's own view, bypassing the mirror: the first event of {@code GET
 * /api/v1/jobs/{id}/events} is the job's state as the entity answered it.
 */
class RedisMirrorIT {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final String SHARED_REDIS =
      System.getenv().getOrDefault("REPORTS_TEST_REDIS_URL", "redis://127.0.0.1:6379");

  /** reports.redis.finished-ttl in these tests. */
  private static final long FINISHED_TTL_SECONDS = 3600;

  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final Set<String> TERMINAL = Set.of("SUCCESS", "FAILURE", "REVOKED");

  // ------------------------------------------------------------------------------------------

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  @DisplayName("with Redis reachable")
  class WithRedisReachable {
    private TestDatabase db;
    private RedisProbe redis;
    private HeldCallsProvider provider;
    private ReportNode node;
    private HttpJson http;

    @BeforeAll
    void startNode() {
      db = new TestDatabase();
      redis = new RedisProbe(SHARED_REDIS, RedisProbe.uniquePrefix());
      // Subscribed before any job exists: no event of this class can be missed.
      redis.subscribeEvents();
      Config config =
          db.nodeConfig(
              """
          reports.redis.url = "%s"
          reports.redis.prefix = "%s"
          reports.redis.finished-ttl = %ds
          reports.redis.health-interval = 500ms
          reports.redis.node-stats-ttl = 10s
          # Long, so that the periodic re-announcement of running jobs never hides a missing write:
          # what these tests see in Redis was written by the transition itself.
          reports.redis.mirror-refresh = 5m
          reports.job.steps = [a, b, c]
          # A failed step waits exactly 3 s: long enough to look at RETRY, short for the test.
          reports.retry.backoff-base = 3s
          reports.retry.jitter = 0
          """
                  .formatted(SHARED_REDIS, redis.prefix(), FINISHED_TTL_SECONDS));
      provider = new HeldCallsProvider(simulated(config, Duration.ofMillis(30)));
      node = ReportNode.start(config, ProviderRegistry.of(provider));
      http = new HttpJson(node.baseUrl());
      Await.until(
          WAIT, "node sees Redis", () -> "up".equals(http.get("/api/v1/health").text("redis")));
    }

    @AfterAll
    void stopNode() {
      try {
        // Whatever a failed test left held is answered, so that the node stops promptly.
        if (provider != null) provider.releaseAll();
        if (node != null) node.close();
      } finally {
        try {
          if (redis != null) {
            redis.deleteAll();
            redis.close();
          }
        } finally {
          if (db != null) db.close();
        }
      }
    }

    @Test
    @DisplayName(
        "a job's hash follows it from submit through a running step to SUCCESS, then expires")
    void hashFollowsAJobToSuccess() {
      String startup = "Mirror-Success-" + shortId();
      provider.hold(startup);
      try {
        String id = submit(http, startup);

        // Submitted: PENDING (or already STARTED), with its identity, and no expiry while it runs.
        Map<String, String> submitted = awaitHash(redis, id, h -> !h.isEmpty());
        assertThat(submitted.get("state")).isIn("PENDING", "STARTED");
        assertThat(submitted)
            .containsEntry("startup", startup)
            .containsEntry("node", node.nodeName())
            .containsKeys("attempts", "result", "error", "updated_at", "view");
        assertThat(redis.ttl(redis.jobKey(id))).as("TTL of a running job's hash").isEqualTo(-1);

        // The first step runs: STARTED, current_step a, one call made.
        HeldCall a = provider.nextCall(startup, WAIT);
        Map<String, String> running = awaitHash(redis, id, h -> "STARTED".equals(h.get("state")));
        assertThat(running)
            .containsEntry("current_step", "a")
            .containsEntry("attempts", "1")
            .containsEntry("result", "")
            .containsEntry("error", "");
        assertHashMatchesApiAndJob(http, node.baseUrl(), redis, id);
        assertThat(redis.ttl(redis.jobKey(id))).as("TTL of a running job's hash").isEqualTo(-1);

        // A later step runs: the mirror shows that step, as the job itself does.
        a.answer("notes on a");
        HeldCall b = provider.nextCall(startup, WAIT);
        awaitMirrorEqualsJob(node.baseUrl(), redis, id, "while step b runs");
        assertThat(redis.job(id))
            .containsEntry("state", "STARTED")
            .containsEntry("current_step", "b")
            .containsEntry("attempts", "2");
        assertThat(redis.ttl(redis.jobKey(id))).as("TTL of a running job's hash").isEqualTo(-1);

        b.answer("notes on b");
        provider.nextCall(startup, WAIT).answer("Summary: " + startup + " is worth a look.");

        // SUCCESS: the result, one attempt per step, no error, and an expiry of finished-ttl.
        Map<String, String> done = awaitHash(redis, id, h -> "SUCCESS".equals(h.get("state")));
        assertThat(done)
            .containsEntry("result", "Summary: " + startup + " is worth a look.")
            .containsEntry("attempts", "3")
            .containsEntry("error", "")
            .containsEntry("current_step", "");
        assertHashMatchesApiAndJob(http, node.baseUrl(), redis, id);
        assertFinishedTtl(redis, id);
      } finally {
        provider.release(startup);
      }
    }

    @Test
    @DisplayName(
        "a retryable failure is mirrored as RETRY with its error, then the retry as STARTED")
    void retryableFailureIsMirroredAsRetry() {
      String startup = "Mirror-Retry-" + shortId();
      provider.hold(startup);
      try {
        String id = submit(http, startup);
        provider
            .nextCall(startup, WAIT)
            .fail(LlmCallException.Kind.SERVER_ERROR, "upstream answered 503");

        Map<String, String> retry = awaitHash(redis, id, h -> "RETRY".equals(h.get("state")));
        // Read while the 3 s backoff runs: the job stays in RETRY until its next call starts.
        assertThat(retry)
            .containsEntry("attempts", "1")
            .containsEntry("current_step", "a")
            .containsEntry("result", "");
        // The job has not failed, so its error is empty; why it waits is the step's last error.
        assertThat(retry.get("error")).as("error of a job waiting to retry").isEmpty();
        JsonNode view = json(retry.get("view"));
        assertThat(view.path("steps").get(0).path("state").asText()).isEqualTo("RETRY");
        assertThat(view.path("steps").get(0).path("last_error").asText())
            .isEqualTo("SERVER_ERROR: upstream answered 503");
        assertThat(view.path("next_retry_at").isTextual()).as("next_retry_at in %s", view).isTrue();
        assertHashMatchesApiAndJob(http, node.baseUrl(), redis, id);
        assertThat(redis.ttl(redis.jobKey(id))).as("TTL of a job waiting to retry").isEqualTo(-1);

        // The retry starts: STARTED again, its second call counted.
        HeldCall second = provider.nextCall(startup, WAIT);
        assertThat(second.request().attempt()).isEqualTo(2);
        Map<String, String> retrying = awaitHash(redis, id, h -> "STARTED".equals(h.get("state")));
        assertThat(retrying).containsEntry("attempts", "2").containsEntry("current_step", "a");
        second.answer("notes on a, second try");
        provider.release(startup);

        Map<String, String> done = awaitHash(redis, id, h -> "SUCCESS".equals(h.get("state")));
        assertThat(done).containsEntry("attempts", "4").containsEntry("error", "");
        assertHashMatchesApiAndJob(http, node.baseUrl(), redis, id);
        assertFinishedTtl(redis, id);
        assertThat(eventNames(redis, id))
            .containsExactly(
                "submitted",
                "started",
                "retry",
                "started",
                "step_completed",
                "step_completed",
                "succeeded");
      } finally {
        provider.release(startup);
      }
    }

    @Test
    @DisplayName(
        "a permanent failure is mirrored as FAILURE with the provider's message, then expires")
    void permanentFailureIsMirroredAsFailure() {
      String startup = "Mirror-Failure-" + shortId();
      provider.hold(startup);
      try {
        String id = submit(http, startup);
        provider
            .nextCall(startup, WAIT)
            .fail(LlmCallException.Kind.BAD_REQUEST, "the prompt was rejected");

        Map<String, String> failed = awaitHash(redis, id, h -> "FAILURE".equals(h.get("state")));
        assertThat(failed).containsEntry("attempts", "1").containsEntry("result", "");
        assertThat(failed.get("error"))
            .contains("BAD_REQUEST: the prompt was rejected")
            .contains("permanent");
        assertHashMatchesApiAndJob(http, node.baseUrl(), redis, id);
        assertFinishedTtl(redis, id);
        assertThat(eventNames(redis, id)).containsExactly("submitted", "started", "failed");
      } finally {
        provider.release(startup);
      }
    }

    @Test
    @DisplayName("a cancelled job is mirrored as REVOKED, then expires")
    void cancelledJobIsMirroredAsRevoked() {
      String startup = "Mirror-Cancel-" + shortId();
      provider.hold(startup);
      try {
        String id = submit(http, startup);
        HeldCall running = provider.nextCall(startup, WAIT);
        awaitHash(redis, id, h -> "STARTED".equals(h.get("state")));

        HttpJson.Reply cancel = http.delete("/api/v1/jobs/" + id);
        assertThat(cancel.status()).as("DELETE: %s", cancel.body()).isEqualTo(200);
        assertThat(cancel.text("state")).isEqualTo("REVOKED");

        Map<String, String> revoked = awaitHash(redis, id, h -> "REVOKED".equals(h.get("state")));
        assertThat(revoked)
            .containsEntry("result", "")
            .containsEntry("error", "cancelled by a client");
        // The call that was running when the job was cancelled answers late: it changes nothing.
        running.answer("too late");
        assertHashMatchesApiAndJob(http, node.baseUrl(), redis, id);
        assertFinishedTtl(redis, id);
        assertThat(eventNames(redis, id)).containsExactly("submitted", "started", "revoked");
      } finally {
        provider.release(startup);
      }
    }

    @Test
    @DisplayName(
        "a job's events arrive in order on <prefix>events, and its states never go backwards")
    void eventsArriveInOrder() {
      String id = submit(http, "Mirror-Events-" + shortId());

      Await.until(
          WAIT, "the job's succeeded event", () -> eventNames(redis, id).contains("succeeded"));
      List<JsonNode> events = redis.eventsOf(id);
      // Three steps: one started, a step_completed for each step but the last, whose completion
      // is the job's success.
      assertThat(events)
          .extracting(e -> e.path("event").asText())
          .containsExactly("submitted", "started", "step_completed", "step_completed", "succeeded");
      List<String> states = events.stream().map(e -> e.path("state").asText()).toList();
      assertThat(states.get(0)).as("state when submitted").isIn("PENDING", "STARTED");
      assertThat(states.subList(1, 4)).as("states while running").containsOnly("STARTED");
      assertThat(states.get(4)).as("final state").isEqualTo("SUCCESS");
      Instant previousAt = Instant.MIN;
      int previousRank = -1;
      for (JsonNode e : events) {
        assertThat(e.path("job_id").asText()).isEqualTo(id);
        assertThat(e.path("event").asText()).isNotEmpty();
        Instant at = Instant.parse(e.path("at").asText());
        assertThat(at).as("'at' of %s", e).isAfterOrEqualTo(previousAt);
        assertThat(rank(e.path("state").asText()))
            .as("state of %s after a state of rank %d", e, previousRank)
            .isGreaterThanOrEqualTo(previousRank);
        previousAt = at;
        previousRank = rank(e.path("state").asText());
      }
      assertThat(events.get(4).path("result").asText()).isEqualTo(redis.job(id).get("result"));
    }

    @Test
    @DisplayName(
        "reads are answered from the mirror while it has the job, from the job once the hash is gone")
    void readsComeFromTheMirror() throws IOException {
      String startup = "Mirror-Reads-" + shortId();
      String id = submit(http, startup);
      Map<String, String> done = awaitHash(redis, id, h -> "SUCCESS".equals(h.get("state")));
      String realResult = done.get("result");
      assertThat(realResult).contains(startup);

      // The mirror is an external store: a value only it holds proves where the answer comes from.
      ObjectNode planted = (ObjectNode) json(done.get("view"));
      planted.put("result", "planted in the mirror");
      redis.hset(redis.jobKey(id), "view", MAPPER.writeValueAsString(planted));

      HttpJson.Reply job = http.get("/api/v1/jobs/" + id);
      assertThat(job.status()).isEqualTo(200);
      assertThat(job.text("result")).isEqualTo("planted in the mirror");
      HttpJson.Reply seed = http.get("/status/" + id);
      assertThat(seed.status()).isEqualTo(200);
      assertThat(seed.text("state")).isEqualTo("SUCCESS");
      assertThat(seed.text("result")).isEqualTo("planted in the mirror");

      // Without the hash, the job itself answers, with the real result.
      redis.del(redis.jobKey(id));
      HttpJson.Reply fromJob = http.get("/api/v1/jobs/" + id);
      assertThat(fromJob.status()).isEqualTo(200);
      assertThat(fromJob.text("state")).isEqualTo("SUCCESS");
      assertThat(fromJob.text("result")).isEqualTo(realResult);
      assertThat(http.get("/status/" + id).text("result")).isEqualTo(realResult);

      // A job that exists nowhere is still a JSON 404.
      HttpJson.Reply unknown = http.get("/api/v1/jobs/" + UUID.randomUUID());
      assertThat(unknown.status()).isEqualTo(404);
      assertThat(unknown.text("error")).isEqualTo("unknown_job");
    }

    @Test
    @DisplayName(
        "the node publishes its figures to <prefix>node:<name> with a TTL, listed in <prefix>nodes")
    void nodeStatsArePublished() {
      String nodeKey = redis.nodeKey(node.nodeName());
      Await.until(WAIT, "no call in flight on the node", () -> node.metrics().inFlight() == 0);
      Map<String, String> idle = awaitHash(redis, nodeKey, h -> "0".equals(h.get("in_flight")));
      assertThat(idle)
          .containsEntry("node", node.nodeName())
          .containsEntry("callers", "4")
          .containsEntry("queue_depth", "0")
          .containsKey("heartbeat");
      assertThat(Long.parseLong(idle.get("heartbeat")))
          .isBetween(System.currentTimeMillis() - 10_000, System.currentTimeMillis() + 1_000);
      assertThat(redis.pttl(nodeKey)).as("PTTL of the node's stats").isBetween(1L, 10_000L);
      assertThat(redis.members(redis.nodesKey())).contains(node.nodeName());

      // Two calls held in flight: Redis and the cluster overview show them.
      String one = "Mirror-Stats-1-" + shortId();
      String two = "Mirror-Stats-2-" + shortId();
      provider.hold(one);
      provider.hold(two);
      try {
        submit(http, one);
        submit(http, two);
        HeldCall first = provider.nextCall(one, WAIT);
        HeldCall second = provider.nextCall(two, WAIT);
        Map<String, String> busy = awaitHash(redis, nodeKey, h -> "2".equals(h.get("in_flight")));
        assertThat(busy).containsEntry("callers", "4").containsEntry("queue_depth", "0");
        assertThat(Long.parseLong(busy.get("heartbeat")))
            .isGreaterThanOrEqualTo(Long.parseLong(idle.get("heartbeat")));

        JsonNode overview = http.get("/api/v1/cluster").body();
        JsonNode self = null;
        for (JsonNode n : overview.path("nodes")) {
          if (node.nodeName().equals(n.path("node").asText())) self = n;
        }
        assertThat(self).as("this node in %s", overview).isNotNull();
        assertThat(self.path("callers").asText()).isEqualTo("4");
        assertThat(self.path("in_flight").asText()).isEqualTo("2");
        assertThat(self.path("queue_depth").asText()).isEqualTo("0");
        // The held calls are answered: the figures go back to idle.
        first.answer("notes");
        second.answer("notes");
      } finally {
        provider.release(one);
        provider.release(two);
      }
      awaitHash(redis, nodeKey, h -> "0".equals(h.get("in_flight")));
    }
  }

  // ------------------------------------------------------------------------------------------

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  @DisplayName("through a Redis outage")
  class ThroughARedisOutage {
    /** reports.redis.mirror-refresh and health-interval of this node. */
    private static final Duration MIRROR_REFRESH = Duration.ofSeconds(2);

    private static final Duration HEALTH_INTERVAL = Duration.ofMillis(500);

    /**
     * How long Redis stays down: past 16 s, where Lettuce's default reconnect backoff (doubling up
     * to 30 s) would next retry only after about 33 s.
     */
    private static final Duration OUTAGE = Duration.ofSeconds(18);

    /**
     * How soon the node sees a restarted Redis: health-interval is also the reconnect attempt
     * interval (application.conf), whatever the outage's length; the margin covers a loaded
     * machine.
     */
    private static final Duration RECONNECT = HEALTH_INTERVAL.plusSeconds(2);

    /**
     * The convergence bound after Redis is back: a missed transition is rewritten at the first
     * health check that finds Redis up, a running job re-announces itself every mirror-refresh; the
     * margin covers the jobs finishing.
     */
    private static final Duration CONVERGENCE = Duration.ofSeconds(10);

    private TestDatabase db;
    private RedisServer server;
    private RedisProbe redis;
    private HeldCallsProvider provider;
    private ReportNode node;
    private HttpJson http;

    @BeforeAll
    void startNode() {
      db = new TestDatabase();
      server = RedisServer.start();
      redis = new RedisProbe(server.url(), RedisProbe.uniquePrefix());
      Config config =
          db.nodeConfig(
              """
          reports.redis.url = "%s"
          reports.redis.prefix = "%s"
          reports.redis.finished-ttl = %ds
          reports.redis.mirror-refresh = %dms
          reports.redis.health-interval = %dms
          reports.redis.command-timeout = 1s
          reports.job.steps = [a, b, c]
          """
                  .formatted(
                      server.url(),
                      redis.prefix(),
                      FINISHED_TTL_SECONDS,
                      MIRROR_REFRESH.toMillis(),
                      HEALTH_INTERVAL.toMillis()));
      provider = new HeldCallsProvider(simulated(config, Duration.ofMillis(150)));
      node = ReportNode.start(config, ProviderRegistry.of(provider));
      http = new HttpJson(node.baseUrl());
      Await.until(
          WAIT,
          "node sees its Redis",
          () -> "ok".equals(http.get("/api/v1/health").text("status")));
    }

    @AfterAll
    void stopNode() {
      try {
        // Whatever a failed test left held is answered, so that the node stops promptly.
        if (provider != null) provider.releaseAll();
        if (node != null) node.close();
      } finally {
        try {
          if (redis != null) redis.close();
        } finally {
          if (server != null) server.close();
          if (db != null) db.close();
        }
      }
    }

    @Test
    @DisplayName(
        "jobs go on while Redis is down, and the mirror converges once it is back, even empty")
    void jobsGoOnAndTheMirrorConverges() {
      List<String> all = new ArrayList<>();

      // Before: 8 jobs, their first calls held so that every one is unfinished when Redis dies.
      List<String> before = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        String startup = "Outage-Before-" + i;
        provider.hold(startup);
        before.add(submit(http, startup));
      }
      all.addAll(before);
      for (String id : before) awaitHash(redis, id, h -> !h.isEmpty());

      server.kill();
      long killedAt = System.nanoTime();
      for (int i = 0; i < 8; i++) provider.release("Outage-Before-" + i);

      // Down: the node says so, and is still healthy enough to serve (200).
      HttpJson.Reply degraded =
          awaitReply(
              () -> http.get("/api/v1/health"),
              r -> "degraded".equals(r.text("status")),
              "health degraded");
      assertThat(degraded.status()).isEqualTo(200);
      assertThat(degraded.text("redis")).isEqualTo("unreachable");
      assertThat(degraded.text("live_events")).isEqualTo("unavailable");

      // Submits are still accepted, reads still answered (from the jobs).
      List<String> during = submitMany(http, "Outage-During", 8);
      all.addAll(during);
      for (String id : all) {
        HttpJson.Reply r = http.get("/api/v1/jobs/" + id);
        assertThat(r.status()).as("GET %s during the outage: %s", id, r.body()).isEqualTo(200);
        assertThat(r.text("job_id")).isEqualTo(id);
      }
      assertThat(http.get("/api/v1/cluster").status()).isEqualTo(200);

      // A job's event stream says live events are unavailable, and still follows the job to its
      // end.
      try (SseClient sse =
          SseClient.connect(node.baseUrl() + "/api/v1/jobs/" + during.get(7) + "/events")) {
        SseClient.Event notice = sse.nextEvent(WAIT);
        assertThat(notice.event()).isEqualTo("notice");
        assertThat(notice.json().path("detail").asText()).contains("live events are unavailable");
        List<SseClient.Event> states =
            sse.eventsUntil(
                Duration.ofSeconds(20), e -> TERMINAL.contains(e.json().path("state").asText()));
        assertThat(states).extracting(SseClient.Event::event).containsOnly("state");
        assertThat(states.get(states.size() - 1).json().path("state").asText())
            .isEqualTo("SUCCESS");
        sse.assertEndsWithoutEvents(WAIT);
      }
      Await.until(
          Duration.ofSeconds(20),
          "the jobs submitted so far finish during the outage",
          () -> succeeded(db, all).size() == all.size());

      // Redis stays down for OUTAGE, long enough for a client's exponential reconnect backoff to
      // grow past the documented bounds. Meanwhile jobs keep coming and finish, one after another.
      for (int i = 0; Duration.ofNanos(System.nanoTime() - killedAt).compareTo(OUTAGE) < 0; i++) {
        String id = submit(http, "Outage-Long-" + i);
        all.add(id);
        Await.until(
            WAIT,
            id + " SUCCESS in the journal during the outage",
            () -> succeeded(db, List.of(id)).size() == 1);
        HttpJson.Reply r = http.get("/status/" + id);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.text("state")).isEqualTo("SUCCESS");
        assertThat(http.get("/api/v1/health").text("status")).isEqualTo("degraded");
      }

      // Other jobs are still running when Redis comes back: here their last step is held, and
      // answered once the node sees Redis again, so they finish right after it is back.
      List<String> acrossRestart = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        String startup = "Outage-Across-" + i;
        provider.holdFromStep(startup, 2);
        acrossRestart.add(submit(http, startup));
      }
      all.addAll(acrossRestart);
      List<HeldCall> lastSteps = new ArrayList<>();
      for (int i = 0; i < 4; i++) lastSteps.add(provider.nextCall("Outage-Across-" + i, WAIT));
      assertThat(server.isAlive()).as("Redis still down").isFalse();

      server.restart();
      long restartedAt = System.nanoTime();
      assertThat(redis.job(before.get(0))).as("the restarted Redis is empty").isEmpty();
      all.addAll(submitMany(http, "Outage-After", 4));
      awaitReply(
          () -> http.get("/api/v1/health"),
          r -> "up".equals(r.text("redis")),
          "the node sees Redis again within " + RECONNECT.toMillis() + " ms of its restart",
          RECONNECT);
      // One after the other, so that their last transitions fall at different points of the first
      // health-check interval after the reconnection (when the repairs of the outage are written).
      for (int i = 0; i < lastSteps.size(); i++) {
        HeldCall call = lastSteps.get(i);
        call.answer("Summary: " + call.request().startup() + " survived the outage.");
        String id = acrossRestart.get(i);
        Await.until(
            WAIT, id + " SUCCESS in the journal", () -> succeeded(db, List.of(id)).size() == 1);
      }
      for (int i = 0; i < 4; i++) provider.release("Outage-Across-" + i);

      // Convergence: every job finishes, and its hash says what the job says...
      Await.until(
          remaining(CONVERGENCE, restartedAt),
          "all " + all.size() + " jobs SUCCESS in the journal",
          () -> succeeded(db, all).size() == all.size());
      awaitNone(
          remaining(CONVERGENCE, restartedAt),
          "job whose hash does not say SUCCESS",
          () -> notConverged(redis, all));
      // ...and stays so: a health check after convergence (it repairs before it writes the node's
      // heartbeat, on the same connection) puts back no older state.
      long convergedAt = System.currentTimeMillis();
      awaitHash(
          redis,
          redis.nodeKey(node.nodeName()),
          remaining(CONVERGENCE, restartedAt),
          h -> h.containsKey("heartbeat") && Long.parseLong(h.get("heartbeat")) > convergedAt);
      assertThat(notConverged(redis, all))
          .as("jobs whose hash went back after a health check")
          .isEmpty();
      for (String id : all) {
        Map<String, String> hash = redis.job(id);
        JsonNode job = jobItself(node.baseUrl(), id);
        assertThat(hash.get("state"))
            .as("mirrored state of %s", id)
            .isEqualTo(job.path("state").asText());
        assertThat(json(hash.get("view"))).as("mirrored view of %s", id).isEqualTo(job);
        assertThat(redis.ttl(redis.jobKey(id)))
            .as("TTL of finished %s", id)
            .isBetween(1L, FINISHED_TTL_SECONDS);
      }

      // None lost, none done twice: each job's journal holds each step once and one success.
      Map<String, Integer> steps = db.countEvents("StepCompleted");
      Map<String, Integer> successes = db.countEvents("Succeeded");
      for (String id : all) {
        assertThat(steps.get("ReportJob|" + id)).as("steps of %s", id).isEqualTo(3);
        assertThat(successes.get("ReportJob|" + id)).as("successes of %s", id).isEqualTo(1);
      }

      HttpJson.Reply ok =
          awaitReply(
              () -> http.get("/api/v1/health"), r -> "ok".equals(r.text("status")), "health ok");
      assertThat(ok.text("redis")).isEqualTo("up");
      assertThat(ok.text("live_events")).isEqualTo("up");
    }
  }

  // ------------------------------------------------------------------------------------------

  @Nested
  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  @DisplayName("with a bound on unconfirmed writes (reports.redis.max-pending-repairs)")
  class WithABoundOnUnconfirmedWrites {
    private static final int MAX_PENDING = 4;
    private static final int RUNNING = 6;
    private static final int FINISHED = 6;
    private static final Duration MIRROR_REFRESH = Duration.ofSeconds(2);
    private static final Duration HEALTH_INTERVAL = Duration.ofMillis(500);

    /** mirror-refresh + health-interval, and a margin for a loaded machine. */
    private static final Duration CONVERGENCE = Duration.ofSeconds(10);

    private TestDatabase db;
    private RedisServer server;
    private RedisProbe redis;
    private HeldCallsProvider provider;
    private ReportNode node;
    private HttpJson http;

    @BeforeAll
    void startNode() {
      db = new TestDatabase();
      server = RedisServer.start();
      redis = new RedisProbe(server.url(), RedisProbe.uniquePrefix());
      Config config =
          db.nodeConfig(
              """
          reports.redis.url = "%s"
          reports.redis.prefix = "%s"
          reports.redis.finished-ttl = %ds
          reports.redis.mirror-refresh = %dms
          reports.redis.health-interval = %dms
          reports.redis.command-timeout = 1s
          reports.redis.max-pending-repairs = %d
          reports.job.steps = [a, b, c]
          # The held calls of the running jobs, and a free caller for the jobs that finish.
          reports.llm.callers = 8
          """
                  .formatted(
                      server.url(),
                      redis.prefix(),
                      FINISHED_TTL_SECONDS,
                      MIRROR_REFRESH.toMillis(),
                      HEALTH_INTERVAL.toMillis(),
                      MAX_PENDING));
      provider = new HeldCallsProvider(simulated(config, Duration.ofMillis(30)));
      node = ReportNode.start(config, ProviderRegistry.of(provider));
      http = new HttpJson(node.baseUrl());
      Await.until(
          WAIT,
          "node sees its Redis",
          () -> "ok".equals(http.get("/api/v1/health").text("status")));
    }

    @AfterAll
    void stopNode() {
      try {
        if (provider != null) provider.releaseAll();
        if (node != null) node.close();
      } finally {
        try {
          if (redis != null) redis.close();
        } finally {
          if (server != null) server.close();
          if (db != null) db.close();
        }
      }
    }

    @Test
    @DisplayName(
        "during an outage the unconfirmed writes stay at the bound, running jobs' views are dropped first; "
            + "once Redis is back running jobs converge by their refresh, finished ones kept are repaired, finished ones "
            + "dropped are read from the job")
    void unconfirmedWritesStayAtTheBound() {
      // Running jobs, every call held: each is STARTED at step a, mirrored, nothing left to repair.
      List<String> running = new ArrayList<>();
      List<HeldCall> calls = new ArrayList<>();
      for (int i = 0; i < RUNNING; i++) {
        provider.hold("Bound-Running-" + i);
        running.add(submit(http, "Bound-Running-" + i));
        calls.add(provider.nextCall("Bound-Running-" + i, WAIT));
      }
      for (String id : running) awaitHash(redis, id, h -> "STARTED".equals(h.get("state")));
      Await.until(
          WAIT, "every write confirmed", () -> metric("reports_mirror_pending_repairs") == 0);
      double droppedBefore = metric("reports_mirror_repairs_dropped_total");

      server.kill();
      awaitReply(
          () -> http.get("/api/v1/health"),
          r -> "degraded".equals(r.text("status")),
          "health degraded");

      // Every running job completes step a and starts step b: 6 jobs with news Redis has not seen.
      for (int i = 0; i < RUNNING; i++) {
        calls.get(i).answer("notes on a");
        calls.set(i, provider.nextCall("Bound-Running-" + i, WAIT));
        String id = running.get(i);
        Await.until(
            WAIT,
            id + " at step b",
            () -> "b".equals(http.get("/api/v1/jobs/" + id).text("current_step")));
        assertThat(metric("reports_mirror_pending_repairs"))
            .as("unconfirmed writes after %d jobs moved", i + 1)
            .isLessThanOrEqualTo(MAX_PENDING);
      }
      assertThat(metric("reports_mirror_pending_repairs")).isEqualTo(MAX_PENDING);
      assertThat(metric("reports_mirror_repairs_dropped_total") - droppedBefore)
          .as("views dropped")
          .isGreaterThanOrEqualTo(RUNNING - MAX_PENDING);

      // Jobs that finish during the outage, one after the other: their final views are kept before
      // any
      // running job's, and past the bound the oldest finished one goes.
      List<String> finished = new ArrayList<>();
      for (int i = 0; i < FINISHED; i++) {
        String id = submit(http, "Bound-Finished-" + i);
        finished.add(id);
        Await.until(
            WAIT, id + " SUCCESS in the journal", () -> succeeded(db, List.of(id)).size() == 1);
        assertThat(metric("reports_mirror_pending_repairs"))
            .as("unconfirmed writes after %d jobs finished", i + 1)
            .isLessThanOrEqualTo(MAX_PENDING);
      }
      assertThat(metric("reports_mirror_pending_repairs")).isEqualTo(MAX_PENDING);
      List<String> keptFinished = finished.subList(FINISHED - MAX_PENDING, FINISHED);
      List<String> droppedFinished = finished.subList(0, FINISHED - MAX_PENDING);

      server.restart();
      assertThat(redis.job(running.get(0))).as("the restarted Redis is empty").isEmpty();
      awaitReply(
          () -> http.get("/api/v1/health"),
          r -> "up".equals(r.text("redis")),
          "the node sees Redis again");

      // Finished jobs whose view was kept: repaired at the first health check.
      for (String id : keptFinished)
        awaitHash(redis, id, CONVERGENCE, h -> "SUCCESS".equals(h.get("state")));
      // Running jobs, all dropped from the repairs: their own refresh writes them again.
      for (String id : running) awaitMirrorEqualsJob(node.baseUrl(), redis, id, "after the outage");
      for (String id : running) assertThat(redis.job(id)).containsEntry("current_step", "b");
      Await.until(
          WAIT, "nothing left to repair", () -> metric("reports_mirror_pending_repairs") == 0);
      // Finished jobs whose final view was dropped: the emptied Redis has no hash for them (unless
      // the
      // job was woken since, which re-announces it), so reads ask the job, and answer right.
      for (String id : droppedFinished) {
        assertThat(redis.job(id).getOrDefault("state", "SUCCESS"))
            .as("hash of %s", id)
            .isEqualTo("SUCCESS");
        HttpJson.Reply r = http.get("/api/v1/jobs/" + id);
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.text("state")).isEqualTo("SUCCESS");
      }

      // The running jobs go on to the end, mirrored all the way.
      for (int i = 0; i < RUNNING; i++) provider.release("Bound-Running-" + i);
      Await.until(
          WAIT,
          "running jobs SUCCESS in the journal",
          () -> succeeded(db, running).size() == RUNNING);
      awaitNone(
          CONVERGENCE, "job whose hash does not say SUCCESS", () -> notConverged(redis, running));
    }

    /** A value of this node's /metrics (Prometheus text), summed over its label sets. */
    private double metric(String name) {
      try {
        java.net.http.HttpResponse<String> r =
            java.net.http.HttpClient.newHttpClient()
                .send(
                    java.net.http.HttpRequest.newBuilder(
                            java.net.URI.create(node.baseUrl() + "/metrics"))
                        .build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        List<String> lines =
            r.body()
                .lines()
                .filter(l -> l.startsWith(name + "{") || l.startsWith(name + " "))
                .toList();
        assertThat(lines).as("%s in /metrics", name).isNotEmpty();
        return lines.stream()
            .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
            .sum();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // helpers

  private static LlmProvider simulated(Config config, Duration latency) {
    SimulatedProvider.Settings s =
        SimulatedProvider.Settings.fromConfig(config.getConfig("reports.llm.simulated"));
    return new SimulatedProvider(s.withLatency(latency, 0.3));
  }

  private static String shortId() {
    return UUID.randomUUID().toString().substring(0, 8);
  }

  private static String submit(HttpJson http, String startup) {
    HttpJson.Reply r = http.postJson("/api/v1/jobs", "{\"startup\": \"" + startup + "\"}");
    assertThat(r.status()).as("submit %s: %s", startup, r.body()).isEqualTo(202);
    return r.text("job_id");
  }

  private static List<String> submitMany(HttpJson http, String prefix, int count) {
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) ids.add(submit(http, prefix + "-" + i));
    return ids;
  }

  private static Duration remaining(Duration bound, long sinceNanos) {
    Duration left = bound.minus(Duration.ofNanos(System.nanoTime() - sinceNanos));
    return left.isNegative() ? Duration.ZERO : left;
  }

  /** The jobs whose hash does not say SUCCESS, with what it says. */
  private static List<String> notConverged(RedisProbe redis, List<String> ids) {
    List<String> out = new ArrayList<>();
    for (String id : ids) {
      Map<String, String> h = redis.job(id);
      if (!"SUCCESS".equals(h.get("state"))) {
        out.add(
            id
                + " ("
                + h.get("startup")
                + "): state="
                + h.get("state")
                + " ttl="
                + redis.ttl(redis.jobKey(id)));
      }
    }
    return out;
  }

  /** The ids among {@code ids} whose journal holds a Succeeded event. */
  private static Set<String> succeeded(TestDatabase db, List<String> ids) {
    Set<String> done = new java.util.HashSet<>();
    Map<String, Integer> counts = db.countEvents("Succeeded");
    for (String id : ids) if (counts.containsKey("ReportJob|" + id)) done.add(id);
    return done;
  }

  private static Map<String, String> awaitHash(
      RedisProbe redis, String jobIdOrKey, Predicate<Map<String, String>> ok) {
    return awaitHash(redis, jobIdOrKey, WAIT, ok);
  }

  /** Waits until the hash (a job id, or a full key under the prefix) satisfies {@code ok}. */
  private static Map<String, String> awaitHash(
      RedisProbe redis, String jobIdOrKey, Duration deadline, Predicate<Map<String, String>> ok) {
    String key = jobIdOrKey.startsWith(redis.prefix()) ? jobIdOrKey : redis.jobKey(jobIdOrKey);
    List<Map<String, String>> last = new ArrayList<>(List.of(Map.of()));
    try {
      Await.until(
          deadline,
          "hash " + key,
          () -> {
            last.set(0, redis.hash(key));
            return ok.test(last.get(0));
          });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; last seen: " + last.get(0), e);
    }
    return last.get(0);
  }

  /** Waits until {@code probe} finds nothing; the failure lists what it found last. */
  private static void awaitNone(Duration deadline, String what, Supplier<List<String>> probe) {
    List<List<String>> last = new ArrayList<>(List.of(List.of()));
    try {
      Await.until(
          deadline,
          "no " + what,
          () -> {
            last.set(0, probe.get());
            return last.get(0).isEmpty();
          });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; last seen: " + last.get(0), e);
    }
  }

  private static HttpJson.Reply awaitReply(
      Supplier<HttpJson.Reply> probe, Predicate<HttpJson.Reply> ok, String what) {
    return awaitReply(probe, ok, what, WAIT);
  }

  private static HttpJson.Reply awaitReply(
      Supplier<HttpJson.Reply> probe,
      Predicate<HttpJson.Reply> ok,
      String what,
      Duration deadline) {
    List<HttpJson.Reply> last = new ArrayList<>();
    last.add(null);
    try {
      Await.until(
          deadline,
          what,
          () -> {
            last.set(0, probe.get());
            return ok.test(last.get(0));
          });
    } catch (AssertionError e) {
      throw new AssertionError(
          e.getMessage() + "; last seen: " + (last.get(0) == null ? null : last.get(0).body()), e);
    }
    return last.get(0);
  }

  /**
   * The job's view as the job itself (the entity) answers it, not the mirror: the first event of
   * its event stream.
   */
  private static JsonNode jobItself(String base, String id) {
    try (SseClient sse = SseClient.connect(base + "/api/v1/jobs/" + id + "/events")) {
      List<SseClient.Event> events = sse.eventsUntil(WAIT, e -> e.event().equals("state"));
      return events.get(events.size() - 1).json();
    }
  }

  /** The hash's fields and its view agree with GET /api/v1/jobs/{id} and with the job itself. */
  private static void assertHashMatchesApiAndJob(
      HttpJson http, String base, RedisProbe redis, String id) {
    Map<String, String> hash = redis.job(id);
    HttpJson.Reply reply = http.get("/api/v1/jobs/" + id);
    assertThat(reply.status()).isEqualTo(200);
    JsonNode api = reply.body();
    assertThat(hash)
        .containsKeys(
            "state", "startup", "attempts", "result", "error", "node", "updated_at", "view");
    assertThat(hash.get("state")).as("state").isEqualTo(api.path("state").asText());
    assertThat(hash.get("startup")).as("startup").isEqualTo(api.path("startup").asText());
    assertThat(hash.get("attempts")).as("attempts").isEqualTo(api.path("attempts").asText());
    assertThat(hash.get("result")).as("result").isEqualTo(textOrEmpty(api, "result"));
    assertThat(hash.get("error")).as("error").isEqualTo(textOrEmpty(api, "error"));
    assertThat(hash.get("node")).as("node").isEqualTo(api.path("node").asText());
    assertThat(hash.get("current_step"))
        .as("current_step")
        .isEqualTo(textOrEmpty(api, "current_step"));
    assertThat(Instant.parse(hash.get("updated_at")))
        .as("updated_at")
        .isEqualTo(Instant.parse(api.path("updated_at").asText()));
    assertThat(json(hash.get("view"))).as("view").isEqualTo(api);
    assertThat(jobItself(base, id)).as("the job's own view").isEqualTo(api);
  }

  private static void awaitMirrorEqualsJob(String base, RedisProbe redis, String id, String when) {
    List<Object> last = new ArrayList<>(List.of("", ""));
    try {
      Await.until(
          WAIT,
          "mirror of " + id + " equals the job " + when,
          () -> {
            JsonNode mirrored = json(redis.job(id).getOrDefault("view", "{}"));
            JsonNode job = jobItself(base, id);
            last.set(0, mirrored);
            last.set(1, job);
            return mirrored.equals(job);
          });
    } catch (AssertionError e) {
      throw new AssertionError(
          e.getMessage() + "\n mirror: " + last.get(0) + "\n job:    " + last.get(1), e);
    }
  }

  private static void assertFinishedTtl(RedisProbe redis, String id) {
    assertThat(redis.ttl(redis.jobKey(id)))
        .as("TTL of a finished job's hash (finished-ttl %d s)", FINISHED_TTL_SECONDS)
        .isBetween(1L, FINISHED_TTL_SECONDS);
  }

  private static List<String> eventNames(RedisProbe redis, String id) {
    return redis.eventsOf(id).stream().map(e -> e.path("event").asText()).toList();
  }

  /** States only move forward: waiting, running (or waiting to retry), finished. */
  private static int rank(String state) {
    return switch (state) {
      case "PENDING" -> 0;
      case "STARTED", "RETRY" -> 1;
      default -> TERMINAL.contains(state) ? 2 : -10;
    };
  }

  private static String textOrEmpty(JsonNode node, String field) {
    JsonNode v = node.path(field);
    return v.isMissingNode() || v.isNull() ? "" : v.asText();
  }

  private static JsonNode json(String text) {
    try {
      return MAPPER.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
