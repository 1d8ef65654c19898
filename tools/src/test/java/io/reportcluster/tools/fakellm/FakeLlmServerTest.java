package io.reportcluster.tools.fakellm;

import static io.reportcluster.tools.fakellm.FakeLlmClient.ANSWER_WORDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What the server does whatever the API: stats, pace, cuts, concurrency, its own routes. */
class FakeLlmServerTest {
  private static final String OPENAI = "/v1/chat/completions";
  private static final String ANTHROPIC = "/v1/messages";
  private static final String GEMINI = "/v1beta/models/gemini-2.0-flash";
  private static final String[] OPENAI_KEY = {"Authorization", "Bearer k"};
  private static final String[] ANTHROPIC_KEY = {
    "x-api-key", "k", "anthropic-version", "2023-06-01"
  };
  private static final String[] GEMINI_KEY = {"x-goog-api-key", "k"};

  private FakeLlmClient fake;

  @AfterEach
  void stop() {
    if (fake != null) fake.close();
  }

  private static String openAiBody(boolean stream, String prompt) {
    return "{\"model\": \"gpt-4o-mini\", \"stream\": "
        + stream
        + ", \"stream_options\": {\"include_usage\": true}, \"messages\": [{\"role\": \"user\", \"content\": \""
        + prompt
        + "\"}]}";
  }

  private static String anthropicBody(boolean stream, String prompt) {
    return "{\"model\": \"claude-3-5-haiku-latest\", \"max_tokens\": 500, \"stream\": "
        + stream
        + ", \"messages\": [{\"role\": \"user\", \"content\": \""
        + prompt
        + "\"}]}";
  }

  private static String geminiBody(String prompt) {
    return "{\"contents\": [{\"parts\": [{\"text\": \"" + prompt + "\"}]}]}";
  }

  @Test
  void statsCountWhatEachProviderServedAndResetZeroesThem() throws Exception {
    fake = FakeLlmClient.start("--api-key", "k");
    // OpenAI: two answers (4 + 2 words of prompt) and a refused key.
    fake.post(OPENAI, openAiBody(false, "one two three four"), OPENAI_KEY);
    fake.post(OPENAI, openAiBody(true, "one two"), OPENAI_KEY);
    fake.post(OPENAI, openAiBody(false, "x"), "Authorization", "Bearer nope");
    // Anthropic: one streamed (3 words); Gemini: one whole, one streamed (1 + 5 words).
    fake.post(ANTHROPIC, anthropicBody(true, "one two three"), ANTHROPIC_KEY);
    fake.post(GEMINI + ":generateContent", geminiBody("one"), GEMINI_KEY);
    fake.post(GEMINI + ":streamGenerateContent?alt=sse", geminiBody("a b c d e"), GEMINI_KEY);

    JsonNode stats = fake.stats();
    JsonNode openAi = stats.path("openai");
    assertThat(openAi.path("requests").asInt()).isEqualTo(3);
    assertThat(openAi.path("by_status").path("200").asInt()).isEqualTo(2);
    assertThat(openAi.path("by_status").path("401").asInt()).isEqualTo(1);
    assertThat(openAi.path("input_tokens").asInt()).isEqualTo(6);
    assertThat(openAi.path("output_tokens").asInt()).isEqualTo(2 * ANSWER_WORDS);
    assertThat(openAi.path("streams_completed").asInt()).isEqualTo(1);
    assertThat(openAi.path("in_flight").asInt()).isZero();
    JsonNode anthropic = stats.path("anthropic");
    assertThat(anthropic.path("requests").asInt()).isEqualTo(1);
    assertThat(anthropic.path("input_tokens").asInt()).isEqualTo(3);
    assertThat(anthropic.path("output_tokens").asInt()).isEqualTo(ANSWER_WORDS);
    JsonNode gemini = stats.path("gemini");
    assertThat(gemini.path("requests").asInt()).isEqualTo(2);
    assertThat(gemini.path("input_tokens").asInt()).isEqualTo(6);
    assertThat(gemini.path("output_tokens").asInt()).isEqualTo(2 * ANSWER_WORDS);

    HttpResponse<String> reset = fake.post("/fake/reset", "");
    assertThat(reset.statusCode()).isEqualTo(200);
    for (String p : List.of("openai", "anthropic", "gemini")) {
      JsonNode s = fake.stats().path(p);
      assertThat(s.path("requests").asInt()).isZero();
      assertThat(s.path("input_tokens").asInt()).isZero();
      assertThat(s.path("output_tokens").asInt()).isZero();
      assertThat(s.path("by_status").isEmpty()).isTrue();
    }
  }

