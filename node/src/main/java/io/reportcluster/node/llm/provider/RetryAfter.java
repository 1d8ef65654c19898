package io.reportcluster.node.llm.provider;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How long a provider asks us to wait, read from the headers its answers carry. Each format is
 * parsed leniently: a header we cannot read counts as absent, never as an error.
 */
final class RetryAfter {
  private RetryAfter() {}

  /**
   * The standard headers: {@code retry-after-ms} (milliseconds, what OpenAI's and Anthropic's own
   * SDKs read first), else {@code retry-after} in seconds or as an HTTP date.
   */
  static Optional<Duration> standard(Function<String, Optional<String>> header, Clock clock) {
    Optional<Duration> ms = header.apply("retry-after-ms").flatMap(RetryAfter::milliseconds);
    if (ms.isPresent()) return ms;
    return header.apply("retry-after").flatMap(v -> secondsOrHttpDate(v, clock));
  }

  /**
   * The reset of each limit that applies, the longest of them: a limit applies when its {@code
   * remaining} header says it is used up (or says nothing). When none is used up (a request bigger
   * than what is left of a budget), the longest reset of all. {@code pairs} are (remaining header,
   * reset header) names; {@code reset} reads a reset header's value.
   */
  static Optional<Duration> longestReset(
      Function<String, Optional<String>> header,
      Function<String, Optional<Duration>> reset,
      String[][] pairs) {
    Duration applying = null;
    Duration any = null;
    for (String[] pair : pairs) {
      Optional<Duration> d = header.apply(pair[1]).flatMap(reset);
      if (d.isEmpty()) continue;
      any = longer(any, d.get());
      boolean usedUp = header.apply(pair[0]).map(RetryAfter::isZero).orElse(true);
      if (usedUp) applying = longer(applying, d.get());
    }
    return Optional.ofNullable(applying != null ? applying : any);
  }

  /**
   * On an answered call: the longest reset among the limits whose remaining count the provider says
   * is used up (the header present and zero), or empty while every limit has some left.
   */
  static Optional<Duration> usedUp(
      Function<String, Optional<String>> header,
      Function<String, Optional<Duration>> reset,
      String[][] pairs) {
    Duration longest = null;
    for (String[] pair : pairs) {
      Optional<String> remaining = header.apply(pair[0]);
      if (remaining.isEmpty() || !isZero(remaining.get())) continue;
      Optional<Duration> d = header.apply(pair[1]).flatMap(reset);
      if (d.isPresent()) longest = longer(longest, d.get());
    }
    return Optional.ofNullable(longest);
  }

  private static Duration longer(Duration a, Duration b) {
    return a == null || b.compareTo(a) > 0 ? b : a;
  }

  private static boolean isZero(String remaining) {
    try {
      return Double.parseDouble(remaining.trim()) <= 0;
    } catch (NumberFormatException e) {
      return true;
    }
  }

  static Optional<Duration> milliseconds(String value) {
    try {
      return ofNanos(Double.parseDouble(value.trim()) * 1e6);
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  /** {@code retry-after}: delay-seconds (a fraction is tolerated), or an HTTP date. */
  static Optional<Duration> secondsOrHttpDate(String value, Clock clock) {
    String v = value.trim();
    try {
      return ofNanos(Double.parseDouble(v) * 1e9);
    } catch (NumberFormatException notSeconds) {
      try {
        return until(
            ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant(), clock);
      } catch (DateTimeParseException notADate) {
        return Optional.empty();
      }
    }
  }

  /**
   * An RFC 3339 timestamp (Anthropic's {@code anthropic-ratelimit-*-reset}), as a wait from now.
   */
  static Optional<Duration> untilTimestamp(String value, Clock clock) {
    try {
      return until(OffsetDateTime.parse(value.trim()).toInstant(), clock);
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  private static Optional<Duration> until(Instant at, Clock clock) {
    Duration d = Duration.between(clock.instant(), at);
    return Optional.of(d.isNegative() ? Duration.ZERO : d);
  }

  private static final Pattern GO_DURATION_PART =
      Pattern.compile("(\\d+(?:\\.\\d*)?|\\.\\d+)(h|ms|m|s|us|µs|ns)");

  /**
   * A duration the way OpenAI's {@code x-ratelimit-reset-*} headers write it: Go's notation, parts
   * of a number and a unit, such as {@code 12ms}, {@code 6s}, {@code 1m3s}, {@code 1h2m0.5s}.
   */
  static Optional<Duration> goDuration(String value) {
    String v = value.trim().toLowerCase(Locale.ROOT);
    if (v.isEmpty()) return Optional.empty();
    Matcher m = GO_DURATION_PART.matcher(v);
    double nanos = 0;
    int at = 0;
    while (m.lookingAt()) {
      double n = Double.parseDouble(m.group(1));
      nanos +=
          n
              * switch (m.group(2)) {
                case "h" -> 3_600e9;
                case "m" -> 60e9;
                case "s" -> 1e9;
                case "ms" -> 1e6;
                case "us", "µs" -> 1e3;
                default -> 1;
              };
      at = m.end();
      m.region(at, v.length());
    }
    return at == v.length() ? ofNanos(nanos) : Optional.empty();
  }

  /** A wait of so many nanoseconds; none for a negative or non-finite number ("NaN", "-1"). */
  private static Optional<Duration> ofNanos(double nanos) {
    return Double.isFinite(nanos) && nanos >= 0
        ? Optional.of(Duration.ofNanos(Math.round(nanos)))
        : Optional.empty();
  }

  /**
   * A protobuf JSON duration (Gemini's {@code RetryInfo.retryDelay}): seconds with an optional
   * fraction and the suffix {@code s}, such as {@code "20s"} or {@code "1.5s"}.
   */
  static Optional<Duration> protobufDuration(String value) {
    String v = value.trim();
    if (!v.endsWith("s")) return Optional.empty();
    try {
      return ofNanos(Double.parseDouble(v.substring(0, v.length() - 1)) * 1e9);
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }
}
