package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.BudgetedLlmServer;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.JobsClient;
import io.reportcluster.node.testkit.NodeCluster;
import io.reportcluster.node.testkit.NodeProcess;
import io.reportcluster.node.testkit.Scrape;
import io.reportcluster.node.testkit.TestDatabase;
import io.reportcluster.node.testkit.TestRedis;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * The providers' budgets across a cluster of node processes (PostgreSQL, the shared Redis under a
 * prefix of this class's own), each provider entry pointed at a stand-in that enforces the limit
 * the way a provider does: it answers 429 to whatever goes over, and records what it admitted, so
 * the test reads the busiest window the provider saw. Limits count per 6 s window instead of a
 * minute, so that a run of several windows takes seconds.
 *
 * <p>One cluster for every case, warmed up before anything is measured: three nodes, then two once
 * one has left. Each case uses a provider entry of its own (its budget lives under its own keys):
 * {@code openai} for requests (configured as operators do it, through its environment variables),
 * {@code tokens} for tokens, {@code unlimited} for the warm-up and a burst of 429s.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class BudgetClusterIT {
  private static final Duration WINDOW = Duration.ofSeconds(6);
  private static final int STEPS = 5;

  /** Callers per node (reports.llm.callers' default): calls one node may have in flight. */
  private static final int CALLERS = 4;

  /**
   * Requests per window. Less the 5% headroom this cluster keeps (see {@link #launch}), the nodes
   * plan 57 a window ~105 ms apart, and no window ever holds more than 57 whatever the burst, while
   * two nodes of four callers on 200 ms answers could make 40 a second. The budget binds. The 3
   * requests between 57 and the limit are the room for jitter: a request may reach the provider
   * ~300 ms later than the one after it (a node descheduled on two busy cores) and still not count
   * in a window with too many. (The default 2% is 12 requests, 1.2 s, at 600 a minute.)
   */
  private static final int RPM = 60;

  private static final long TPM = 12_000;

  /** Far more than the 20-token answers: each call reserves it, and gives most of it back. */
  private static final int MAX_OUTPUT_TOKENS = 1000;

  private static final String KEY = "sk-test-budget";

  private BudgetedLlmServer requests;
  private BudgetedLlmServer tokens;
  private BudgetedLlmServer unlimited;
  private Cluster cluster;

  @BeforeAll
  void startCluster() {
    BudgetedLlmServer.Settings answers =
        BudgetedLlmServer.Settings.unlimited()
            .withDelay(Duration.ofMillis(200))
            .withWords(20)
            .withApiKey(KEY);
    requests = BudgetedLlmServer.start(answers.withRequests(RPM, WINDOW));
    tokens = BudgetedLlmServer.start(answers.withTokens(TPM, WINDOW));
    unlimited = BudgetedLlmServer.start(answers);
    cluster = launch(3);
  }

  @AfterAll
  void stopCluster() {
    try {
      if (cluster != null) cluster.close();
    } finally {
      for (BudgetedLlmServer s : new BudgetedLlmServer[] {requests, tokens, unlimited})
        if (s != null) s.close();
    }
  }

  @Test
  @Order(1)
  @DisplayName(
      "three nodes share one request budget: no window over the limit, no 429, and the limit used")
  void threeNodesKeepToOneRequestBudget() {
    assertThat(cluster.size()).isEqualTo(3);
    keepToTheRequestLimit(cluster, 30);
  }

  @Test
  @Order(2)
  @DisplayName("a node leaves: the two that remain keep to the same request budget")
  void twoNodesKeepToOneRequestBudget() {
    cluster.processes().leaveLast();
    assertThat(cluster.size()).isEqualTo(2);
    keepToTheRequestLimit(cluster, 30);
  }

  @Test
  @Order(3)
  @DisplayName(
      "a token budget counts what the calls used, not what they reserved: unused tokens come back")
  void tokensReservedButNotUsedAreGivenBack() {
    List<String> urls = baseUrls(cluster);
    JobsClient client = new JobsClient(https(cluster));
    List<String> ids = client.submit(20, i -> job("Tokens-" + i, "tokens"));
    double allSubmitted = tokens.clockMs();
    Map<String, JsonNode> views = client.awaitFinished(ids, Duration.ofSeconds(60));

    // Each call reserves more than its max output tokens: kept to the end, the reservations would
    // let at most this many calls into a window.
    long unsettledCalls = (long) Math.floor(TPM * 0.95) / MAX_OUTPUT_TOKENS;
    List<Integer> perWindow = tokens.requestsPerFullWindow(allSubmitted);
    double mean = perWindow.stream().mapToInt(Integer::intValue).average().orElse(0);
    String figures =
        String.format(
            "most tokens in a %d s window %d of %d; calls per full window %s (mean %.1f), against"
                + " %d if reserved tokens were never given back; %d 429s",
            WINDOW.toSeconds(),
            tokens.maxTokensInAnyWindow(),
            TPM,
            perWindow,
            mean,
            unsettledCalls,
            tokens.rateLimited());
    // What was measured, for the build log (a failure says it too).
    System.out.println("BudgetClusterIT tokens: " + figures);

    assertThat(JobsClient.notSucceeded(views)).as("jobs not SUCCESS").isEmpty();
    assertThat(tokens.rateLimited()).as("429s the provider sent (%s)", figures).isZero();
    assertThat(tokens.maxTokensInAnyWindow())
        .as("most tokens in any window (%s)", figures)
        .isLessThanOrEqualTo(TPM);
    assertThat(perWindow).as("full windows of the run (%s)", figures).isNotEmpty();
    assertThat(mean)
        .as("calls per full window (%s)", figures)
        .isGreaterThanOrEqualTo(2.0 * unsettledCalls);
    assertThat(Scrape.sum(urls, "reports_llm_budget_denied_total", Map.of("provider", "tokens")))
        .as("calls held back for tokens (the budget did bind)")
        .isPositive();
  }

  @Test
  @Order(4)
  @DisplayName(
      "a 429 pauses every node: the calls already in flight get it, the queued ones wait, all finish")
  void a429PausesTheWholeCluster() {
    List<String> urls = baseUrls(cluster);
    int callers = CALLERS * cluster.size();
    JobsClient client = new JobsClient(https(cluster));
    // Twice as many jobs as callers: while some calls are in flight others are queued, and it is
    // those that a node without the cooldown would send into the 429s.
    unlimited.resetRecords();
    List<String> ids = client.submit(2 * callers, i -> job("Storm-" + i, "unlimited"));
    Await.until(
        Duration.ofSeconds(30),
        "the provider answering the jobs' calls",
        () -> unlimited.admitted().size() >= 2 * callers);
    unlimited.rateLimitFor(Duration.ofMillis(1500));
    Map<String, JsonNode> views = client.awaitFinished(ids, Duration.ofSeconds(60));

    double cooldowns =
        Scrape.sum(urls, "reports_llm_cooldowns_total", Map.of("provider", "unlimited"));
    String figures =
        String.format(
            "%d 429s sent to %d callers; %.0f cluster-wide pauses begun",
            unlimited.rateLimited(), callers, cooldowns);
    // What was measured, for the build log (a failure says it too).
    System.out.println("BudgetClusterIT 429 storm: " + figures);

    assertThat(JobsClient.notSucceeded(views)).as("jobs not SUCCESS").isEmpty();
    // At most the calls in flight when the provider started refusing, plus those the other
    // nodes' callers started before they saw the pause: a provider without limits is paused
    // through a cache each node refreshes every recheck (100 ms), shorter than a call, so each
    // caller of another node starts at most one call in that window.
    int bound = callers + (cluster.size() - 1) * CALLERS;
    assertThat(unlimited.rateLimited())
        .as("429s: at most %d (%s)", bound, figures)
        .isBetween(1, bound);
    // Usually one: the first 429 begins the pause and the others find it running. Two if a 429
    // sent at the very end of the provider's pause reached its node after the first pause ended.
    assertThat(cooldowns)
        .as("pauses begun, summed over the nodes (%s)", figures)
        .isBetween(1.0, 2.0);
    assertThat(
            Scrape.sum(
                urls,
                "reports_llm_budget_denied_total",
                Map.of("provider", "unlimited", "reason", "cooldown")))
        .as("calls held back by the pause instead of being sent")
        .isPositive();
  }

  /** A cluster on a schema and a Redis prefix of its own. */
  private record Cluster(TestDatabase db, TestRedis redis, NodeCluster processes)
      implements AutoCloseable {
    int size() {
      return processes.size();
    }

    List<NodeProcess> nodes() {
      return processes.nodes();
    }

    @Override
    public void close() {
      try {
        processes.close();
      } finally {
        try {
          redis.close();
        } finally {
          db.close();
        }
      }
    }
  }

  /** Starts {@code size} nodes, every provider entry configured, and warms them up. */
  private Cluster launch(int size) {
    TestDatabase db = new TestDatabase();
    TestRedis redis = new TestRedis();
    Map<String, String> props = new HashMap<>();
    props.put("reports.redis.url", redis.url());
    props.put("reports.redis.prefix", redis.prefix());
    entry(props, "tokens", tokens, KEY);
    props.put("reports.llm.providers.tokens.limits.tpm", Long.toString(TPM));
    props.put(
        "reports.llm.providers.tokens.max-output-tokens", Integer.toString(MAX_OUTPUT_TOKENS));
    entry(props, "unlimited", unlimited, KEY);
    // Time runs ten times faster here than in a provider's minute: 60 requests a window are
    // ~100 ms apart, as 600 a minute are. A call that asks for its slot a little late (a timer
    // tick, a Redis round trip, ~25 ms on two busy cores) loses that time for good unless the
    // burst lets the next one catch up. 600 a minute get a burst of 6 from the default 1%; 1% of
    // 60 is no burst at all, so this cluster allows 2 (4%), paid out of the budget as always.
    props.put("reports.llm.limits.burst", "0.04");
    props.put("reports.llm.limits.headroom", "0.05");
    // The steps a 429 failed retry soon (never before its Retry-After).
    props.put("reports.retry.backoff-base", "500ms");
    Map<String, String> env =
        Map.of(
            "REPORTS_LIMIT_WINDOW", WINDOW.toSeconds() + "s",
            "REPORTS_OPENAI_BASE_URL", requests.baseUrl(),
            "REPORTS_OPENAI_API_KEY", KEY,
            "REPORTS_OPENAI_RPM", Integer.toString(RPM),
            "REPORTS_LLM_CALLERS", Integer.toString(CALLERS));
    NodeCluster nodes;
    try {
      nodes = NodeCluster.start(size, db, props, env);
    } catch (RuntimeException | Error e) {
      redis.close();
      db.close();
      throw e;
    }
    Cluster cluster = new Cluster(db, redis, nodes);
    try {
      warmUp(cluster);
    } catch (RuntimeException | Error e) {
      cluster.close();
      throw e;
    }
    return cluster;
  }

  /**
   * Jobs on the provider without limits, until every node has answered some: the nodes' first calls
   * (code not yet compiled, connections not yet open) are slow and would count against the measured
   * runs, which need every node to ask for its slot on time.
   */
  private static void warmUp(Cluster cluster) {
    JobsClient client = new JobsClient(https(cluster));
    List<String> ids = client.submit(4 * cluster.size(), i -> job("Warm-up-" + i, "unlimited"));
    assertThat(JobsClient.notSucceeded(client.awaitFinished(ids, Duration.ofSeconds(60))))
        .as("warm-up jobs not SUCCESS")
        .isEmpty();
  }

  /** An extra {@code openai}-type entry, configured the way the built-in ones are. */
  private static void entry(
      Map<String, String> props, String name, BudgetedLlmServer server, String key) {
    String at = "reports.llm.providers." + name + ".";
    props.put(at + "type", "openai");
    props.put(at + "base-url", server.baseUrl());
    props.put(at + "api-key", key);
    props.put(at + "model", "stand-in-" + name);
  }

  /**
   * Runs {@code jobs} jobs of five steps on {@code openai} over the whole cluster, and checks what
   * the provider saw: every window within the limit, no 429, the limit used; and that every node
   * made calls, every job succeeded with one attempt per step (a call held back for budget is not
   * an attempt), and queued calls said what they waited for.
   */
  private void keepToTheRequestLimit(Cluster cluster, int jobs) {
    requests.resetRecords();
    List<String> urls = baseUrls(cluster);
    Map<String, Long> startedBefore = callsStarted(cluster);
    double grantedBefore = granted(urls);
    JobsClient client = new JobsClient(https(cluster));
    long t0 = System.nanoTime();
    List<String> ids = client.submit(jobs, i -> job("Budget-" + i, "openai"));
    // From here every job waits for a call or makes one: the windows are busy.
    double allSubmitted = requests.clockMs();
    JsonNode waiting = awaitAWaitingJob(client, ids);
    Map<String, JsonNode> views = client.awaitFinished(ids, Duration.ofSeconds(90));
    double seconds = (System.nanoTime() - t0) / 1e9;

    int busiest = requests.maxRequestsInAnyWindow();
    List<Integer> perWindow = requests.requestsPerFullWindow(allSubmitted);
    double used = perWindow.stream().mapToInt(Integer::intValue).average().orElse(0) / RPM;
    String figures =
        String.format(
            "%d nodes, %d calls in %.1f s: busiest %d s window %d of %d; full windows after the"
                + " last submit %s, %.1f%% of the limit; %d 429s",
            cluster.size(),
            jobs * STEPS,
            seconds,
            WINDOW.toSeconds(),
            busiest,
            RPM,
            perWindow,
            100 * used,
            requests.rateLimited());
    // What was measured, for the build log (a failure says it too).
    System.out.println("BudgetClusterIT requests: " + figures);

    assertThat(JobsClient.notSucceeded(views)).as("jobs not SUCCESS").isEmpty();
    assertThat(requests.rateLimited()).as("429s the provider sent (%s)", figures).isZero();
    assertThat(busiest).as("most requests in any window (%s)", figures).isLessThanOrEqualTo(RPM);
    assertThat(perWindow)
        .as("full windows of the run (%s)", figures)
        .hasSizeGreaterThanOrEqualTo(2);
    assertThat(used).as("share of the limit used (%s)", figures).isGreaterThanOrEqualTo(0.9);
    views.forEach(
        (id, v) ->
            assertThat(v.path("attempts").asInt()).as("attempts of %s", id).isEqualTo(STEPS));
    assertThat(requests.admitted()).as("calls the provider answered").hasSize(jobs * STEPS);
    callsStarted(cluster)
        .forEach(
            (node, n) ->
                assertThat(n - startedBefore.getOrDefault(node, 0L))
                    .as("calls started by %s", node)
                    .isPositive());
    assertThat(waiting.path("waiting_for").path("provider").asText()).isEqualTo("openai");
    assertThat(waiting.path("waiting_for").path("reason").asText()).isEqualTo("requests");
    assertThat(granted(urls) - grantedBefore)
        .as("calls granted budget, counted by the nodes' budget-wait histograms")
        .isEqualTo(jobs * STEPS);
    for (String url : urls) {
      assertThat(
              Scrape.sum(
                  url,
                  "reports_llm_budget_limit",
                  Map.of("provider", "openai", "kind", "requests")))
          .as("the limit %s reads from REPORTS_OPENAI_RPM", url)
          .isEqualTo(RPM);
    }
  }

  /** A job of the run whose view says it waits for budget (the budget binds: one soon does). */
  private static JsonNode awaitAWaitingJob(JobsClient client, List<String> ids) {
    AtomicReference<JsonNode> seen = new AtomicReference<>();
    Await.until(
        Duration.ofSeconds(30),
        "a job's view showing waiting_for",
        () -> {
          for (String id : ids) {
            JsonNode v = client.view(id);
            if (v.path("waiting_for").isObject()) {
              seen.set(v);
              return true;
            }
          }
          return false;
        });
    JsonNode v = seen.get();
    assertThat(Instant.parse(v.path("waiting_for").path("until").asText()))
        .as("until of %s", v.path("waiting_for"))
        .isBefore(Instant.now().plus(WINDOW));
    return v;
  }

  private static double granted(List<String> urls) {
    return Scrape.sum(urls, "reports_llm_budget_wait_seconds_count", Map.of("provider", "openai"));
  }

  private static String job(String startup, String provider) {
    return "{\"startup\": \"" + startup + "\", \"provider\": \"" + provider + "\"}";
  }

  private static List<HttpJson> https(Cluster cluster) {
    return cluster.nodes().stream().map(n -> new HttpJson(n.baseUrl())).toList();
  }

  private static List<String> baseUrls(Cluster cluster) {
    return cluster.nodes().stream().map(NodeProcess::baseUrl).toList();
  }

  private static Map<String, Long> callsStarted(Cluster cluster) {
    Map<String, Long> started = new HashMap<>();
    for (NodeProcess n : cluster.nodes()) {
      started.put(
          n.name(),
          new HttpJson(n.baseUrl())
              .get("/api/v1/node/stats")
              .body()
              .path("calls_started")
              .asLong());
    }
    return started;
  }
}
