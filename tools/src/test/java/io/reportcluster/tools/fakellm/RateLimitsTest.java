package io.reportcluster.tools.fakellm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpHeaders;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * RPM and TPM limits per provider: past them each API's 429, with its own way of saying when to
 * come back; waiting that long is enough. The window is shortened (--window-ms) so no test waits a
 * minute, but kept long enough that a slow machine still sends its requests within one window.
 */
class RateLimitsTest {
  private static final String WINDOW_MS = "1500";
  private static final String OPENAI = "/v1/chat/completions";
  private static final String ANTHROPIC = "/v1/messages";
  private static final String GEMINI = "/v1beta/models/gemini-2.0-flash:generateContent";

  /** Three words of prompt each: with 20 words of answer a request costs 23 tokens. */
  private static final String OPENAI_BODY =
      "{\"model\": \"gpt-4o-mini\", \"messages\": [{\"role\": \"user\", \"content\": \"About Acme Robotics\"}]}";

  private static final String ANTHROPIC_BODY =
      "{\"model\": \"claude-3-5-haiku-latest\", \"max_tokens\": 100, "
          + "\"messages\": [{\"role\": \"user\", \"content\": \"About Acme Robotics\"}]}";
  private static final String GEMINI_BODY =
      "{\"contents\": [{\"parts\": [{\"text\": \"About Acme Robotics\"}]}]}";

  private FakeLlmClient fake;

  @AfterEach
  void stop() {
    if (fake != null) fake.close();
  }

  private HttpResponse<String> openAi() throws Exception {
    return fake.post(OPENAI, OPENAI_BODY, "Authorization", "Bearer k");
  }

  private HttpResponse<String> anthropic() throws Exception {
    return fake.post(
        ANTHROPIC, ANTHROPIC_BODY, "x-api-key", "k", "anthropic-version", "2023-06-01");
  }

  private HttpResponse<String> gemini() throws Exception {
    return fake.post(GEMINI, GEMINI_BODY, "x-goog-api-key", "k");
  }

  @Test
  void openAiPastItsRequestsPerMinute() throws Exception {
    fake = FakeLlmClient.start("--rpm", "openai=2", "--window-ms", WINDOW_MS);
    HttpResponse<String> first = openAi();
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(header(first, "x-ratelimit-limit-requests")).isEqualTo("2");
    assertThat(header(first, "x-ratelimit-remaining-requests")).isEqualTo("1");
    assertThat(first.headers().firstValue("x-ratelimit-limit-tokens")).isEmpty();
    assertThat(openAi().statusCode()).isEqualTo(200);

    HttpResponse<String> refused = openAi();
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(header(refused, "x-ratelimit-remaining-requests")).isEqualTo("0");
    assertThat(header(refused, "x-ratelimit-reset-requests")).matches("\\d+(\\.\\d+)?m?s");
    long retryAfterMs = Long.parseLong(header(refused, "retry-after-ms"));
    assertThat(retryAfterMs).isBetween(1L, 1500L);
    assertThat(header(refused, "retry-after")).isEqualTo("" + (retryAfterMs + 999) / 1000);
    JsonNode e = FakeLlmClient.json(refused.body()).path("error");
    assertThat(e.path("code").asText()).isEqualTo("rate_limit_exceeded");
    assertThat(e.path("type").asText()).isEqualTo("requests");
    assertThat(e.path("message").asText()).contains("(RPM): Limit 2, Used 2, Requested 1");

    assertAdmittedAfterOneWait(
        this::openAi, r -> Duration.ofMillis(Long.parseLong(header(r, "retry-after-ms"))));
    // The refused request above and the one before the wait; the two refusals cost nothing.
    JsonNode stats = fake.stats().path("openai");
    assertThat(stats.path("rate_limited").asInt()).isEqualTo(2);
    assertThat(stats.path("by_status").path("200").asInt()).isEqualTo(3);
  }

