package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.testkit.ApiSpec;
import io.reportcluster.node.testkit.HttpJson;
import java.net.Socket;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The REST API, part two: what a request may hold and what is refused. Invalid bodies, startup
 * names (length, spaces, control and invisible characters, any Unicode text), content types, the
 * body size limit, unknown job ids, unknown paths, wrong methods, and requests the HTTP layer
 * refuses before routing. One node, see {@link ApiSpec}.
 */
@DisplayName("REST API: input and routing")
class InputApiSpecIT extends ApiSpec {

  // =================================================================== unknown and odd ids

  static Stream<Arguments> unknownIds() {
    List<String[]> ids =
        List.of(
            new String[] {UUID.randomUUID().toString(), null},
            new String[] {"0".repeat(64), null},
            new String[] {"null", null},
            new String[] {"a%20b", "a b"},
            new String[] {"x".repeat(200), null},
            new String[] {"x".repeat(2000), null},
            new String[] {"job_1", null},
            new String[] {"%E2%82%AC", "€"},
            new String[] {"..%2F..%2Fetc%2Fpasswd", "../../etc/passwd"},
            new String[] {"%00", "\u0000"},
            new String[] {
              "%27%3B%20DROP%20TABLE%20event_journal%3B--", "'; DROP TABLE event_journal;--"
            });
    List<String[]> routes =
        List.of(
            new String[] {"GET", "/api/v1/jobs/"},
            new String[] {"DELETE", "/api/v1/jobs/"},
            new String[] {"GET", "/status/"});
    return routes.stream()
        .flatMap(
            route ->
                ids.stream()
                    .map(
                        id -> arguments(route[0], route[1], id[0], id[1] == null ? id[0] : id[1])));
  }

  @ParameterizedTest(name = "{0} {1}{2}")
  @MethodSource("unknownIds")
  @DisplayName(
      "an unknown or malformed job id is 404 unknown_job, whatever its characters or length")
  void unknownJob(String method, String prefix, String encodedId, String decodedId) {
    String label = decodedId.length() > 40 ? decodedId.substring(0, 40) : decodedId;
    JsonNode body =
        assertError(
            send(method, prefix + encodedId, BodyPublishers.noBody(), null),
            404,
            "unknown_job",
            "no job with id '" + label);
    assertThat(body.path("detail").asText()).isEqualTo("no job with id '" + decodedId + "'");
  }

  // =================================================================== bad input

  static Stream<Arguments> invalidBodies() {
    List<Arguments> cases =
        List.of(
            arguments("missing startup", "{}", "invalid_startup", "startup is required"),
            arguments(
                "only other fields",
                "{\"name\": \"TeslaAI\"}",
                "invalid_startup",
                "startup is required"),
            arguments(
                "null startup", "{\"startup\": null}", "invalid_startup", "startup is required"),
            arguments(
                "empty startup",
                "{\"startup\": \"\"}",
                "invalid_startup",
                "startup must not be empty"),
            arguments(
                "whitespace-only startup",
                "{\"startup\": \" \\t\\n\\u3000 \"}",
                "invalid_startup",
                "startup must not be empty"),
            arguments(
                "number startup",
                "{\"startup\": 42}",
                "invalid_startup",
                "startup must be a string"),
            arguments(
                "boolean startup",
                "{\"startup\": true}",
                "invalid_startup",
                "startup must be a string"),
            arguments(
                "object startup",
                "{\"startup\": {\"name\": \"TeslaAI\"}}",
                "invalid_startup",
                "startup must be a string"),
            arguments(
                "array startup",
                "{\"startup\": [\"TeslaAI\"]}",
                "invalid_startup",
                "startup must be a string"),
            arguments(
                "startup of 201 characters",
                startup("S".repeat(MAX_STARTUP + 1)),
                "invalid_startup",
                "startup is longer than 200 characters"),
            arguments(
                "startup of 201 emoji",
                startup("🚀".repeat(MAX_STARTUP + 1)),
                "invalid_startup",
                "startup is longer than 200 characters"),
            arguments("truncated JSON", "{\"startup\": ", "malformed_json", "at line 1"),
            arguments(
                "unquoted JSON", "{startup: TeslaAI}", "malformed_json", "at line 1, column 2"),
            arguments("single quotes", "{'startup': 'TeslaAI'}", "malformed_json", "at line 1"),
            arguments(
                "trailing garbage",
                "{\"startup\": \"TeslaAI\"} garbage",
                "malformed_json",
                "'garbage'"),
            arguments(
                "two objects",
                "{\"startup\": \"A\"}{\"startup\": \"B\"}",
                "malformed_json",
                "at line 1, column 17"),
            arguments(
                "array body",
                "[{\"startup\": \"TeslaAI\"}]",
                "invalid_body",
                "the body must be a JSON object"),
            arguments(
                "string body", "\"TeslaAI\"", "invalid_body", "the body must be a JSON object"),
            arguments("number body", "42", "invalid_body", "the body must be a JSON object"),
            arguments("null body", "null", "invalid_body", "the body must be a JSON object"),
            arguments("empty body", "", "malformed_json", "the body is empty"),
            arguments("whitespace body", " \r\n\t ", "malformed_json", "the body is empty"));
    return Stream.of("/api/v1/jobs", "/generate")
        .flatMap(
            path ->
                cases.stream()
                    .map(
                        c -> {
                          Object[] a = c.get();
                          return arguments(path, a[0], a[1], a[2], a[3]);
                        }));
  }

