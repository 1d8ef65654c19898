package io.reportcluster.node.llm.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * Google Gemini, streamed ({@code POST
 * {base}/v1beta/models/{model}:streamGenerateContent?alt=sse}): each event a {@code
 * GenerateContentResponse}, the last one with a finish reason. The key goes in the {@code
 * x-goog-api-key} header, never in the URL (URLs end up in logs).
 */
public final class GeminiProvider implements LlmProvider {

  private static final String RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo";
  private static final String QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure";
  private static final String ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo";

  private final ProviderSettings settings;
  private final StreamingHttpClient http;
  private final Clock clock;
  private final String path;

  public GeminiProvider(ActorSystem<?> system, ProviderSettings settings) {
    this(system, settings, Clock.systemUTC());
  }

  GeminiProvider(ActorSystem<?> system, ProviderSettings settings, Clock clock) {
    this.settings = settings;
    this.clock = clock;
    this.http = new StreamingHttpClient(system, settings, this::error);
    String model =
        settings.model().startsWith("models/") ? settings.model().substring(7) : settings.model();
    this.path = "/v1beta/models/" + model + ":streamGenerateContent?alt=sse";
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
    if (request.system() != null && !request.system().isBlank()) {
      body.putObject("systemInstruction")
          .putArray("parts")
          .addObject()
          .put("text", request.system());
    }
    ObjectNode user = body.putArray("contents").addObject().put("role", "user");
    user.putArray("parts").addObject().put("text", request.prompt());
    body.putObject("generationConfig").put("maxOutputTokens", settings.maxOutputTokens());
    List<HttpHeader> headers =
        settings.apiKey() == null || settings.apiKey().isEmpty()
            ? List.of()
            : List.of(RawHeader.create("x-goog-api-key", settings.apiKey()));
    return http.post(path, headers, body, new Stream(), onDelta);
  }

  /**
   * By status, with Google's error details: a 429 whose {@code QuotaFailure} names a per-day quota
   * waits for tomorrow (no retry lifts it); a 400 whose {@code ErrorInfo} says the key is invalid
   * is a refused key. The wait: {@code retry-after}, else {@code RetryInfo.retryDelay}.
   */
  LlmCallException error(ErrorResponse response) {
    JsonNode error = response.error();
    LlmCallException.Kind kind = ErrorResponse.kindOf(response.status());
    Duration retryDelay = null;
    for (JsonNode detail : error.path("details")) {
      switch (detail.path("@type").asText()) {
        case QUOTA_FAILURE -> {
          for (JsonNode violation : detail.path("violations")) {
            if (violation.path("quotaId").asText().contains("PerDay")) {
              kind = LlmCallException.Kind.QUOTA_EXCEEDED;
            }
          }
        }
        case ERROR_INFO -> {
          if (detail.path("reason").asText().equals("API_KEY_INVALID")) {
            kind = LlmCallException.Kind.UNAUTHORIZED;
          }
        }
        case RETRY_INFO ->
            retryDelay =
                RetryAfter.protobufDuration(detail.path("retryDelay").asText("")).orElse(null);
        default -> {
          // Help links, localized messages: nothing to decide on
        }
      }
    }
    Duration delay = retryDelay;
    Duration wait =
        kind.retryable()
            ? RetryAfter.standard(response::header, clock)
                .or(() -> Optional.ofNullable(delay))
                .orElse(null)
            : null;
    return response.failure(name(), kind, wait);
  }

  /**
   * Every event is a chunk: {@code candidates[0].content.parts[].text} (thoughts left out), {@code
   * usageMetadata} (totals so far), {@code modelVersion}; the last chunk carries {@code
   * candidates[0].finishReason}. A prompt refused outright has {@code promptFeedback.blockReason}
   * and no candidate: an empty answer stopped by the filter.
   */
  private final class Stream implements WireFormat {
    private String model;
    private LlmAnswer.Usage usage;
    private LlmAnswer.FinishReason finish;

    @Override
    public String onEvent(String type, String data) {
      JsonNode chunk = WireFormat.read(name(), data);
      if (chunk.path("error").isObject()) {
        throw error(new ErrorResponse(chunk.path("error").path("code").asInt(500), Map.of(), data));
      }
      if (chunk.path("modelVersion").isTextual()) model = chunk.path("modelVersion").asText();
      JsonNode u = chunk.path("usageMetadata");
      if (u.isObject()) {
        long thoughts = Math.max(0, WireFormat.count(u.path("thoughtsTokenCount")));
        usage =
            new LlmAnswer.Usage(
                Math.max(0, WireFormat.count(u.path("promptTokenCount"))),
                Math.max(0, WireFormat.count(u.path("candidatesTokenCount"))) + thoughts);
      }
      if (!chunk.path("promptFeedback").path("blockReason").asText("").isEmpty()) {
        finish = LlmAnswer.FinishReason.CONTENT_FILTER;
      }
      JsonNode candidate = chunk.path("candidates").path(0);
      if (candidate.path("finishReason").isTextual()) {
        finish = finishReason(candidate.path("finishReason").asText());
      }
      StringBuilder text = new StringBuilder();
      for (JsonNode part : candidate.path("content").path("parts")) {
        if (!part.path("thought").asBoolean(false) && part.path("text").isTextual()) {
          text.append(part.path("text").asText());
        }
      }
      return text.toString();
    }

    @Override
    public boolean complete() {
      return finish != null;
    }

    @Override
    public LlmAnswer answer(String text) {
      return new LlmAnswer(text, model != null ? model : settings.model(), usage, finish);
    }
  }

  static LlmAnswer.FinishReason finishReason(String reason) {
    return switch (reason) {
      case "STOP" -> LlmAnswer.FinishReason.STOP;
      case "MAX_TOKENS" -> LlmAnswer.FinishReason.LENGTH;
      case "SAFETY", "RECITATION", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY" ->
          LlmAnswer.FinishReason.CONTENT_FILTER;
      default -> LlmAnswer.FinishReason.OTHER;
    };
  }
}
