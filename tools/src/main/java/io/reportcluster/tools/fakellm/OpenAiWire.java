package io.reportcluster.tools.fakellm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import io.reportcluster.protocol.Json;
import java.util.List;
import java.util.Locale;

/** OpenAI's Chat Completions ({@code POST /v1/chat/completions}), streaming or not. */
final class OpenAiWire implements WireFormat {
  private static final String FINGERPRINT = "fp_fakellm";

  @Override
  public Provider provider() {
    return Provider.OPENAI;
  }

  @Override
  public String apiKey(HttpExchange exchange) {
    String auth = exchange.getRequestHeaders().getFirst("Authorization");
    if (auth == null || !auth.regionMatches(true, 0, "Bearer ", 0, 7)) return null;
    String key = auth.substring(7).trim();
    return key.isEmpty() ? null : key;
  }

  @Override
  public Ask read(JsonNode body, HttpExchange exchange) throws BadRequest {
    if (!body.isObject()) throw new BadRequest("The request body must be a JSON object.");
    String model = body.path("model").asText("");
    if (model.isEmpty()) throw new BadRequest("you must provide a model parameter");
    JsonNode messages = body.path("messages");
    if (!messages.isArray()) throw new BadRequest("'messages' is a required property");
    if (messages.isEmpty()) throw new BadRequest("[] is too short - 'messages'");
    int input = 0;
    for (JsonNode m : messages) {
      if (!m.path("role").isTextual()) throw new BadRequest("'role' is a required property");
      input += Texts.words(m.path("content"));
    }
    int maxTokens =
        body.hasNonNull("max_completion_tokens")
            ? Texts.maxTokens(body.get("max_completion_tokens"), "max_completion_tokens")
            : Texts.maxTokens(body.path("max_tokens"), "max_tokens");
    return new Ask(
        model,
        body.path("stream").asBoolean(false),
        body.path("stream_options").path("include_usage").asBoolean(false),
        input,
        maxTokens);
  }

  @Override
  public String requestIdHeader() {
    return "x-request-id";
  }

  @Override
  public String newId(String random) {
    return "chatcmpl-" + random;
  }

  @Override
  public ObjectNode whole(Completion c, Ask ask) {
    ObjectNode o = base(c, "chat.completion");
    ObjectNode choice = o.putArray("choices").addObject();
    choice.put("index", 0);
    ObjectNode message = choice.putObject("message");
    message.put("role", "assistant");
    message.put("content", c.text());
    message.putNull("refusal");
    choice.putNull("logprobs");
    choice.put("finish_reason", finish(c.finish()));
    usage(o, c, ask);
    return o;
  }

  @Override
  public List<String> streamHead(Completion c, Ask ask) {
    ObjectNode delta = Json.MAPPER.createObjectNode();
    delta.put("role", "assistant");
    delta.put("content", "");
    delta.putNull("refusal");
    return List.of(chunk(c, ask, delta, null));
  }

  @Override
  public String streamWord(Completion c, Ask ask, int i) {
    ObjectNode delta = Json.MAPPER.createObjectNode();
    delta.put("content", c.piece(i));
    return chunk(c, ask, delta, null);
  }

  @Override
  public List<String> streamTail(Completion c, Ask ask) {
    String last = chunk(c, ask, Json.MAPPER.createObjectNode(), finish(c.finish()));
    if (!ask.includeUsage()) return List.of(last, "data: [DONE]\n\n");
    // As the API does: one more chunk, with no choices, carries the usage.
    ObjectNode usage = base(c, "chat.completion.chunk");
    usage.putArray("choices");
    usage(usage, c, ask);
    return List.of(last, WireFormat.sse(null, usage), "data: [DONE]\n\n");
  }

  @Override
  public ErrorAnswer error(Refused r) {
    return switch (r.refusal()) {
      case MISSING_KEY ->
          error(
              401,
              "You didn't provide an API key. You need to provide your API key in an Authorization"
                  + " header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
              "invalid_request_error",
              null);
      case WRONG_KEY ->
          error(
              401,
              "Incorrect API key provided. You can find your API key at"
                  + " https://platform.openai.com/account/api-keys.",
              "invalid_request_error",
              "invalid_api_key");
      case BAD_REQUEST -> error(400, r.detail(), "invalid_request_error", null);
      case UNKNOWN_MODEL ->
          error(
              404,
              "The model `" + r.model() + "` does not exist or you do not have access to it.",
              "invalid_request_error",
              "model_not_found");
      case RATE_LIMITED -> rateLimited(r);
      case SERVER_ERROR ->
          error(
              500,
              "The server had an error while processing your request. Sorry about that!",
              "server_error",
              null);
      case OVERLOADED ->
          error(
              503,
              "The engine is currently overloaded, please try again later.",
              "server_error",
              null);
    };
  }