  @ParameterizedTest(name = "POST {0}: {1}")
  @MethodSource("invalidBodies")
  @DisplayName("an invalid body is 400 with a JSON error saying what is wrong; no job is created")
  void invalidBody(String path, String why, String body, String error, String detail) {
    int jobsBefore = jobsInJournal();
    assertError(http.postJson(path, body), 400, error, detail);
    assertThat(jobsInJournal()).as("jobs in the journal").isEqualTo(jobsBefore);
  }

  /** Names refused whatever else they hold: (why, name, what the detail says). */
  static Stream<Arguments> refusedStartups() {
    String empty = "startup must not be empty or only spaces";
    String control = "startup must not contain control characters or line breaks (found ";
    String format =
        "startup must not contain invisible formatting characters such as bidi controls or zero-width "
            + "characters (found ";
    List<Arguments> cases =
        List.of(
            // Only spaces, of any kind: String.strip() alone keeps the no-break ones.
            arguments("only no-break spaces U+00A0", "\\u00A0\\u00A0\\u00A0", empty),
            arguments("only figure space U+2007", "\\u2007", empty),
            arguments("only narrow no-break space U+202F", "\\u202F\\u202F", empty),
            arguments("only ideographic space U+3000", "\\u3000", empty),
            arguments(
                "a mix of Unicode spaces",
                " \\u00A0\\t\\u2003\\u205F\\u1680\\u202F\\u3000\\u2028 ",
                empty),
            // Control characters and line breaks inside the name.
            arguments("NUL", "Acme\\u0000Corp", control + "U+0000)"),
            arguments("BEL", "Acme\\u0007", control + "U+0007)"),
            arguments("newline", "Acme\\nINFO forged log line", control + "U+000A)"),
            arguments("DEL", "Acme\\u007FCorp", control + "U+007F)"),
            arguments("C1 next line U+0085", "Acme\\u0085Corp", control + "U+0085)"),
            arguments("line separator U+2028", "Acme\\u2028Corp", control + "U+2028)"),
            arguments("paragraph separator U+2029", "Acme\\u2029Corp", control + "U+2029)"),
            // Bidi controls: the name would display in another order than it is stored.
            arguments("right-to-left override U+202E", "Acme\\u202Egnp.exe", format + "U+202E)"),
            arguments("left-to-right embedding U+202A", "\\u202AAcme", format + "U+202A)"),
            arguments("right-to-left embedding U+202B", "Acme\\u202B", format + "U+202B)"),
            arguments("pop directional formatting U+202C", "Ac\\u202Cme", format + "U+202C)"),
            arguments("left-to-right override U+202D", "Ac\\u202Dme", format + "U+202D)"),
            arguments("left-to-right isolate U+2066", "Ac\\u2066me", format + "U+2066)"),
            arguments("right-to-left isolate U+2067", "Ac\\u2067me", format + "U+2067)"),
            arguments("first strong isolate U+2068", "Ac\\u2068me", format + "U+2068)"),
            arguments("pop directional isolate U+2069", "Ac\\u2069me", format + "U+2069)"),
            arguments("left-to-right mark U+200E", "Acme\\u200E", format + "U+200E)"),
            arguments("right-to-left mark U+200F", "\\u200FAcme", format + "U+200F)"),
            arguments("Arabic letter mark U+061C", "Acme\\u061C", format + "U+061C)"),
            // Zero-width characters: two names that look the same would be different names.
            arguments("zero-width space U+200B", "Ac\\u200Bme", format + "U+200B)"),
            arguments("zero-width non-joiner U+200C", "Ac\\u200Cme", format + "U+200C)"),
            arguments("zero-width joiner U+200D", "Ac\\u200Dme", format + "U+200D)"),
            arguments("word joiner U+2060", "Ac\\u2060me", format + "U+2060)"),
            arguments("byte order mark U+FEFF first", "\\uFEFFAcme", format + "U+FEFF)"),
            arguments("only a zero-width space", "\\u200B", format + "U+200B)"),
            // Not text at all.
            arguments("unpaired surrogate", "Acme\\uD800", "startup must be valid Unicode text"));
    return Stream.of("/api/v1/jobs", "/generate")
        .flatMap(
            path ->
                cases.stream()
                    .map(
                        c -> {
                          Object[] a = c.get();
                          return arguments(path, a[0], a[1], a[2]);
                        }));
  }

