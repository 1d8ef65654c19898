package io.reportcluster.node.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/**
 * A submit's body, checked: {@code startup} (required, trimmed of Unicode spaces, no control,
 * line-break or invisible formatting characters, valid Unicode, at most {@code
 * reports.job.max-startup-length} characters) and {@code provider} (optional, a configured one).
 * Each rule answers 400 with its own message, so a client knows what to fix.
 */
record SubmitBody(String startup, List<String> providers, HttpResponse error) {
  /** Longest provider chain a submit may name. */
  static final int MAX_CHAIN = 10;

  static final int MAX_IDEMPOTENCY_KEY = 255;

  static SubmitBody of(JsonNode body, int maxStartupLength, ProviderRegistry providers) {
    if (!body.isObject()) return invalid("invalid_body", "the body must be a JSON object");
    JsonNode startup = body.get("startup");
    if (startup == null || startup.isNull())
      return invalid("invalid_startup", "startup is required");
    if (!startup.isTextual()) return invalid("invalid_startup", "startup must be a string");
    String name = stripSpaces(startup.textValue());
    if (name.isEmpty())
      return invalid("invalid_startup", "startup must not be empty or only spaces");
    int bad = firstOf(name, SubmitBody::isControlOrLineBreak);
    if (bad >= 0) {
      return invalid(
          "invalid_startup",
          "startup must not contain control characters or line breaks (found "
              + codePoint(bad)
              + ")");
    }
    bad = firstOf(name, cp -> Character.getType(cp) == Character.FORMAT);
    if (bad >= 0) {
      return invalid(
          "invalid_startup",
          "startup must not contain invisible formatting characters such as bidi "
              + "controls or zero-width characters (found "
              + codePoint(bad)
              + ")");
    }
    if (firstOf(name, cp -> Character.getType(cp) == Character.SURROGATE) >= 0) {
      return invalid(
          "invalid_startup", "startup must be valid Unicode text (it holds an unpaired surrogate)");
    }
    if (name.codePointCount(0, name.length()) > maxStartupLength) {
      return invalid(
          "invalid_startup", "startup is longer than " + maxStartupLength + " characters");
    }
    JsonNode p = body.get("provider");
    JsonNode chain = body.get("providers");
    boolean hasOne = p != null && !p.isNull();
    boolean hasChain = chain != null && !chain.isNull();
    if (hasOne && hasChain) {
      return invalid(
          "invalid_provider",
          "name either provider (one, with its configured fallback) or providers (a chain), not both");
    }
    if (hasChain) {
      if (!chain.isArray() || chain.isEmpty() || chain.size() > MAX_CHAIN) {
        return invalid(
            "invalid_provider",
            "providers must be a list of 1 to " + MAX_CHAIN + " provider names, in order");
      }
      List<String> names = new ArrayList<>();
      for (JsonNode n : chain) {
        if (!n.isTextual()) return invalid("invalid_provider", "providers must hold strings");
        if (providers.find(n.textValue()).isEmpty()) return unknown(n.textValue(), providers);
        if (names.contains(n.textValue())) {
          return invalid(
              "invalid_provider", "providers names '" + n.textValue() + "' more than once");
        }
        names.add(n.textValue());
      }
      return new SubmitBody(name, List.copyOf(names), null);
    }
    String provider = providers.defaultProvider();
    if (hasOne) {
      if (!p.isTextual()) return invalid("invalid_provider", "provider must be a string");
      if (providers.find(p.textValue()).isEmpty()) return unknown(p.textValue(), providers);
      provider = p.textValue();
    }
    return new SubmitBody(name, providers.chainFor(provider), null);
  }

  /** The error for an unusable Idempotency-Key header, or null when it is absent or fine. */
  static HttpResponse checkIdempotencyKey(String key) {
    if (key != null && (key.isBlank() || key.length() > MAX_IDEMPOTENCY_KEY)) {
      return JsonResponses.error(
          StatusCodes.BAD_REQUEST,
          "invalid_idempotency_key",
          "Idempotency-Key must be 1 to " + MAX_IDEMPOTENCY_KEY + " characters");
    }
    return null;
  }

  /**
   * Every Unicode space, not only what {@link String#strip()} knows: it keeps the no-break spaces
   * (U+00A0, U+2007, U+202F), so a name made of them alone would pass as not blank.
   */
  private static boolean isUnicodeSpace(int cp) {
    return Character.isWhitespace(cp) || Character.isSpaceChar(cp);
  }

  /** The text without Unicode spaces at either end. */
  private static String stripSpaces(String s) {
    int start = 0;
    int end = s.length();
    while (start < end && isUnicodeSpace(s.codePointAt(start)))
      start += Character.charCount(s.codePointAt(start));
    while (end > start && isUnicodeSpace(s.codePointBefore(end)))
      end -= Character.charCount(s.codePointBefore(end));
    return s.substring(start, end);
  }

  /**
   * Control characters (C0, DEL, C1) and line or paragraph separators (U+2028, U+2029): inside a
   * name they would break or forge lines in logs.
   */
  private static boolean isControlOrLineBreak(int cp) {
    int type = Character.getType(cp);
    return Character.isISOControl(cp)
        || type == Character.LINE_SEPARATOR
        || type == Character.PARAGRAPH_SEPARATOR;
  }

  /** The first code point of {@code s} that {@code test} accepts, or -1. */
  private static int firstOf(String s, IntPredicate test) {
    return s.codePoints().filter(test).findFirst().orElse(-1);
  }

  private static String codePoint(int cp) {
    return String.format("U+%04X", cp);
  }

  private static SubmitBody unknown(String name, ProviderRegistry providers) {
    return invalid(
        "invalid_provider",
        Map.of("message", "unknown provider '" + name + "'", "known", providers.names()));
  }

  private static SubmitBody invalid(String error, Object detail) {
    return new SubmitBody(null, null, JsonResponses.error(StatusCodes.BAD_REQUEST, error, detail));
  }
}
