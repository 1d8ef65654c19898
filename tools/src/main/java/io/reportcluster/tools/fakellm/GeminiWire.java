package io.reportcluster.tools.fakellm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import io.reportcluster.protocol.Json;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Gemini's {@code generateContent} and {@code streamGenerateContent?alt=sse} (under {@code
 * /v1beta/models/} or {@code /v1/models/}). Errors are Google's: {@code code}, {@code message},
 * {@code status} and typed {@code details}; a 429 says when to retry only in its body (RetryInfo),
 * as the API does, with no rate-limit headers.
 */
final class GeminiWire implements WireFormat {
  /** The paths this format serves: model and method. */
  static final Pattern PATH =
      Pattern.compile("/v1(?:beta)?/models/([^/:]+):(generateContent|streamGenerateContent)");

  private static final String ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo";
  private static final String SERVICE = "generativelanguage.googleapis.com";

  @Override
  public Provider provider() {
    return Provider.GEMINI;
  }

  @Override
  public String apiKey(HttpExchange exchange) {
    String key = exchange.getRequestHeaders().getFirst("x-goog-api-key");
    if (key == null) key = queryParameter(exchange, "key");
    return key == null || key.isBlank() ? null : key.trim();
  }

  @Override
  public Ask read(JsonNode body, HttpExchange exchange) throws BadRequest {
    Matcher path = PATH.matcher(exchange.getRequestURI().getPath());
    if (!path.matches()) throw new BadRequest("unknown method");
    boolean stream = path.group(2).equals("streamGenerateContent");
    if (stream && !"sse".equals(queryParameter(exchange, "alt"))) {
      // The API would stream one JSON array instead; the fake speaks only the SSE form clients use.
      throw new BadRequest("This server streams only with alt=sse.");
    }
    if (!body.isObject()) throw new BadRequest("Invalid JSON payload received.");
    JsonNode contents = body.path("contents");
    if (!contents.isArray() || contents.isEmpty()) {
      throw new BadRequest("* GenerateContentRequest.contents: contents is not specified");
    }
    int input = Texts.words(body.path("systemInstruction").path("parts"));
    for (JsonNode content : contents) input += Texts.words(content.path("parts"));
    int maxTokens =
        Texts.maxTokens(
            body.path("generationConfig").path("maxOutputTokens"),
            "generation_config.max_output_tokens");
    return new Ask(path.group(1), stream, true, input, maxTokens);
  }

  @Override
  public String requestIdHeader() {
    return null;
  }

  @Override
  public String newId(String random) {
    return random;
  }

  @Override
  public ObjectNode whole(Completion c, Ask ask) {
    return chunk(c, c.text(), true, ask);
  }

  @Override
  public List<String> streamHead(Completion c, Ask ask) {
    return List.of();
  }

  @Override
  public String streamWord(Completion c, Ask ask, int i) {
    return sse(chunk(c, c.piece(i), i == c.words().size() - 1, ask));
  }

  @Override
  public List<String> streamTail(Completion c, Ask ask) {
    // The last word's chunk carried the finish and the usage; an empty answer needs one chunk.
    return c.words().isEmpty() ? List.of(sse(chunk(c, "", true, ask))) : List.of();
  }

  @Override
  public ErrorAnswer error(Refused r) {
    return switch (r.refusal()) {
      case MISSING_KEY ->
          error(
              401,
              "UNAUTHENTICATED",
              "Method doesn't allow unregistered callers (callers without established identity)."
                  + " Please use API Key or other form of API consumer identity to call this API.",
              errorInfo("CREDENTIALS_MISSING"));
      case WRONG_KEY ->
          error(
              401,
              "UNAUTHENTICATED",
              "API key not valid. Please pass a valid API key.",
              errorInfo("API_KEY_INVALID"));
      case BAD_REQUEST -> error(400, "INVALID_ARGUMENT", r.detail(), null);
      case UNKNOWN_MODEL ->
          error(
              404,
              "NOT_FOUND",
              "models/"
                  + r.model()
                  + " is not found for API version v1beta, or is not supported for generateContent."
                  + " Call ListModels to see the list of available models and their supported"
                  + " methods.",
              null);
      case RATE_LIMITED -> rateLimited(r);
      case SERVER_ERROR ->
          error(
              500,
              "INTERNAL",
              "An internal error has occurred. Please retry or report in"
                  + " https://developers.generativeai.google/guide/troubleshooting",
              null);
      case OVERLOADED ->
          error(503, "UNAVAILABLE", "The model is overloaded. Please try again later.", null);
    };
  }

