package io.reportcluster.tools.fakellm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import io.reportcluster.protocol.Json;
import java.util.List;

/** Anthropic's Messages API ({@code POST /v1/messages}), streaming as typed events or not. */
final class AnthropicWire implements WireFormat {

  @Override
  public Provider provider() {
    return Provider.ANTHROPIC;
  }

  @Override
  public String apiKey(HttpExchange exchange) {
    String key = exchange.getRequestHeaders().getFirst("x-api-key");
    return key == null || key.isBlank() ? null : key.trim();
  }

  @Override
  public String missingHeader(HttpExchange exchange) {
    String version = exchange.getRequestHeaders().getFirst("anthropic-version");
    return version == null || version.isBlank() ? "anthropic-version: header is required" : null;
  }

  @Override
  public Ask read(JsonNode body, HttpExchange exchange) throws BadRequest {
    if (!body.isObject()) throw new BadRequest("body: Input should be an object");
    String model = body.path("model").asText("");
    if (model.isEmpty()) throw new BadRequest("model: Field required");
    if (!body.hasNonNull("max_tokens")) throw new BadRequest("max_tokens: Field required");
    int maxTokens = Texts.maxTokens(body.get("max_tokens"), "max_tokens");
    JsonNode messages = body.path("messages");
    if (!messages.isArray()) throw new BadRequest("messages: Field required");
    if (messages.isEmpty()) throw new BadRequest("messages: at least one message is required");
    int input = Texts.words(body.path("system"));
    for (JsonNode m : messages) {
      String role = m.path("role").asText("");
      if (!role.equals("user") && !role.equals("assistant")) {
        throw new BadRequest("messages: role must be 'user' or 'assistant', got '" + role + "'");
      }
      input += Texts.words(m.path("content"));
    }
    return new Ask(model, body.path("stream").asBoolean(false), true, input, maxTokens);
  }

  @Override
  public String requestIdHeader() {
    return "request-id";
  }

  @Override
  public String newId(String random) {
    return "msg_" + random;
  }

  @Override
  public ObjectNode whole(Completion c, Ask ask) {
    ObjectNode o = message(c);
    ObjectNode block = o.putArray("content").addObject();
    block.put("type", "text");
    block.put("text", c.text());
    o.put("stop_reason", stopReason(c.finish()));
    o.putNull("stop_sequence");
    usage(o.putObject("usage"), ask.inputTokens(), c.outputTokens());
    return o;
  }

  @Override
  public List<String> streamHead(Completion c, Ask ask) {
    ObjectNode start = event("message_start");
    ObjectNode message = start.putObject("message");
    message.setAll(message(c));
    message.putArray("content");
    message.putNull("stop_reason");
    message.putNull("stop_sequence");
    // As the API does: message_start counts the first output token; message_delta has the total.
    usage(message.putObject("usage"), ask.inputTokens(), 1);
    ObjectNode blockStart = event("content_block_start");
    blockStart.put("index", 0);
    ObjectNode block = blockStart.putObject("content_block");
    block.put("type", "text");
    block.put("text", "");
    return List.of(
        WireFormat.sse("message_start", start),
        WireFormat.sse("content_block_start", blockStart),
        WireFormat.sse("ping", event("ping")));
  }

  @Override
  public String streamWord(Completion c, Ask ask, int i) {
    ObjectNode o = event("content_block_delta");
    o.put("index", 0);
    ObjectNode delta = o.putObject("delta");
    delta.put("type", "text_delta");
    delta.put("text", c.piece(i));
    return WireFormat.sse("content_block_delta", o);
  }

  @Override
  public List<String> streamTail(Completion c, Ask ask) {
    ObjectNode blockStop = event("content_block_stop");
    blockStop.put("index", 0);
    ObjectNode messageDelta = event("message_delta");
    ObjectNode delta = messageDelta.putObject("delta");
    delta.put("stop_reason", stopReason(c.finish()));
    delta.putNull("stop_sequence");
    messageDelta.putObject("usage").put("output_tokens", c.outputTokens());
    return List.of(
        WireFormat.sse("content_block_stop", blockStop),
        WireFormat.sse("message_delta", messageDelta),
        WireFormat.sse("message_stop", event("message_stop")));
  }

  @Override
  public ErrorAnswer error(Refused r) {
    return switch (r.refusal()) {
      case MISSING_KEY -> error(401, "authentication_error", "x-api-key header is required");
      case WRONG_KEY -> error(401, "authentication_error", "invalid x-api-key");
      case BAD_REQUEST -> error(400, "invalid_request_error", r.detail());
      case UNKNOWN_MODEL -> error(404, "not_found_error", "model: " + r.model());
      case RATE_LIMITED -> error(429, "rate_limit_error", rateLimitMessage(r.verdict()));
      case SERVER_ERROR -> error(500, "api_error", "Internal server error");
      case OVERLOADED -> error(529, "overloaded_error", "Overloaded");
    };
  }

  @Override
  public void limitHeaders(Headers h, MinuteLimits.Verdict v) {
    String reset = Texts.instantAfter(v.resetMs());
    if (v.requestLimit() > 0) {
      h.set("anthropic-ratelimit-requests-limit", String.valueOf(v.requestLimit()));
      h.set("anthropic-ratelimit-requests-remaining", String.valueOf(v.requestsLeft()));
      h.set("anthropic-ratelimit-requests-reset", reset);
    }
    if (v.tokenLimit() > 0) {
      h.set("anthropic-ratelimit-tokens-limit", String.valueOf(v.tokenLimit()));
      h.set("anthropic-ratelimit-tokens-remaining", String.valueOf(v.tokensLeft()));
      h.set("anthropic-ratelimit-tokens-reset", reset);
    }
    if (!v.admitted()) h.set("retry-after", String.valueOf(Texts.wholeSeconds(v.resetMs())));
  }

  private static String rateLimitMessage(MinuteLimits.Verdict v) {
    boolean requests = v.exceeded() == MinuteLimits.Exceeded.REQUESTS;
    return "This request would exceed the rate limit for your organization of "
        + (requests ? v.requestLimit() + " requests" : v.tokenLimit() + " tokens")
        + " per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits."
        + " You can see the response headers for current usage.";
  }

  private static ErrorAnswer error(int status, String type, String message) {
    ObjectNode body = Json.MAPPER.createObjectNode();
    body.put("type", "error");
    ObjectNode e = body.putObject("error");
    e.put("type", type);
    e.put("message", message);
    return new ErrorAnswer(status, body);
  }

  private static ObjectNode message(Completion c) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("id", c.id());
    o.put("type", "message");
    o.put("role", "assistant");
    o.put("model", c.model());
    return o;
  }

  private static ObjectNode event(String type) {
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("type", type);
    return o;
  }

  private static void usage(ObjectNode usage, int input, int output) {
    usage.put("input_tokens", input);
    usage.put("output_tokens", output);
  }

  private static String stopReason(Finish f) {
    return switch (f) {
      case STOP -> "end_turn";
      case LENGTH -> "max_tokens";
      case FILTER -> "refusal";
    };
  }
}
