package io.reportcluster.node.llm.provider;

import static io.reportcluster.node.llm.provider.OpenAiStreams.answer;
import static io.reportcluster.node.llm.provider.OpenAiStreams.chunk;
import static io.reportcluster.node.llm.provider.OpenAiStreams.error;
import static io.reportcluster.node.testkit.CallOutcomes.answered;
import static io.reportcluster.node.testkit.CallOutcomes.failed;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.reportcluster.node.llm.provider.LlmAnswer.FinishReason;
import io.reportcluster.node.llm.provider.LlmCallException.Kind;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.node.testkit.FreePorts;
import io.reportcluster.node.testkit.ScriptedLlmServer;
import io.reportcluster.node.testkit.ScriptedLlmServer.Ending;
import io.reportcluster.node.testkit.ScriptedLlmServer.Reply;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The OpenAI Chat Completions client against a local server that speaks its wire format. */
@DisplayName("OpenAI provider (Chat Completions, streamed)")
class OpenAiProviderTest {
  static final String KEY = "sk-test-openai-0123456789";
  static final Clock CLOCK = Clock.fixed(Instant.parse("2025-01-01T00:00:00Z"), ZoneOffset.UTC);

  static ActorSystem<Void> system;
  static ScriptedLlmServer server;

  @BeforeAll
  static void start() {
    // A plain local system: a provider client needs no cluster.
    system =
        ActorSystem.create(
            Behaviors.empty(),
            "openai-provider-test",
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

  static OpenAiProvider provider(String key) {
    return new OpenAiProvider(system, settings(server.baseUrl() + "/v1", key), CLOCK);
  }

  static ProviderSettings settings(String baseUrl, String key) {
    return new ProviderSettings(
        "openai",
        ProviderSettings.Type.OPENAI,
        baseUrl,
        key,
        "gpt-4o-mini",
        321,
        Duration.ofSeconds(30),
        0.15,
        0.60);
  }

  static LlmRequest request() {
    return new LlmRequest(
        "job-1", "Acme", 0, "market", 1, "openai", "Describe \"Acme\".", "You are an analyst.");
  }

  @Nested
  @DisplayName("what it sends")
  class Sends {
    @Test
    @DisplayName(
        "POST {base}/chat/completions with the bearer key, the model, the system and user"
            + " messages, max tokens, stream: true and usage included")
    void theRequest() throws Exception {
      server.enqueue(answer("stop", "ok"));
      answered(provider(KEY).start(request()));

      ScriptedLlmServer.Request sent = server.onlyRequest();
      assertThat(sent.method()).isEqualTo("POST");
      assertThat(sent.path()).isEqualTo("/v1/chat/completions");
      assertThat(sent.query()).isNull();
      assertThat(sent.header("Host")).isEqualTo(server.baseUrl().substring("http://".length()));
      assertThat(sent.header("Authorization")).isEqualTo("Bearer " + KEY);
      assertThat(sent.header("Content-Type")).startsWith("application/json");
      JsonNode body = WireFormat.JSON.readTree(sent.body());
      assertThat(body.path("model").asText()).isEqualTo("gpt-4o-mini");
      assertThat(body.path("messages").size()).isEqualTo(2);
      assertThat(body.path("messages").path(0).path("role").asText()).isEqualTo("system");
      assertThat(body.path("messages").path(0).path("content").asText())
          .isEqualTo("You are an analyst.");
      assertThat(body.path("messages").path(1).path("role").asText()).isEqualTo("user");
      assertThat(body.path("messages").path(1).path("content").asText())
          .isEqualTo("Describe \"Acme\".");
      assertThat(body.path("max_tokens").asInt()).isEqualTo(321);
      assertThat(body.path("stream").asBoolean()).isTrue();
      assertThat(body.path("stream_options").path("include_usage").asBoolean()).isTrue();
    }

    @Test
    @DisplayName("no Authorization header when the key is empty (a keyless compatible server)")
    void keyless() {
      server.enqueue(answer("stop", "ok"));
      answered(provider("").start(request()));
      assertThat(server.onlyRequest().headers()).doesNotContainKey("Authorization");
    }

    @Test
    @DisplayName("a base URL with a trailing slash gives the same path")
    void trailingSlash() {
      server.enqueue(answer("stop", "ok"));
      answered(
          new OpenAiProvider(system, settings(server.baseUrl() + "/v1/", KEY), CLOCK)
              .start(request()));
      assertThat(server.onlyRequest().path()).isEqualTo("/v1/chat/completions");
    }

    @Test
    @DisplayName("no system message when the system prompt is empty")
    void noSystem() throws Exception {
      server.enqueue(answer("stop", "ok"));
      answered(provider(KEY).start(new LlmRequest("j", "Acme", 0, "market", 1, "openai", "hello")));
      JsonNode messages = WireFormat.JSON.readTree(server.onlyRequest().body()).path("messages");
      assertThat(messages.size()).isEqualTo(1);
      assertThat(messages.path(0).path("role").asText()).isEqualTo("user");
    }

    @Test
    @DisplayName("max_completion_tokens to OpenAI's and Azure's own servers, max_tokens elsewhere")
    void tokenLimitField() {
      assertThat(OpenAiProvider.maxTokensField("https://api.openai.com/v1"))
          .isEqualTo("max_completion_tokens");
      assertThat(OpenAiProvider.maxTokensField("https://me.openai.azure.com/openai/v1"))
          .isEqualTo("max_completion_tokens");
      assertThat(OpenAiProvider.maxTokensField("http://localhost:11434/v1"))
          .isEqualTo("max_tokens");
    }
  }

  @Nested
  @DisplayName("what it reads")
  class Reads {
    @Test
    @DisplayName(
        "an answer whose rate-limit headers say a remaining count is 0 asks for a pause until"
            + " its reset; one with some left asks for none")
    void usedUpBudgetInTheHeaders() {
      server.enqueue(
          answer("stop", "ok")
              .header("x-ratelimit-remaining-requests", "0")
              .header("x-ratelimit-reset-requests", "6.5s")
              .header("x-ratelimit-remaining-tokens", "1200")
              .header("x-ratelimit-reset-tokens", "1m0s"));
      LlmCall call = provider(KEY).start(request());
      answered(call);
      assertThat(call.providerPause()).hasValue(java.time.Duration.ofMillis(6500));

      server.enqueue(
          answer("stop", "ok")
              .header("x-ratelimit-remaining-requests", "3")
              .header("x-ratelimit-reset-requests", "6.5s"));
      LlmCall plenty = provider(KEY).start(request());
      answered(plenty);
      assertThat(plenty.providerPause()).isEmpty();
    }

    @Test
    @DisplayName(
        "each piece goes to onDelta as it arrives; the answer is their concatenation, with the"
            + " model OpenAI names, its token counts and the finish reason")
    void streamedAnswer() {
      server.enqueue(answer("stop", "Acme ", "makes ", "rockets."));
      List<String> deltas = new CopyOnWriteArrayList<>();
      LlmAnswer a = answered(provider(KEY).start(request(), deltas::add));

      assertThat(deltas).containsExactly("Acme ", "makes ", "rockets.");
      assertThat(a.text()).isEqualTo("Acme makes rockets.");
      assertThat(a.model()).isEqualTo("gpt-4o-mini-2024-07-18");
      assertThat(a.usage()).isEqualTo(new LlmAnswer.Usage(19, 7));
      assertThat(a.finishReason()).isEqualTo(FinishReason.STOP);
    }

    @Test
    @DisplayName("the one-argument start streams too, and its answer() is the text")
    void oneArgumentStart() throws Exception {
      server.enqueue(answer("stop", "a", "b"));
      assertThat(provider(KEY).start(request()).answer().toCompletableFuture().get(5, SECONDS))
          .isEqualTo("ab");
    }

    @Test
    @DisplayName("a length cut-off and a content filter are finish reasons of an answer")
    void finishReasons() {
      server.enqueue(answer("length", "cut"), answer("content_filter", "stop"));
      assertThat(answered(provider(KEY).start(request())).finishReason())
          .isEqualTo(FinishReason.LENGTH);
      assertThat(answered(provider(KEY).start(request())).finishReason())
          .isEqualTo(FinishReason.CONTENT_FILTER);
    }

    @Test
    @DisplayName("a server that reports no usage gives an answer without usage, never a guess")
    void noUsage() {
      server.enqueue(
          Reply.events().data(chunk("hi", null)).data(chunk(null, "stop")).data("[DONE]"));
      LlmAnswer a = answered(provider(KEY).start(request()));
      assertThat(a.usage()).isNull();
      assertThat(a.text()).isEqualTo("hi");
    }
  }

  @Nested
  @DisplayName("how it fails")
  class Fails {
    LlmCallException failure(Reply reply) {
      server.enqueue(reply);
      return failed(provider(KEY).start(request()));
    }

    @Test
    @DisplayName("429: rate limited, waiting for the reset of the limit that ran out")
    void rateLimited() {
      LlmCallException e =
          failure(
              Reply.json(
                      429,
                      error(
                          "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3,"
                              + " Used 3, Requested 1. Please try again in 20s.",
                          "requests",
                          "rate_limit_exceeded"))
                  .header("x-ratelimit-remaining-requests", "0")
                  .header("x-ratelimit-reset-requests", "20s")
                  .header("x-ratelimit-remaining-tokens", "39000")
                  .header("x-ratelimit-reset-tokens", "1m3s"));
      assertThat(e.kind()).isEqualTo(Kind.RATE_LIMITED);
      assertThat(e.retryable()).isTrue();
      assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(20));
      assertThat(e.getMessage()).startsWith("openai 429: Rate limit reached for gpt-4o-mini");
    }

    @Test
    @DisplayName("429 with both limits used up: the longer reset (12ms vs 1m3s)")
    void longerReset() {
      LlmCallException e =
          failure(
              Reply.json(429, error("Rate limit reached", "tokens", "rate_limit_exceeded"))
                  .header("x-ratelimit-remaining-requests", "0")
                  .header("x-ratelimit-reset-requests", "12ms")
                  .header("x-ratelimit-remaining-tokens", "0")
                  .header("x-ratelimit-reset-tokens", "1m3s"));
      assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(63));
    }

    @Test
    @DisplayName("429: retry-after-ms, else retry-after (seconds or an HTTP date), come first")
    void retryAfterHeaders() {
      assertThat(
              failure(
                      Reply.json(429, error("slow down", "requests", "rate_limit_exceeded"))
                          .header("retry-after-ms", "1500")
                          .header("retry-after", "9")
                          .header("x-ratelimit-reset-requests", "20s"))
                  .retryAfter())
          .isEqualTo(Duration.ofMillis(1500));
      assertThat(
              failure(
                      Reply.json(429, error("slow down", "requests", "rate_limit_exceeded"))
                          .header("retry-after", "9"))
                  .retryAfter())
          .isEqualTo(Duration.ofSeconds(9));
      assertThat(
              failure(
                      Reply.json(429, error("slow down", "requests", "rate_limit_exceeded"))
                          .header("retry-after", "Wed, 01 Jan 2025 00:00:30 GMT"))
                  .retryAfter())
          .isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    @DisplayName("429 insufficient_quota: a quota no retry lifts, failed at once")
    void quota() {
      LlmCallException e =
          failure(
              Reply.json(
                  429,
                  error(
                      "You exceeded your current quota, please check your plan and billing"
                          + " details.",
                      "insufficient_quota",
                      "insufficient_quota")));
      assertThat(e.kind()).isEqualTo(Kind.QUOTA_EXCEEDED);
      assertThat(e.retryable()).isFalse();
      assertThat(e.getMessage()).contains("You exceeded your current quota");
    }

    @Test
    @DisplayName("400, 401, 403, 404: permanent, each with OpenAI's own message")
    void permanent() {
      LlmCallException bad =
          failure(
              Reply.json(
                  400,
                  error(
                      "Unsupported parameter: 'max_tokens' is not supported with this model.",
                      "invalid_request_error",
                      "unsupported_parameter")));
      assertThat(bad.kind()).isEqualTo(Kind.BAD_REQUEST);
      assertThat(bad.getMessage())
          .isEqualTo(
              "openai 400: Unsupported parameter: 'max_tokens' is not supported with this model.");
      LlmCallException key =
          failure(
              Reply.json(
                  401,
                  error(
                      "Incorrect API key provided: sk-test-***********6789. You can find your API"
                          + " key at https://platform.openai.com/account/api-keys.",
                      "invalid_request_error",
                      "invalid_api_key")));
      assertThat(key.kind()).isEqualTo(Kind.UNAUTHORIZED);
      assertThat(key.getMessage()).contains("Incorrect API key provided");
      assertThat(
              failure(
                      Reply.json(
                          403,
                          error(
                              "Country, region, or territory not supported",
                              "request_forbidden",
                              "unsupported_country_region_territory")))
                  .kind())
          .isEqualTo(Kind.FORBIDDEN);
      LlmCallException model =
          failure(
              Reply.json(
                  404,
                  error(
                      "The model `gpt-9` does not exist or you do not have access to it.",
                      "invalid_request_error",
                      "model_not_found")));
      assertThat(model.kind()).isEqualTo(Kind.NOT_FOUND);
      assertThat(model.getMessage()).contains("The model `gpt-9` does not exist");
      assertThat(List.of(bad, key, model)).noneMatch(LlmCallException::retryable);
    }

    @Test
    @DisplayName("5xx: a retryable server error (with retry-after when given); 408: a timeout")
    void serverErrors() {
      LlmCallException e500 =
          failure(
              Reply.json(
                  500,
                  error(
                      "The server had an error while processing your request. Sorry about that!",
                      "server_error",
                      null)));
      assertThat(e500.kind()).isEqualTo(Kind.SERVER_ERROR);
      assertThat(e500.retryable()).isTrue();
      LlmCallException e503 =
          failure(
              Reply.json(503, error("The engine is currently overloaded", "server_error", null))
                  .header("retry-after", "2"));
      assertThat(e503.kind()).isEqualTo(Kind.SERVER_ERROR);
      assertThat(e503.retryAfter()).isEqualTo(Duration.ofSeconds(2));
      LlmCallException html =
          failure(Reply.body(502, "text/html", "<html><body>Bad gateway</body></html>"));
      assertThat(html.kind()).isEqualTo(Kind.SERVER_ERROR);
      assertThat(html.getMessage()).startsWith("openai 502: <html>");
      assertThat(failure(Reply.json(408, "")).kind()).isEqualTo(Kind.TIMEOUT);
    }

    @Test
    @DisplayName("an error chunk inside the stream is a retryable server error")
    void errorInStream() {
      LlmCallException e =
          failure(
              Reply.events()
                  .data(chunk("Hel", null))
                  .data(error("The server had an error while processing", "server_error", null)));
      assertThat(e.kind()).isEqualTo(Kind.SERVER_ERROR);
      assertThat(e.getMessage()).contains("The server had an error while processing");
    }

    @Test
    @DisplayName("a stream cut before data: [DONE] is a retryable connection failure")
    void cut() {
      assertThat(failure(Reply.events().data(chunk("Hel", null)).cut()).kind())
          .isEqualTo(Kind.CONNECTION);
      LlmCallException ended =
          failure(Reply.events().data(chunk("Hel", null)).data(chunk(null, "stop")));
      assertThat(ended.kind()).isEqualTo(Kind.CONNECTION);
      assertThat(ended.retryable()).isTrue();
    }

    @Test
    @DisplayName("a 200 that is not an event stream is a permanent failure")
    void notAStream() {
      LlmCallException e =
          failure(Reply.json(200, "{\"choices\":[{\"message\":{\"content\":\"hi\"}}]}"));
      assertThat(e.kind()).isEqualTo(Kind.BAD_REQUEST);
      assertThat(e.getMessage()).contains("expected an event stream");
    }

    @Test
    @DisplayName("nobody listening: a retryable connection failure")
    void refused() {
      int port = FreePorts.pick(1).get(0);
      LlmCallException e =
          failed(
              new OpenAiProvider(system, settings("http://127.0.0.1:" + port + "/v1", KEY), CLOCK)
                  .start(request()));
      assertThat(e.kind()).isEqualTo(Kind.CONNECTION);
      assertThat(e.getMessage()).startsWith("openai: connection failed");
    }
  }

  @Nested
  @DisplayName("cancelling")
  class Cancelling {
    @Test
    @DisplayName(
        "mid-stream closes the connection (the server sees its client go); the answer fails as"
            + " cancelled")
    void midStream() throws Exception {
      server.enqueue(Reply.events().data(chunk("Hel", null)).hold(Duration.ofSeconds(20)));
      List<String> deltas = new CopyOnWriteArrayList<>();
      LlmCall call = provider(KEY).start(request(), deltas::add);
      Await.until(Duration.ofSeconds(5), "the first piece arrived", () -> !deltas.isEmpty());

      call.cancel().toCompletableFuture().get(5, SECONDS);

      assertThat(failed(call).kind()).isEqualTo(Kind.CANCELLED);
      assertThat(server.onlyRequest().ending().get(5, SECONDS)).isEqualTo(Ending.CLIENT_GONE);
    }

    @Test
    @DisplayName("before the answer's first byte, the connection closes at once too")
    void beforeHeaders() throws Exception {
      server.enqueue(
          Reply.events().headersAfter(Duration.ofSeconds(1)).hold(Duration.ofSeconds(20)));
      LlmCall call = provider(KEY).start(request());
      Await.until(Duration.ofSeconds(5), "the request arrived", () -> !server.requests().isEmpty());

      call.cancel().toCompletableFuture().get(5, SECONDS);

      assertThat(server.onlyRequest().ending()).as("the server still waits to answer").isNotDone();
      assertThat(failed(call).kind()).isEqualTo(Kind.CANCELLED);
      assertThat(server.onlyRequest().ending().get(5, SECONDS)).isEqualTo(Ending.CLIENT_GONE);
    }

    @Test
    @DisplayName("after the answer, cancelling is a no-op that completes at once")
    void afterTheAnswer() throws Exception {
      server.enqueue(answer("stop", "done"));
      LlmCall call = provider(KEY).start(request());
      answered(call);
      call.cancel().toCompletableFuture().get(1, SECONDS);
      assertThat(answered(call).text()).isEqualTo("done");
    }
  }
}