  @ParameterizedTest(name = "POST {0}: {1}")
  @MethodSource("refusedStartups")
  @DisplayName(
      "a startup of only (Unicode) spaces, or with control, line-break, bidi or zero-width characters, is 400 "
          + "invalid_startup naming the character; no job is created")
  void refusedStartup(String path, String why, String jsonEscapedName, String detail) {
    int jobsBefore = jobsInJournal();
    // The name as JSON escapes, exactly as a client would send it.
    assertError(
        http.postJson(path, "{\"startup\": \"" + jsonEscapedName + "\"}"),
        400,
        "invalid_startup",
        detail);
    assertThat(jobsInJournal()).as("jobs in the journal").isEqualTo(jobsBefore);
  }

  @Nested
  @DisplayName("the startup name")
  class StartupName {

    @Test
    @DisplayName("is at most 200 characters (code points) after trimming: exactly 200 is accepted")
    void lengthLimit() {
      String plain = "S".repeat(MAX_STARTUP - 8) + UUID.randomUUID().toString().substring(0, 8);
      assertThat(startupOf(created(submit(startup(plain))))).isEqualTo(plain);

      String emoji = "🚀".repeat(MAX_STARTUP);
      assertThat(startupOf(created(submit(startup(emoji))))).isEqualTo(emoji);

      String padded = "  \t" + plain + " \n ";
      assertThat(startupOf(created(submit(startup(padded))))).as("stored trimmed").isEqualTo(plain);
    }

    @Test
    @DisplayName(
        "is stripped of every kind of Unicode space at its ends; spaces inside it are kept")
    void unicodeSpacesAreStripped() {
      String name = unique("Acme\u00A0Corp");
      String sent = "\u00A0\u202F \u3000" + name + "\u2007\t\u00A0";
      assertThat(startupOf(created(submit(startup(sent))))).isEqualTo(name);
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(
        strings = {
          "Société Générale 🚀",
          "北京初创科技有限公司",
          "Ελληνικά & Ünïcødé — Ω",
          "Acme \"Quoted\" \\ Back/slash",
          "شركة ناشئة",
          "Love ❤️ Inc 🇫🇷",
          "Crème Brûlée Ltd.\u00A0(Paris)"
        })
    @DisplayName(
        "round-trips any Unicode text unchanged: in the job, in the provider's calls, in the report")
    void unicodeRoundTrip(String name) {
      HttpJson.Reply accepted = track(http.postJson("/generate", startup(name)));
      assertJson(accepted, 202);
      String id = accepted.text("job_id");

      JsonNode job = awaitState(id, "SUCCESS");
      assertThat(job.path("startup").asText()).isEqualTo(name);
      assertThat(simulated.calls())
          .filteredOn(c -> c.jobId().equals(id))
          .extracting(LlmRequest::startup)
          .hasSize(STEPS.size())
          .containsOnly(name);
      HttpJson.Reply status = http.get("/status/" + id);
      assertJson(status, 200);
      assertThat(status.text("result")).startsWith("Summary: " + name + " ");
    }
  }

  // =================================================================== content type and size