  @Override
  public void limitHeaders(Headers h, MinuteLimits.Verdict v) {
    if (v.requestLimit() > 0) {
      h.set("x-ratelimit-limit-requests", String.valueOf(v.requestLimit()));
      h.set("x-ratelimit-remaining-requests", String.valueOf(v.requestsLeft()));
      h.set("x-ratelimit-reset-requests", duration(v.resetMs()));
    }
    if (v.tokenLimit() > 0) {
      h.set("x-ratelimit-limit-tokens", String.valueOf(v.tokenLimit()));
      h.set("x-ratelimit-remaining-tokens", String.valueOf(v.tokensLeft()));
      h.set("x-ratelimit-reset-tokens", duration(v.resetMs()));
    }
    if (!v.admitted()) {
      h.set("retry-after", String.valueOf(Texts.wholeSeconds(v.resetMs())));
      h.set("retry-after-ms", String.valueOf(v.resetMs()));
    }
  }

  /**
   * A time span as OpenAI's reset headers write it (Go's duration format): {@code 12ms}, {@code
   * 1.2s}, {@code 1m3s}, {@code 1h0m0s}.
   */
  static String duration(long ms) {
    if (ms <= 0) return "0s";
    if (ms < 1000) return ms + "ms";
    StringBuilder s = new StringBuilder();
    long hours = ms / 3_600_000;
    long minutes = ms / 60_000 % 60;
    if (hours > 0) s.append(hours).append('h');
    if (hours > 0 || minutes > 0) s.append(minutes).append('m');
    long millis = ms % 60_000;
    s.append(millis / 1000);
    if (millis % 1000 != 0) {
      String fraction = String.format(Locale.ROOT, "%03d", millis % 1000).replaceAll("0+$", "");
      s.append('.').append(fraction);
    }
    return s.append('s').toString();
  }

  private ErrorAnswer rateLimited(Refused r) {
    MinuteLimits.Verdict v = r.verdict();
    boolean requests = v.exceeded() == MinuteLimits.Exceeded.REQUESTS;
    String what = requests ? "requests per min (RPM)" : "tokens per min (TPM)";
    int limit = requests ? v.requestLimit() : v.tokenLimit();
    int used = requests ? v.requestLimit() - v.requestsLeft() : v.tokenLimit() - v.tokensLeft();
    int asked = requests ? 1 : v.tokensAsked();
    return error(
        429,
        "Rate limit reached for "
            + r.model()
            + " in organization org-fakellm on "
            + what
            + ": Limit "
            + limit
            + ", Used "
            + used
            + ", Requested "
            + asked
            + ". Please try again in "
            + duration(v.resetMs())
            + ". Visit https://platform.openai.com/account/rate-limits to learn more.",
        requests ? "requests" : "tokens",
        "rate_limit_exceeded");
  }

  private static ErrorAnswer error(int status, String message, String type, String code) {
    ObjectNode body = Json.MAPPER.createObjectNode();
    ObjectNode e = body.putObject("error");
    e.put("message", message);
    e.put("type", type);
    e.putNull("param");
    if (code == null) e.putNull("code");
    else e.put("code", code);
    return new ErrorAnswer(status, body);
  }

  private static ObjectNode base(Completion c, String object) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("id", c.id());
    o.put("object", object);
    o.put("created", c.createdEpochSecond());
    o.put("model", c.model());
    o.put("system_fingerprint", FINGERPRINT);
    return o;
  }

  private static String chunk(Completion c, Ask ask, ObjectNode delta, String finishReason) {
    ObjectNode o = base(c, "chat.completion.chunk");
    ObjectNode choice = o.putArray("choices").addObject();
    choice.put("index", 0);
    choice.set("delta", delta);
    choice.putNull("logprobs");
    if (finishReason == null) choice.putNull("finish_reason");
    else choice.put("finish_reason", finishReason);
    // With include_usage every chunk has "usage": null but the last.
    if (ask.includeUsage()) o.putNull("usage");
    return WireFormat.sse(null, o);
  }

  private static void usage(ObjectNode o, Completion c, Ask ask) {
    ObjectNode usage = o.putObject("usage");
    usage.put("prompt_tokens", ask.inputTokens());
    usage.put("completion_tokens", c.outputTokens());
    usage.put("total_tokens", ask.inputTokens() + c.outputTokens());
  }

  private static String finish(Finish f) {
    return switch (f) {
      case STOP -> "stop";
      case LENGTH -> "length";
      case FILTER -> "content_filter";
    };
  }
}