  @Test
  void openAiPastItsTokensPerMinute() throws Exception {
    fake = FakeLlmClient.start("--tpm", "openai=50", "--window-ms", WINDOW_MS);
    HttpResponse<String> first = openAi();
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(header(first, "x-ratelimit-limit-tokens")).isEqualTo("50");
    assertThat(header(first, "x-ratelimit-remaining-tokens")).isEqualTo("27");
    assertThat(openAi().statusCode()).isEqualTo(200);
    HttpResponse<String> refused = openAi();
    assertThat(refused.statusCode()).isEqualTo(429);
    assertThat(header(refused, "x-ratelimit-remaining-tokens")).isEqualTo("4");
    assertThat(header(refused, "x-ratelimit-reset-tokens")).matches("\\d+(\\.\\d+)?m?s");
    JsonNode e = FakeLlmClient.json(refused.body()).path("error");
    assertThat(e.path("type").asText()).isEqualTo("tokens");
    assertThat(e.path("message").asText()).contains("(TPM): Limit 50, Used 46, Requested 23");
    assertAdmittedAfterOneWait(
        this::openAi, r -> Duration.ofMillis(Long.parseLong(header(r, "retry-after-ms"))));
  }

  @Test
  void anthropicPastItsRequestsAndTokensPerMinute() throws Exception {
    fake =
        FakeLlmClient.start(
            "--rpm", "anthropic=3", "--tpm", "anthropic=50", "--window-ms", WINDOW_MS);
    HttpResponse<String> first = anthropic();
    assertThat(first.statusCode()).isEqualTo(200);
    assertThat(header(first, "anthropic-ratelimit-requests-limit")).isEqualTo("3");
    assertThat(header(first, "anthropic-ratelimit-requests-remaining")).isEqualTo("2");
    assertThat(header(first, "anthropic-ratelimit-tokens-limit")).isEqualTo("50");
    assertThat(header(first, "anthropic-ratelimit-tokens-remaining")).isEqualTo("27");
    assertThat(anthropic().statusCode()).isEqualTo(200);

    // The third request fits the requests budget but not the tokens one.
    HttpResponse<String> refused = anthropic();
    assertThat(refused.statusCode()).isEqualTo(429);
    JsonNode body = FakeLlmClient.json(refused.body());
    assertThat(body.path("type").asText()).isEqualTo("error");
    assertThat(body.path("error").path("type").asText()).isEqualTo("rate_limit_error");
    assertThat(body.path("error").path("message").asText()).contains("50 tokens per minute");
    assertThat(header(refused, "anthropic-ratelimit-tokens-remaining")).isEqualTo("4");
    assertThat(header(refused, "anthropic-ratelimit-requests-remaining")).isEqualTo("1");
    Instant reset = Instant.parse(header(refused, "anthropic-ratelimit-tokens-reset"));
    assertThat(reset).isBetween(Instant.now().minusSeconds(1), Instant.now().plusSeconds(3));
    assertThat(header(refused, "anthropic-ratelimit-requests-reset")).isEqualTo(reset.toString());
    assertThat(Long.parseLong(header(refused, "retry-after"))).isBetween(1L, 2L);

    assertAdmittedAfterOneWait(
        this::anthropic, r -> Duration.ofSeconds(Long.parseLong(header(r, "retry-after"))));
  }

  @Test
  void geminiPastItsLimitSaysWhenInRetryInfo() throws Exception {
    fake = FakeLlmClient.start("--rpm", "gemini=1", "--window-ms", WINDOW_MS);
    assertThat(gemini().statusCode()).isEqualTo(200);
    HttpResponse<String> refused = gemini();
    assertThat(refused.statusCode()).isEqualTo(429);
    JsonNode e = FakeLlmClient.json(refused.body()).path("error");
    assertThat(e.path("code").asInt()).isEqualTo(429);
    assertThat(e.path("status").asText()).isEqualTo("RESOURCE_EXHAUSTED");
    JsonNode quota = detail(e, "type.googleapis.com/google.rpc.QuotaFailure");
    assertThat(quota.path("violations").path(0).path("quotaValue").asText()).isEqualTo("1");
    assertThat(quota.path("violations").path(0).path("quotaDimensions").path("model").asText())
        .isEqualTo("gemini-2.0-flash");
    assertThat(detail(e, "type.googleapis.com/google.rpc.RetryInfo").path("retryDelay").asText())
        .matches("[12]s");

    assertAdmittedAfterOneWait(this::gemini, RateLimitsTest::retryDelay);
  }