  static Stream<Arguments> wrongContentTypes() {
    List<Arguments> cases =
        List.of(
            arguments("text/plain", "{\"startup\": \"TeslaAI\"}", "text/plain"),
            arguments(
                "application/x-www-form-urlencoded",
                "startup=TeslaAI",
                "application/x-www-form-urlencoded"),
            arguments("application/xml", "<startup>TeslaAI</startup>", "application/xml"),
            arguments(null, "{\"startup\": \"TeslaAI\"}", "application/octet-stream"));
    return Stream.of("/api/v1/jobs", "/generate")
        .flatMap(
            path ->
                cases.stream()
                    .map(
                        c -> {
                          Object[] a = c.get();
                          return arguments(path, a[0], a[1], a[2]);
                        }));
  }

  @ParameterizedTest(name = "POST {0} as {1}")
  @MethodSource("wrongContentTypes")
  @DisplayName("a body that is not declared application/json is 415 unsupported_media_type")
  void wrongContentType(String path, String contentType, String body, String seenAs) {
    int jobsBefore = jobsInJournal();
    assertError(
        send("POST", path, BodyPublishers.ofString(body), contentType),
        415,
        "unsupported_media_type",
        "send the body as application/json, not " + seenAs);
    assertThat(jobsInJournal()).isEqualTo(jobsBefore);
  }

  @Test
  @DisplayName("application/json with a charset parameter is JSON")
  void jsonWithCharset() {
    HttpJson.Reply r =
        track(
            send(
                "POST",
                "/api/v1/jobs",
                BodyPublishers.ofString(startup(unique("Charset"))),
                "application/json; charset=utf-8"));
    assertJson(r, 202);
  }

  @Nested
  @DisplayName("the body size limit (reports.http.max-body-bytes, 64 KiB)")
  class BodySize {

    @Test
    @DisplayName("a body of exactly 64 KiB is read")
    void exactlyTheLimit() {
      assertJson(
          track(
              send(
                  "POST",
                  "/api/v1/jobs",
                  BodyPublishers.ofByteArray(bodyOfSize(MAX_BODY_BYTES)),
                  "application/json")),
          202);
    }

    @Test
    @DisplayName("one byte more, with a Content-Length, is 413 body_too_large")
    void overTheLimitWithContentLength() {
      int jobsBefore = jobsInJournal();
      assertError(
          send(
              "POST",
              "/api/v1/jobs",
              BodyPublishers.ofByteArray(bodyOfSize(MAX_BODY_BYTES + 1)),
              "application/json"),
          413,
          "body_too_large",
          "the body is larger than 65536 bytes");
      assertThat(jobsInJournal()).isEqualTo(jobsBefore);
    }

    @Test
    @DisplayName("a chunked body (no Content-Length) within the limit is read")
    void chunkedWithinTheLimit() {
      assertJson(
          track(
              send(
                  "POST", "/api/v1/jobs", chunked(bodyOfSize(MAX_BODY_BYTES)), "application/json")),
          202);
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {MAX_BODY_BYTES + 1, 1024 * 1024})
    @DisplayName("a chunked body (no Content-Length) over the limit is 413 body_too_large too")
    void chunkedOverTheLimit(int size) {
      int jobsBefore = jobsInJournal();
      assertError(
          send("POST", "/api/v1/jobs", chunked(bodyOfSize(size)), "application/json"),
          413,
          "body_too_large",
          "the body is larger than 65536 bytes");
      assertThat(jobsInJournal()).isEqualTo(jobsBefore);
    }
  }

  // =================================================================== routing

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("unknownPaths")
  @DisplayName("an unknown path is 404 not_found")
  void unknownPath(String method, String path) {
    assertError(
        send(method, path, BodyPublishers.noBody(), null),
        404,
        "not_found",
        "The requested resource could not be found.");
  }

