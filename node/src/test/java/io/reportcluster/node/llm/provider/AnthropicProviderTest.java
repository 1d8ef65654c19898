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

/** The Anthropic Messages client against a local server that speaks its wire format. */
@DisplayName("Anthropic provider (Messages, streamed)")
class AnthropicProviderTest {
  static final String KEY = "sk-ant-test-0123456789";
  static final Clock CLOCK = Clock.fixed(Instant.parse("2025-01-01T00:00:00Z"), ZoneOffset.UTC);

  static ActorSystem<Void> system;
  static ScriptedLlmServer server;

  @BeforeAll
  static void start() {
    // A plain local system: a provider client needs no cluster.
    system =
        ActorSystem.create(
            Behaviors.empty(),
            "anthropic-provider-test",
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

  static AnthropicProvider provider() {
    return new AnthropicProvider(system, settings(server.baseUrl(), KEY), CLOCK);
  }

  static ProviderSettings settings(String baseUrl, String key) {
    return new ProviderSettings(
        "anthropic",
        ProviderSettings.Type.ANTHROPIC,
        baseUrl,
        key,
        "claude-3-5-haiku-latest",
        512,
        Duration.ofSeconds(30),
        0.8,
        4.0);
  }

  static LlmRequest request() {
    return new LlmRequest(
        "job-1", "Acme", 0, "market", 1, "anthropic", "Describe \"Acme\".", "You are an analyst.");
  }

  static String quote(String s) {
    return WireFormat.JSON.getNodeFactory().textNode(s).toString();
  }

  static String textDelta(String text) {
    return "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":"
        + quote(text)
        + "}}";
  }

  static Reply start(Reply r) {
    return r.event(
            "message_start",
            "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_01\",\"type\":\"message\","
                + "\"role\":\"assistant\",\"content\":[],\"model\":\"claude-3-5-haiku-20241022\","
                + "\"stop_reason\":null,\"stop_sequence\":null,"
                + "\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}")
        .event(
            "content_block_start",
            "{\"type\":\"content_block_start\",\"index\":0,"
                + "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}")
        .event("ping", "{\"type\": \"ping\"}");
  }

  static Reply answer(String stopReason, String... pieces) {
    Reply r = start(Reply.events());
    for (String p : pieces) r.event("content_block_delta", textDelta(p));
    return r.event("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}")
        .event(
            "message_delta",
            "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
                + quote(stopReason)
                + ",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}")
        .event("message_stop", "{\"type\":\"message_stop\"}");
  }

  static String error(String type, String message) {
    return "{\"type\":\"error\",\"error\":{\"type\":"
        + quote(type)
        + ",\"message\":"
        + quote(message)
        + "},\"request_id\":\"req_011CSHoEeqs5C35K2UUqR7Fy\"}";
  }

  @Test
  @DisplayName(
      "sends POST {base}/v1/messages with x-api-key, anthropic-version 2023-06-01, the model,"
          + " the system prompt, the user message, max_tokens and stream: true")
  void theRequest() throws Exception {
    server.enqueue(answer("end_turn", "ok"));
    answered(provider().start(request()));

    ScriptedLlmServer.Request sent = server.onlyRequest();
    assertThat(sent.method()).isEqualTo("POST");
    assertThat(sent.path()).isEqualTo("/v1/messages");
    assertThat(sent.header("x-api-key")).isEqualTo(KEY);
    assertThat(sent.header("anthropic-version")).isEqualTo("2023-06-01");
    assertThat(sent.headers()).doesNotContainKey("Authorization");
    JsonNode body = WireFormat.JSON.readTree(sent.body());
    assertThat(body.path("model").asText()).isEqualTo("claude-3-5-haiku-latest");
    assertThat(body.path("system").asText()).isEqualTo("You are an analyst.");
    assertThat(body.path("messages").size()).isEqualTo(1);
    assertThat(body.path("messages").path(0).path("role").asText()).isEqualTo("user");
    assertThat(body.path("messages").path(0).path("content").asText())
        .isEqualTo("Describe \"Acme\".");
    assertThat(body.path("max_tokens").asInt()).isEqualTo(512);
    assertThat(body.path("stream").asBoolean()).isTrue();
  }

  @Nested
  @DisplayName("what it reads")
  class Reads {
    @Test
    @DisplayName(
        "an answer whose anthropic-ratelimit headers say a remaining count is 0 asks for a pause"
            + " until its reset time")
    void usedUpBudgetInTheHeaders() {
      server.enqueue(
          answer("end_turn", "ok")
              .header("anthropic-ratelimit-tokens-remaining", "0")
              .header(
                  "anthropic-ratelimit-tokens-reset", CLOCK.instant().plusSeconds(20).toString()));
      LlmCall call = provider().start(request());
      answered(call);
      assertThat(call.providerPause()).hasValue(java.time.Duration.ofSeconds(20));
    }

    @Test
    @DisplayName(
        "text_delta pieces go to onDelta in order; the answer is their concatenation, with the"
            + " model of message_start, input tokens from it and output tokens from message_delta")
    void streamedAnswer() {
      server.enqueue(answer("end_turn", "Acme ", "makes ", "rockets."));
      List<String> deltas = new CopyOnWriteArrayList<>();
      LlmAnswer a = answered(provider().start(request(), deltas::add));

      assertThat(deltas).containsExactly("Acme ", "makes ", "rockets.");
      assertThat(a.text()).isEqualTo("Acme makes rockets.");
      assertThat(a.model()).isEqualTo("claude-3-5-haiku-20241022");
      assertThat(a.usage()).isEqualTo(new LlmAnswer.Usage(25, 15));
      assertThat(a.finishReason()).isEqualTo(FinishReason.STOP);
    }

    @Test
    @DisplayName("stop reasons: stop_sequence is a stop, max_tokens a length cut, refusal a filter")
    void stopReasons() {
      server.enqueue(
          answer("stop_sequence", "a"), answer("max_tokens", "b"), answer("refusal", "c"));
      assertThat(answered(provider().start(request())).finishReason()).isEqualTo(FinishReason.STOP);
      assertThat(answered(provider().start(request())).finishReason())
          .isEqualTo(FinishReason.LENGTH);
      assertThat(answered(provider().start(request())).finishReason())
          .isEqualTo(FinishReason.CONTENT_FILTER);
    }

    @Test
    @DisplayName("thinking blocks and their deltas are not answer text")
    void thinking() {
      server.enqueue(
          start(Reply.events())
              .event(
                  "content_block_start",
                  "{\"type\":\"content_block_start\",\"index\":1,"
                      + "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}")
              .event(
                  "content_block_delta",
                  "{\"type\":\"content_block_delta\",\"index\":1,"
                      + "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"hmm\"}}")
              .event("content_block_delta", textDelta("answer"))
              .event(
                  "message_delta",
                  "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
                      + "\"usage\":{\"output_tokens\":40}}")
              .event("message_stop", "{\"type\":\"message_stop\"}"));
      LlmAnswer a = answered(provider().start(request()));
      assertThat(a.text()).isEqualTo("answer");
      assertThat(a.usage().outputTokens()).isEqualTo(40);
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
    @DisplayName("429: rate limited, waiting as retry-after says")
    void rateLimited() {
      LlmCallException e =
          failure(
              Reply.json(
                      429,
                      error(
                          "rate_limit_error",
                          "This request would exceed the rate limit for your organization of 50"
                              + " requests per minute."))
                  .header("retry-after", "12")
                  .header("anthropic-ratelimit-requests-remaining", "0")
                  .header("anthropic-ratelimit-requests-reset", "2025-01-01T00:00:30Z"));
      assertThat(e.kind()).isEqualTo(Kind.RATE_LIMITED);
      assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(12));
      assertThat(e.getMessage())
          .startsWith("anthropic 429: This request would exceed the rate limit");
    }

    @Test
    @DisplayName("429 without retry-after: the reset time of the limit that ran out")
    void resetTimes() {
      LlmCallException e =
          failure(
              Reply.json(429, error("rate_limit_error", "Number of request tokens has exceeded"))
                  .header("anthropic-ratelimit-requests-remaining", "7")
                  .header("anthropic-ratelimit-requests-reset", "2025-01-01T00:00:50Z")
                  .header("anthropic-ratelimit-input-tokens-remaining", "0")
                  .header("anthropic-ratelimit-input-tokens-reset", "2025-01-01T00:00:30Z"));
      assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    @DisplayName("529 overloaded_error and 500 api_error: retryable server errors")
    void overloaded() {
      LlmCallException e = failure(Reply.json(529, error("overloaded_error", "Overloaded")));
      assertThat(e.kind()).isEqualTo(Kind.SERVER_ERROR);
      assertThat(e.retryable()).isTrue();
      assertThat(e.getMessage()).isEqualTo("anthropic 529: Overloaded");
      assertThat(failure(Reply.json(500, error("api_error", "Internal server error"))).kind())
          .isEqualTo(Kind.SERVER_ERROR);
      assertThat(failure(Reply.json(408, error("timeout_error", "Request timed out"))).kind())
          .isEqualTo(Kind.TIMEOUT);
    }

    @Test
    @DisplayName(
        "an empty credit balance, a spend limit (400, or 429 enforced_spend_limit_reached) and"
            + " billing_error: quota exceeded, not retried")
    void spendLimits() {
      LlmCallException credit =
          failure(
              Reply.json(
                  400,
                  error(
                      "invalid_request_error",
                      "Your credit balance is too low to access the Anthropic API. Please go to"
                          + " Plans & Billing to upgrade or purchase credits.")));
      assertThat(credit.kind()).isEqualTo(Kind.QUOTA_EXCEEDED);
      assertThat(credit.getMessage()).contains("Your credit balance is too low");
      assertThat(
              failure(
                      Reply.json(
                          400,
                          error(
                              "invalid_request_error",
                              "You have reached your specified workspace API usage limits. You"
                                  + " will regain access on 2025-02-01 at 00:00 UTC.")))
                  .kind())
          .isEqualTo(Kind.QUOTA_EXCEEDED);
      LlmCallException monthly =
          failure(
              Reply.json(
                      429,
                      "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":"
                          + "\"You have reached your monthly spend limit.\",\"details\":"
                          + "{\"error_code\":\"enforced_spend_limit_reached\"}}}")
                  .header("retry-after", "60"));
      assertThat(monthly.kind()).isEqualTo(Kind.QUOTA_EXCEEDED);
      assertThat(monthly.retryAfter()).isNull();
      assertThat(failure(Reply.json(402, error("billing_error", "Payment required"))).kind())
          .isEqualTo(Kind.QUOTA_EXCEEDED);
    }

    @Test
    @DisplayName("400, 401, 403, 404: permanent, each with Anthropic's own message")
    void permanent() {
      LlmCallException bad =
          failure(Reply.json(400, error("invalid_request_error", "max_tokens: Field required")));
      assertThat(bad.kind()).isEqualTo(Kind.BAD_REQUEST);
      assertThat(bad.getMessage()).isEqualTo("anthropic 400: max_tokens: Field required");
      LlmCallException key =
          failure(Reply.json(401, error("authentication_error", "invalid x-api-key")));
      assertThat(key.kind()).isEqualTo(Kind.UNAUTHORIZED);
      assertThat(key.getMessage()).isEqualTo("anthropic 401: invalid x-api-key");
      assertThat(
              failure(
                      Reply.json(
                          403,
                          error(
                              "permission_error",
                              "Your API key does not have permission to use the specified"
                                  + " resource.")))
                  .kind())
          .isEqualTo(Kind.FORBIDDEN);
      LlmCallException model =
          failure(Reply.json(404, error("not_found_error", "model: claude-9")));
      assertThat(model.kind()).isEqualTo(Kind.NOT_FOUND);
      assertThat(model.getMessage()).isEqualTo("anthropic 404: model: claude-9");
    }

    @Test
    @DisplayName("an error event inside the stream (overloaded_error) is a retryable server error")
    void errorEvent() {
      LlmCallException e =
          failure(
              start(Reply.events())
                  .event("content_block_delta", textDelta("Hel"))
                  .event(
                      "error",
                      "{\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\","
                          + " \"message\": \"Overloaded\"}}"));
      assertThat(e.kind()).isEqualTo(Kind.SERVER_ERROR);
      assertThat(e.retryable()).isTrue();
      assertThat(e.getMessage()).isEqualTo("anthropic: overloaded_error in the stream: Overloaded");
    }

    @Test
    @DisplayName("a stream cut or ended before message_stop: a retryable connection failure")
    void cut() {
      assertThat(
              failure(start(Reply.events()).event("content_block_delta", textDelta("Hel")).cut())
                  .kind())
          .isEqualTo(Kind.CONNECTION);
      assertThat(
              failure(start(Reply.events()).event("content_block_delta", textDelta("Hel"))).kind())
          .isEqualTo(Kind.CONNECTION);
    }
  }

  @Test
  @DisplayName("cancelling mid-stream closes the connection; the answer fails as cancelled")
  void cancel() throws Exception {
    server.enqueue(
        start(Reply.events())
            .event("content_block_delta", textDelta("Hel"))
            .hold(Duration.ofSeconds(20)));
    List<String> deltas = new CopyOnWriteArrayList<>();
    LlmCall call = provider().start(request(), deltas::add);
    Await.until(Duration.ofSeconds(5), "the first piece arrived", () -> !deltas.isEmpty());

    call.cancel().toCompletableFuture().get(5, TimeUnit.SECONDS);

    assertThat(failed(call).kind()).isEqualTo(Kind.CANCELLED);
    assertThat(server.onlyRequest().ending().get(5, TimeUnit.SECONDS))
        .isEqualTo(Ending.CLIENT_GONE);
  }
}
