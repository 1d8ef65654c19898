package io.reportcluster.tools.fakellm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.protocol.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * A fake-llm server on a free loopback port and a plain JDK HTTP client that talks to it, as the
 * tests' one way in. The server starts answering at once and in full unless a test says otherwise.
 */
final class FakeLlmClient implements AutoCloseable {
  static final int ANSWER_WORDS = 20;

  /** No waiting, a short answer: each test adds what it is about. */
  private static final String[] QUICK = {
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--ttft-ms",
    "0",
    "--tokens-per-second",
    "0",
    "--answer-tokens",
    String.valueOf(ANSWER_WORDS)
  };

  final FakeLlmServer server;
  final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  private FakeLlmClient(FakeLlmServer server) {
    this.server = server;
  }

  static FakeLlmClient start(String... args) throws Exception {
    String[] all = Stream.concat(Arrays.stream(QUICK), Arrays.stream(args)).toArray(String[]::new);
    return new FakeLlmClient(FakeLlmServer.start(FakeLlmOptions.parse(all)));
  }

  @Override
  public void close() {
    server.close();
  }

  URI uri(String pathAndQuery) {
    return URI.create(server.uri() + pathAndQuery);
  }

  /** POSTs a JSON body with headers given as name, value, name, value... */
  HttpResponse<String> post(String pathAndQuery, String body, String... headers)
      throws IOException, InterruptedException {
    return http.send(request(pathAndQuery, body, headers), HttpResponse.BodyHandlers.ofString());
  }

  HttpRequest request(String pathAndQuery, String body, String... headers) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri(pathAndQuery))
            .timeout(Duration.ofSeconds(20))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) b.headers(headers);
    return b.build();
  }

  JsonNode stats() throws IOException, InterruptedException {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(uri("/fake/stats")).GET().build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).isEqualTo(200);
    return json(r.body());
  }

  static JsonNode json(String text) {
    try {
      return Json.MAPPER.readTree(text);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + text, e);
    }
  }

  /** One server-sent event: its name (null when unnamed) and its data. */
  record Event(String name, String data) {
    JsonNode json() {
      return FakeLlmClient.json(data);
    }
  }

  /** The events of an SSE body, whatever its line ends (LF or CRLF). */
  static List<Event> events(String body) {
    List<Event> events = new ArrayList<>();
    for (String block : body.split("\r\n\r\n|\n\n")) {
      if (block.isBlank()) continue;
      String name = null;
      StringBuilder data = new StringBuilder();
      for (String line : block.split("\r\n|\n")) {
        if (line.startsWith("event: ")) name = line.substring(7);
        else if (line.startsWith("data: ")) data.append(line.substring(6));
        else throw new AssertionError("not an SSE line: " + line);
      }
      events.add(new Event(name, data.toString()));
    }
    return events;
  }

  /** Waits, up to {@code deadline}, for a condition checked every few milliseconds. */
  static void await(Duration deadline, BooleanSupplier condition) throws InterruptedException {
    long end = System.nanoTime() + deadline.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) throw new AssertionError("not within " + deadline);
      Thread.sleep(10);
    }
  }

  /** An SSE body's events in order, with their names (data: events as "data"). */
  static List<String> names(List<Event> events) {
    return events.stream().map(e -> e.name() == null ? "data" : e.name()).toList();
  }
}
