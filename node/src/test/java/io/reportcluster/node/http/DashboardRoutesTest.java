package io.reportcluster.node.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.reportcluster.node.llm.PoolMetrics;
import io.reportcluster.node.metrics.NodeMetrics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code /dashboard}: the dashboard's files from the classpath, each with its content type, no
 * caching without revalidation, and a Content-Security-Policy; nothing else of the classpath, and a
 * JSON 404 for anything unknown. Served by the real HTTP server (its error policy included) on
 * loopback.
 */
@DisplayName("GET /dashboard: the dashboard's static files")
class DashboardRoutesTest {
  private static ActorSystem<Void> system;
  private static ServerBinding binding;
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void start() throws Exception {
    system =
        ActorSystem.create(
            Behaviors.empty(),
            "dashboard-test",
            ConfigFactory.parseString("pekko.actor.provider = local, pekko.loglevel = WARNING")
                .withFallback(ConfigFactory.load()));
    binding =
        HttpServer.start(
            system,
            "127.0.0.1",
            0,
            Duration.ofSeconds(1),
            HttpLimits.fromConfig(system.settings().config().getConfig("reports.http")),
            new NodeMetrics("dashboard-test", new PoolMetrics(1, 1)),
            new DashboardRoutes().routes());
  }

  @AfterAll
  static void stop() {
    if (system != null) system.terminate();
  }

  private static HttpResponse<String> get(String path) throws Exception {
    return send(path, null);
  }

  private static HttpResponse<String> send(String path, String ifModifiedSince) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(HttpServer.baseUrl(binding) + path))
            .timeout(Duration.ofSeconds(10));
    if (ifModifiedSince != null) b.header("If-Modified-Since", ifModifiedSince);
    return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  @ParameterizedTest(name = "{0} is {1}")
  @CsvSource({
    "/dashboard, text/html; charset=UTF-8",
    "/dashboard/, text/html; charset=UTF-8",
    "/dashboard/index.html, text/html; charset=UTF-8",
    "/dashboard/app.js, application/javascript; charset=UTF-8",
    "/dashboard/style.css, text/css; charset=UTF-8",
    "/dashboard/favicon.svg, image/svg+xml"
  })
  @DisplayName("serves each file with its content type, no-cache and the security headers")
  void servesFilesWithTheirTypes(String path, String contentType) throws Exception {
    HttpResponse<String> r = get(path);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Type")).hasValue(contentType);
    assertThat(r.headers().firstValue("Cache-Control")).hasValue("no-cache");
    assertThat(r.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
    assertThat(r.headers().firstValue("Content-Security-Policy"))
        .hasValue(DashboardRoutes.CONTENT_SECURITY_POLICY);
    assertThat(DashboardRoutes.CONTENT_SECURITY_POLICY)
        .startsWith("default-src 'self';")
        .doesNotContain("unsafe-inline", "unsafe-eval", "http:", "https:", "*");
    assertThat(r.body()).isNotEmpty();
  }

  @Test
  @DisplayName("the page loads its script and style from the node itself, never inline")
  void indexReferencesOnlyOwnFiles() throws Exception {
    String html = get("/dashboard").body();
    assertThat(html)
        .contains("<script type=\"module\" src=\"/dashboard/app.js\"></script>")
        .contains("href=\"/dashboard/style.css\"")
        .doesNotContain("http://", "https://", "<style", "style=\"", "onclick", "javascript:");
    assertThat(html.split("<script", -1)).as("one script tag").hasSize(2);
  }

  @Test
  @DisplayName("a browser that accepts gzip gets the files compressed")
  void gzipWhenAccepted() throws Exception {
    HttpResponse<byte[]> r =
        CLIENT.send(
            HttpRequest.newBuilder(URI.create(HttpServer.baseUrl(binding) + "/dashboard/jobs.js"))
                .header("Accept-Encoding", "gzip")
                .build(),
            HttpResponse.BodyHandlers.ofByteArray());
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("Content-Encoding")).hasValue("gzip");
    assertThat(r.body().length).isLessThan(get("/dashboard/jobs.js").body().length() / 2);
  }

  @Test
  @DisplayName("a revalidation of an unchanged file is 304 Not Modified")
  void revalidationIsNotModified() throws Exception {
    HttpResponse<String> first = get("/dashboard/app.js");
    String lastModified = first.headers().firstValue("Last-Modified").orElseThrow();
    HttpResponse<String> again = send("/dashboard/app.js", lastModified);
    assertThat(again.statusCode()).isEqualTo(304);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "/dashboard/../application.conf",
        "/dashboard/%2e%2e/application.conf",
        "/dashboard/..%2Fapplication.conf",
        "/dashboard/%2E%2E%2Fapplication.conf",
        "/dashboard/..%5Capplication.conf",
        "/dashboard/dashboard/app.js",
        "/dashboard/application.conf",
        "/dashboard/logback.xml",
        "/dashboard/nothing-here.js",
        "/dashboard/App.js",
        "/dashboard/.hidden.js",
        "/dashboard/app.js%00.html",
        "/dashboard/index.html/"
      })
  @DisplayName("anything but a dashboard file is the API's JSON 404, never a classpath file")
  void unknownAndTraversalAre404(String path) throws Exception {
    HttpResponse<String> r = get(path);
    assertThat(r.statusCode()).isEqualTo(404);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(r.body()).startsWith("{\"error\":\"not_found\"").doesNotContain("pekko {");
  }

  @Test
  @DisplayName("other methods than GET are 405 JSON")
  void otherMethodsAre405() throws Exception {
    HttpResponse<String> r =
        CLIENT.send(
            HttpRequest.newBuilder(URI.create(HttpServer.baseUrl(binding) + "/dashboard"))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(405);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
  }
}
