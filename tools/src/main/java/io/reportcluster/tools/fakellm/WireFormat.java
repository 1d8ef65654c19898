package io.reportcluster.tools.fakellm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import java.util.List;

/**
 * One provider's API as the fake speaks it: where its key travels, how a request reads, what an
 * answer, a stream and an error look like. {@link FakeLlmServer} decides what to answer (after
 * checking key, model, limits and the error knobs); a wire format only spells it.
 */
interface WireFormat {

  /** What a request asks for, read from its body (and, for Gemini, its path). */
  record Ask(String model, boolean stream, boolean includeUsage, int inputTokens, int maxTokens) {
    /** No max tokens in the request: the answer has its configured length. */
    static final int NO_MAX = 0;
  }

  /** How an answer ends. */
  enum Finish {
    /** Said all it had to say. */
    STOP,
    /** Cut at the request's max tokens. */
    LENGTH,
    /** Stopped by the content filter. */
    FILTER
  }

  /** The answer the fake gives: its words (a token each) and how it ends. */
  record Completion(
      String id, String model, long createdEpochSecond, List<String> words, Finish finish) {
    int outputTokens() {
      return words.size();
    }

    /** Word {@code i} as a stream delivers it: after a space unless it is the first. */
    String piece(int i) {
      return i == 0 ? words.get(0) : " " + words.get(i);
    }

    String text() {
      return String.join(" ", words);
    }
  }

  /** Why a request gets no answer. */
  enum Refusal {
    MISSING_KEY,
    WRONG_KEY,
    BAD_REQUEST,
    UNKNOWN_MODEL,
    RATE_LIMITED,
    SERVER_ERROR,
    OVERLOADED
  }

  /** A refusal with what its message names: the model, a detail, the exceeded budget. */
  record Refused(Refusal refusal, String model, String detail, MinuteLimits.Verdict verdict) {}

  /** An error answer: its status and body. */
  record ErrorAnswer(int status, ObjectNode body) {}

  /** A request this API would reject with a 400, and the API's own words for why. */
  final class BadRequest extends Exception {
    private static final long serialVersionUID = 1L;

    BadRequest(String message) {
      super(message, null, false, false);
    }
  }

  Provider provider();

  /** The API key the request carries, or null when it carries none. */
  String apiKey(HttpExchange exchange);

  /** A header the API requires and the request lacks, as a 400's message; null when none. */
  default String missingHeader(HttpExchange exchange) {
    return null;
  }

  /** Reads a request; {@code exchange} for what the path or query says. */
  Ask read(JsonNode body, HttpExchange exchange) throws BadRequest;

  /** The header naming the request's id, as the API spells it (null: none). */
  String requestIdHeader();

  /** A new answer id, with the API's prefix. */
  String newId(String random);

  /** The whole answer of a non-streaming request. */
  ObjectNode whole(Completion c, Ask ask);

  /** The SSE frames before the first word. */
  List<String> streamHead(Completion c, Ask ask);

  /** The SSE frame carrying word {@code i}. */
  String streamWord(Completion c, Ask ask, int i);

  /** The SSE frames after the last word. */
  List<String> streamTail(Completion c, Ask ask);

  ErrorAnswer error(Refused refused);

  /**
   * The API's rate-limit headers for a request charged (or refused) by limits: every answer when a
   * limit is set, and the retry hints of a 429.
   */
  void limitHeaders(Headers headers, MinuteLimits.Verdict verdict);

  /** One server-sent event: an optional name and a JSON payload. */
  static String sse(String event, JsonNode data) {
    String json = FakeLlmServer.json(data);
    return event == null
        ? "data: " + json + "\n\n"
        : "event: " + event + "\ndata: " + json + "\n\n";
  }
}
