package io.reportcluster.node.llm.provider;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Every way a provider writes how long to wait, read; anything unreadable counts as absent. */
@DisplayName("Retry-After and rate-limit reset headers")
class RetryAfterTest {
  static final Clock NOW = Clock.fixed(Instant.parse("2025-03-01T12:00:00Z"), ZoneOffset.UTC);

  static Function<String, Optional<String>> headers(Map<String, String> h) {
    return name -> Optional.ofNullable(h.get(name));
  }

  @Test
  @DisplayName("retry-after in seconds (a fraction too), as an HTTP date, and retry-after-ms first")
  void standard() {
    assertThat(RetryAfter.standard(headers(Map.of("retry-after", "7")), NOW))
        .contains(Duration.ofSeconds(7));
    assertThat(RetryAfter.standard(headers(Map.of("retry-after", "0.5")), NOW))
        .contains(Duration.ofMillis(500));
    assertThat(
            RetryAfter.standard(
                headers(Map.of("retry-after", "Sat, 01 Mar 2025 12:01:05 GMT")), NOW))
        .contains(Duration.ofSeconds(65));
    assertThat(
            RetryAfter.standard(headers(Map.of("retry-after", "9", "retry-after-ms", "250")), NOW))
        .contains(Duration.ofMillis(250));
    assertThat(
            RetryAfter.standard(
                headers(Map.of("retry-after", "Sat, 01 Mar 2025 11:00:00 GMT")), NOW))
        .as("a date in the past: no wait")
        .contains(Duration.ZERO);
  }

  @Test
  @DisplayName("unreadable or negative values count as absent")
  void unreadable() {
    for (String v : new String[] {"soon", "-3", "NaN", "Infinity", ""}) {
      assertThat(RetryAfter.standard(headers(Map.of("retry-after", v)), NOW)).as(v).isEmpty();
    }
    assertThat(RetryAfter.standard(headers(Map.of()), NOW)).isEmpty();
  }

  @Test
  @DisplayName("OpenAI's durations: 12ms, 6s, 1m3s, 1h2m0.5s, 250us; nonsense is absent")
  void goDurations() {
    assertThat(RetryAfter.goDuration("12ms")).contains(Duration.ofMillis(12));
    assertThat(RetryAfter.goDuration("6s")).contains(Duration.ofSeconds(6));
    assertThat(RetryAfter.goDuration("1m3s")).contains(Duration.ofSeconds(63));
    assertThat(RetryAfter.goDuration("6m0s")).contains(Duration.ofMinutes(6));
    assertThat(RetryAfter.goDuration("1h2m0.5s"))
        .contains(Duration.ofHours(1).plusMinutes(2).plusMillis(500));
    assertThat(RetryAfter.goDuration("250us")).contains(Duration.ofNanos(250_000));
    assertThat(RetryAfter.goDuration("1.5s")).contains(Duration.ofMillis(1500));
    assertThat(RetryAfter.goDuration("3 s")).isEmpty();
    assertThat(RetryAfter.goDuration("soon")).isEmpty();
    assertThat(RetryAfter.goDuration("")).isEmpty();
  }

  @Test
  @DisplayName("Anthropic's RFC 3339 reset times, as a wait from now")
  void timestamps() {
    assertThat(RetryAfter.untilTimestamp("2025-03-01T12:00:42Z", NOW))
        .contains(Duration.ofSeconds(42));
    assertThat(RetryAfter.untilTimestamp("2025-03-01T13:00:01+01:00", NOW))
        .contains(Duration.ofSeconds(1));
    assertThat(RetryAfter.untilTimestamp("tomorrow", NOW)).isEmpty();
  }

  @Test
  @DisplayName("Gemini's protobuf durations: 20s, 1.5s, 0s")
  void protobufDurations() {
    assertThat(RetryAfter.protobufDuration("20s")).contains(Duration.ofSeconds(20));
    assertThat(RetryAfter.protobufDuration("1.500s")).contains(Duration.ofMillis(1500));
    assertThat(RetryAfter.protobufDuration("0s")).contains(Duration.ZERO);
    assertThat(RetryAfter.protobufDuration("20")).isEmpty();
  }

  @Test
  @DisplayName(
      "the reset of the limit that ran out, the longest if several did; all of them when none"
          + " says it ran out")
  void longestReset() {
    String[][] pairs = {{"rem-req", "reset-req"}, {"rem-tok", "reset-tok"}};
    Function<String, Optional<Duration>> read = RetryAfter::goDuration;
    assertThat(
            RetryAfter.longestReset(
                headers(
                    Map.of(
                        "rem-req", "0", "reset-req", "2s", "rem-tok", "5000", "reset-tok", "40s")),
                read,
                pairs))
        .as("requests ran out, tokens did not")
        .contains(Duration.ofSeconds(2));
    assertThat(
            RetryAfter.longestReset(
                headers(
                    Map.of("rem-req", "0", "reset-req", "2s", "rem-tok", "0", "reset-tok", "40s")),
                read,
                pairs))
        .contains(Duration.ofSeconds(40));
    assertThat(
            RetryAfter.longestReset(
                headers(
                    Map.of("rem-req", "3", "reset-req", "2s", "rem-tok", "10", "reset-tok", "40s")),
                read,
                pairs))
        .as("a request bigger than what is left: the longest")
        .contains(Duration.ofSeconds(40));
    assertThat(RetryAfter.longestReset(headers(Map.of()), read, pairs)).isEmpty();
  }
}
