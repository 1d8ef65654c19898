package io.reportcluster.node.llm.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/**
 * Anthropic Messages, streamed ({@code POST {base}/v1/messages} with {@code stream: true}): typed
 * events from {@code message_start} to {@code message_stop}.
 */
public final class AnthropicProvider implements LlmProvider {

  static final String VERSION = "2023-06-01";

  /** What Anthropic says when credit or a spend limit, not a rate, stops a call. */
  private static final Pattern SPEND_LIMIT =
      Pattern.compile("credit balance|spend(ing)? limit|usage limit", Pattern.CASE_INSENSITIVE);

  /** (remaining, reset) header pairs of Anthropic's rate limits; resets are RFC 3339 times. */
  private static final String[][] LIMITS = {
    {"anthropic-ratelimit-requests-remaining", "anthropic-ratelimit-requests-reset"},
    {"anthropic-ratelimit-tokens-remaining", "anthropic-ratelimit-tokens-reset"},
    {"anthropic-ratelimit-input-tokens-remaining", "anthropic-ratelimit-input-tokens-reset"},
    {"anthropic-ratelimit-output-tokens-remaining", "anthropic-ratelimit-output-tokens-reset"}
  };

  private final ProviderSettings settings;
  private final StreamingHttpClient http;
  private final Clock clock;

  public AnthropicProvider(ActorSystem<?> system, ProviderSettings settings) {
    this(system, settings, Clock.systemUTC());
  }

  AnthropicProvider(ActorSystem<?> system, ProviderSettings settings, Clock clock) {
    this.settings = settings;
    this.clock = clock;
    this.http = new StreamingHttpClient(system, settings, this::error);
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
    body.put("max_tokens", settings.maxOutputTokens());
    if (request.system() != null && !request.system().isBlank()) {
      body.put("system", request.system());
    }
    body.putArray("messages").addObject().put("role", "user").put("content", request.prompt());
    body.put("stream", true);
    List<HttpHeader> headers = new ArrayList<>();
    if (settings.apiKey() != null && !settings.apiKey().isEmpty()) {
      headers.add(RawHeader.create("x-api-key", settings.apiKey()));
    }
    headers.add(RawHeader.create("anthropic-version", VERSION));
    return http.post("/v1/messages", headers, body, new Stream(), onDelta);
  }

  /**
   * By status, but a spend limit or an empty credit balance (a 400, 403 or 429 that says so, or
   * {@code billing_error}) is a quota no retry lifts. The wait: {@code retry-after}, else the reset
   * of the limit that ran out ({@code anthropic-ratelimit-*-reset}).
   */
  LlmCallException error(ErrorResponse response) {
    JsonNode error = response.error();
    LlmCallException.Kind kind = ErrorResponse.kindOf(response.status());
    if (isSpendLimit(response.status(), error)) kind = LlmCallException.Kind.QUOTA_EXCEEDED;
    Duration wait =
        kind.retryable()
            ? RetryAfter.standard(response::header, clock)
                .or(
                    () ->
                        RetryAfter.longestReset(
                            response::header, v -> RetryAfter.untilTimestamp(v, clock), LIMITS))
                .orElse(null)
            : null;
    return response.failure(name(), kind, wait);
  }

  private static boolean isSpendLimit(int status, JsonNode error) {
    if (error.path("type").asText().equals("billing_error")) return true;
    if (error.path("details").path("error_code").asText().equals("enforced_spend_limit_reached")) {
      return true;
    }
    return (status == 400 || status == 403 || status == 429)
        && SPEND_LIMIT.matcher(error.path("message").asText()).find();
  }

