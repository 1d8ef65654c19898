package io.reportcluster.node.llm.provider;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;

/**
 * How one call's stream of server-sent events reads in a provider's format: which events carry
 * text, when the answer is whole, what the tokens and the finish reason were. One instance per
 * call, fed the events in order by {@link StreamingHttpClient}.
 */
interface WireFormat {

  /** One JSON reader and writer for every provider's bodies and events (plain field names). */
  ObjectMapper JSON = new ObjectMapper();

  /**
   * Reads one event ({@code type} is its {@code event:} field, or null); returns the text it adds
   * to the answer, or null. Throws an {@link LlmCallException} for an error the stream reports.
   */
  String onEvent(String type, String data);

  /**
   * From an answer's headers ({@code header}: a name in lower case to its value): how long the
   * provider says its budget for us is used up (a remaining count of zero, until its reset), so
   * every node pauses instead of earning a 429. Empty for providers that say nothing.
   */
  default Optional<Duration> usedUpFor(Function<String, Optional<String>> header) {
    return Optional.empty();
  }

  /** Whether the event that ends an answer has arrived: without it, the stream was cut. */
  boolean complete();

  /** The answer, once {@link #complete()}: {@code text} is every piece returned, in order. */
  LlmAnswer answer(String text);

  /**
   * An event's JSON. A stream whose events we cannot read is broken in transit or at the provider
   * (never by what we asked), so a retry may get a good one.
   */
  static JsonNode read(String provider, String data) {
    try {
      return JSON.readTree(data);
    } catch (JsonProcessingException e) {
      throw new LlmCallException(
          LlmCallException.Kind.SERVER_ERROR,
          provider + ": an event of the stream is not JSON: " + ErrorResponse.oneLine(data));
    }
  }

  /** A body's JSON, or a missing node when it is none (an HTML error page, an empty body). */
  static JsonNode readOrMissing(String body) {
    if (body == null || body.isBlank()) return MissingNode.getInstance();
    try {
      JsonNode node = JSON.readTree(body);
      return node == null ? MissingNode.getInstance() : node;
    } catch (JsonProcessingException e) {
      return MissingNode.getInstance();
    }
  }

  /** A non-negative count from a usage field, or -1 when the field is absent. */
  static long count(JsonNode node) {
    return node.isNumber() || node.isTextual() ? Math.max(0, node.asLong(0)) : -1;
  }
}
