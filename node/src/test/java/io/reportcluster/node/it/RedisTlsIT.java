package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.reportcluster.node.redis.RedisKeys;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.FreePorts;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.NodeProcess;
import io.reportcluster.node.testkit.RedisServer;
import io.reportcluster.node.testkit.TestCertificates;
import io.reportcluster.node.testkit.TestDatabase;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A node on a private Redis that speaks only TLS and admits only an ACL user with a password
 * ({@code rediss://user:password@host:port}, its certificate checked against the test CA): the
 * status mirror works and health says Redis is up. A node with a wrong password runs degraded, and
 * says why in its log, and neither password appears in a log line or a response of either node.
 */
class RedisTlsIT {
  private static final String USER = "reports-node";
  private static final String PASSWORD = "pw-" + UUID.randomUUID();
  private static final String WRONG = "wrong-" + UUID.randomUUID();
  private static final String PREFIX = "rc-tls:";

  private static TestCertificates ca;
  private static RedisServer redis;
  private static TestDatabase db;
  private static TestDatabase wrongDb;
  private static NodeProcess good;
  private static NodeProcess wrong;

  /** Every body either node answered in this test. */
  private static final List<String> answers = new ArrayList<>();

  @BeforeAll
  static void start() throws IOException {
    ca = TestCertificates.newCa("redis");
    redis = RedisServer.startTls(ca, USER, PASSWORD);
    assertThat(redis.url()).startsWith("rediss://").contains(PASSWORD);
    db = new TestDatabase();
    wrongDb = new TestDatabase();
    // Both at once: two JVMs start faster side by side than one after the other.
    good = startNode("redis-tls", db, redis.url());
    wrong = startNode("redis-tls-wrong", wrongDb, redis.url().replace(PASSWORD, WRONG));
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {good, wrong, redis, db, wrongDb, ca}) {
      try {
        if (c != null) c.close();
      } catch (Exception e) {
        // best effort
      }
    }
  }

  /** The URL (with its password) is given as operators give it: in the environment. */
  private static NodeProcess startNode(String name, TestDatabase database, String url)
      throws IOException {
    List<Integer> ports = FreePorts.pick(2);
    return NodeProcess.start(
        name,
        "postgres.conf",
        ports.get(0),
        ports.get(1),
        Map.of(
            "reports.db.url",
            database.url(),
            "reports.db.user",
            TestDatabase.USER,
            "pekko.management.http.port",
            "0",
            "reports.redis.prefix",
            PREFIX,
            "reports.redis.tls.trust-store",
            ca.caPem().toString(),
            "reports.llm.simulated.latency-median",
            "20ms"),
        Map.of("REPORTS_REDIS_URL", url, "JAVA_TOOL_OPTIONS", "-XX:TieredStopAtLevel=1"),
        "io.reportcluster.node.Main");
  }

  private static HttpJson.Reply get(NodeProcess node, String path) {
    HttpJson.Reply r = new HttpJson(node.baseUrl()).get(path);
    synchronized (answers) {
      answers.add(r.raw().body());
    }
    return r;
  }

  /** The Prometheus page (text, not JSON). */
  private static void scrape(NodeProcess node) {
    try {
      HttpResponse<String> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(URI.create(node.baseUrl() + "/metrics")).build(),
                  HttpResponse.BodyHandlers.ofString());
      assertThat(r.statusCode()).isEqualTo(200);
      synchronized (answers) {
        answers.add(r.body());
      }
    } catch (IOException | InterruptedException e) {
      throw new AssertionError("scrape of " + node.name() + " failed", e);
    }
  }

  private static String redisHealth(NodeProcess node) {
    try {
      return get(node, "/api/v1/health").text("redis");
    } catch (AssertionError notYet) {
      return null;
    }
  }

  @Test
  void aJobIsMirroredThroughTlsWithThePassword() {
    Await.until(
        Duration.ofSeconds(90),
        "redis up on " + good.name() + " (log: " + good.log() + ")",
        () -> "up".equals(redisHealth(good)));
    HttpJson.Reply health = get(good, "/api/v1/health");
    assertThat(health.text("status")).isEqualTo("ok");

    HttpJson.Reply submitted =
        new HttpJson(good.baseUrl()).postJson("/api/v1/jobs", "{\"startup\": \"TlsRedisCo\"}");
    answers.add(submitted.raw().body());
    assertThat(submitted.status()).as("submit: %s", submitted.body()).isEqualTo(202);
    String id = submitted.text("job_id");

    // Read back over TLS with the same credentials, as redis-cli --tls would.
    RedisClient client = RedisClient.create(RedisURI.create(redis.url()));
    client.setOptions(
        ClientOptions.builder()
            .sslOptions(
                SslOptions.builder().jdkSslProvider().trustManager(ca.caPem().toFile()).build())
            .build());
    try (StatefulRedisConnection<String, String> c = client.connect()) {
      String key = new RedisKeys(PREFIX).job(id);
      Await.until(
          Duration.ofSeconds(60),
          "job " + id + " SUCCESS in the mirror hash " + key,
          () -> "SUCCESS".equals(c.sync().hget(key, "state")));
    } finally {
      client.shutdown();
    }
    get(good, "/api/v1/jobs/" + id);
    get(good, "/api/v1/cluster");
    get(good, "/api/v1/node/stats");
    scrape(good);
  }

  @Test
  void aWrongPasswordDegradesAndIsNeverShown() throws IOException {
    // The node starts, runs without its mirror, and says why (once) in its log.
    Await.until(
        Duration.ofSeconds(90),
        wrong.name() + " logs why Redis cannot be used (log: " + wrong.log() + ")",
        () -> logOf(wrong).contains("WRONGPASS"));
    HttpJson.Reply health = get(wrong, "/api/v1/health");
    assertThat(health.status()).isEqualTo(200);
    assertThat(health.text("redis")).isEqualTo("unreachable");
    assertThat(health.text("status")).isEqualTo("degraded");
    String why =
        logOf(wrong).lines().filter(l -> l.contains("WRONGPASS")).findFirst().orElseThrow();
    assertThat(why).contains("rediss://127.0.0.1:" + redis.port()).doesNotContain(USER + ":");
    get(wrong, "/api/v1/cluster");
    get(wrong, "/api/v1/node/stats");
    scrape(wrong);

    // Checked after both nodes have run: what either of them logged or answered.
    Await.until(
        Duration.ofSeconds(90), "redis up on " + good.name(), () -> "up".equals(redisHealth(good)));
    get(good, "/api/v1/cluster");
    get(good, "/api/v1/node/stats");
    scrape(good);
    for (NodeProcess n : List.of(good, wrong)) {
      assertThat(logOf(n)).as("%s's log", n.name()).doesNotContain(PASSWORD).doesNotContain(WRONG);
    }
    synchronized (answers) {
      assertThat(answers).isNotEmpty();
      for (String body : answers) assertThat(body).doesNotContain(PASSWORD).doesNotContain(WRONG);
    }
  }

  private static String logOf(NodeProcess n) {
    try {
      return Files.readString(n.log().toPath());
    } catch (IOException e) {
      return "";
    }
  }
}