  /** An {@code error} event in the stream (after a 200): what its type says. */
  private LlmCallException streamError(JsonNode error) {
    String type = error.path("type").asText("");
    LlmCallException.Kind kind =
        switch (type) {
          case "invalid_request_error", "request_too_large" -> LlmCallException.Kind.BAD_REQUEST;
          case "authentication_error" -> LlmCallException.Kind.UNAUTHORIZED;
          case "permission_error" -> LlmCallException.Kind.FORBIDDEN;
          case "not_found_error" -> LlmCallException.Kind.NOT_FOUND;
          case "rate_limit_error" -> LlmCallException.Kind.RATE_LIMITED;
          case "billing_error" -> LlmCallException.Kind.QUOTA_EXCEEDED;
          case "timeout_error" -> LlmCallException.Kind.TIMEOUT;
          default -> LlmCallException.Kind.SERVER_ERROR; // api_error, overloaded_error
        };
    String message = ErrorResponse.oneLine(error.path("message").asText(type));
    return new LlmCallException(kind, name() + ": " + type + " in the stream: " + message);
  }

  /**
   * {@code message_start} (model, input tokens), {@code content_block_delta} ({@code text_delta}
   * pieces), {@code message_delta} (stop reason, output tokens so far), {@code message_stop};
   * {@code ping} and other blocks' deltas (thinking, tool input) carry no answer text.
   */
  private final class Stream implements WireFormat {
    @Override
    public java.util.Optional<java.time.Duration> usedUpFor(
        java.util.function.Function<String, java.util.Optional<String>> header) {
      return RetryAfter.usedUp(header, v -> RetryAfter.untilTimestamp(v, clock), LIMITS);
    }

    private String model;
    private long inputTokens = -1;
    private long outputTokens = -1;
    private LlmAnswer.FinishReason finish;
    private boolean done;

    @Override
    public String onEvent(String type, String data) {
      JsonNode event = WireFormat.read(name(), data);
      String kind = event.path("type").asText(type == null ? "" : type);
      switch (kind) {
        case "message_start" -> {
          JsonNode message = event.path("message");
          if (!message.path("model").asText().isEmpty()) model = message.path("model").asText();
          tokens(message.path("usage"));
        }
        case "content_block_start" -> {
          JsonNode block = event.path("content_block");
          if (block.path("type").asText().equals("text")) return block.path("text").asText(null);
        }
        case "content_block_delta" -> {
          JsonNode delta = event.path("delta");
          if (delta.path("type").asText().equals("text_delta")) return delta.path("text").asText();
        }
        case "message_delta" -> {
          JsonNode reason = event.path("delta").path("stop_reason");
          if (reason.isTextual()) finish = finishReason(reason.asText());
          tokens(event.path("usage"));
        }
        case "message_stop" -> done = true;
        case "error" -> throw streamError(event.path("error"));
        default -> {
          // ping, content_block_stop, and event types added later
        }
      }
      return null;
    }

    /** Counts are cumulative: the latest of each wins. */
    private void tokens(JsonNode usage) {
      long in = WireFormat.count(usage.path("input_tokens"));
      long out = WireFormat.count(usage.path("output_tokens"));
      if (in >= 0) inputTokens = in;
      if (out >= 0) outputTokens = out;
    }

    @Override
    public boolean complete() {
      return done;
    }

    @Override
    public LlmAnswer answer(String text) {
      LlmAnswer.Usage usage =
          inputTokens < 0 && outputTokens < 0
              ? null
              : new LlmAnswer.Usage(Math.max(0, inputTokens), Math.max(0, outputTokens));
      return new LlmAnswer(
          text,
          model != null ? model : settings.model(),
          usage,
          finish != null ? finish : LlmAnswer.FinishReason.OTHER);
    }
  }

  static LlmAnswer.FinishReason finishReason(String stopReason) {
    return switch (stopReason) {
      case "end_turn", "stop_sequence" -> LlmAnswer.FinishReason.STOP;
      case "max_tokens", "model_context_window_exceeded" -> LlmAnswer.FinishReason.LENGTH;
      case "refusal" -> LlmAnswer.FinishReason.CONTENT_FILTER;
      default -> LlmAnswer.FinishReason.OTHER;
    };
  }
}
