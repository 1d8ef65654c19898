package io.reportcluster.node.llm.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.headers.Authorization;

/**
 * OpenAI Chat Completions, streamed ({@code POST {base}/chat/completions} with {@code stream: true}
 * and usage included): OpenAI itself, Azure OpenAI, and every server that speaks it (vLLM, Ollama,
 * proxies). A server without keys gets no {@code Authorization} header.
 */
public final class OpenAiProvider implements LlmProvider {

  /** Error codes of a quota or billing limit that waiting a few minutes will not lift. */
  private static final Set<String> QUOTA_CODES =
      Set.of("insufficient_quota", "billing_hard_limit_reached", "billing_not_active");

  /** (remaining, reset) header pairs of OpenAI's rate limits. */
  private static final String[][] LIMITS = {
    {"x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"},
    {"x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"}
  };

  private final ProviderSettings settings;
  private final StreamingHttpClient http;
  private final Clock clock;
  private final String maxTokensField;

  public OpenAiProvider(ActorSystem<?> system, ProviderSettings settings) {
    this(system, settings, Clock.systemUTC());
  }

  OpenAiProvider(ActorSystem<?> system, ProviderSettings settings, Clock clock) {
    this.settings = settings;
    this.clock = clock;
    this.http = new StreamingHttpClient(system, settings, this::error);
    this.maxTokensField = maxTokensField(settings.baseUrl());
  }

  /**
   * OpenAI's own servers (and Azure's) refuse {@code max_tokens} for their reasoning models and
   * take {@code max_completion_tokens} for all; the servers that copy the API know {@code
   * max_tokens} (some only that).
   */
  static String maxTokensField(String baseUrl) {
    String host;
    try {
      host = String.valueOf(URI.create(baseUrl.strip()).getHost()).toLowerCase(Locale.ROOT);
    } catch (IllegalArgumentException e) {
      host = "";
    }
    return host.equals("api.openai.com") || host.endsWith(".openai.azure.com")
        ? "max_completion_tokens"
        : "max_tokens";
  }

  @Override
  public String name() {
    return settings.name();
  }

  @Override
  public LlmCall start(LlmRequest request) {
    return start(request, piece -> {});
  }

  @Override
  public LlmCall start(LlmRequest request, Consumer<String> onDelta) {
    ObjectNode body = WireFormat.JSON.createObjectNode();
    body.put("model", settings.model());
    ArrayNode messages = body.putArray("messages");
    if (request.system() != null && !request.system().isBlank()) {
      messages.addObject().put("role", "system").put("content", request.system());
    }
    messages.addObject().put("role", "user").put("content", request.prompt());
    body.put(maxTokensField, settings.maxOutputTokens());
    body.put("stream", true);
    body.putObject("stream_options").put("include_usage", true);
    List<HttpHeader> headers =
        settings.apiKey() == null || settings.apiKey().isEmpty()
            ? List.of()
            : List.of(Authorization.oauth2(settings.apiKey()));
    return http.post("/chat/completions", headers, body, new Stream(), onDelta);
  }

  /**
   * 429 is a rate limit unless its code says the quota or the billing is at an end; the wait comes
   * from {@code retry-after-ms} or {@code retry-after}, else from the reset of the limit that ran
   * out ({@code x-ratelimit-reset-requests} / {@code -tokens}).
   */
  LlmCallException error(ErrorResponse response) {
    JsonNode error = response.error();
    LlmCallException.Kind kind = ErrorResponse.kindOf(response.status());
    if (QUOTA_CODES.contains(error.path("code").asText())
        || QUOTA_CODES.contains(error.path("type").asText())) {
      kind = LlmCallException.Kind.QUOTA_EXCEEDED;
    }
    Duration wait =
        kind.retryable()
            ? RetryAfter.standard(response::header, clock)
                .or(() -> RetryAfter.longestReset(response::header, RetryAfter::goDuration, LIMITS))
                .orElse(null)
            : null;
    return response.failure(name(), kind, wait);
  }

  /** An error the stream itself reports (after a 200): what its type or code says. */
  private LlmCallException streamError(JsonNode error) {
    String code = error.path("code").asText("") + " " + error.path("type").asText("");
    LlmCallException.Kind kind = LlmCallException.Kind.SERVER_ERROR;
    if (QUOTA_CODES.stream().anyMatch(code::contains)) kind = LlmCallException.Kind.QUOTA_EXCEEDED;
    else if (code.contains("rate_limit")) kind = LlmCallException.Kind.RATE_LIMITED;
    else if (code.contains("invalid_request")) kind = LlmCallException.Kind.BAD_REQUEST;
    String message = ErrorResponse.oneLine(error.path("message").asText(code.strip()));
    return new LlmCallException(kind, name() + ": error in the stream: " + message);
  }

  /**
   * Chunks of {@code choices[0].delta.content}; a chunk with {@code finish_reason}; a last chunk of
   * {@code usage} and no choices; then {@code data: [DONE]}.
   */
  private final class Stream implements WireFormat {
    @Override
    public java.util.Optional<java.time.Duration> usedUpFor(
        java.util.function.Function<String, java.util.Optional<String>> header) {
      return RetryAfter.usedUp(header, RetryAfter::goDuration, LIMITS);
    }

    private String model;
    private LlmAnswer.Usage usage;
    private LlmAnswer.FinishReason finish;
    private boolean done;

    @Override
    public String onEvent(String type, String data) {
      if (data.strip().equals("[DONE]")) {
        done = true;
        return null;
      }
      JsonNode chunk = WireFormat.read(name(), data);
      if (chunk.path("error").isObject()) throw streamError(chunk.path("error"));
      if (chunk.path("model").isTextual() && !chunk.path("model").asText().isEmpty()) {
        model = chunk.path("model").asText();
      }
      JsonNode u = chunk.path("usage");
      if (u.isObject()) {
        usage =
            new LlmAnswer.Usage(
                Math.max(0, WireFormat.count(u.path("prompt_tokens"))),
                Math.max(0, WireFormat.count(u.path("completion_tokens"))));
      }
      JsonNode choice = chunk.path("choices").path(0);
      JsonNode reason = choice.path("finish_reason");
      if (reason.isTextual()) finish = finishReason(reason.asText());
      JsonNode content = choice.path("delta").path("content");
      return content.isTextual() ? content.asText() : null;
    }

    @Override
    public boolean complete() {
      return done;
    }

    @Override
    public LlmAnswer answer(String text) {
      return new LlmAnswer(
          text,
          model != null ? model : settings.model(),
          usage,
          finish != null ? finish : LlmAnswer.FinishReason.OTHER);
    }
  }

  static LlmAnswer.FinishReason finishReason(String reason) {
    return switch (reason) {
      case "stop" -> LlmAnswer.FinishReason.STOP;
      case "length" -> LlmAnswer.FinishReason.LENGTH;
      case "content_filter" -> LlmAnswer.FinishReason.CONTENT_FILTER;
      default -> LlmAnswer.FinishReason.OTHER;
    };
  }
}