  @Test
  void eachProviderHasItsOwnBudget() throws Exception {
    fake = FakeLlmClient.start("--rpm", "1", "--window-ms", "60000");
    assertThat(openAi().statusCode()).isEqualTo(200);
    assertThat(openAi().statusCode()).isEqualTo(429);
    assertThat(anthropic().statusCode()).isEqualTo(200);
    assertThat(gemini().statusCode()).isEqualTo(200);
    assertThat(gemini().statusCode()).isEqualTo(429);
    // A reset refills every budget.
    assertThat(fake.post("/fake/reset", "").statusCode()).isEqualTo(200);
    assertThat(openAi().statusCode()).isEqualTo(200);
  }

  @Test
  void statsShowEachLimitWindowAndTheDensestMinuteLimitedOrNot() throws Exception {
    long before = System.currentTimeMillis();
    fake = FakeLlmClient.start("--rpm", "openai=2", "--window-ms", "60000");
    assertThat(openAi().statusCode()).isEqualTo(200);
    assertThat(openAi().statusCode()).isEqualTo(200);
    assertThat(openAi().statusCode()).isEqualTo(429);
    assertThat(anthropic().statusCode()).isEqualTo(200);

    JsonNode openAi = fake.stats().path("openai");
    JsonNode windows = openAi.path("windows");
    assertThat(windows).hasSize(1);
    JsonNode current = windows.path(0);
    assertThat(current.path("started_at_ms").asLong())
        .isBetween(before, System.currentTimeMillis());
    assertThat(current.path("requests").asInt()).isEqualTo(2);
    assertThat(current.path("tokens").asInt()).isEqualTo(2 * 23);
    assertThat(current.path("rate_limited").asInt()).isEqualTo(1);
    assertThat(current.path("complete").asBoolean()).isFalse();
    assertThat(openAi.path("max_sliding_requests").asInt()).isEqualTo(2);
    assertThat(openAi.path("max_sliding_tokens").asInt()).isEqualTo(2 * 23);

    // Anthropic is not limited: no windows, but its pace is measured all the same.
    JsonNode anthropic = fake.stats().path("anthropic");
    assertThat(anthropic.path("windows").isArray()).isTrue();
    assertThat(anthropic.path("windows")).isEmpty();
    assertThat(anthropic.path("max_sliding_requests").asInt()).isEqualTo(1);
    assertThat(anthropic.path("max_sliding_tokens").asInt()).isEqualTo(23);

    JsonNode reset = FakeLlmClient.json(fake.post("/fake/reset", "").body());
    assertThat(reset.path("openai").path("windows")).isEmpty();
    assertThat(reset.path("openai").path("max_sliding_requests").asInt()).isZero();
    assertThat(reset.path("anthropic").path("max_sliding_tokens").asInt()).isZero();
  }

  /** A client that waits as long as the 429 says is admitted on its next try: the hint is right. */
  private static void assertAdmittedAfterOneWait(
      Callable<HttpResponse<String>> request, Function<HttpResponse<String>, Duration> hint)
      throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    int waits = 0;
    HttpResponse<String> r = request.call();
    while (r.statusCode() == 429 && System.nanoTime() < deadline) {
      Thread.sleep(hint.apply(r).toMillis());
      waits++;
      r = request.call();
    }
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(waits).isEqualTo(1);
  }

  private static JsonNode detail(JsonNode error, String type) {
    for (JsonNode d : error.path("details")) {
      if (d.path("@type").asText().equals(type)) return d;
    }
    throw new AssertionError("no " + type + " in " + error);
  }

  private static String header(HttpResponse<?> r, String name) {
    HttpHeaders h = r.headers();
    return h.firstValue(name).orElseThrow(() -> new AssertionError("no header " + name));
  }

  /** Gemini's RetryInfo.retryDelay ("3s") off a 429. */
  private static Duration retryDelay(HttpResponse<String> r) {
    JsonNode e = FakeLlmClient.json(r.body()).path("error");
    String delay =
        detail(e, "type.googleapis.com/google.rpc.RetryInfo").path("retryDelay").asText();
    return Duration.ofMillis(Math.round(Double.parseDouble(delay.replace("s", "")) * 1000));
  }
}
