package io.reportcluster.node.llm.provider;

import static io.reportcluster.node.testkit.CallOutcomes.answered;
import static io.reportcluster.node.testkit.CallOutcomes.failed;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.reportcluster.node.llm.provider.LlmAnswer.FinishReason;
import io.reportcluster.node.llm.provider.LlmCallException.Kind;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.ScriptedLlmServer;
import io.reportcluster.node.testkit.ScriptedLlmServer.Ending;
import io.reportcluster.node.testkit.ScriptedLlmServer.Reply;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The Gemini client against a local server that speaks its wire format. */
@DisplayName("Gemini provider (streamGenerateContent, alt=sse)")
class GeminiProviderTest {
  static final String KEY = "AIzaSyTest-0123456789";
  static final Clock CLOCK = Clock.fixed(Instant.parse("2025-01-01T00:00:00Z"), ZoneOffset.UTC);

  static ActorSystem<Void> system;
  static ScriptedLlmServer server;

  @BeforeAll
  static void start() {
    // A plain local system: a provider client needs no cluster.
    system =
        ActorSystem.create(
            Behaviors.empty(),
            "gemini-provider-test",
            ConfigFactory.parseString("pekko.actor.provider = local")
                .withFallback(ConfigFactory.load()));
    server = ScriptedLlmServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
    system.terminate();
  }

  @BeforeEach
  void reset() {
    server.reset();
  }

  static GeminiProvider provider() {
    return new GeminiProvider(system, settings(server.baseUrl(), KEY), CLOCK);
  }

  static ProviderSettings settings(String baseUrl, String key) {
    return new ProviderSettings(
        "gemini",
        ProviderSettings.Type.GEMINI,
        baseUrl,
        key,
        "gemini-2.0-flash",
        256,
        Duration.ofSeconds(30),
        0.1,
        0.4);
  }

  static LlmRequest request() {
    return new LlmRequest(
        "job-1", "Acme", 0, "market", 1, "gemini", "Describe \"Acme\".", "You are an analyst.");
  }

  static String quote(String s) {
    return WireFormat.JSON.getNodeFactory().textNode(s).toString();
  }

  /** A chunk as Gemini streams it: text, and on the last one a finish reason. */
  static String chunk(String text, String finishReason, long candidatesTokens) {
    return "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": "
        + quote(text)
        + "}],\"role\": \"model\"}"
        + (finishReason == null ? "" : ",\"finishReason\": " + quote(finishReason))
        + ",\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 9,\"candidatesTokenCount\": "
        + candidatesTokens
        + ",\"totalTokenCount\": "
        + (9 + candidatesTokens)
        + "},\"modelVersion\": \"gemini-2.0-flash-001\",\"responseId\": \"r1\"}";
  }

  /** Gemini frames its events with CRLF line ends. */
  static Reply answer(String finishReason, String... pieces) {
    Reply r = Reply.events();
    for (int i = 0; i < pieces.length; i++) {
      boolean last = i == pieces.length - 1;
      r.raw("data: " + chunk(pieces[i], last ? finishReason : null, i + 1) + "\r\n\r\n");
    }
    return r;
  }

  static String error(int code, String status, String message, String details) {
    return "{\"error\":{\"code\":"
        + code
        + ",\"message\":"
        + quote(message)
        + ",\"status\":"
        + quote(status)
        + (details == null ? "" : ",\"details\":" + details)
        + "}}";
  }

  static String quotaDetails(String quotaId, String retryDelay) {
    return "[{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":"
        + "[{\"quotaMetric\":\"generativelanguage.googleapis.com/generate_content_free_tier_requests\","
        + "\"quotaId\":"
        + quote(quotaId)
        + ",\"quotaDimensions\":{\"location\":\"global\",\"model\":\"gemini-2.0-flash\"},"
        + "\"quotaValue\":\"15\"}]},"
        + "{\"@type\":\"type.googleapis.com/google.rpc.Help\",\"links\":[{\"description\":"
        + "\"Learn more about Gemini API quotas\",\"url\":"
        + "\"https://ai.google.dev/gemini-api/docs/rate-limits\"}]},"
        + "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\",\"retryDelay\":"
        + quote(retryDelay)
        + "}]";
  }

