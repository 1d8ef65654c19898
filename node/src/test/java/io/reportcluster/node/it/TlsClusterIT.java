package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.FreePorts;
import io.reportcluster.node.testkit.HttpJson;
import io.reportcluster.node.testkit.NodeCluster;
import io.reportcluster.node.testkit.NodeProcess;
import io.reportcluster.node.testkit.TestCertificates;
import io.reportcluster.node.testkit.TestDatabase;
import io.reportcluster.node.testkit.TestRedis;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.security.cert.CertPathBuilderException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Three node processes with HTTPS on the API and TLS (mutually authenticated) on cluster remoting,
 * from certificates made for this test: they form a cluster and run a job submitted over HTTPS; the
 * API port speaks no plain HTTP; and a node whose certificate comes from another CA never becomes a
 * member.
 */
class TlsClusterIT {
  private static TestCertificates ca;
  private static TestCertificates rogueCa;
  private static TestDatabase db;
  private static TestRedis redis;
  private static NodeCluster cluster;
  private static TestCertificates.Issued node;
  private static final Map<String, String> ENV =
      Map.of(
          "REPORTS_HTTP_TLS_PASSWORD", TestCertificates.PASSWORD,
          "REPORTS_CLUSTER_TLS_PASSWORD", TestCertificates.PASSWORD);

  @BeforeAll
  static void startCluster() {
    ca = TestCertificates.newCa("cluster");
    rogueCa = TestCertificates.newCa("rogue");
    db = new TestDatabase();
    redis = new TestRedis();
    // One certificate for the three nodes: NodeCluster gives every node the same settings.
    node = ca.issue("reportcluster-node");
    cluster = NodeCluster.start(3, db, props(node, ca), ENV, ca.clientContext());
  }

  @AfterAll
  static void stop() {
    if (cluster != null) cluster.close();
    if (db != null) db.close();
    if (redis != null) redis.close();
    if (ca != null) ca.close();
    if (rogueCa != null) rogueCa.close();
  }

  private static Map<String, String> props(TestCertificates.Issued cert, TestCertificates trust) {
    Map<String, String> p = new HashMap<>();
    p.put("reports.redis.url", redis.url());
    p.put("reports.redis.prefix", redis.prefix());
    p.put("reports.llm.simulated.latency-median", "20ms");
    p.put("reports.http.tls.enabled", "on");
    p.put("reports.http.tls.key-store", cert.keyStore().toString());
    p.put("reports.cluster.tls.enabled", "on");
    p.put("reports.cluster.tls.key-store", cert.keyStore().toString());
    p.put("reports.cluster.tls.trust-store", trust.trustStore().toString());
    return p;
  }

  @Test
  void remotingSpeaksTlsAndWantsTheClustersCertificate() throws IOException {
    for (NodeProcess n : cluster.nodes()) {
      int port = Integer.parseInt(n.address().substring(n.address().lastIndexOf(':') + 1));
      // With a certificate of the cluster's CA, the handshake completes: the node's certificate.
      try (SSLSocket s = remotingSocket(ca.clientContext(node), port)) {
        s.startHandshake();
        assertThat(
                ((X509Certificate) s.getSession().getPeerCertificates()[0])
                    .getSubjectX500Principal()
                    .getName())
            .as("%s's remoting certificate", n.name())
            .isEqualTo("CN=reportcluster-node");
      }
      // Without one, the node ends the connection (TLS 1.3 says so after the client's Finished).
      try (SSLSocket s = remotingSocket(ca.clientContext(), port)) {
        assertThatThrownBy(
                () -> {
                  s.startHandshake();
                  if (s.getInputStream().read() < 0) throw new SSLException("closed");
                })
            .as("%s's remoting without a client certificate", n.name())
            .isInstanceOf(SSLException.class);
      }
    }
  }

  private static SSLSocket remotingSocket(SSLContext context, int port) throws IOException {
    SSLSocket s = (SSLSocket) context.getSocketFactory().createSocket();
    s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
    s.setSoTimeout(10_000);
    return s;
  }

