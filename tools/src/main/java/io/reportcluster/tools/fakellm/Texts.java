package io.reportcluster.tools.fakellm;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.tools.fakellm.WireFormat.Ask;
import io.reportcluster.tools.fakellm.WireFormat.BadRequest;
import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** What the three wire formats read and write alike. */
final class Texts {
  private Texts() {}

  /**
   * The words of a message's content: a string, or a list of parts whose {@code text} fields count
   * (OpenAI's and Anthropic's typed parts, Gemini's parts); anything else (images, tools) is free.
   */
  static int words(JsonNode content) {
    if (content.isTextual()) return Words.count(content.asText());
    int n = 0;
    if (content.isArray()) {
      for (JsonNode part : content) {
        if (part.isTextual()) n += Words.count(part.asText());
        else if (part.path("text").isTextual()) n += Words.count(part.get("text").asText());
      }
    }
    return n;
  }

  /** A max-tokens field: absent or null means none; otherwise a whole number of at least 1. */
  static int maxTokens(JsonNode value, String name) throws BadRequest {
    if (value.isMissingNode() || value.isNull()) return Ask.NO_MAX;
    if (!value.canConvertToInt() || !value.isIntegralNumber() || value.asInt() < 1) {
      throw new BadRequest(name + ": must be an integer of at least 1, got " + value);
    }
    return value.asInt();
  }

  /** A wait in whole seconds, rounded up, at least 1: retry-after and RetryInfo. */
  static long wholeSeconds(long ms) {
    return Math.max(1, (ms + 999) / 1000);
  }

  /** When a wait of {@code ms} ends, in RFC 3339 to the second (rounded up). */
  static String instantAfter(long ms) {
    Instant at = Instant.now().plusMillis(ms);
    Instant up = at.truncatedTo(ChronoUnit.SECONDS);
    return (up.equals(at) ? up : up.plusSeconds(1)).toString();
  }
}