  @Override
  public void limitHeaders(Headers headers, MinuteLimits.Verdict verdict) {
    // None: Gemini reports its limits only in a 429's body.
  }

  private static ErrorAnswer rateLimited(Refused r) {
    MinuteLimits.Verdict v = r.verdict();
    boolean requests = v.exceeded() == MinuteLimits.Exceeded.REQUESTS;
    ArrayNode details = Json.MAPPER.createArrayNode();
    ObjectNode quota = details.addObject();
    quota.put("@type", "type.googleapis.com/google.rpc.QuotaFailure");
    ObjectNode violation = quota.putArray("violations").addObject();
    violation.put(
        "quotaMetric",
        SERVICE
            + (requests
                ? "/generate_content_paid_tier_requests"
                : "/generate_content_paid_tier_input_token_count"));
    violation.put(
        "quotaId",
        requests
            ? "GenerateRequestsPerMinutePerProjectPerModel"
            : "GenerateContentPaidTierInputTokensPerModelPerMinute");
    ObjectNode dimensions = violation.putObject("quotaDimensions");
    dimensions.put("location", "global");
    dimensions.put("model", r.model());
    violation.put("quotaValue", String.valueOf(requests ? v.requestLimit() : v.tokenLimit()));
    ObjectNode help = details.addObject();
    help.put("@type", "type.googleapis.com/google.rpc.Help");
    ObjectNode link = help.putArray("links").addObject();
    link.put("description", "Learn more about Gemini API quotas");
    link.put("url", "https://ai.google.dev/gemini-api/docs/rate-limits");
    ObjectNode retry = details.addObject();
    retry.put("@type", "type.googleapis.com/google.rpc.RetryInfo");
    retry.put("retryDelay", Texts.wholeSeconds(v.resetMs()) + "s");
    return error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details. For more"
            + " information on this error, head to:"
            + " https://ai.google.dev/gemini-api/docs/rate-limits.",
        details);
  }

  private static ArrayNode errorInfo(String reason) {
    ArrayNode details = Json.MAPPER.createArrayNode();
    ObjectNode info = details.addObject();
    info.put("@type", ERROR_INFO);
    info.put("reason", reason);
    info.put("domain", "googleapis.com");
    info.putObject("metadata").put("service", SERVICE);
    return details;
  }

  private static ErrorAnswer error(int status, String code, String message, ArrayNode details) {
    ObjectNode body = Json.MAPPER.createObjectNode();
    ObjectNode e = body.putObject("error");
    e.put("code", status);
    e.put("message", message);
    e.put("status", code);
    if (details != null) e.set("details", details);
    return new ErrorAnswer(status, body);
  }

  /**
   * One response chunk (the whole answer is one too). Until the last, usage has only the prompt, as
   * the API's streams do; the last has the answer's count and its finish reason.
   */
  private static ObjectNode chunk(Completion c, String text, boolean last, Ask ask) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    ObjectNode candidate = o.putArray("candidates").addObject();
    ObjectNode content = candidate.putObject("content");
    content.putArray("parts").addObject().put("text", text);
    content.put("role", "model");
    if (last) {
      candidate.put("finishReason", finishReason(c.finish()));
      if (c.finish() == Finish.FILTER) {
        ObjectNode rating = candidate.putArray("safetyRatings").addObject();
        rating.put("category", "HARM_CATEGORY_DANGEROUS_CONTENT");
        rating.put("probability", "HIGH");
        rating.put("blocked", true);
      }
    }
    candidate.put("index", 0);
    ObjectNode usage = o.putObject("usageMetadata");
    usage.put("promptTokenCount", ask.inputTokens());
    if (last) usage.put("candidatesTokenCount", c.outputTokens());
    usage.put("totalTokenCount", ask.inputTokens() + (last ? c.outputTokens() : 0));
    o.put("modelVersion", c.model());
    o.put("responseId", c.id());
    return o;
  }

  /** Gemini's streams end each event with CRLF CRLF (SSE allows it; clients must too). */
  private static String sse(ObjectNode chunk) {
    return "data: " + FakeLlmServer.json(chunk) + "\r\n\r\n";
  }

  private static String finishReason(Finish f) {
    return switch (f) {
      case STOP -> "STOP";
      case LENGTH -> "MAX_TOKENS";
      case FILTER -> "SAFETY";
    };
  }

  private static String queryParameter(HttpExchange exchange, String name) {
    String query = exchange.getRequestURI().getRawQuery();
    if (query == null) return null;
    for (String pair : query.split("&")) {
      int eq = pair.indexOf('=');
      String key = eq < 0 ? pair : pair.substring(0, eq);
      if (key.equals(name)) {
        return eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      }
    }
    return null;
  }
}