  static Stream<Arguments> unknownPaths() {
    return Stream.of(
        arguments("GET", "/"),
        arguments("GET", "/nope"),
        arguments("GET", "/api/v1"),
        arguments("GET", "/api/v1/nope"),
        arguments("GET", "/api/v2/jobs"),
        arguments("GET", "/api/v1/jobs/"),
        arguments("GET", "/api/v1/jobs/" + UUID.randomUUID() + "/steps"),
        arguments("POST", "/api/v1/jobs/" + UUID.randomUUID() + "/cancel"),
        arguments("GET", "/status"),
        arguments("GET", "/status/"),
        arguments("POST", "/generate/now"));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("wrongMethods")
  @DisplayName("a known path with the wrong method is 405 method_not_allowed, with an Allow header")
  void wrongMethod(String method, String path, String allowed) {
    HttpJson.Reply r =
        send(method, path, BodyPublishers.ofString(startup("TeslaAI")), "application/json");
    assertError(
        r, 405, "method_not_allowed", "HTTP method not allowed, supported methods: " + allowed);
    assertThat(r.raw().headers().firstValue("Allow")).hasValue(allowed);
  }

  static Stream<Arguments> wrongMethods() {
    String id = UUID.randomUUID().toString();
    return Stream.of(
        arguments("PUT", "/api/v1/jobs", "POST, GET"),
        arguments("DELETE", "/api/v1/jobs", "POST, GET"),
        arguments("PATCH", "/api/v1/jobs", "POST, GET"),
        arguments("GET", "/api/v1/jobs/" + UUID.randomUUID() + "/retry", "POST"),
        arguments("GET", "/generate", "POST"),
        arguments("PUT", "/generate", "POST"),
        arguments("POST", "/status/x", "GET"),
        arguments("DELETE", "/status/" + id, "GET"),
        arguments("PUT", "/api/v1/jobs/" + id, "GET, DELETE"),
        arguments("POST", "/api/v1/jobs/" + id, "GET, DELETE"),
        arguments("PATCH", "/api/v1/jobs/" + id, "GET, DELETE"),
        arguments("POST", "/api/v1/node/stats", "GET"));
  }

  static Stream<Arguments> requestsRefusedBeforeRouting() {
    return Stream.of(
        arguments(
            "a URI over 2048 characters",
            "GET /api/v1/jobs/"
                + "x".repeat(3000)
                + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            414,
            "uri_too_long",
            "URI length exceeds the configured limit of 2048 characters"),
        arguments(
            "a header over 8 KiB",
            "POST /api/v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nIdempotency-Key: "
                + "k".repeat(9000)
                + "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
            431,
            "request_header_fields_too_large",
            "HTTP header value exceeds the configured limit of 8192 characters"),
        arguments(
            "a malformed percent-encoding",
            "GET /api/v1/jobs/%zz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            400,
            "bad_request",
            "Illegal request-target"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("requestsRefusedBeforeRouting")
  @DisplayName("a request refused by the HTTP layer before routing still gets a JSON error")
  void refusedBeforeRouting(String why, String request, int status, String error, String detail)
      throws Exception {
    try (Socket socket =
        new Socket(node.httpAddress().getAddress(), node.httpAddress().getPort())) {
      socket.setSoTimeout(10_000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
      String answer = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      int headEnd = answer.indexOf("\r\n\r\n");
      assertThat(headEnd).as("an HTTP answer: %s", answer).isPositive();
      List<String> head = List.of(answer.substring(0, headEnd).split("\r\n"));
      String body = answer.substring(headEnd + 4);
      assertThat(head.get(0)).startsWith("HTTP/1.1 " + status + " ");
      assertThat(head)
          .as("headers")
          .anyMatch(h -> h.equalsIgnoreCase("Content-Type: application/json"));
      JsonNode json = JSON.readTree(body);
      assertThat(fieldNames(json)).containsExactly("error", "detail");
      assertThat(json.path("error").asText()).isEqualTo(error);
      assertThat(json.path("detail").asText()).contains(detail);
    }
  }

  // =================================================================== helpers

  /** A valid submit body of exactly {@code size} bytes: a unique startup, padded with spaces. */
  private static byte[] bodyOfSize(int size) {
    byte[] head = ("{\"startup\": \"" + unique("Sized") + "\"").getBytes(StandardCharsets.UTF_8);
    byte[] body = new byte[size];
    Arrays.fill(body, (byte) ' ');
    System.arraycopy(head, 0, body, 0, head.length);
    body[size - 1] = '}';
    return body;
  }

  /** A body publisher of unknown length: java.net.http sends it with Transfer-Encoding: chunked. */
  private static BodyPublisher chunked(byte[] body) {
    return BodyPublishers.fromPublisher(BodyPublishers.ofByteArray(body));
  }
}
