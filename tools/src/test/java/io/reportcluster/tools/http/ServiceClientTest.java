package io.reportcluster.tools.http;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.reportcluster.protocol.Api;
import io.reportcluster.protocol.JobState;
import io.reportcluster.protocol.Json;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The client against a real HTTP server on loopback (the JDK's), answering as a node would. */
class ServiceClientTest {
  private HttpServer server;
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private final ServiceClient client = ServiceClient.create(Duration.ofSeconds(2));

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext(
        "/api/v1/jobs",
        ex -> {
          String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
          requests.add(
              ex.getRequestMethod()
                  + " "
                  + ex.getRequestHeaders().getFirst("Content-Type")
                  + " "
                  + ex.getRequestHeaders().getFirst("Idempotency-Key")
                  + " "
                  + body);
          answer(
              ex,
              202,
              null,
              "{\"job_id\":\"j-1\",\"status\":\"queued\",\"state\":\"PENDING\",\"created\":true}");
        });
    server.createContext(
        "/shed/fraction",
        ex -> answer(ex, 503, "0.25", "{\"error\":\"overloaded\",\"detail\":\"full\"}"));
    server.createContext("/shed/zero", ex -> answer(ex, 503, "0", "{\"error\":\"overloaded\"}"));
    server.createContext("/shed/none", ex -> answer(ex, 503, null, "{\"error\":\"unavailable\"}"));
    server.createContext(
        "/shed/date", ex -> answer(ex, 503, "Wed, 21 Oct 2015 07:28:00 GMT", "{}"));
    server.createContext("/shed/seconds", ex -> answer(ex, 503, "5", "{}"));
    server.createContext(
        "/view",
        ex ->
            answer(
                ex,
                200,
                null,
                "{\"job_id\":\"j-1\",\"state\":\"SUCCESS\",\"steps\":[{\"name\":\"market\",\"state\":\"STARTED\"}],"
                    + "\"submitted_at\":\"2025-01-01T00:00:00Z\",\"some_new_field\":1}"));
    server.createContext(
        "/odd-state", ex -> answer(ex, 200, null, "{\"job_id\":\"j-1\",\"state\":\"PAUSED\"}"));
    server.createContext("/missing", ex -> answer(ex, 404, null, "{\"error\":\"unknown_job\"}"));
    server.createContext("/not-json", ex -> answer(ex, 200, null, "<html>"));
    server.start();
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  @Test
  void submitPostsTheStartupAsJsonWithTheIdempotencyKey() throws Exception {
    Answer a = client.submit(uri("/api/v1/jobs"), "Tesla \"AI\"", "key-1", Duration.ofSeconds(2));
    assertThat(a.status()).isEqualTo(202);
    assertThat(a.ok()).isTrue();
    assertThat(a.as(Api.JobAccepted.class).jobId()).isEqualTo("j-1");
    assertThat(requests)
        .containsExactly("POST application/json key-1 {\"startup\":\"Tesla \\\"AI\\\"\"}");
    client.submit(uri("/api/v1/jobs"), "x", null, Duration.ofSeconds(2));
    assertThat(requests.get(1)).startsWith("POST application/json null ");
  }

  @Test
  void aJobNamesOneProviderEntryOrAFallbackChainOfThem() throws Exception {
    client.submit(uri("/api/v1/jobs"), "x", "gemini", null, Duration.ofSeconds(2));
    client.submitWithFallbacks(
        uri("/api/v1/jobs"), "x", List.of("openai", "anthropic"), null, Duration.ofSeconds(2));
    assertThat(Json.MAPPER.readTree(requests.get(0).replaceFirst("^[^{]*", "")))
        .isEqualTo(Json.MAPPER.readTree("{\"startup\":\"x\",\"provider\":\"gemini\"}"));
    assertThat(Json.MAPPER.readTree(requests.get(1).replaceFirst("^[^{]*", "")))
        .isEqualTo(
            Json.MAPPER.readTree("{\"startup\":\"x\",\"providers\":[\"openai\",\"anthropic\"]}"));
  }

  @Test
  void a503sRetryAfterIsHonouredWithAFloorAndADefault() throws Exception {
    assertThat(shed("/shed/fraction").retryAfterMs()).isEqualTo(250);
    assertThat(shed("/shed/seconds").retryAfterMs()).isEqualTo(5_000);
    // Retry-After: 0 must not turn a shed submit into a busy loop.
    assertThat(shed("/shed/zero").retryAfterMs()).isEqualTo(Answer.MIN_RETRY_WAIT_MS);
    assertThat(shed("/shed/none").retryAfterMs()).isEqualTo(Answer.DEFAULT_RETRY_WAIT_MS);
    assertThat(shed("/shed/date").retryAfterMs()).isEqualTo(Answer.DEFAULT_RETRY_WAIT_MS);
  }

  @Test
  void errorAnswersNameTheirCode() throws Exception {
    Answer a = shed("/shed/fraction");
    assertThat(a.ok()).isFalse();
    assertThat(a.errorCode()).isEqualTo("overloaded");
    assertThat(a.snippet()).isEqualTo("{\"error\":\"overloaded\",\"detail\":\"full\"}");
    assertThat(shed("/shed/date").errorCode()).isNull();
  }

  @Test
  void answersReadIntoTheProtocolRecordsWhateverTheyAdd() throws Exception {
    Api.JobView view = client.get(uri("/view"), Duration.ofSeconds(2)).as(Api.JobView.class);
    assertThat(view.state()).isEqualTo(JobState.SUCCESS);
    assertThat(view.steps()).hasSize(1);
    // A state this build does not know is not final: it reads as null.
    Api.JobView odd = client.get(uri("/odd-state"), Duration.ofSeconds(2)).as(Api.JobView.class);
    assertThat(odd.jobId()).isEqualTo("j-1");
    assertThat(odd.state()).isNull();
    assertThat(client.get(uri("/not-json"), Duration.ofSeconds(2)).as(Api.JobView.class)).isNull();
  }

  @Test
  void getJsonIsNullForAnythingButA200WithJson() {
    assertThat(client.getJson(uri("/view"), Duration.ofSeconds(2)).path("state").asText())
        .isEqualTo("SUCCESS");
    assertThat(client.getJson(uri("/missing"), Duration.ofSeconds(2))).isNull();
    assertThat(client.getJson(uri("/not-json"), Duration.ofSeconds(2))).isNull();
    server.stop(0);
    assertThat(client.getJson(uri("/view"), Duration.ofSeconds(2))).isNull();
  }

  @Test
  void aRefusedConnectionIsDescribedForAPerson() {
    server.stop(0);
    try {
      client.get(uri("/view"), Duration.ofSeconds(2));
    } catch (Exception e) {
      assertThat(ServiceClient.describe(e)).startsWith("ConnectException");
      return;
    }
    throw new AssertionError("expected a refused connection");
  }

  private Answer shed(String path) throws Exception {
    Answer a = client.submit(uri(path), "x", null, Duration.ofSeconds(2));
    assertThat(a.status()).isEqualTo(503);
    return a;
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
  }

  private static void answer(HttpExchange ex, int status, String retryAfter, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().add("Content-Type", "application/json");
    if (retryAfter != null) ex.getResponseHeaders().add("Retry-After", retryAfter);
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }
}
