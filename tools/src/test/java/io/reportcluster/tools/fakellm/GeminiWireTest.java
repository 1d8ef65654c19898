package io.reportcluster.tools.fakellm;

import static io.reportcluster.tools.fakellm.FakeLlmClient.ANSWER_WORDS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.tools.fakellm.FakeLlmClient.Event;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** generateContent and streamGenerateContent as a client of Gemini sees them. */
class GeminiWireTest {
  private static final String MODEL = "/v1beta/models/gemini-2.0-flash";
  private static final String[] KEY = {"x-goog-api-key", "AIza-test"};

  /** Five words of prompt: two of system instruction, three of the user's. */
  private static final String REQUEST =
      """
      {"systemInstruction": {"parts": [{"text": "Be brief."}]},
       "contents": [{"role": "user", "parts": [{"text": "About"}, {"text": "Acme Robotics"}]}]}""";

  private FakeLlmClient fake;

  @BeforeEach
  void start() throws Exception {
    fake = FakeLlmClient.start("--api-key", "AIza-test", "--models", "gemini-2.0-flash");
  }

  @AfterEach
  void stop() {
    fake.close();
  }

  @Test
  void aWholeAnswerIsOneCandidateWithUsageMetadata() throws Exception {
    HttpResponse<String> r = fake.post(MODEL + ":generateContent", REQUEST, KEY);
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode a = FakeLlmClient.json(r.body());
    JsonNode candidate = a.path("candidates").path(0);
    assertThat(candidate.path("content").path("role").asText()).isEqualTo("model");
    assertThat(Words.count(candidate.path("content").path("parts").path(0).path("text").asText()))
        .isEqualTo(ANSWER_WORDS);
    assertThat(candidate.path("finishReason").asText()).isEqualTo("STOP");
    JsonNode usage = a.path("usageMetadata");
    assertThat(usage.path("promptTokenCount").asInt()).isEqualTo(5);
    assertThat(usage.path("candidatesTokenCount").asInt()).isEqualTo(ANSWER_WORDS);
    assertThat(usage.path("totalTokenCount").asInt()).isEqualTo(5 + ANSWER_WORDS);
    assertThat(a.path("modelVersion").asText()).isEqualTo("gemini-2.0-flash");
  }

  @Test
  void aStreamSendsAChunkPerWordTheLastWithFinishAndFullUsage() throws Exception {
    HttpResponse<String> r = fake.post(MODEL + ":streamGenerateContent?alt=sse", REQUEST, KEY);
    assertThat(r.statusCode()).isEqualTo(200);
    // Events end with CRLF CRLF, as Google's servers send them.
    assertThat(r.body()).endsWith("}\r\n\r\n");
    List<Event> events = FakeLlmClient.events(r.body());
    assertThat(events).hasSize(ANSWER_WORDS);
    StringBuilder text = new StringBuilder();
    for (Event e : events) {
      JsonNode chunk = e.json();
      assertThat(chunk.path("modelVersion").asText()).isEqualTo("gemini-2.0-flash");
      text.append(
          chunk
              .path("candidates")
              .path(0)
              .path("content")
              .path("parts")
              .path(0)
              .path("text")
              .asText());
    }
    assertThat(Words.count(text.toString())).isEqualTo(ANSWER_WORDS);
    JsonNode first = events.get(0).json();
    assertThat(first.path("candidates").path(0).has("finishReason")).isFalse();
    assertThat(first.path("usageMetadata").path("promptTokenCount").asInt()).isEqualTo(5);
    JsonNode last = events.get(events.size() - 1).json();
    assertThat(last.path("candidates").path(0).path("finishReason").asText()).isEqualTo("STOP");
    assertThat(last.path("usageMetadata").path("candidatesTokenCount").asInt())
        .isEqualTo(ANSWER_WORDS);
    assertThat(last.path("usageMetadata").path("totalTokenCount").asInt())
        .isEqualTo(5 + ANSWER_WORDS);
  }

  @Test
  void theKeyMayComeAsAQueryParameterAndMaxOutputTokensCutsWithMaxTokens() throws Exception {
    String request =
        "{\"contents\": [{\"parts\": [{\"text\": \"Hi\"}]}], "
            + "\"generationConfig\": {\"maxOutputTokens\": 3}}";
    HttpResponse<String> r = fake.post(MODEL + ":generateContent?key=AIza-test", request);
    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode a = FakeLlmClient.json(r.body());
    assertThat(a.path("candidates").path(0).path("finishReason").asText()).isEqualTo("MAX_TOKENS");
    assertThat(a.path("usageMetadata").path("candidatesTokenCount").asInt()).isEqualTo(3);
  }

  @Test
  void keysModelsAndBodiesAreCheckedWithGooglesErrorShape() throws Exception {
    JsonNode missing =
        assertError(fake.post(MODEL + ":generateContent", REQUEST), 401, "UNAUTHENTICATED");
    assertThat(missing.path("details").path(0).path("@type").asText())
        .isEqualTo("type.googleapis.com/google.rpc.ErrorInfo");
    HttpResponse<String> wrong =
        fake.post(MODEL + ":generateContent", REQUEST, "x-goog-api-key", "AIza-other");
    JsonNode w = assertError(wrong, 401, "UNAUTHENTICATED");
    assertThat(w.path("details").path(0).path("reason").asText()).isEqualTo("API_KEY_INVALID");
    assertThat(wrong.body()).doesNotContain("AIza-other");
    JsonNode unknown =
        assertError(
            fake.post("/v1beta/models/gemini-9:generateContent", REQUEST, KEY), 404, "NOT_FOUND");
    assertThat(unknown.path("message").asText()).contains("models/gemini-9");
    assertError(fake.post(MODEL + ":generateContent", "{}", KEY), 400, "INVALID_ARGUMENT");
    // Only the SSE form of streaming is served.
    assertError(fake.post(MODEL + ":streamGenerateContent", REQUEST, KEY), 400, "INVALID_ARGUMENT");
  }

  private static JsonNode assertError(HttpResponse<String> r, int status, String code) {
    assertThat(r.statusCode()).isEqualTo(status);
    JsonNode e = FakeLlmClient.json(r.body()).path("error");
    assertThat(e.path("code").asInt()).isEqualTo(status);
    assertThat(e.path("status").asText()).isEqualTo(code);
    assertThat(e.path("message").asText()).isNotEmpty();
    return e;
  }
}
