package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.BudgetedLlmServer;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.JobsClient;
import io.reportcluster.node.testkit.NodeCluster;
import io.reportcluster.node.testkit.NodeProcess;
import io.reportcluster.node.testkit.RedisServer;
import io.reportcluster.node.testkit.TestDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A provider's budget while Redis is away: two node processes on a redis-server of the test's own,
 * killed (SIGKILL) while the budget binds and started again, empty, a few seconds later. Meanwhile
 * each node keeps to its share (half of each limit), so the provider, a stand-in that answers 429
 * to whatever goes over its limit, never sees more than the limit in any window; once Redis is back
 * the nodes share one budget again, and every job ends in SUCCESS.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class BudgetRedisOutageIT {
  private static final Duration WINDOW = Duration.ofSeconds(3);
  private static final int RPM = 30;
  private static final String KEY = "sk-test-outage";

  private TestDatabase db;
  private RedisServer redis;
  private BudgetedLlmServer provider;
  private BudgetedLlmServer unlimited;
  private NodeCluster cluster;

  @BeforeEach
  void startCluster() {
    db = new TestDatabase();
    redis = RedisServer.start();
    BudgetedLlmServer.Settings answers =
        BudgetedLlmServer.Settings.unlimited()
            .withDelay(Duration.ofMillis(200))
            .withWords(20)
            .withApiKey(KEY);
    provider = BudgetedLlmServer.start(answers.withRequests(RPM, WINDOW));
    unlimited = BudgetedLlmServer.start(answers);
    Map<String, String> props =
        Map.of(
            "reports.redis.url",
            redis.url(),
            "reports.redis.prefix",
            "rc-outage-" + UUID.randomUUID().toString().substring(0, 8) + ":",
            "reports.llm.providers.unlimited.type",
            "openai",
            "reports.llm.providers.unlimited.base-url",
            unlimited.baseUrl(),
            "reports.llm.providers.unlimited.api-key",
            KEY,
            // Room for ~300 ms of jitter (a node descheduled on two busy cores) and for the switch
            // to shares (a node's share counts its own calls of the window, not its peer's) is 15%
            // of a 3 s window of 30: 4 requests, not the default 2%'s 0.6 (12 at 600 a minute).
            "reports.llm.limits.headroom",
            "0.15",
            // A limit that never binds: the warm-up's calls then take the budget's own path
            // (its Redis scripts loaded, its code compiled) before the measured ones do.
            "reports.llm.providers.unlimited.limits.rpm",
            "100000");
    Map<String, String> env =
        Map.of(
            "REPORTS_LIMIT_WINDOW",
            "3s",
            "REPORTS_OPENAI_BASE_URL",
            provider.baseUrl(),
            "REPORTS_OPENAI_API_KEY",
            KEY,
            "REPORTS_OPENAI_RPM",
            Integer.toString(RPM));
    cluster = NodeCluster.start(2, db, props, env);
    // The nodes' first calls are slow (code not yet compiled, connections not yet open): made on
    // a provider without limits, they do not delay the measured ones past their slots.
    JobsClient warmUp = new JobsClient(https());
    List<String> ids = warmUp.submit(8, i -> job("Warm-up-" + i, "unlimited"));
    assertThat(JobsClient.notSucceeded(warmUp.awaitFinished(ids, Duration.ofSeconds(60))))
        .as("warm-up jobs not SUCCESS")
        .isEmpty();
  }

  @AfterEach
  void stopCluster() {
    try {
      if (cluster != null) cluster.close();
    } finally {
      if (provider != null) provider.close();
      if (unlimited != null) unlimited.close();
      if (redis != null) redis.close();
      if (db != null) db.close();
    }
  }

  @Test
  @DisplayName(
      "Redis away: each node keeps to its share and no window goes over the limit; back: one budget"
          + " again, and every job succeeds")
  void eachNodeKeepsToItsShareWhileRedisIsAway() {
    JobsClient client = new JobsClient(https());
    List<String> ids = client.submit(24, i -> job("Outage-" + i, "openai"));
    Await.until(
        Duration.ofSeconds(30),
        "the nodes calling the provider on their shared budget",
        () -> provider.admitted().size() >= RPM);

    double killedAt = provider.clockMs();
    int beforeOutage = provider.admitted().size();
    redis.kill();
    for (NodeProcess n : cluster.nodes()) {
      awaitLog(n, "rate limits: Redis unreachable", "this node keeps to its share, 1/2");
    }
    double onSharesAt = provider.clockMs();
    // A window and a half on shares: long enough for a window to lie wholly in the outage.
    Await.until(
        Duration.ofSeconds(30),
        "calls made while Redis is away",
        () -> provider.admitted().size() - beforeOutage >= RPM * 3 / 2);

    double restartedAt = provider.clockMs();
    redis.restart();
    for (NodeProcess n : cluster.nodes()) {
      awaitLog(n, "rate limits: Redis is back");
    }
    Map<String, JsonNode> views = client.awaitFinished(ids, Duration.ofSeconds(90));

    BudgetedLlmServer.Window busiest = provider.busiestWindow();
    List<Integer> onShares = provider.requestsPerFullWindow(onSharesAt, restartedAt);
    // Each node's share: 14 a window (half of 30, less 2%), one at a time.
    int shares = 2 * (int) Math.floor(RPM * 0.85 / 2);
    String figures =
        String.format(
            "busiest %d s window %d of %d, from %.1f s after the kill (Redis back %.1f s after it);"
                + " full windows on shares %s (the shares add up to %d); %d calls, %d 429s",
            WINDOW.toSeconds(),
            busiest.requests(),
            RPM,
            (busiest.fromMs() - killedAt) / 1000,
            (restartedAt - killedAt) / 1000,
            onShares,
            shares,
            provider.admitted().size(),
            provider.rateLimited());
    // What was measured, for the build log (a failure says it too).
    System.out.println("BudgetRedisOutageIT outage: " + figures);

    assertThat(JobsClient.notSucceeded(views)).as("jobs not SUCCESS").isEmpty();
    assertThat(provider.rateLimited()).as("429s the provider sent (%s)", figures).isZero();
    assertThat(busiest.requests())
        .as("most requests in any window (%s)", figures)
        .isLessThanOrEqualTo(RPM);
    assertThat(onShares).as("windows on shares (%s)", figures).isNotEmpty();
    assertThat(onShares)
        .as("requests in each window while Redis was away (%s)", figures)
        .allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(shares));
  }

  /** Waits until the node's log has a line holding every one of {@code parts}. */
  private static void awaitLog(NodeProcess node, String... parts) {
    Await.until(
        Duration.ofSeconds(20),
        node.name() + "'s log saying " + String.join(" ... ", parts) + " (" + node.log() + ")",
        () -> read(node).lines().anyMatch(l -> Arrays.stream(parts).allMatch(l::contains)));
  }

  private static String read(NodeProcess node) {
    try {
      return Files.readString(node.log().toPath());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String job(String startup, String provider) {
    return "{\"startup\": \"" + startup + "\", \"provider\": \"" + provider + "\"}";
  }

  private List<HttpJson> https() {
    return cluster.nodes().stream().map(n -> new HttpJson(n.baseUrl())).toList();
  }
}