  @Test
  @DisplayName(
      "sends POST {base}/v1beta/models/{model}:streamGenerateContent?alt=sse with the key in"
          + " x-goog-api-key (never in the URL), the system instruction, the user content and"
          + " maxOutputTokens")
  void theRequest() throws Exception {
    server.enqueue(answer("STOP", "ok"));
    answered(provider().start(request()));

    ScriptedLlmServer.Request sent = server.onlyRequest();
    assertThat(sent.method()).isEqualTo("POST");
    assertThat(sent.path()).isEqualTo("/v1beta/models/gemini-2.0-flash:streamGenerateContent");
    assertThat(sent.query()).isEqualTo("alt=sse");
    assertThat(sent.header("x-goog-api-key")).isEqualTo(KEY);
    assertThat(sent.path() + "?" + sent.query()).doesNotContain(KEY);
    JsonNode body = WireFormat.JSON.readTree(sent.body());
    assertThat(body.at("/systemInstruction/parts/0/text").asText())
        .isEqualTo("You are an analyst.");
    assertThat(body.at("/contents/0/role").asText()).isEqualTo("user");
    assertThat(body.at("/contents/0/parts/0/text").asText()).isEqualTo("Describe \"Acme\".");
    assertThat(body.at("/generationConfig/maxOutputTokens").asInt()).isEqualTo(256);
  }

  @Nested
  @DisplayName("what it reads")
  class Reads {
    @Test
    @DisplayName(
        "each chunk's text goes to onDelta in order; the answer is their concatenation, with the"
            + " model version, the last usage counts and the finish reason")
    void streamedAnswer() {
      server.enqueue(answer("STOP", "Acme ", "makes ", "rockets."));
      List<String> deltas = new CopyOnWriteArrayList<>();
      LlmAnswer a = answered(provider().start(request(), deltas::add));

      assertThat(deltas).containsExactly("Acme ", "makes ", "rockets.");
      assertThat(a.text()).isEqualTo("Acme makes rockets.");
      assertThat(a.model()).isEqualTo("gemini-2.0-flash-001");
      assertThat(a.usage()).isEqualTo(new LlmAnswer.Usage(9, 3));
      assertThat(a.finishReason()).isEqualTo(FinishReason.STOP);
    }

    @Test
    @DisplayName("MAX_TOKENS is a length cut; SAFETY, RECITATION, PROHIBITED_CONTENT a filter")
    void finishReasons() {
      server.enqueue(
          answer("MAX_TOKENS", "a"),
          answer("SAFETY", "b"),
          answer("RECITATION", "c"),
          answer("PROHIBITED_CONTENT", "d"));
      assertThat(answered(provider().start(request())).finishReason())
          .isEqualTo(FinishReason.LENGTH);
      for (int i = 0; i < 3; i++) {
        assertThat(answered(provider().start(request())).finishReason())
            .isEqualTo(FinishReason.CONTENT_FILTER);
      }
    }

    @Test
    @DisplayName(
        "a blocked prompt (promptFeedback.blockReason) is an empty answer stopped by a filter")
    void blockedPrompt() {
      server.enqueue(
          Reply.events()
              .data(
                  "{\"promptFeedback\": {\"blockReason\": \"SAFETY\",\"safetyRatings\": []},"
                      + "\"usageMetadata\": {\"promptTokenCount\": 8,\"totalTokenCount\": 8},"
                      + "\"modelVersion\": \"gemini-2.0-flash\"}"));
      LlmAnswer a = answered(provider().start(request()));
      assertThat(a.text()).isEmpty();
      assertThat(a.finishReason()).isEqualTo(FinishReason.CONTENT_FILTER);
      assertThat(a.usage()).isEqualTo(new LlmAnswer.Usage(8, 0));
    }

    @Test
    @DisplayName("thinking models: thought parts are not text, thought tokens are output tokens")
    void thoughts() {
      server.enqueue(
          Reply.events()
              .data(
                  "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"pondering\","
                      + "\"thought\":true},{\"text\":\"answer\"}],\"role\":\"model\"},"
                      + "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":5,"
                      + "\"candidatesTokenCount\":2,\"thoughtsTokenCount\":30}}"));
      LlmAnswer a = answered(provider().start(request()));
      assertThat(a.text()).isEqualTo("answer");
      assertThat(a.usage()).isEqualTo(new LlmAnswer.Usage(5, 32));
    }
  }

  @Nested
  @DisplayName("how it fails")
  class Fails {
    LlmCallException failure(Reply reply) {
      server.enqueue(reply);
      return failed(provider().start(request()));
    }

