package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.reportcluster.node.ReportNode;
import io.reportcluster.node.http.PasswordHash;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.FreePorts;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.TestDatabase;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

/**
 * Cluster write operations (leave, down) need credentials from config (here the password's hash),
 * and are off without them; over plain HTTP they are served only to clients on this machine; every
 * admin request is logged with who, what and the outcome, never a password.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterAdminIT {
  private static final String PASSWORD = "s3cret-7Qx";

  private TestDatabase db;
  private ReportNode guarded;
  private ReportNode open;
  private int managementPort;
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();

  @BeforeAll
  void start() {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    logs.setContext(context);
    logs.start();
    context.getLogger(Logger.ROOT_LOGGER_NAME).addAppender(logs);
    db = new TestDatabase();
    managementPort = FreePorts.pick(1).get(0);
    // On every interface, so that a client can also come from this machine's own network address
    // (a node beyond loopback needs API keys on; the admin routes take Basic auth all the same).
    guarded =
        ReportNode.start(
            db.nodeConfig(
                "reports.http.host = \"0.0.0.0\"\n"
                    + "reports.auth.enabled = on\n"
                    + "reports.management.admin-user = ops\n"
                    + "reports.management.admin-password-hash = \""
                    + PasswordHash.of(PASSWORD.toCharArray(), 1_000).encoded()
                    + "\"\n"
                    + "pekko.management.http.port = "
                    + managementPort));
    open = ReportNode.start(db.nodeConfig(""));
  }

  @AfterAll
  void stop() {
    ((LoggerContext) LoggerFactory.getILoggerFactory())
        .getLogger(Logger.ROOT_LOGGER_NAME)
        .detachAppender(logs);
    guarded.close();
    open.close();
    db.close();
  }

  /** The guarded node's API as a client on loopback reaches it. */
  private String guardedUrl() {
    return "http://127.0.0.1:" + guarded.httpAddress().getPort();
  }

  private static HttpRequest.Builder request(String url, String user, String password) {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url));
    if (user != null) {
      String token =
          Base64.getEncoder()
              .encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
      b.header("Authorization", "Basic " + token);
    }
    return b;
  }

  private static int statusOf(HttpRequest.Builder request) {
    try {
      return HttpClient.newHttpClient()
          .send(
              request.timeout(Duration.ofSeconds(10)).build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private String self() {
    return guarded.system().address().toString();
  }

  private static HttpRequest.Builder down(String url, String user, String password) {
    return request(url, user, password)
        .method("PUT", HttpRequest.BodyPublishers.ofString("operation=Down"))
        .header("Content-Type", "application/x-www-form-urlencoded");
  }

  /** This machine's first IPv4 address that is not loopback, if it has one. */
  private static Optional<InetAddress> networkAddress() throws SocketException {
    for (NetworkInterface nic : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!nic.isUp() || nic.isLoopback()) continue;
      for (InetAddress a : Collections.list(nic.getInetAddresses())) {
        if (a instanceof Inet4Address && !a.isLoopbackAddress()) return Optional.of(a);
      }
    }
    return Optional.empty();
  }

  @Test
  void withoutCredentialsConfiguredNoWriteOperationIsServed() {
    HttpJson http = new HttpJson(open.baseUrl());
    HttpJson.Reply r =
        http.send(request(open.baseUrl() + "/admin/cluster/members", "ops", "s3cret").GET());
    assertThat(r.status()).isEqualTo(404);
  }

  @Test
  void writeOperationsAreRefusedWithoutOrWithWrongCredentials() {
    HttpJson http = new HttpJson(guardedUrl());
    String member = guardedUrl() + "/admin/cluster/members/" + self();
    HttpJson.Reply none = http.send(down(member, null, null));
    assertThat(none.status()).isEqualTo(401);
    assertThat(none.text("error")).isEqualTo("unauthorized");
    assertThat(none.raw().headers().firstValue("WWW-Authenticate"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("Basic"));
    for (String[] wrong :
        new String[][] {{"ops", "guess"}, {"root", PASSWORD}, {"ops", PASSWORD + " "}}) {
      HttpJson.Reply refused = http.send(down(member, wrong[0], wrong[1]));
      assertThat(refused.status()).as("%s / %s", wrong[0], wrong[1]).isEqualTo(401);
      assertThat(refused.text("error")).isEqualTo("unauthorized");
    }
    // The node is still a member: nothing was downed.
    assertThat(guarded.system().address()).isNotNull();
    HttpJson.Reply health = http.get("/api/v1/health");
    assertThat(health.text("cluster_member")).isEqualTo("Up");
  }

  @Test
  void theRightCredentialsReachPekkoManagementsClusterRoutes() {
    HttpJson http = new HttpJson(guardedUrl());
    HttpJson.Reply members =
        http.send(request(guardedUrl() + "/admin/cluster/members", "ops", PASSWORD).GET());
    assertThat(members.status()).isEqualTo(200);
    assertThat(members.body().get("selfNode").asText()).isEqualTo(self());
  }

  @Test
  void theManagementPortServesReadOnlyRoutesAndHealthButNoWrites() {
    String base = "http://127.0.0.1:" + managementPort;
    HttpJson http = new HttpJson(base);
    assertThat(http.get("/cluster/members").status()).isEqualTo(200);
    // pekko-management answers these itself (plain text): only the status matters here.
    assertThat(
            statusOf(
                request(base + "/cluster/members/" + self(), null, null)
                    .method("PUT", HttpRequest.BodyPublishers.ofString("operation=Down"))
                    .header("Content-Type", "application/x-www-form-urlencoded")))
        .isIn(404, 405);
    assertThat(statusOf(request(base + "/cluster/members/" + self(), null, null).DELETE()))
        .isIn(404, 405);
    assertThat(new HttpJson(guardedUrl()).get("/api/v1/health").text("cluster_member"))
        .isEqualTo("Up");
  }

  @Test
  void writesOverPlainHttpFromBeyondLoopbackAreRefusedWhateverTheCredentials() throws Exception {
    Optional<InetAddress> address = networkAddress();
    assumeTrue(address.isPresent(), "this machine has no network address but loopback");
    String remote =
        "http://" + address.get().getHostAddress() + ":" + guarded.httpAddress().getPort();
    HttpJson http = new HttpJson(remote);
    String member = remote + "/admin/cluster/members/" + self();
    for (HttpRequest.Builder write :
        List.of(
            down(member, "ops", PASSWORD),
            down(member, "ops", PASSWORD).header("X-Forwarded-For", "127.0.0.1"),
            down(member, null, null),
            request(member, "ops", PASSWORD).DELETE())) {
      HttpJson.Reply refused = http.send(write);
      assertThat(refused.status()).isEqualTo(403);
      assertThat(refused.text("error")).isEqualTo("insecure_transport");
    }
    // Reads are not writes: with the right credentials they are served from anywhere.
    assertThat(
            http.send(request(remote + "/admin/cluster/members", "ops", PASSWORD).GET()).status())
        .isEqualTo(200);
    assertThat(new HttpJson(guardedUrl()).get("/api/v1/health").text("cluster_member"))
        .isEqualTo("Up");
  }

  @Test
  void everyAdminRequestIsLoggedWithWhoWhatAndTheOutcomeButNeverAPassword() {
    HttpJson http = new HttpJson(guardedUrl());
    http.send(request(guardedUrl() + "/admin/cluster/members", "ops", PASSWORD).GET());
    http.send(down(guardedUrl() + "/admin/cluster/members/" + self(), "ops", "wrong-Zp4"));
    http.send(down(guardedUrl() + "/admin/cluster/members/" + self(), "ops\nforged", "x"));
    List<String> audit =
        Await.value(
            Duration.ofSeconds(10),
            "three audit lines",
            () ->
                logs.list.stream()
                    .filter(e -> e.getLoggerName().equals("reportcluster.admin.audit"))
                    .map(ILoggingEvent::getFormattedMessage)
                    .toList(),
            lines -> lines.size() >= 3);
    assertThat(audit)
        .contains(
            "admin user=ops action=\"GET /admin/cluster/members\" client=127.0.0.1"
                + " outcome=\"200 OK\"",
            "admin user=ops action=\"PUT /admin/cluster/members/"
                + self()
                + "\" client=127.0.0.1 outcome=\"401 refused: wrong user name or password\"",
            "admin user=ops\\u000aforged action=\"PUT /admin/cluster/members/"
                + self()
                + "\" client=127.0.0.1 outcome=\"401 refused: wrong user name or password\"");
    assertThat(logs.list)
        .as("no log line holds a password")
        .noneMatch(
            e ->
                e.getFormattedMessage().contains(PASSWORD)
                    || e.getFormattedMessage().contains("wrong-Zp4"));
    assertThat(logs.list)
        .as("a hashed password draws no plain-text warning")
        .noneMatch(e -> e.getFormattedMessage().contains("stored in plain text"));
  }
}
