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

/** Chat Completions as a client of OpenAI sees it. */
class OpenAiWireTest {
  private static final String PATH = "/v1/chat/completions";
  private static final String[] AUTH = {"Authorization", "Bearer sk-test"};

  /** Eight words of prompt: two in the system message, six in the user's (split by any space). */
  private static final String MESSAGES =
      """
      "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Tell me about  Acme\\nRobotics now"}]}
      ]""";

  private FakeLlmClient fake;

  @BeforeEach
  void start() throws Exception {
    fake = FakeLlmClient.start("--api-key", "sk-test", "--models", "gpt-4o-mini,gpt-4o");
  }

  @AfterEach
  void stop() {
    fake.close();
  }

  @Test
  void aWholeAnswerHasTheTextItsUsageCountsAndTheModel() throws Exception {
    HttpResponse<String> r =
        fake.post(PATH, "{\"model\": \"gpt-4o-mini\", " + MESSAGES + "}", AUTH);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type"))
        .hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
    JsonNode a = FakeLlmClient.json(r.body());
    assertThat(a.path("id").asText()).startsWith("chatcmpl-");
    assertThat(a.path("object").asText()).isEqualTo("chat.completion");
    assertThat(a.path("model").asText()).isEqualTo("gpt-4o-mini");
    JsonNode choice = a.path("choices").path(0);
    assertThat(choice.path("message").path("role").asText()).isEqualTo("assistant");
    String text = choice.path("message").path("content").asText();
    assertThat(Words.count(text)).isEqualTo(ANSWER_WORDS);
    assertThat(text).matches("[A-Z][a-z]+( [A-Za-z]+\\.?)*\\.");
    assertThat(choice.path("finish_reason").asText()).isEqualTo("stop");
    JsonNode usage = a.path("usage");
    assertThat(usage.path("prompt_tokens").asInt()).isEqualTo(8);
    assertThat(usage.path("completion_tokens").asInt()).isEqualTo(ANSWER_WORDS);
    assertThat(usage.path("total_tokens").asInt()).isEqualTo(8 + ANSWER_WORDS);
  }

