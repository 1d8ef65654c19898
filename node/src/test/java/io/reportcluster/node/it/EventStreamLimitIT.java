package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.GatedProvider;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.SseClient;
import io.reportcluster.node.testkit.TestDatabase;
import io.reportcluster.node.testkit.TestRedis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * A node serves at most {@code reports.http.max-sse-streams} server-sent-event streams at once, job
 * streams and the all-events stream together (3 here). Past it a new stream is {@code 503
 * too_many_streams} JSON with Retry-After, not a stream; a slot comes back when a stream ends or
 * its client disconnects. Real node, real Redis, real HTTP.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
@DisplayName("the per-node limit of SSE streams")
class EventStreamLimitIT {
  private static final int MAX_STREAMS = 3;
  private static final String HELD = "held-";
  private static final Duration WAIT = Duration.ofSeconds(15);

  private TestDatabase db;
  private TestRedis redis;
  private GatedProvider provider;
  private ReportNode node;
  private HttpJson http;
  private final List<SseClient> clients = new ArrayList<>();

  @BeforeAll
  void startNode() {
    db = new TestDatabase();
    redis = new TestRedis();
    Config config =
        db.nodeConfig(
            String.join(
                "\n",
                redis.nodeConfig(),
                "reports.http.max-sse-streams = " + MAX_STREAMS,
                // Short, so that a client that went away is noticed at the next heartbeat at the
                // latest.
                "reports.http.sse-heartbeat = 300ms"));
    SimulatedProvider.Settings sim =
        SimulatedProvider.Settings.fromConfig(config.getConfig("reports.llm.simulated"));
    provider =
        new GatedProvider(new SimulatedProvider(sim.withLatency(Duration.ofMillis(20), 0.3)), HELD);
    node = ReportNode.start(config, ProviderRegistry.of(provider));
    http = new HttpJson(node.baseUrl());
    Await.until(
        WAIT, "live events up", () -> "up".equals(http.get("/api/v1/health").text("live_events")));
  }

  @AfterEach
  void closeClients() {
    clients.forEach(SseClient::close);
    clients.clear();
  }

  @AfterAll
  void stopNode() {
    if (provider != null) provider.releaseAll();
    try {
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
      "past the limit, both kinds of stream are refused with 503 too_many_streams and Retry-After")
  void pastTheLimitStreamsAreRefused() {
    String job = heldJob();
    open("/api/v1/jobs/" + job + "/events");
    open("/api/v1/events");
    open("/api/v1/events");

    for (String path : List.of("/api/v1/events", "/api/v1/jobs/" + job + "/events"))
      assertRefused(path);
    // Other requests are not streams: they are served as usual.
    assertThat(http.get("/api/v1/jobs/" + job).status()).isEqualTo(200);
    assertThat(http.get("/api/v1/jobs/" + UUID.randomUUID() + "/events").status())
        .as("unknown job")
        .isEqualTo(404);
    provider.release(job);
  }

  @Test
  @DisplayName("a client that disconnects gives its slot back: exactly one more stream can open")
  void aDisconnectedClientFreesItsSlot() {
    String job = heldJob();
    SseClient leaving = open("/api/v1/jobs/" + job + "/events");
    open("/api/v1/events");
    open("/api/v1/events");
    assertRefused("/api/v1/events");

    leaving.close();
    clients.remove(leaving);
    SseClient next =
        Await.value(
            WAIT,
            "a new stream is accepted once a client went away",
            () -> SseClient.connect(node.baseUrl() + "/api/v1/events"),
            this::keepIfOpen);
    clients.add(next);
    assertRefused("/api/v1/events"); // the slot freed is taken again
    provider.release(job);
  }

  @Test
  @DisplayName(
      "a stream that ends (its job finished) gives its slot back, and so does a finished job's one-event stream")
  void anEndedStreamFreesItsSlot() {
    String job = heldJob();
    SseClient following = open("/api/v1/jobs/" + job + "/events");
    open("/api/v1/events");
    open("/api/v1/events");
    assertRefused("/api/v1/jobs/" + job + "/events");

    provider.release(job);
    following.eventsUntil(WAIT, e -> e.event().equals("succeeded"));
    following.assertEndsWithoutEvents(WAIT);

    // The job is finished: its stream is one event, then the end. Each one frees its slot.
    for (int i = 0; i < 2 * MAX_STREAMS; i++) {
      SseClient finished =
          Await.value(
              WAIT,
              "a stream for the finished job is accepted",
              () -> SseClient.connect(node.baseUrl() + "/api/v1/jobs/" + job + "/events"),
              this::keepIfOpen);
      assertThat(finished.nextEvent(WAIT).json().path("state").asText()).isEqualTo("SUCCESS");
      finished.assertEndsWithoutEvents(WAIT);
      finished.close();
    }
    SseClient last =
        Await.value(
            WAIT,
            "the third slot is free",
            () -> SseClient.connect(node.baseUrl() + "/api/v1/events"),
            this::keepIfOpen);
    clients.add(last);
    assertRefused("/api/v1/events");
  }

  // ------------------------------------------------------------------ helpers

  /** A job running on the node, its first call held until released. */
  private String heldJob() {
    HttpJson.Reply r =
        http.postJson("/api/v1/jobs", "{\"startup\": \"" + HELD + UUID.randomUUID() + "\"}");
    assertThat(r.status()).as("submit: %s", r.body()).isEqualTo(202);
    String id = r.text("job_id");
    Await.until(WAIT, "job " + id + " held at its first call", () -> provider.isHolding(id));
    return id;
  }

  /**
   * Opens a stream, waiting for a slot if streams of the previous test are still being closed, and
   * waits for its first event or heartbeat.
   */
  private SseClient open(String path) {
    SseClient c =
        Await.value(
            WAIT,
            "a stream of " + path + " accepted",
            () -> SseClient.connect(node.baseUrl() + path),
            this::keepIfOpen);
    clients.add(c);
    c.next(WAIT);
    return c;
  }

  /**
   * A new stream of {@code path} is refused: 503 too_many_streams JSON with Retry-After, not a
   * stream.
   */
  private void assertRefused(String path) {
    try (SseClient refused = SseClient.connect(node.baseUrl() + path)) {
      assertThat(refused.status())
          .as("GET %s with %d streams open", path, MAX_STREAMS)
          .isEqualTo(503);
      assertThat(refused.isEventStream()).isFalse();
      assertThat(refused.contentType()).isEqualTo("application/json");
      assertThat(refused.jsonBody().path("error").asText()).isEqualTo("too_many_streams");
      assertThat(refused.jsonBody().path("detail").asText())
          .contains("at most " + MAX_STREAMS + " event streams");
      assertThat(refused.header("Retry-After"))
          .as("Retry-After")
          .hasValueSatisfying(v -> assertThat(Long.parseLong(v)).isPositive());
    }
  }

  /**
   * Accepts an open stream; closes and refuses anything else (a 503 while the slot is not back
   * yet).
   */
  private boolean keepIfOpen(SseClient c) {
    if (c.status() == 200) return true;
    c.close();
    return false;
  }
}
