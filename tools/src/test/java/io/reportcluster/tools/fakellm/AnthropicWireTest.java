package io.reportcluster.tools.fakellm;

import static io.reportcluster.tools.fakellm.FakeLlmClient.ANSWER_WORDS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.tools.fakellm.FakeLlmClient.Event;
import java.net.http.HttpResponse;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Messages API as a client of Anthropic sees it. */
class AnthropicWireTest {
  private static final String PATH = "/v1/messages";
  private static final String[] HEADERS = {
    "x-api-key", "sk-ant-test", "anthropic-version", "2023-06-01"
  };

  /** Six words of prompt: two of system (as blocks), four of the user's. */
  private static final String REQUEST =
      """
      "max_tokens": 1024,
      "system": [{"type": "text", "text": "Be brief."}],
      "messages": [{"role": "user", "content": "Tell me about Acme."}]""";

  private FakeLlmClient fake;

  @BeforeEach
  void start() throws Exception {
    fake = FakeLlmClient.start("--api-key", "sk-ant-test", "--models", "claude-3-5-haiku-latest");
  }

  @AfterEach
  void stop() {
    fake.close();
  }

  private HttpResponse<String> post(String fields, String... headers) throws Exception {
    return fake.post(PATH, "{\"model\": \"claude-3-5-haiku-latest\", " + fields + "}", headers);
  }

  @Test
  void aWholeAnswerIsAMessageWithOneTextBlockAndItsUsage() throws Exception {
    HttpResponse<String> r = post(REQUEST, HEADERS);
    assertThat(r.statusCode()).isEqualTo(200);
    assertThat(r.headers().firstValue("request-id")).isPresent();
    JsonNode m = FakeLlmClient.json(r.body());
    assertThat(m.path("id").asText()).startsWith("msg_");
    assertThat(m.path("type").asText()).isEqualTo("message");
    assertThat(m.path("role").asText()).isEqualTo("assistant");
    assertThat(m.path("model").asText()).isEqualTo("claude-3-5-haiku-latest");
    assertThat(m.path("content")).hasSize(1);
    assertThat(m.path("content").path(0).path("type").asText()).isEqualTo("text");
    assertThat(Words.count(m.path("content").path(0).path("text").asText()))
        .isEqualTo(ANSWER_WORDS);
    assertThat(m.path("stop_reason").asText()).isEqualTo("end_turn");
    assertThat(m.path("usage").path("input_tokens").asInt()).isEqualTo(6);
    assertThat(m.path("usage").path("output_tokens").asInt()).isEqualTo(ANSWER_WORDS);
  }

  @Test
  void aStreamIsTheTypedEventSequenceWithUsageAtStartAndEnd() throws Exception {
    HttpResponse<String> r = post("\"stream\": true, " + REQUEST, HEADERS);
    assertThat(r.statusCode()).isEqualTo(200);
    List<Event> events = FakeLlmClient.events(r.body());
    List<String> expected =
        new java.util.ArrayList<>(List.of("message_start", "content_block_start", "ping"));
    expected.addAll(Collections.nCopies(ANSWER_WORDS, "content_block_delta"));
    expected.addAll(List.of("content_block_stop", "message_delta", "message_stop"));
    assertThat(FakeLlmClient.names(events)).isEqualTo(expected);
    // Each event's data names its own type.
    assertThat(events)
        .allSatisfy(e -> assertThat(e.json().path("type").asText()).isEqualTo(e.name()));

    JsonNode start = events.get(0).json().path("message");
    assertThat(start.path("id").asText()).startsWith("msg_");
    assertThat(start.path("content").isEmpty()).isTrue();
    assertThat(start.path("usage").path("input_tokens").asInt()).isEqualTo(6);
    StringBuilder text = new StringBuilder();
    for (Event e : events.subList(3, 3 + ANSWER_WORDS)) {
      JsonNode delta = e.json().path("delta");
      assertThat(delta.path("type").asText()).isEqualTo("text_delta");
      text.append(delta.path("text").asText());
    }
    assertThat(Words.count(text.toString())).isEqualTo(ANSWER_WORDS);
    JsonNode messageDelta = events.get(events.size() - 2).json();
    assertThat(messageDelta.path("delta").path("stop_reason").asText()).isEqualTo("end_turn");
    assertThat(messageDelta.path("usage").path("output_tokens").asInt()).isEqualTo(ANSWER_WORDS);
  }

  @Test
  void maxTokensBelowTheAnswerStopsAtMaxTokens() throws Exception {
    String fields =
        "\"stream\": true, \"max_tokens\": 4, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]";
    List<Event> events = FakeLlmClient.events(post(fields, HEADERS).body());
    JsonNode messageDelta = events.get(events.size() - 2).json();
    assertThat(messageDelta.path("delta").path("stop_reason").asText()).isEqualTo("max_tokens");
    assertThat(messageDelta.path("usage").path("output_tokens").asInt()).isEqualTo(4);
  }

  @Test
  void keysVersionModelAndBodyAreCheckedWithAnthropicsErrorTypes() throws Exception {
    assertError(post(REQUEST, "anthropic-version", "2023-06-01"), 401, "authentication_error");
    HttpResponse<String> wrong =
        post(REQUEST, "x-api-key", "sk-ant-other", "anthropic-version", "2023-06-01");
    assertError(wrong, 401, "authentication_error");
    assertThat(wrong.body()).doesNotContain("sk-ant-other");
    assertError(post(REQUEST, "x-api-key", "sk-ant-test"), 400, "invalid_request_error");
    assertError(
        fake.post(PATH, "{\"model\": \"claude-9\", " + REQUEST + "}", HEADERS),
        404,
        "not_found_error");
    // max_tokens is required by the Messages API.
    assertError(
        post("\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]", HEADERS),
        400,
        "invalid_request_error");
  }

  @Test
  void serverErrorsAre500ApiErrorOr529Overloaded() throws Exception {
    fake.close();
    fake = FakeLlmClient.start("--error-rate", "1");
    for (int i = 0; i < 10; i++) {
      HttpResponse<String> r = post(REQUEST, HEADERS);
      assertThat(r.statusCode()).isIn(500, 529);
      assertError(r, r.statusCode(), r.statusCode() == 529 ? "overloaded_error" : "api_error");
    }
  }

  private static void assertError(HttpResponse<String> r, int status, String type) {
    assertThat(r.statusCode()).isEqualTo(status);
    JsonNode body = FakeLlmClient.json(r.body());
    assertThat(body.path("type").asText()).isEqualTo("error");
    assertThat(body.path("error").path("type").asText()).isEqualTo(type);
    assertThat(body.path("error").path("message").asText()).isNotEmpty();
  }
}