  @Test
  void aStreamSendsDeltasThenTheFinishThenTheUsageChunkThenDone() throws Exception {
    String body =
        "{\"model\": \"gpt-4o\", \"stream\": true, \"stream_options\": {\"include_usage\": true}, "
            + MESSAGES
            + "}";
    HttpResponse<String> r = fake.post(PATH, body, AUTH);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("content-type").orElseThrow())
        .startsWith("text/event-stream");
    List<Event> events = FakeLlmClient.events(r.body());
    assertThat(events.get(events.size() - 1).data()).isEqualTo("[DONE]");
    List<JsonNode> chunks = events.subList(0, events.size() - 1).stream().map(Event::json).toList();
    assertThat(chunks)
        .allSatisfy(c -> assertThat(c.path("object").asText()).isEqualTo("chat.completion.chunk"));
    assertThat(chunks)
        .extracting(c -> c.path("id").asText())
        .containsOnly(chunks.get(0).path("id").asText());
    // The role first, a word per chunk, a chunk with the finish reason, then the usage alone.
    assertThat(chunks).hasSize(1 + ANSWER_WORDS + 2);
    assertThat(chunks.get(0).path("choices").path(0).path("delta").path("role").asText())
        .isEqualTo("assistant");
    StringBuilder text = new StringBuilder();
    for (JsonNode c : chunks.subList(0, chunks.size() - 2)) {
      assertThat(c.path("choices").path(0).path("finish_reason").isNull()).isTrue();
      assertThat(c.has("usage") && c.get("usage").isNull()).isTrue();
      text.append(c.path("choices").path(0).path("delta").path("content").asText());
    }
    assertThat(Words.count(text.toString())).isEqualTo(ANSWER_WORDS);
    JsonNode finish = chunks.get(chunks.size() - 2);
    assertThat(finish.path("choices").path(0).path("finish_reason").asText()).isEqualTo("stop");
    assertThat(finish.path("choices").path(0).path("delta").isEmpty()).isTrue();
    JsonNode usageChunk = chunks.get(chunks.size() - 1);
    assertThat(usageChunk.path("choices").isArray()).isTrue();
    assertThat(usageChunk.path("choices").isEmpty()).isTrue();
    assertThat(usageChunk.path("usage").path("prompt_tokens").asInt()).isEqualTo(8);
    assertThat(usageChunk.path("usage").path("completion_tokens").asInt()).isEqualTo(ANSWER_WORDS);
    assertThat(usageChunk.path("usage").path("total_tokens").asInt()).isEqualTo(8 + ANSWER_WORDS);
  }

  @Test
  void withoutIncludeUsageAStreamHasNoUsageChunk() throws Exception {
    String body = "{\"model\": \"gpt-4o\", \"stream\": true, " + MESSAGES + "}";
    List<Event> events = FakeLlmClient.events(fake.post(PATH, body, AUTH).body());
    assertThat(events).hasSize(1 + ANSWER_WORDS + 1 + 1);
    assertThat(events.subList(0, events.size() - 1))
        .allSatisfy(e -> assertThat(e.json().has("usage")).isFalse());
  }

  @Test
  void maxTokensShortensTheAnswerAndItsFinishIsLength() throws Exception {
    for (String field : new String[] {"max_tokens", "max_completion_tokens"}) {
      String body = "{\"model\": \"gpt-4o\", \"" + field + "\": 5, " + MESSAGES + "}";
      JsonNode a = FakeLlmClient.json(fake.post(PATH, body, AUTH).body());
      assertThat(Words.count(a.path("choices").path(0).path("message").path("content").asText()))
          .isEqualTo(5);
      assertThat(a.path("choices").path(0).path("finish_reason").asText()).isEqualTo("length");
      assertThat(a.path("usage").path("completion_tokens").asInt()).isEqualTo(5);
    }
  }

  @Test
  void aMissingOrWrongKeyIs401InOpenAisShape() throws Exception {
    String body = "{\"model\": \"gpt-4o\", " + MESSAGES + "}";
    HttpResponse<String> missing = fake.post(PATH, body);
    assertThat(missing.statusCode()).isEqualTo(401);
    JsonNode e = FakeLlmClient.json(missing.body()).path("error");
    assertThat(e.path("type").asText()).isEqualTo("invalid_request_error");
    assertThat(e.path("message").asText()).contains("didn't provide an API key");
    assertThat(e.has("param")).isTrue();
    assertThat(e.has("code")).isTrue();

    HttpResponse<String> wrong = fake.post(PATH, body, "Authorization", "Bearer sk-other");
    assertThat(wrong.statusCode()).isEqualTo(401);
    JsonNode w = FakeLlmClient.json(wrong.body()).path("error");
    assertThat(w.path("code").asText()).isEqualTo("invalid_api_key");
    assertThat(w.path("message").asText()).doesNotContain("sk-other");
  }

  @Test
  void anUnknownModelIs404ModelNotFound() throws Exception {
    HttpResponse<String> r = fake.post(PATH, "{\"model\": \"gpt-9\", " + MESSAGES + "}", AUTH);
    assertThat(r.statusCode()).isEqualTo(404);
    JsonNode e = FakeLlmClient.json(r.body()).path("error");
    assertThat(e.path("code").asText()).isEqualTo("model_not_found");
    assertThat(e.path("type").asText()).isEqualTo("invalid_request_error");
    assertThat(e.path("message").asText()).contains("gpt-9");
  }

  @Test
  void aBadBodyIs400() throws Exception {
    assertThat(fake.post(PATH, "{\"model\": \"gpt-4o\"}", AUTH).statusCode()).isEqualTo(400);
    assertThat(fake.post(PATH, "{not json", AUTH).statusCode()).isEqualTo(400);
    HttpResponse<String> r =
        fake.post(PATH, "{\"model\": \"gpt-4o\", \"max_tokens\": 0, " + MESSAGES + "}", AUTH);
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(FakeLlmClient.json(r.body()).path("error").path("type").asText())
        .isEqualTo("invalid_request_error");
  }

  @Test
  void resetTimesReadAsOpenAiWritesThem() {
    assertThat(OpenAiWire.duration(0)).isEqualTo("0s");
    assertThat(OpenAiWire.duration(12)).isEqualTo("12ms");
    assertThat(OpenAiWire.duration(1_000)).isEqualTo("1s");
    assertThat(OpenAiWire.duration(1_200)).isEqualTo("1.2s");
    assertThat(OpenAiWire.duration(59_714)).isEqualTo("59.714s");
    assertThat(OpenAiWire.duration(60_000)).isEqualTo("1m0s");
    assertThat(OpenAiWire.duration(63_000)).isEqualTo("1m3s");
    assertThat(OpenAiWire.duration(63_500)).isEqualTo("1m3.5s");
    assertThat(OpenAiWire.duration(3_600_000)).isEqualTo("1h0m0s");
  }
}