  @Test
  void aCutStreamEndsWithoutItsLastChunkAndCountsApart() throws Exception {
    fake = FakeLlmClient.start("--cut-rate", "1");
    List<HttpRequest> streams =
        List.of(
            fake.request(OPENAI, openAiBody(true, "hello"), OPENAI_KEY),
            fake.request(ANTHROPIC, anthropicBody(true, "hello"), ANTHROPIC_KEY),
            fake.request(
                GEMINI + ":streamGenerateContent?alt=sse", geminiBody("hello"), GEMINI_KEY));
    for (HttpRequest stream : streams) {
      assertThatThrownBy(() -> fake.http.send(stream, HttpResponse.BodyHandlers.ofString()))
          .isInstanceOf(IOException.class);
    }
    JsonNode stats = fake.stats();
    for (String p : List.of("openai", "anthropic", "gemini")) {
      JsonNode s = stats.path(p);
      assertThat(s.path("cut_streams").asInt()).as(p).isEqualTo(1);
      assertThat(s.path("output_tokens").asInt()).as(p).isZero();
      assertThat(s.path("unfinished_output_tokens").asInt()).as(p).isBetween(1, ANSWER_WORDS - 1);
    }
    // Answers that are not streamed are never cut.
    assertThat(fake.post(OPENAI, openAiBody(false, "hello"), OPENAI_KEY).statusCode())
        .isEqualTo(200);
  }

  @Test
  void aClientThatLeavesMidStreamIsCountedAsSuch() throws Exception {
    fake = FakeLlmClient.start("--tokens-per-second", "20", "--jitter", "0");
    HttpResponse<InputStream> r =
        fake.http.send(
            fake.request(OPENAI, openAiBody(true, "hello"), OPENAI_KEY),
            HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream body = r.body()) {
      assertThat(body.read()).isEqualTo('d');
    }
    FakeLlmClient.await(
        Duration.ofSeconds(10),
        () -> stat("openai", "client_closed") == 1 && stat("openai", "in_flight") == 0);
    assertThat(stat("openai", "output_tokens")).isZero();
  }

  @Test
  void theFirstWordWaitsForTheTtftAndTheRestKeepThePace() throws Exception {
    fake = FakeLlmClient.start("--ttft-ms", "200", "--tokens-per-second", "50", "--jitter", "0");
    long start = System.nanoTime();
    HttpResponse<InputStream> r =
        fake.http.send(
            fake.request(ANTHROPIC, anthropicBody(true, "hello"), ANTHROPIC_KEY),
            HttpResponse.BodyHandlers.ofInputStream());
    long firstWordMs = -1;
    try (BufferedReader lines =
        new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
      for (String line = lines.readLine(); line != null; line = lines.readLine()) {
        if (firstWordMs < 0 && line.contains("text_delta")) firstWordMs = msSince(start);
      }
    }
    long totalMs = msSince(start);
    assertThat(firstWordMs).isGreaterThanOrEqualTo(200);
    // 19 more words at 50 per second.
    assertThat(totalMs).isGreaterThanOrEqualTo(200 + 19 * 20);

    long wholeStart = System.nanoTime();
    assertThat(fake.post(OPENAI, openAiBody(false, "hello"), OPENAI_KEY).statusCode())
        .isEqualTo(200);
    assertThat(msSince(wholeStart)).isGreaterThanOrEqualTo(200 + 19 * 20);
  }

