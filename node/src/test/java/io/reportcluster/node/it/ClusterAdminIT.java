package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.reportcluster.node.ReportNode;
import io.reportcluster.node.testkit.FreePorts;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Cluster write operations (leave, down) need credentials from config, and are off without them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ClusterAdminIT {
  private TestDatabase db;
  private ReportNode guarded;
  private ReportNode open;
  private int managementPort;

  @BeforeAll
  void start() {
    db = new TestDatabase();
    managementPort = FreePorts.pick(1).get(0);
    guarded =
        ReportNode.start(
            db.nodeConfig(
                "reports.management.admin-user = ops\n"
                    + "reports.management.admin-password = \"s3cret\"\n"
                    + "pekko.management.http.port = "
                    + managementPort));
    open = ReportNode.start(db.nodeConfig(""));
  }

  @AfterAll
  void stop() {
    guarded.close();
    open.close();
    db.close();
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

  @Test
  void withoutCredentialsConfiguredNoWriteOperationIsServed() {
    HttpJson http = new HttpJson(open.baseUrl());
    HttpJson.Reply r =
        http.send(request(open.baseUrl() + "/admin/cluster/members", "ops", "s3cret").GET());
    assertThat(r.status()).isEqualTo(404);
  }

  @Test
  void writeOperationsAreRefusedWithoutOrWithWrongCredentials() {
    HttpJson http = new HttpJson(guarded.baseUrl());
    String member = guarded.baseUrl() + "/admin/cluster/members/" + self();
    HttpJson.Reply none =
        http.send(
            request(member, null, null)
                .method("PUT", HttpRequest.BodyPublishers.ofString("operation=Down"))
                .header("Content-Type", "application/x-www-form-urlencoded"));
    assertThat(none.status()).isEqualTo(401);
    assertThat(none.raw().headers().firstValue("WWW-Authenticate"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("Basic"));
    HttpJson.Reply wrong =
        http.send(
            request(member, "ops", "guess")
                .method("PUT", HttpRequest.BodyPublishers.ofString("operation=Down"))
                .header("Content-Type", "application/x-www-form-urlencoded"));
    assertThat(wrong.status()).isEqualTo(401);
    // The node is still a member: nothing was downed.
    assertThat(guarded.system().address()).isNotNull();
    HttpJson.Reply health = http.get("/api/v1/health");
    assertThat(health.text("cluster_member")).isEqualTo("Up");
  }

  @Test
  void theRightCredentialsReachPekkoManagementsClusterRoutes() {
    HttpJson http = new HttpJson(guarded.baseUrl());
    HttpJson.Reply members =
        http.send(request(guarded.baseUrl() + "/admin/cluster/members", "ops", "s3cret").GET());
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
    assertThat(new HttpJson(guarded.baseUrl()).get("/api/v1/health").text("cluster_member"))
        .isEqualTo("Up");
  }
}
