package io.reportcluster.node.llm.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * An HTTP answer that is not a stream of events: a status, its headers (names in lower case) and
 * its body, read whole. Each provider classifies it from its own error format; what they share (the
 * meaning of a status, reading {@code error.message}) is here.
 */
record ErrorResponse(int status, Map<String, String> headers, String body) {

  /** The longest error message a job view gets, in characters. */
  private static final int MAX_MESSAGE = 500;

  Optional<String> header(String name) {
    return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
  }

  /**
   * The body's {@code error} object, or a missing node. Gemini wraps its error in an array when its
   * answer was to be one (streaming without {@code alt=sse}); either shape is read.
   */
  JsonNode error() {
    JsonNode json = WireFormat.readOrMissing(body);
    if (json.isArray() && json.size() > 0) json = json.get(0);
    JsonNode error = json.path("error");
    return error.isObject() ? error : MissingNode.getInstance();
  }

  /**
   * The provider's own message ({@code error.message}), else the start of the body as text, else
   * the status alone.
   */
  String message() {
    String message = error().path("message").asText("");
    if (message.isBlank()) message = body == null ? "" : body;
    message = oneLine(message);
    return message.isEmpty() ? "HTTP " + status : message;
  }

  /** A failure of {@code kind}, its message "provider status: message". */
  LlmCallException failure(String provider, LlmCallException.Kind kind, Duration retryAfter) {
    return new LlmCallException(kind, provider + " " + status + ": " + message(), retryAfter);
  }

  /**
   * What a status means when the body says nothing more: retryable for 408, 409 (a conflict in the
   * provider's own bookkeeping), 429 and 5xx (Anthropic's 529 overloaded included); permanent for
   * the other 4xx. A redirect means a base URL that points at the wrong place: permanent too.
   */
  static LlmCallException.Kind kindOf(int status) {
    return switch (status) {
      case 400, 413, 422 -> LlmCallException.Kind.BAD_REQUEST;
      case 401 -> LlmCallException.Kind.UNAUTHORIZED;
      case 402 -> LlmCallException.Kind.QUOTA_EXCEEDED;
      case 403 -> LlmCallException.Kind.FORBIDDEN;
      case 404 -> LlmCallException.Kind.NOT_FOUND;
      case 408 -> LlmCallException.Kind.TIMEOUT;
      case 409 -> LlmCallException.Kind.SERVER_ERROR;
      case 429 -> LlmCallException.Kind.RATE_LIMITED;
      default ->
          status >= 500 ? LlmCallException.Kind.SERVER_ERROR : LlmCallException.Kind.BAD_REQUEST;
    };
  }

  /** Text for one line of a log or a job view: whitespace runs collapsed, at most 500 chars. */
  static String oneLine(String text) {
    String line = text == null ? "" : text.strip().replaceAll("\\s+", " ");
    return line.length() <= MAX_MESSAGE ? line : line.substring(0, MAX_MESSAGE) + "...";
  }
}