  @Test
  void nodesRunAJobSubmittedOverHttps() {
    for (NodeProcess n : cluster.nodes()) assertThat(n.baseUrl()).startsWith("https://");
    HttpJson api = cluster.http(cluster.nodes().get(1));
    HttpJson.Reply submitted = api.postJson("/api/v1/jobs", "{\"startup\": \"TlsCo\"}");
    assertThat(submitted.status()).as("submit: %s", submitted.body()).isEqualTo(202);
    String id = submitted.text("job_id");
    HttpJson other = cluster.http(cluster.nodes().get(2));
    Await.until(
        Duration.ofSeconds(60),
        "job " + id + " SUCCESS",
        () -> "SUCCESS".equals(other.get("/api/v1/jobs/" + id).text("state")));
  }

  @Test
  void theApiPortSpeaksNoPlainHttp() {
    NodeProcess n = cluster.nodes().get(0);
    String plain = n.baseUrl().replace("https://", "http://") + "/api/v1/health";
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    assertThatThrownBy(() -> send(client, plain))
        .as("plain HTTP to the HTTPS port")
        .isInstanceOf(IOException.class);
    // And a client that does not trust the node's CA does not get through either.
    assertThatThrownBy(() -> send(client, n.baseUrl() + "/api/v1/health"))
        .isInstanceOf(SSLHandshakeException.class)
        .hasRootCauseInstanceOf(CertPathBuilderException.class);
    assertThat(cluster.http(n).get("/api/v1/health").status()).isEqualTo(200);
  }

  @Test
  void aNodeWithACertificateOfAnotherCaNeverJoins() throws IOException {
    List<Integer> ports = FreePorts.pick(3);
    // It trusts the cluster's CA (so only its own certificate can give it away) and names the
    // first node as its seed.
    Map<String, String> p = new HashMap<>(props(rogueCa.issue("intruder"), ca));
    p.put("reports.http.tls.enabled", "off");
    p.put("pekko.cluster.seed-nodes.0", cluster.nodes().get(0).address());
    p.put("reports.cluster.bootstrap", "off");
    p.put("pekko.management.http.port", Integer.toString(ports.get(2)));
    p.put("reports.db.url", db.url());
    p.put("reports.db.user", TestDatabase.USER);
    Map<String, String> env = new HashMap<>(ENV);
    env.put("JAVA_TOOL_OPTIONS", "-XX:TieredStopAtLevel=1");
    try (NodeProcess intruder =
        NodeProcess.start(
            "intruder",
            "local-cluster.conf",
            ports.get(0),
            ports.get(1),
            p,
            env,
            "io.reportcluster.node.Main")) {
      HttpJson first = cluster.http(cluster.nodes().get(0));
      HttpJson own = new HttpJson(intruder.baseUrl());
      // Watched until the intruder has tried to join three times, each turned away at the TLS
      // handshake, and its own API answers: at every look the cluster is the three nodes, all Up,
      // and the intruder is not among them.
      Await.until(
          Duration.ofSeconds(90),
          "the intruder refused 3 times (its log: " + intruder.log() + ")",
          () -> {
            assertThat(intruder.isAlive()).as("intruder alive").isTrue();
            JsonNode members = first.get("/api/v1/cluster").body().get("members");
            assertThat(members).hasSize(3);
            for (JsonNode m : members) {
              assertThat(m.get("status").asText()).isEqualTo("Up");
              assertThat(m.get("address").asText()).doesNotEndWith(":" + ports.get(1));
            }
            String log = logOf(intruder);
            return log.contains("SSLHandshakeException: Received fatal alert: bad_certificate")
                && log.contains("Couldn't join seed nodes after [3] attempts")
                && answers(own);
          });
      JsonNode seen = own.get("/api/v1/cluster").body().get("members");
      for (JsonNode m : seen) assertThat(m.get("status").asText()).isNotEqualTo("Up");
    }
  }

  /** Its log so far (Pekko's warnings: a refused handshake, a join that got no answer). */
  private static String logOf(NodeProcess n) {
    try {
      return Files.readString(n.log().toPath());
    } catch (IOException e) {
      return "";
    }
  }

  private static boolean answers(HttpJson http) {
    try {
      return http.get("/api/v1/cluster").status() == 200;
    } catch (AssertionError notYet) {
      return false;
    }
  }

  private static HttpResponse<String> send(HttpClient client, String url)
      throws IOException, InterruptedException {
    return client.send(
        HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
