package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.job.ReportJob;
import io.reportcluster.node.llm.provider.LlmCall;
import io.reportcluster.node.llm.provider.LlmProvider;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.SimulatedProvider;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.Calls;
import io.reportcluster.node.testkit.FreePorts;
import io.reportcluster.node.testkit.GatedProvider;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.SseClient;
import io.reportcluster.node.testkit.TestDatabase;
import io.reportcluster.node.testkit.TestRedis;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Live job events across a two-node cluster (static seed nodes): a client on node B follows jobs
 * whose entities run on node A, through Redis pub/sub, over real HTTP server-sent events. One
 * cluster serves every test of the class (starting one costs ~10 s).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClusterEventsIT {
  /** Jobs whose startup begins with this wait at their first call until the test releases them. */
  private static final String HELD = "held-";

  /** In a held job's name: its first call streams text, then waits for the test (see Streaming). */
  private static final String STREAMED = "streamed-";

  private static final String NODE_A = "node-a";
  private static final String NODE_B = "node-b";
  private static final List<String> AFTER_EACH_STEP =
      List.of("competitors", "team", "risks", "synthesis");

  private TestDatabase db;
  private TestRedis redis;
  private GatedProvider provider;
  private Streaming streaming;
  private ReportNode a;
  private ReportNode b;
  private HttpJson httpA;
  private HttpJson httpB;

  @BeforeAll
  void startTwoNodeCluster() {
    db = new TestDatabase();
    redis = new TestRedis();
    List<Integer> ports = FreePorts.pick(2);
    Config configA = nodeConfig(NODE_A, ports.get(0), ports.get(0));
    Config configB = nodeConfig(NODE_B, ports.get(1), ports.get(0));
    SimulatedProvider.Settings sim =
        SimulatedProvider.Settings.fromConfig(configA.getConfig("reports.llm.simulated"));
    // One provider object for both nodes: a held job is released wherever its entity runs.
    streaming = new Streaming(new SimulatedProvider(sim.withLatency(Duration.ofMillis(40), 0.3)));
    provider = new GatedProvider(streaming, HELD);
    a = ReportNode.start(configA, ProviderRegistry.of(provider));
    b = ReportNode.start(configB, ProviderRegistry.of(provider));
    httpA = new HttpJson(a.baseUrl());
    httpB = new HttpJson(b.baseUrl());

    Await.until(
        Duration.ofSeconds(30),
        "both nodes see two members Up",
        () -> upMembers(httpA).size() == 2 && upMembers(httpB).size() == 2);
    assertThat(upMembers(httpA)).isEqualTo(upMembers(httpB));
    // Both shard regions registered, so jobs are spread over both nodes from the first one on.
    Await.until(
        Duration.ofSeconds(30),
        "both shard regions registered with the coordinator",
        () -> shardRegions(a) == 2 && shardRegions(b) == 2);
  }

  @AfterAll
  void stopCluster() {
    if (provider != null) provider.releaseAll();
    try {
      if (b != null) b.close();
    } finally {
      try {
        if (a != null) a.close();
      } finally {
        try {
          if (redis != null) redis.close();
        } finally {
          if (db != null) db.close();
        }
      }
    }
  }

  private Config nodeConfig(String name, int remotePort, int seedPort) {
    return db.nodeConfig(
        String.join(
            "\n",
            "reports.node-name = \"" + name + "\"",
            redis.nodeConfig(),
            "reports.http.sse-heartbeat = 500ms",
            "reports.redis.delta-interval = 20ms",
            "reports.db.pool-size = 4",
            "pekko.remote.artery.canonical.port = " + remotePort,
            "pekko.cluster.seed-nodes = [\"pekko://reportcluster@127.0.0.1:" + seedPort + "\"]"));
  }

  // ------------------------------------------------------------------ tests

  @Test
  void aClientOnNodeBFollowsAJobRunningOnNodeAUntilItSucceeds() {
    String id = heldJobOn(NODE_A);
    try (SseClient sse = SseClient.connect(b.baseUrl() + "/api/v1/jobs/" + id + "/events")) {
      assertThat(sse.status()).isEqualTo(200);
      assertThat(sse.contentType()).startsWith("text/event-stream");

      SseClient.Event first = sse.nextEvent(Duration.ofSeconds(10));
      assertThat(first.event()).isEqualTo("state");
      assertThat(first.json().path("job_id").asText()).isEqualTo(id);
      assertThat(first.json().path("state").asText()).isEqualTo("STARTED");
      assertThat(first.json().path("node").asText()).isEqualTo(NODE_A);

      provider.release(id);
      List<SseClient.Event> rest =
          sse.eventsUntil(
              Duration.ofSeconds(30),
              e -> !e.event().equals("started") && !e.event().equals("step_completed"));
      assertNoneOlderThan(first, rest);
      // "started" was announced just before the client came: it may arrive once more, no older.
      if (rest.get(0).event().equals("started")) rest = rest.subList(1, rest.size());
      assertThat(rest)
          .extracting(SseClient.Event::event)
          .containsExactly(
              "step_completed", "step_completed", "step_completed", "step_completed", "succeeded");
      for (SseClient.Event e : rest) {
        assertThat(e.json().path("job_id").asText()).as("job_id of %s", e).isEqualTo(id);
        assertThat(e.json().path("node").asText()).as("node of %s", e).isEqualTo(NODE_A);
      }
      assertThat(rest.subList(0, 4))
          .extracting(e -> e.json().path("current_step").asText())
          .containsExactlyElementsOf(AFTER_EACH_STEP);
      JsonNode last = rest.get(4).json();
      assertThat(last.path("state").asText()).isEqualTo("SUCCESS");
      assertThat(last.path("result").asText()).contains("Summary:");

      sse.assertEndsWithoutEvents(Duration.ofSeconds(10));
    }
  }

  @Test
  void aClientThatConnectsRightAfterSubmittingGetsNoEventOlderThanTheState() {
    // The usual client: submit, then open the job's stream at once, while events are in flight.
    for (int i = 0; i < 6; i++) {
      HttpJson via = i % 2 == 0 ? httpA : httpB;
      String id = submit(via, "eager-" + i + "-" + UUID.randomUUID());
      try (SseClient sse = SseClient.connect(b.baseUrl() + "/api/v1/jobs/" + id + "/events")) {
        SseClient.Event first = sse.nextEvent(Duration.ofSeconds(10));
        assertThat(first.event()).isEqualTo("state");
        assertThat(first.json().path("job_id").asText()).isEqualTo(id);
        List<SseClient.Event> rest =
            first.json().path("state").asText().equals("SUCCESS")
                ? List.of()
                : sse.eventsUntil(
                    Duration.ofSeconds(30), e -> e.json().path("state").asText().equals("SUCCESS"));
        assertNoneOlderThan(first, rest);
        for (SseClient.Event e : rest) assertThat(e.json().path("job_id").asText()).isEqualTo(id);
        sse.assertEndsWithoutEvents(Duration.ofSeconds(10));
      }
    }
  }

  @Test
  void aClientThatComesAfterTheEndGetsTheFinalStateAndTheStreamEnds() {
    String id = submit(httpA, "late-" + UUID.randomUUID());
    Await.until(
        Duration.ofSeconds(30),
        "job " + id + " SUCCESS",
        () -> "SUCCESS".equals(httpA.get("/api/v1/jobs/" + id).text("state")));

    try (SseClient sse = SseClient.connect(b.baseUrl() + "/api/v1/jobs/" + id + "/events")) {
      assertThat(sse.status()).isEqualTo(200);
      assertThat(sse.contentType()).startsWith("text/event-stream");
      SseClient.Event only = sse.nextEvent(Duration.ofSeconds(10));
      assertThat(only.event()).isEqualTo("state");
      assertThat(only.json().path("job_id").asText()).isEqualTo(id);
      assertThat(only.json().path("state").asText()).isEqualTo("SUCCESS");
      assertThat(only.json().path("result").asText()).contains("Summary:");
      sse.assertEndsWithoutEvents(Duration.ofSeconds(5));
    }
  }

  @Test
  void theEventsStreamOfNodeBCarriesJobsOfBothNodes() {
    try (SseClient all = SseClient.connect(b.baseUrl() + "/api/v1/events")) {
      assertThat(all.status()).isEqualTo(200);
      assertThat(all.contentType()).startsWith("text/event-stream");
      // A first heartbeat: the stream is running before any job of this test exists (events of
      // jobs let go by other tests may come too).
      Await.until(
          Duration.ofSeconds(5),
          "a heartbeat",
          () -> all.next(Duration.ofSeconds(5)) instanceof SseClient.Heartbeat);

      Map<String, String> nodeOf = new HashMap<>();
      for (int i = 0;
          i < 40 && !(nodeOf.containsValue(NODE_A) && nodeOf.containsValue(NODE_B));
          i++) {
        HttpJson via = i % 2 == 0 ? httpA : httpB;
        String id = submit(via, "all-" + i + "-" + UUID.randomUUID());
        nodeOf.put(id, via.get("/api/v1/jobs/" + id).text("node"));
      }
      assertThat(nodeOf.values()).as("jobs landed on both nodes").contains(NODE_A, NODE_B);

      Set<String> succeeded = new HashSet<>();
      Map<String, Set<String>> eventNodes = new HashMap<>();
      all.eventsUntil(
          Duration.ofSeconds(40),
          e -> {
            JsonNode json = e.json();
            String id = json.path("job_id").asText();
            if (nodeOf.containsKey(id)) {
              eventNodes.computeIfAbsent(id, k -> new HashSet<>()).add(json.path("node").asText());
              if (e.event().equals("succeeded")) succeeded.add(id);
            }
            return succeeded.equals(nodeOf.keySet());
          });
      for (Map.Entry<String, String> job : nodeOf.entrySet()) {
        assertThat(eventNodes.get(job.getKey()))
            .as("nodes named by the events of %s", job.getKey())
            .containsExactly(job.getValue());
      }
    }
  }

  @Test
  void anIdleStreamGetsHeartbeatsUntilTheJobMovesOn() {
    String id = heldJobOn(NODE_A);
    try (SseClient sse = SseClient.connect(b.baseUrl() + "/api/v1/jobs/" + id + "/events")) {
      SseClient.Event first = sse.nextEvent(Duration.ofSeconds(10));
      assertThat(first.event()).isEqualTo("state");
      assertThat(first.json().path("state").asText()).isEqualTo("STARTED");

      // The job is held at its first call: nothing happens to it for 3 s, heartbeats go on.
      int beats =
          sse.heartbeatsOnlyFor(
              Duration.ofSeconds(3), e -> e.event().equals("started") && !isOlder(e, first));
      assertThat(beats)
          .as("heartbeats in 3 s at a 500 ms heartbeat; lines: %s", sse.rawLines())
          .isBetween(3, 8);

      provider.release(id);
      List<SseClient.Event> rest =
          sse.eventsUntil(Duration.ofSeconds(30), e -> e.event().equals("succeeded"));
      assertThat(rest).extracting(SseClient.Event::event).endsWith("step_completed", "succeeded");
      sse.assertEndsWithoutEvents(Duration.ofSeconds(10));
    }
  }

  @Test
  void anUnknownJobIs404JsonNotAStream() {
    for (String id : List.of(UUID.randomUUID().toString(), "no%20such%20job")) {
      try (SseClient sse = SseClient.connect(b.baseUrl() + "/api/v1/jobs/" + id + "/events")) {
        assertThat(sse.status()).as("status for %s", id).isEqualTo(404);
        assertThat(sse.isEventStream()).isFalse();
        assertThat(sse.contentType()).startsWith("application/json");
        assertThat(sse.jsonBody().path("error").asText()).isEqualTo("unknown_job");
      }
    }
  }

  // ------------------------------------------------------------------ helpers

  /**
   * A held job (running, its first call waiting here) whose entity runs on the given node: submits
   * held jobs through node B until one lands there; the others are let go.
   */
  @Test
  void aRunningStepsTextReachesAClientOnTheOtherNodeAsDeltaEventsAndOnlyTheFinalTextIsKept() {
    String id = heldJobOn(NODE_A, STREAMED);
    try (SseClient sse = SseClient.connect(b.baseUrl() + "/api/v1/jobs/" + id + "/events")) {
      assertThat(sse.nextEvent(Duration.ofSeconds(10)).event()).isEqualTo("state");

      // The first step starts: its text streams in, and the step cannot complete meanwhile.
      provider.release(id);
      SseClient.Event delta =
          sse.eventsUntil(Duration.ofSeconds(10), e -> e.event().equals("delta")).stream()
              .filter(e -> e.event().equals("delta"))
              .findFirst()
              .orElseThrow();
      assertThat(delta.json().path("job_id").asText()).isEqualTo(id);
      assertThat(delta.json().path("delta").asText()).isEqualTo(Streaming.FIRST_WORDS);
      assertThat(delta.json().path("current_step").asText()).isEqualTo("market");
      assertThat(delta.json().path("node").asText()).isEqualTo(NODE_A);
      assertThat(httpA.get("/api/v1/jobs/" + id).body().at("/steps/0/state").asText())
          .isEqualTo("STARTED");

      // The step answers: the journal keeps its final text only.
      streaming.finish(id);
      sse.eventsUntil(Duration.ofSeconds(30), e -> e.event().equals("succeeded"));
      JsonNode job = httpB.get("/api/v1/jobs/" + id).body();
      assertThat(job.at("/steps/0/state").asText()).isEqualTo("SUCCESS");
      assertThat(job.path("result").asText()).doesNotContain(Streaming.FIRST_WORDS);
    }
  }

  /**
   * Jobs whose startup holds {@link #STREAMED} stream "first words" as soon as their first call
   * starts, then answer only when the test calls {@link #finish}; other calls go straight through.
   */
  private static final class Streaming implements LlmProvider {
    static final String FIRST_WORDS = "First words of the market section ";
    private final LlmProvider delegate;
    private final Map<String, CompletableFuture<Void>> finished = new ConcurrentHashMap<>();

    Streaming(LlmProvider delegate) {
      this.delegate = delegate;
    }

    @Override
    public String name() {
      return delegate.name();
    }

    @Override
    public LlmCall start(LlmRequest request) {
      return start(request, text -> {});
    }

    @Override
    public LlmCall start(LlmRequest request, Consumer<String> onDelta) {
      if (request.step() != 0 || !request.startup().contains(STREAMED)) {
        return delegate.start(request, onDelta);
      }
      onDelta.accept(FIRST_WORDS);
      return Calls.after(gate(request.jobId()), () -> delegate.start(request, onDelta));
    }

    void finish(String jobId) {
      gate(jobId).complete(null);
    }

    private CompletableFuture<Void> gate(String jobId) {
      return finished.computeIfAbsent(jobId, k -> new CompletableFuture<>());
    }
  }

  private String heldJobOn(String node) {
    return heldJobOn(node, "");
  }

  /** A job whose entity runs on {@code node}, its first call held; {@code tag} goes in its name. */
  private String heldJobOn(String node, String tag) {
    for (int i = 0; i < 30; i++) {
      String id = submit(httpB, HELD + tag + i + "-" + UUID.randomUUID());
      JsonNode view = httpB.get("/api/v1/jobs/" + id).body();
      if (!node.equals(view.path("node").asText())) {
        provider.release(id);
        continue;
      }
      Await.until(
          Duration.ofSeconds(15),
          "job " + id + " STARTED, its first call held",
          () ->
              provider.isHolding(id)
                  && "STARTED".equals(httpA.get("/api/v1/jobs/" + id).text("state")));
      return id;
    }
    throw new AssertionError("no job landed on " + node + " in 30 submits");
  }

  /**
   * Where a job stands in an event or a view: its last persisted change ({@code at} or {@code
   * updated_at}), then its count of attempts started. Transitions only move it forward.
   */
  private static boolean isOlder(SseClient.Event e, SseClient.Event than) {
    JsonNode a = e.json();
    JsonNode b = than.json();
    Instant atA =
        Instant.parse(a.hasNonNull("at") ? a.get("at").asText() : a.get("updated_at").asText());
    Instant atB =
        Instant.parse(b.hasNonNull("at") ? b.get("at").asText() : b.get("updated_at").asText());
    int c = atA.compareTo(atB);
    return c < 0 || (c == 0 && a.path("attempts").asInt() < b.path("attempts").asInt());
  }

  /** After the state a client got first, no event may take the job back in time. */
  private static void assertNoneOlderThan(SseClient.Event state, List<SseClient.Event> after) {
    for (SseClient.Event e : after) {
      assertThat(isOlder(e, state))
          .as("event %s came after the state %s but is older", e, state)
          .isFalse();
    }
  }

  private static String submit(HttpJson http, String startup) {
    HttpJson.Reply r = http.postJson("/api/v1/jobs", "{\"startup\": \"" + startup + "\"}");
    assertThat(r.status()).as("submit: %s", r.body()).isEqualTo(202);
    return r.text("job_id");
  }

  /** Addresses of the members a node reports Up through its cluster endpoint. */
  private static Set<String> upMembers(HttpJson http) {
    HttpJson.Reply r = http.get("/api/v1/cluster");
    Set<String> up = new HashSet<>();
    if (r.status() != 200) return up;
    for (JsonNode m : r.body().path("members")) {
      if ("Up".equals(m.path("status").asText())) up.add(m.path("address").asText());
    }
    return up;
  }

  /** How many shard regions of ReportJob the coordinator knows, as asked from this node. */
  private static int shardRegions(ReportNode node) {
    try {
      var system = node.system();
      ShardRegion.ClusterShardingStats stats =
          AskPattern
              .<org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery,
                  ShardRegion.ClusterShardingStats>
                  ask(
                      ClusterSharding.get(system).shardState(),
                      replyTo ->
                          new GetClusterShardingStats(
                              ReportJob.TYPE_KEY, Duration.ofSeconds(2), replyTo),
                      Duration.ofSeconds(3),
                      system.scheduler())
              .toCompletableFuture()
              .get(4, TimeUnit.SECONDS);
      return stats.getRegions().size();
    } catch (Exception e) {
      return -1;
    }
  }
}
