package io.reportcluster.node.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The stand-in the budget tests measure against: if it did not refuse what goes over its limit, or
 * miscounted its windows, "no 429" and "no window over the limit" would prove nothing.
 */
class BudgetedLlmServerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String KEY = "sk-good";
  private final HttpClient http = HttpClient.newHttpClient();
  private BudgetedLlmServer server;

  @AfterEach
  void stop() {
    if (server != null) server.close();
  }

  @Test
  @DisplayName("past its requests per window it answers OpenAI's 429, with retry-after-ms")
  void refusesRequestsOverItsLimit() throws Exception {
    server = start(settings().withRequests(3, Duration.ofSeconds(30)));
    for (int i = 0; i < 3; i++) assertThat(post(false, KEY, 100).statusCode()).isEqualTo(200);
    HttpResponse<String> refused = post(false, KEY, 100);

    assertThat(refused.statusCode()).isEqualTo(429);
    JsonNode error = JSON.readTree(refused.body()).path("error");
    assertThat(error.path("code").asText()).isEqualTo("rate_limit_exceeded");
    assertThat(error.path("type").asText()).isEqualTo("requests");
    long retryAfterMs =
        Long.parseLong(refused.headers().firstValue("retry-after-ms").orElseThrow());
    assertThat(retryAfterMs).isBetween(25_000L, 30_000L);
    assertThat(server.rateLimited()).isEqualTo(1);
    assertThat(server.admitted()).hasSize(3);
    assertThat(server.maxRequestsInAnyWindow()).isEqualTo(3);
  }

  @Test
  @DisplayName("past its tokens per window (prompt and answer) it answers 429")
  void refusesTokensOverItsLimit() throws Exception {
    // 400 characters of prompt are 100 tokens, and the answer 20: 120 a request.
    server = start(settings().withTokens(250, Duration.ofSeconds(30)));
    assertThat(post(false, KEY, 400).statusCode()).isEqualTo(200);
    assertThat(post(false, KEY, 400).statusCode()).isEqualTo(200);
    assertThat(post(false, KEY, 400).statusCode()).isEqualTo(429);
    assertThat(server.admitted()).extracting(BudgetedLlmServer.Admitted::tokens).containsOnly(120L);
    assertThat(server.maxTokensInAnyWindow()).isEqualTo(240);
  }

  @Test
  @DisplayName("a wrong key gets OpenAI's 401 invalid_api_key, and uses no budget")
  void refusesAWrongKey() throws Exception {
    server = start(settings().withRequests(1, Duration.ofSeconds(30)));
    HttpResponse<String> refused = post(false, "sk-bad", 100);

    assertThat(refused.statusCode()).isEqualTo(401);
    assertThat(JSON.readTree(refused.body()).path("error").path("code").asText())
        .isEqualTo("invalid_api_key");
    assertThat(server.unauthorized()).isEqualTo(1);
    assertThat(post(false, KEY, 100).statusCode()).isEqualTo(200);
  }

  @Test
  @DisplayName("streamed, it sends the answer in chunks, then the usage, then [DONE]")
  void streamsChunksUsageAndDone() throws Exception {
    server = start(settings());
    HttpResponse<String> r = post(true, KEY, 400);

    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
    List<String> data =
        r.body().lines().filter(l -> l.startsWith("data: ")).map(l -> l.substring(6)).toList();
    assertThat(data.get(data.size() - 1)).isEqualTo("[DONE]");
    StringBuilder text = new StringBuilder();
    for (String d : data.subList(0, data.size() - 2)) {
      text.append(JSON.readTree(d).path("choices").path(0).path("delta").path("content").asText());
    }
    assertThat(text.toString().split(" ")).hasSize(20);
    JsonNode usage = JSON.readTree(data.get(data.size() - 2)).path("usage");
    assertThat(usage.path("prompt_tokens").asLong()).isEqualTo(100);
    assertThat(usage.path("completion_tokens").asLong()).isEqualTo(20);
  }

  @Test
  @DisplayName("not streamed, it answers one completion with its usage")
  void answersOneCompletion() throws Exception {
    server = start(settings());
    JsonNode body = JSON.readTree(post(false, KEY, 400).body());

    assertThat(body.path("choices").path(0).path("message").path("content").asText().split(" "))
        .hasSize(20);
    assertThat(body.path("usage").path("total_tokens").asLong()).isEqualTo(120);
  }

  @Test
  @DisplayName("told to, it refuses everything for a while, saying how long is left")
  void rateLimitsEverythingForAWhile() throws Exception {
    server = start(settings());
    server.rateLimitFor(Duration.ofSeconds(30));
    HttpResponse<String> refused = post(false, KEY, 100);

    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(Long.parseLong(refused.headers().firstValue("retry-after-ms").orElseThrow()))
        .isBetween(25_000L, 30_000L);
    assertThat(server.admitted()).isEmpty();
  }

  @Test
  @DisplayName("its busiest window counts what arrived within one window length, ends excluded")
  void findsTheBusiestWindow() {
    List<BudgetedLlmServer.Admitted> at =
        List.of(admitted(0), admitted(100), admitted(999), admitted(1000), admitted(1500));
    // [0, 1000) holds three; [999, 1999) holds three too, but later; [100, 1100) holds three.
    assertThat(BudgetedLlmServer.busiest(at, 1000)).isEqualTo(new BudgetedLlmServer.Window(0, 3));
    assertThat(BudgetedLlmServer.busiest(at, 1001)).isEqualTo(new BudgetedLlmServer.Window(0, 4));
    assertThat(BudgetedLlmServer.busiest(List.of(), 1000).requests()).isZero();
  }

  private static BudgetedLlmServer.Admitted admitted(double atMs) {
    return new BudgetedLlmServer.Admitted(atMs, 1);
  }

  private static BudgetedLlmServer.Settings settings() {
    return BudgetedLlmServer.Settings.unlimited().withDelay(Duration.ZERO).withApiKey(KEY);
  }

  private static BudgetedLlmServer start(BudgetedLlmServer.Settings settings) {
    return BudgetedLlmServer.start(settings);
  }

  /** A chat completion whose messages hold {@code promptChars} characters. */
  private HttpResponse<String> post(boolean stream, String key, int promptChars)
      throws IOException, InterruptedException {
    String body =
        JSON.createObjectNode()
            .put("model", "m")
            .put("stream", stream)
            .set(
                "messages",
                JSON.createArrayNode()
                    .add(
                        JSON.createObjectNode()
                            .put("role", "user")
                            .put("content", "x".repeat(promptChars))))
            .toString();
    return http.send(
        HttpRequest.newBuilder(URI.create(server.baseUrl() + "/chat/completions"))
            .header("Authorization", "Bearer " + key)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