    @Test
    @DisplayName("429 RESOURCE_EXHAUSTED per minute: rate limited, waiting RetryInfo.retryDelay")
    void rateLimited() {
      LlmCallException e =
          failure(
              Reply.json(
                  429,
                  error(
                      429,
                      "RESOURCE_EXHAUSTED",
                      "You exceeded your current quota, please check your plan and billing"
                          + " details.",
                      quotaDetails(
                          "GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "20s"))));
      assertThat(e.kind()).isEqualTo(Kind.RATE_LIMITED);
      assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(20));
      assertThat(e.getMessage()).startsWith("gemini 429: You exceeded your current quota");
    }

    @Test
    @DisplayName("429 whose QuotaFailure names a per-day quota: quota exceeded, not retried")
    void perDay() {
      LlmCallException e =
          failure(
              Reply.json(
                  429,
                  error(
                      429,
                      "RESOURCE_EXHAUSTED",
                      "You exceeded your current quota.",
                      quotaDetails("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "43s"))));
      assertThat(e.kind()).isEqualTo(Kind.QUOTA_EXCEEDED);
      assertThat(e.retryable()).isFalse();
    }

    @Test
    @DisplayName("400 API_KEY_INVALID: a refused key, with Google's message")
    void invalidKey() {
      LlmCallException e =
          failure(
              Reply.json(
                  400,
                  error(
                      400,
                      "INVALID_ARGUMENT",
                      "API key not valid. Please pass a valid API key.",
                      "[{\"@type\":\"type.googleapis.com/google.rpc.ErrorInfo\",\"reason\":"
                          + "\"API_KEY_INVALID\",\"domain\":\"googleapis.com\",\"metadata\":"
                          + "{\"service\":\"generativelanguage.googleapis.com\"}}]")));
      assertThat(e.kind()).isEqualTo(Kind.UNAUTHORIZED);
      assertThat(e.getMessage())
          .isEqualTo("gemini 400: API key not valid. Please pass a valid API key.");
    }

    @Test
    @DisplayName("400, 403, 404: permanent, each with Google's message (an array body too)")
    void permanent() {
      LlmCallException bad =
          failure(
              Reply.json(
                  400,
                  error(
                      400,
                      "INVALID_ARGUMENT",
                      "Invalid JSON payload received. Unknown name \"foo\": Cannot find field.",
                      null)));
      assertThat(bad.kind()).isEqualTo(Kind.BAD_REQUEST);
      assertThat(bad.getMessage()).contains("Invalid JSON payload received");
      assertThat(
              failure(
                      Reply.json(
                          403,
                          error(
                              403,
                              "PERMISSION_DENIED",
                              "The caller does not have permission",
                              null)))
                  .kind())
          .isEqualTo(Kind.FORBIDDEN);
      LlmCallException model =
          failure(
              Reply.json(
                  404,
                  "["
                      + error(
                          404,
                          "NOT_FOUND",
                          "models/gemini-9 is not found for API version v1beta, or is not"
                              + " supported for generateContent.",
                          null)
                      + "]"));
      assertThat(model.kind()).isEqualTo(Kind.NOT_FOUND);
      assertThat(model.getMessage()).contains("models/gemini-9 is not found");
    }

    @Test
    @DisplayName("500 INTERNAL and 503 UNAVAILABLE: retryable server errors")
    void serverErrors() {
      assertThat(
              failure(
                      Reply.json(
                          500, error(500, "INTERNAL", "An internal error has occurred.", null)))
                  .kind())
          .isEqualTo(Kind.SERVER_ERROR);
      LlmCallException e =
          failure(
              Reply.json(
                  503,
                  error(
                      503,
                      "UNAVAILABLE",
                      "The model is overloaded. Please try again later.",
                      null)));
      assertThat(e.kind()).isEqualTo(Kind.SERVER_ERROR);
      assertThat(e.retryable()).isTrue();
    }

    @Test
    @DisplayName("a stream cut, or ended before a finish reason: a retryable connection failure")
    void cut() {
      assertThat(failure(Reply.events().data(chunk("Hel", null, 1)).cut()).kind())
          .isEqualTo(Kind.CONNECTION);
      assertThat(failure(Reply.events().data(chunk("Hel", null, 1))).kind())
          .isEqualTo(Kind.CONNECTION);
    }
  }

  @Test
  @DisplayName("cancelling mid-stream closes the connection; the answer fails as cancelled")
  void cancel() throws Exception {
    server.enqueue(Reply.events().data(chunk("Hel", null, 1)).hold(Duration.ofSeconds(20)));
    List<String> deltas = new CopyOnWriteArrayList<>();
    LlmCall call = provider().start(request(), deltas::add);
    Await.until(Duration.ofSeconds(5), "the first piece arrived", () -> !deltas.isEmpty());

    call.cancel().toCompletableFuture().get(5, TimeUnit.SECONDS);

    assertThat(failed(call).kind()).isEqualTo(Kind.CANCELLED);
    assertThat(server.onlyRequest().ending().get(5, TimeUnit.SECONDS))
        .isEqualTo(Ending.CLIENT_GONE);
  }
}