  @Test
  void hundredsOfSlowStreamsRunSideBySide() throws Exception {
    int streams = 200;
    fake = FakeLlmClient.start("--ttft-ms", "500", "--tokens-per-second", "40");
    long start = System.nanoTime();
    List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
    for (int i = 0; i < streams; i++) {
      all.add(
          fake.http.sendAsync(
              fake.request(OPENAI, openAiBody(true, "hello"), OPENAI_KEY),
              HttpResponse.BodyHandlers.ofString()));
    }
    for (CompletableFuture<HttpResponse<String>> f : all) {
      HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(r.body()).endsWith("data: [DONE]\n\n");
    }
    // One after the other they would take 200 x ~1 s; side by side, about one stream's time.
    assertThat(msSince(start)).isLessThan(30_000);
    assertThat(stat("openai", "max_in_flight")).isGreaterThan(streams / 2);
    assertThat(stat("openai", "output_tokens")).isEqualTo((long) streams * ANSWER_WORDS);
  }

  @Test
  void theContentFilterStopsAnAnswerHalfWayInEachApisWords() throws Exception {
    fake = FakeLlmClient.start("--filter-rate", "1");
    JsonNode openAi =
        FakeLlmClient.json(fake.post(OPENAI, openAiBody(false, "x"), OPENAI_KEY).body());
    assertThat(openAi.path("choices").path(0).path("finish_reason").asText())
        .isEqualTo("content_filter");
    assertThat(openAi.path("usage").path("completion_tokens").asInt()).isEqualTo(ANSWER_WORDS / 2);
    JsonNode anthropic =
        FakeLlmClient.json(fake.post(ANTHROPIC, anthropicBody(false, "x"), ANTHROPIC_KEY).body());
    assertThat(anthropic.path("stop_reason").asText()).isEqualTo("refusal");
    JsonNode gemini =
        FakeLlmClient.json(
            fake.post(GEMINI + ":generateContent", geminiBody("x"), GEMINI_KEY).body());
    assertThat(gemini.path("candidates").path(0).path("finishReason").asText()).isEqualTo("SAFETY");
  }

  @Test
  void otherPathsAndMethodsAreRefused() throws Exception {
    fake = FakeLlmClient.start();
    assertThat(fake.post("/v1/completions", "{}").statusCode()).isEqualTo(404);
    assertThat(fake.post("/v1beta/models/gemini-2.0-flash:countTokens", "{}").statusCode())
        .isEqualTo(404);
    HttpResponse<String> get =
        fake.http.send(
            HttpRequest.newBuilder(fake.uri(OPENAI)).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(get.statusCode()).isEqualTo(405);
    assertThat(get.headers().firstValue("allow")).hasValue("POST");
  }

  @Test
  void theStartLineNamesTheBaseUrlsAndNeverTheKey() throws Exception {
    FakeLlmOptions o = FakeLlmOptions.parse("--api-key", "sk-secret-123");
    String line = FakeLlm.startLine("http://127.0.0.1:8090", o);
    assertThat(line)
        .contains("REPORTS_OPENAI_BASE_URL=http://127.0.0.1:8090/v1")
        .contains("REPORTS_ANTHROPIC_BASE_URL=http://127.0.0.1:8090 ")
        .endsWith("REPORTS_GEMINI_BASE_URL=http://127.0.0.1:8090")
        .doesNotContain("sk-secret-123")
        .doesNotContain("\n");
  }

  private long stat(String provider, String field) {
    try {
      return fake.stats().path(provider).path(field).asLong();
    } catch (IOException | InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  private static long msSince(long startNs) {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
  }
}
