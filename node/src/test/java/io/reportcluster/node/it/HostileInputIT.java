package io.reportcluster.node.it;

import static io.reportcluster.node.it.HostileCorpus.BODY_TIMEOUT;
import static io.reportcluster.node.it.HostileCorpus.HEADER_TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.auth.ApiKey;
import io.reportcluster.node.auth.ApiKeys;
import io.reportcluster.node.auth.Tokens;
import io.reportcluster.node.http.PasswordHash;
import io.reportcluster.node.it.HostileCorpus.Case;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.RawHttp;
import io.reportcluster.node.testkit.RawHttp.Answer;
import io.reportcluster.node.testkit.TestDatabase;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A node under hostile input: the corpus of bad requests ({@link HostileCorpus}), each answered
 * with a 4xx JSON error {@code {"error", "detail"}} and no internals; clients that send their
 * headers or body too slowly, or nothing at all, cut off within the configured timeouts while
 * others are served; and after all of it the node is healthy, runs a job to SUCCESS, and none of
 * the hostile requests created a job. One node, in-process, on an embedded H2 journal.
 */
@DisplayName("hostile input: every bad request is a JSON 4xx, and the node keeps serving")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileInputIT {
  /** How late past a timeout a cut may come: the guard's sweep, a busy 2-core machine. */
  private static final Duration SLACK = Duration.ofSeconds(4);

  private static final ObjectMapper JSON = new ObjectMapper();

  /** The deployment's first admin key, given to the node at start. */
  private static final String ADMIN = Tokens.mint().token();

  private Path h2Dir;
  private ReportNode node;
  private HttpJson http;
  private HostileCorpus corpus;

  @BeforeAll
  void start() throws Exception {
    h2Dir = Files.createTempDirectory("hostile-h2");
    Config config =
        ConfigFactory.parseString(
                "reports.http.port = 0\npekko.management.http.port = 0\n"
                    + "reports.node-name = hostile-node\n"
                    + "reports.llm.simulated.latency-median = 20ms\n"
                    + "reports.http.request-header-timeout = "
                    + HEADER_TIMEOUT.toMillis()
                    + "ms\n"
                    + "reports.http.body-read-timeout = "
                    + BODY_TIMEOUT.toMillis()
                    + "ms\n"
                    + "reports.auth.enabled = on\n"
                    + "reports.auth.bootstrap-admin-token = \""
                    + ADMIN
                    + "\"\n"
                    + "reports.management.admin-user = ops\n"
                    + "reports.management.admin-password-hash = \""
                    + PasswordHash.of(HostileCorpus.ADMIN_PASSWORD.toCharArray(), 1_000).encoded()
                    + "\"\n"
                    + "reports.db.url = \"jdbc:h2:file:"
                    + h2Dir.resolve("journal")
                    + ";DB_CLOSE_DELAY=-1;WRITE_DELAY=0\"")
            .withFallback(ConfigFactory.parseFile(TestDatabase.profileFile("embedded.conf")));
    Config resolved = ConfigFactory.load(config);
    node = ReportNode.start(resolved);
    http = new HttpJson(node.baseUrl());
    String client;
    HikariConfig hc = new HikariConfig();
    hc.setJdbcUrl(resolved.getString("reports.db.url"));
    hc.setUsername(resolved.getString("reports.db.user"));
    hc.setPassword(resolved.getString("reports.db.password"));
    hc.setMaximumPoolSize(1);
    try (HikariDataSource ds = new HikariDataSource(hc)) {
      client =
          new ApiKeys(ds, Duration.ZERO).create("hostile-client", ApiKey.Role.CLIENT, 0, 0, 0, 0);
    }
    HttpJson.Reply others = submit("OthersCo");
    assertThat(others.status()).as("the admin's job: %s", others.raw().body()).isEqualTo(202);
    corpus = new HostileCorpus(new HostileCorpus.Keys(ADMIN, client, others.text("job_id")));
  }

  @AfterAll
  void stop() {
    if (node != null) node.close();
  }

  // =================================================================== the corpus

  Stream<Case> corpus() {
    return corpus.cases().stream();
  }

  @Test
  @Order(0)
  @DisplayName("the corpus holds at least 60 hostile requests")
  void corpusSize() {
    assertThat(corpus.cases()).hasSizeGreaterThanOrEqualTo(60);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("corpus")
  @Order(1)
  @DisplayName("each bad request is refused with its 4xx and a JSON error")
  void refused(Case c) throws Exception {
    Answer answer = RawHttp.exchange(node.httpAddress(), c.request());
    assertRefused(answer, c.expect().status(), c.expect().error());
  }

  // =================================================================== slow and silent clients

  @Test
  @Order(2)
  @DisplayName(
      "slowloris: headers at a byte a second get 408 and a closed connection within"
          + " request-header-timeout; another client is served meanwhile")
  void slowHeaders() throws Exception {
    byte[] head =
        ("GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + "a".repeat(500))
            .getBytes(StandardCharsets.US_ASCII);
    try (Socket slow = RawHttp.connect(node.httpAddress(), Duration.ofSeconds(1))) {
      long start = System.nanoTime();
      Answer answer = trickle(slow, head, HEADER_TIMEOUT, this::assertHealthy);
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertThat(took).isBetween(HEADER_TIMEOUT.minusMillis(500), HEADER_TIMEOUT.plus(SLACK));
      assertRefused(answer, 408, "request_timeout");
      assertThat(RawHttp.closedWithoutMore(slow.getInputStream())).as("closed").isTrue();
    }
  }

  @Test
  @Order(3)
  @DisplayName("a body at a byte a second gets 408 within body-read-timeout, and no job")
  void slowBody() throws Exception {
    String body = "{\"startup\": \"" + "SlowBodyCo".repeat(10) + "\"}";
    byte[] head =
        ("POST /api/v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Content-Length: "
                + body.length()
                + "\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII);
    try (Socket slow = RawHttp.connect(node.httpAddress(), Duration.ofSeconds(1))) {
      slow.getOutputStream().write(head);
      long start = System.nanoTime();
      Answer answer =
          trickle(slow, body.getBytes(StandardCharsets.US_ASCII), BODY_TIMEOUT, () -> {});
      Duration took = Duration.ofNanos(System.nanoTime() - start);
      assertThat(took).isBetween(BODY_TIMEOUT.minusMillis(500), BODY_TIMEOUT.plus(SLACK));
      assertRefused(answer, 408, "request_timeout");
      assertThat(RawHttp.closedWithoutMore(slow.getInputStream())).as("closed").isTrue();
    }
  }

  @Test
  @Order(3)
  @DisplayName(
      "a chunked body that never ends, or a body shorter than its Content-Length, gets 408")
  void bodiesThatNeverEnd() throws Exception {
    List<String> requests =
        List.of(
            "Transfer-Encoding: chunked\r\n\r\n5\r\n{\"sta\r\n",
            "Content-Length: 1000\r\n\r\n{\"startup\": \"Short");
    for (String rest : requests) {
      try (Socket s = RawHttp.connect(node.httpAddress(), BODY_TIMEOUT.plus(SLACK))) {
        s.getOutputStream()
            .write(
                ("POST /api/v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                        + rest)
                    .getBytes(StandardCharsets.US_ASCII));
        long start = System.nanoTime();
        assertRefused(RawHttp.read(s.getInputStream()), 408, "request_timeout");
        assertThat(Duration.ofNanos(System.nanoTime() - start))
            .isLessThan(BODY_TIMEOUT.plus(SLACK));
        assertThat(RawHttp.closedWithoutMore(s.getInputStream())).as("closed").isTrue();
      }
    }
  }

  @Test
  @Order(4)
  @DisplayName(
      "50 idle connections and a finished keep-alive one are closed (no answer: HTTP has none"
          + " to give) within request-header-timeout, while the node serves others")
  void idleConnections() throws Exception {
    List<Socket> idle = new ArrayList<>();
    try {
      for (int i = 0; i < 50; i++)
        idle.add(RawHttp.connect(node.httpAddress(), HEADER_TIMEOUT.plus(SLACK)));
      Socket keptAlive = RawHttp.connect(node.httpAddress(), HEADER_TIMEOUT.plus(SLACK));
      idle.add(keptAlive);
      keptAlive
          .getOutputStream()
          .write("GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes());
      assertThat(RawHttp.read(keptAlive.getInputStream()).status()).isEqualTo(200);
      long start = System.nanoTime();
      assertHealthy();
      for (Socket s : idle) {
        assertThat(RawHttp.closedWithoutMore(s.getInputStream()))
            .as("connection closed, nothing sent")
            .isTrue();
      }
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isLessThan(HEADER_TIMEOUT.plus(SLACK));
    } finally {
      for (Socket s : idle) s.close();
    }
  }

  @Test
  @Order(5)
  @DisplayName("pipelined garbage after a good request: the good one is answered, then 400")
  void pipelinedGarbage() throws Exception {
    try (Socket s = RawHttp.connect(node.httpAddress(), Duration.ofSeconds(20))) {
      s.getOutputStream()
          .write(
              "GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n\r\nGARBAGE GARBAGE\r\n\r\n\0\1\2"
                  .getBytes(StandardCharsets.ISO_8859_1));
      InputStream in = s.getInputStream();
      assertThat(RawHttp.read(in).status()).isEqualTo(200);
      assertRefused(RawHttp.read(in), 400, "unsupported_method");
      assertThat(RawHttp.closedWithoutMore(in)).as("closed").isTrue();
    }
  }

  // =================================================================== and after all that

  @Test
  @Order(9)
  @DisplayName(
      "after the whole corpus the node is healthy, runs a job to SUCCESS, and no bad"
          + " request made a job")
  void stillServing() {
    assertHealthy();
    HttpJson.Reply submitted = submit("AfterTheStorm");
    assertThat(submitted.status()).as("submit: %s", submitted.raw().body()).isEqualTo(202);
    String id = submitted.text("job_id");
    Await.until(
        Duration.ofSeconds(60),
        "job " + id + " SUCCESS",
        () -> "SUCCESS".equals(asAdmin("/api/v1/jobs/" + id).text("state")));
    // The read side applies the journal in order: once it lists this job, it lists every job.
    JsonNode list =
        Await.value(
            Duration.ofSeconds(30),
            "the job list shows " + id,
            () -> asAdmin("/api/v1/jobs?limit=200").body(),
            l -> l.path("jobs").toString().contains(id));
    assertThat(list.path("total").asInt())
        .as("jobs in %s: the admin's first and this one", list)
        .isEqualTo(2);
  }

  // =================================================================== helpers

  private HttpJson.Reply submit(String startup) {
    return http.post(
        "/api/v1/jobs",
        "{\"startup\": \"" + startup + "\"}",
        Map.of("Content-Type", "application/json", "Authorization", "Bearer " + ADMIN));
  }

  private HttpJson.Reply asAdmin(String path) {
    return http.send(
        HttpRequest.newBuilder(URI.create(node.baseUrl() + path))
            .header("Authorization", "Bearer " + ADMIN)
            .GET());
  }

  private void assertHealthy() {
    HttpJson.Reply health = http.get("/api/v1/health");
    assertThat(health.status()).isEqualTo(200);
    assertThat(health.text("status")).isEqualTo("ok");
  }

  /**
   * Sends {@code bytes} one a second, paced by reading the socket with a one-second timeout, until
   * the server answers or closes; runs {@code meanwhile} after the second byte. Fails once {@code
   * timeout} plus the slack has passed with the connection still open.
   */
  private static Answer trickle(Socket socket, byte[] bytes, Duration timeout, Runnable meanwhile)
      throws Exception {
    OutputStream out = socket.getOutputStream();
    InputStream in = socket.getInputStream();
    long deadline = System.nanoTime() + timeout.plus(SLACK).toNanos();
    for (int i = 0; i < bytes.length; i++) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "still open " + timeout.plus(SLACK).toSeconds() + " s later, " + i + " bytes sent");
      }
      try {
        out.write(bytes[i]);
        out.flush();
      } catch (SocketException closed) {
        break;
      }
      if (i == 1) meanwhile.run();
      socket.setSoTimeout(1000);
      int first;
      try {
        first = in.read();
      } catch (SocketTimeoutException nothingYet) {
        continue; // the pace: one byte per read timeout
      } catch (SocketException reset) {
        return Answer.NONE;
      }
      if (first < 0) return Answer.NONE;
      socket.setSoTimeout((int) SLACK.toMillis());
      return RawHttp.read(
          new SequenceInputStream(new ByteArrayInputStream(new byte[] {(byte) first}), in));
    }
    socket.setSoTimeout((int) SLACK.toMillis());
    return RawHttp.read(in);
  }

  /** A refusal: the status, a JSON {"error", "detail"} naming the error, nothing of the insides. */
  private static void assertRefused(Answer answer, int status, String error) throws Exception {
    assertThat(answer.none()).as("an answer, not a closed connection").isFalse();
    assertThat(answer.status()).as("status of %s", answer).isEqualTo(status);
    assertThat(answer.header("Content-Type")).as("content type").isEqualTo("application/json");
    JsonNode body = JSON.readTree(answer.body());
    List<String> fields = new ArrayList<>();
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) fields.add(it.next());
    assertThat(fields).as("fields of %s", answer.body()).containsExactly("error", "detail");
    assertThat(body.path("error").asText()).as("error of %s", answer.body()).isEqualTo(error);
    assertThat(answer.body())
        .as("no internals leak")
        .doesNotContain("Exception", "\tat ", "pekko.", "jackson", "StreamReadConstraints");
    assertThat(answer.headers().keySet())
        .as("no header a request could inject")
        .doesNotContain("set-cookie", "injected");
  }
}
