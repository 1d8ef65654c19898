package io.reportcluster.node.it;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The hostile requests {@link HostileInputIT} sends, as a table: each case a name, the raw bytes
 * sent on a fresh connection, and the status and error code the node must answer with. Built with a
 * few helpers so each row reads as the request it is. The node runs with API keys on: requests
 * carry the admin key unless a row says otherwise, so that each reaches the check it is about.
 */
final class HostileCorpus {
  /** The admin's key, a client key, and a job of the admin's that the client must not see. */
  record Keys(String admin, String client, String othersJob) {}

  private final Keys keys;

  HostileCorpus(Keys keys) {
    this.keys = keys;
  }

  static final Duration HEADER_TIMEOUT = Duration.ofSeconds(3);
  static final Duration BODY_TIMEOUT = Duration.ofSeconds(3);
  static final String ADMIN_PASSWORD = "s3cret-Admin";

  /** The refusal a request must get: its status and error code. */
  record Expect(int status, String error) {}

  /** One hostile request and the refusal it must get. */
  record Case(String name, byte[] request, Expect expect) {
    @Override
    public String toString() {
      return name + " -> " + expect.status + " " + expect.error;
    }
  }

  static final Expect HEADERS_TOO_LARGE = new Expect(431, "request_header_fields_too_large");
  static final Expect URI_TOO_LONG = new Expect(414, "uri_too_long");
  static final Expect BODY_TOO_LARGE = new Expect(413, "body_too_large");
  static final Expect UNSUPPORTED = new Expect(415, "unsupported_media_type");
  static final Expect BAD_REQUEST = new Expect(400, "bad_request");
  static final Expect BAD_METHOD = new Expect(400, "unsupported_method");
  static final Expect BAD_VERSION = new Expect(400, "unsupported_http_version");
  static final Expect MALFORMED_JSON = new Expect(400, "malformed_json");
  static final Expect TOO_COMPLEX = new Expect(400, "json_too_complex");
  static final Expect INVALID_BODY = new Expect(400, "invalid_body");
  static final Expect INVALID_STARTUP = new Expect(400, "invalid_startup");
  static final Expect BAD_FILTER = new Expect(400, "bad_filter");
  static final Expect UNAUTHORIZED = new Expect(401, "unauthorized");
  static final Expect UNKNOWN_JOB = new Expect(404, "unknown_job");
  static final Expect NOT_FOUND = new Expect(404, "not_found");
  static final Expect NOT_ALLOWED = new Expect(405, "method_not_allowed");
  static final Expect FORBIDDEN = new Expect(403, "forbidden");

  List<Case> cases() {
    Rows t = new Rows();

    // ------------------------------------------------------------ request line and headers
    t.row("200 headers", HEADERS_TOO_LARGE, get("/api/v1/health", headers(200)));
    t.row("65 header lines, one over", HEADERS_TOO_LARGE, get("/api/v1/health", headers(62)));
    t.row(
        "a 9 KB header value",
        HEADERS_TOO_LARGE,
        get("/api/v1/health", "X-Big: " + "v".repeat(9000)));
    t.row(
        "a 100-character header name",
        HEADERS_TOO_LARGE,
        get("/api/v1/health", "X".repeat(100) + ": v"));
    t.row("a 20 KB URI", URI_TOO_LONG, get("/api/v1/jobs/" + "x".repeat(20_000)));
    t.row("a 3 KB query", URI_TOO_LONG, get("/api/v1/jobs?q=" + "q".repeat(3000)));
    t.row(
        "CR injected in a header value", BAD_REQUEST, get("/api/v1/health", "X-A: a\rInjected: b"));
    t.row("NUL in a header value", BAD_REQUEST, get("/api/v1/health", "X-A: a\0b"));
    t.row("a header line without a colon", BAD_REQUEST, get("/api/v1/health", "JustSomeWords"));
    t.row("a space before a header's colon", BAD_REQUEST, get("/api/v1/health", "X-A : b"));
    t.row("NUL in the path", BAD_REQUEST, get("/api/v1/jobs/a\0b"));
    t.row("a raw space in the path", BAD_VERSION, get("/api/v1/jobs/a b"));
    t.row(
        "raw UTF-8 in the path",
        BAD_REQUEST,
        raw("GET /api/v1/jobs/\u00c3\u00a9 HTTP/1.1\r\n" + HOST + CLOSE + "\r\n"));
    t.row("a bad percent-escape in the path", BAD_REQUEST, get("/api/v1/jobs/%zz"));
    t.row("a bad percent-escape in the query", BAD_REQUEST, get("/api/v1/jobs?q=%zz"));
    t.row("an unknown method", BAD_METHOD, send("FOO", "/api/v1/health"));
    t.row("a lower-case method", BAD_METHOD, send("get", "/api/v1/health"));
    t.row(
        "a TLS ClientHello on the plain port",
        BAD_REQUEST,
        raw("\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003\r\n\r\n"));
    t.row("the HTTP/2 preface", BAD_METHOD, raw("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
    t.row("HTTP/9.9", BAD_VERSION, raw("GET /api/v1/health HTTP/9.9\r\n" + HOST + CLOSE + "\r\n"));
    t.row("an HTTP/0.9 request line", BAD_VERSION, raw("GET /api/v1/health\r\n\r\n"));
    t.row("HTTP/1.0 without Host", BAD_REQUEST, raw("GET /api/v1/health HTTP/1.0\r\n\r\n"));
    t.row(
        "HTTP/1.1 without Host",
        BAD_REQUEST,
        raw("GET /api/v1/health HTTP/1.1\r\n" + CLOSE + "\r\n"));
    t.row(
        "two Host headers",
        BAD_REQUEST,
        raw("GET /api/v1/health HTTP/1.1\r\nHost: a\r\nHost: b\r\n" + CLOSE + "\r\n"));
    t.row(
        "an absolute URI for another host", BAD_REQUEST, get("http://evil.example/api/v1/health"));
    t.row("CONNECT", BAD_REQUEST, send("CONNECT", "evil.example:443"));
    t.row("OPTIONS", NOT_ALLOWED, send("OPTIONS", "/api/v1/jobs"));
    t.row("TRACE", NOT_ALLOWED, send("TRACE", "/api/v1/health"));

    // ------------------------------------------------------------ framing of the body
    t.row(
        "a 20-digit Content-Length",
        BAD_REQUEST,
        post("Content-Length: 99999999999999999999", "{}"));
    t.row("a negative Content-Length", BAD_REQUEST, post("Content-Length: -1", "{}"));
    t.row(
        "two Content-Lengths", BAD_REQUEST, post("Content-Length: 2\r\nContent-Length: 3", "{}x"));
    t.row(
        "Content-Length and chunked",
        BAD_REQUEST,
        post("Content-Length: 5\r\nTransfer-Encoding: chunked", "0\r\n\r\n"));
    t.row("Transfer-Encoding: gzip", BAD_REQUEST, post("Transfer-Encoding: gzip", "{}"));
    t.row(
        "Transfer-Encoding: chunked, identity",
        BAD_REQUEST,
        post("Transfer-Encoding: chunked, identity", "2\r\n{}\r\n0\r\n\r\n"));
    t.row(
        "a chunk size that is not hex",
        BAD_REQUEST,
        post("Transfer-Encoding: chunked", "zz\r\n{}\r\n0\r\n\r\n"));
    t.row(
        "a chunk size past 2^31",
        BAD_REQUEST,
        post("Transfer-Encoding: chunked", "FFFFFFFFFFFFFFFFFF\r\n{}\r\n0\r\n\r\n"));
    t.row(
        "a 16 MB chunk",
        BAD_REQUEST,
        post("Transfer-Encoding: chunked", "FFFFFF\r\n{}\r\n0\r\n\r\n"));
    t.row(
        "an absurd Content-Length, body not sent",
        BODY_TOO_LARGE,
        post("Content-Length: 999999999", "{}"));
    t.row(
        "a 1 MB body",
        BODY_TOO_LARGE,
        postJson(
            ("{\"startup\": \"" + "x".repeat(1 << 20) + "\"}").getBytes(StandardCharsets.UTF_8)));

    // ------------------------------------------------------------ JSON bodies
    t.row(
        "JSON 10,000 levels deep", TOO_COMPLEX, postJson("[".repeat(10_000) + "]".repeat(10_000)));
    t.row(
        "JSON 33 objects deep", TOO_COMPLEX, postJson("{\"a\":".repeat(33) + "1" + "}".repeat(33)));
    t.row(
        "JSON 31 deep inside startup: read, not a string",
        INVALID_STARTUP,
        postJson("{\"startup\": " + "[".repeat(31) + "]".repeat(31) + "}"));
    t.row("duplicate keys", MALFORMED_JSON, postJson("{\"startup\": \"A\", \"startup\": \"B\"}"));
    t.row(
        "a 5,000-digit number",
        TOO_COMPLEX,
        postJson("{\"startup\": \"A\", \"n\": " + "9".repeat(5000) + "}"));
    t.row(
        "a number of 10^999999999 as startup",
        INVALID_STARTUP,
        postJson("{\"startup\": 1e999999999}"));
    t.row(
        "invalid UTF-8 (0xFF)",
        MALFORMED_JSON,
        postJson(bytes("{\"startup\": \"Bad", 0xFF, 0xFE, "Co\"}")));
    t.row(
        "overlong UTF-8 for '/'",
        MALFORMED_JSON,
        postJson(bytes("{\"startup\": \"A", 0xC0, 0xAF, "B\"}")));
    t.row(
        "a UTF-8-encoded surrogate",
        MALFORMED_JSON,
        postJson(bytes("{\"startup\": \"A", 0xED, 0xA0, 0x80, "B\"}")));
    t.row(
        "UTF-8 cut inside a character",
        MALFORMED_JSON,
        postJson(bytes("{\"startup\": \"A\"}", 0xE2, 0x82)));
    t.row("a raw NUL inside a string", MALFORMED_JSON, postJson("{\"startup\": \"A\0B\"}"));
    t.row("an escaped NUL in startup", INVALID_STARTUP, postJson("{\"startup\": \"A\\u0000B\"}"));
    t.row("a lone surrogate in startup", INVALID_STARTUP, postJson("{\"startup\": \"A\\ud800B\"}"));
    t.row(
        "a right-to-left override in startup",
        INVALID_STARTUP,
        postJson("{\"startup\": \"Tesla\\u202eIA\"}"));
    t.row("an empty body", MALFORMED_JSON, postJson(""));
    t.row("a body of spaces", MALFORMED_JSON, postJson("   \r\n\t "));
    t.row("a JSON null", INVALID_BODY, postJson("null"));
    t.row("trailing garbage", MALFORMED_JSON, postJson("{\"startup\": \"A\"} <script>"));
    t.row("text/plain", UNSUPPORTED, post("Content-Type: text/plain", "{\"startup\": \"A\"}"));
    t.row(
        "no Content-Type",
        UNSUPPORTED,
        raw(
            "POST /api/v1/jobs HTTP/1.1\r\n"
                + HOST
                + CLOSE
                + bearer()
                + "Content-Length: 2\r\n\r\n{}"));
    t.row(
        "a form",
        UNSUPPORTED,
        post("Content-Type: application/x-www-form-urlencoded", "startup=A"));
    t.row("multipart", UNSUPPORTED, post("Content-Type: multipart/form-data; boundary=x", "--x--"));
    t.row("a Content-Type of ;;;", UNSUPPORTED, post("Content-Type: ;;;", "{\"startup\": \"A\"}"));
    t.row("JSON-patch", UNSUPPORTED, post("Content-Type: application/json-patch+json", "[]"));

    // ------------------------------------------------------------ forged job ids
    t.row("path traversal, encoded", UNKNOWN_JOB, get("/api/v1/jobs/..%2F..%2Fetc%2Fpasswd"));
    t.row("path traversal, dots encoded", UNKNOWN_JOB, get("/api/v1/jobs/%2e%2e%2f%2e%2e%2fadmin"));
    t.row("path traversal, raw", NOT_FOUND, get("/api/v1/jobs/../../admin/cluster/members"));
    t.row("a 10 KB id", URI_TOO_LONG, get("/api/v1/jobs/" + "7".repeat(10_240)));
    t.row("a 2,000-character id", UNKNOWN_JOB, get("/api/v1/jobs/" + "7".repeat(2_000)));
    t.row("SQL in an id", UNKNOWN_JOB, get("/api/v1/jobs/%27%20OR%201%3D1%20--"));
    t.row(
        "SQL in an id, cancelled",
        UNKNOWN_JOB,
        send("DELETE", "/api/v1/jobs/%27%20OR%20%27a%27%3D%27a"));
    t.row(
        "SQL in an id, retried",
        UNKNOWN_JOB,
        post(
            "/api/v1/jobs/1%3BDROP%20TABLE%20job_list/retry",
            "Content-Type: application/json", "{}"));
    t.row(
        "SQL in a seed status id",
        UNKNOWN_JOB,
        get("/status/%27%3B%20DROP%20TABLE%20event_journal%3B--"));
    t.row("a bidi override in an id", UNKNOWN_JOB, get("/api/v1/jobs/%E2%80%AEfdp.exe"));
    t.row("an emoji id", UNKNOWN_JOB, get("/api/v1/jobs/%F0%9F%9A%80"));
    t.row("CRLF and a header in an id", UNKNOWN_JOB, get("/api/v1/jobs/x%0D%0ASet-Cookie:%20a=b"));
    t.row(
        "a forged id's event stream",
        UNKNOWN_JOB,
        get("/api/v1/jobs/..%2F..%2Fetc%2Fpasswd/events"));

    // ------------------------------------------------------------ filters of the job list
    for (String query :
        List.of(
            "state=NOPE",
            "state=",
            "state=SUCCESS,NOPE",
            "state=%27%20OR%201%3D1%20--",
            "limit=0",
            "limit=-1",
            "limit=abc",
            "limit=201",
            "limit=1.5",
            "limit=99999999999999999999",
            "cursor=not-a-cursor!!",
            "cursor=" + b64("j1:-5"),
            "cursor=" + b64("x"),
            "since=yesterday",
            "since=2026-13-45T00:00:00Z",
            "since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z",
            "q=" + "q".repeat(201),
            "provider=a,b",
            "sort=startup")) {
      t.row("GET /api/v1/jobs?" + cut(query), BAD_FILTER, get("/api/v1/jobs?" + query));
    }
    for (String minutes : List.of("0", "121", "abc")) {
      t.row(
          "GET /api/v1/stats?minutes=" + minutes,
          BAD_FILTER,
          get("/api/v1/stats?minutes=" + minutes));
    }

    // ------------------------------------------------------------ admin routes
    String members = "/admin/cluster/members";
    t.row("admin without credentials", UNAUTHORIZED, anonymous("GET", members));
    t.row("admin, wrong password", UNAUTHORIZED, anonymous("GET", members, basic("ops", "guess")));
    t.row(
        "admin, wrong user",
        UNAUTHORIZED,
        anonymous("GET", members, basic("root", ADMIN_PASSWORD)));
    t.row(
        "admin, the password as user",
        UNAUTHORIZED,
        anonymous("GET", members, basic(ADMIN_PASSWORD, "ops")));
    t.row(
        "admin, a bearer token",
        UNAUTHORIZED,
        anonymous("GET", members, "Authorization: Bearer " + ADMIN_PASSWORD));
    t.row(
        "admin, Basic that is not base64",
        UNAUTHORIZED,
        anonymous("GET", members, "Authorization: Basic !!!"));
    t.row(
        "admin, Basic without a colon",
        UNAUTHORIZED,
        anonymous("GET", members, "Authorization: Basic " + b64("ops")));
    t.row(
        "admin, 6 KB of Basic",
        UNAUTHORIZED,
        anonymous("GET", members, basic("ops", "x".repeat(6000))));
    t.row(
        "admin down, no credentials",
        UNAUTHORIZED,
        raw(
            "PUT "
                + members
                + "/x HTTP/1.1\r\n"
                + HOST
                + CLOSE
                + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 14\r\n\r\noperation=Down"));
    t.row(
        "admin leave, wrong password",
        UNAUTHORIZED,
        raw(
            "DELETE "
                + members
                + "/x HTTP/1.1\r\n"
                + HOST
                + CLOSE
                + basic("ops", "nope")
                + "\r\n\r\n"));
    // ------------------------------------------------------------ API keys
    String jobs = "/api/v1/jobs";
    String others = jobs + "/" + keys.othersJob();
    t.row("no key, list", UNAUTHORIZED, anonymous("GET", jobs));
    t.row("no key, submit", UNAUTHORIZED, anonymous("POST", jobs, "Content-Length: 0"));
    t.row("no key, a job's events", UNAUTHORIZED, anonymous("GET", others + "/events"));
    t.row("a well-formed key nobody made", UNAUTHORIZED, as("rck_" + "A".repeat(40), "GET", jobs));
    t.row("SQL as a key", UNAUTHORIZED, as("' OR 1=1 --", "GET", jobs));
    t.row("an empty Bearer", UNAUTHORIZED, anonymous("GET", jobs, "Authorization: Bearer "));
    t.row("a 6 KB key", UNAUTHORIZED, as("rck_" + "k".repeat(6000), "GET", jobs));
    t.row(
        "the admin key as Basic",
        UNAUTHORIZED,
        anonymous("GET", jobs, basic("admin", keys.admin())));
    t.row(
        "the key in the query of a POST",
        UNAUTHORIZED,
        anonymous("POST", jobs + "?access_token=" + keys.admin(), "Content-Length: 0"));
    t.row("a client key on /metrics", FORBIDDEN, as(keys.client(), "GET", "/metrics"));
    t.row("a client key on the cluster", FORBIDDEN, as(keys.client(), "GET", "/api/v1/cluster"));
    t.row("a client key reads another's job", UNKNOWN_JOB, as(keys.client(), "GET", others));
    t.row("a client key cancels another's job", UNKNOWN_JOB, as(keys.client(), "DELETE", others));
    t.row(
        "a client key streams another's job",
        UNKNOWN_JOB,
        as(keys.client(), "GET", others + "/events"));
    t.row(
        "a client key retries another's job",
        UNKNOWN_JOB,
        as(keys.client(), "POST", others + "/retry", "Content-Length: 0"));
    return t.cases;
  }

  // =================================================================== how rows are written

  private static final String HOST = "Host: localhost\r\n";
  private static final String CLOSE = "Connection: close\r\n";

  /** The table being written: one row per case. */
  private static final class Rows {
    final List<Case> cases = new ArrayList<>();

    void row(String name, Expect expect, byte[] request) {
      cases.add(new Case(name, request, expect));
    }
  }

  /** Exactly these characters, one byte each (ISO-8859-1). */
  private static byte[] raw(String request) {
    return request.getBytes(StandardCharsets.ISO_8859_1);
  }

  /** A request as the admin key. */
  private byte[] send(String method, String target, String... headers) {
    return as(keys.admin(), method, target, headers);
  }

  private byte[] get(String target, String... headers) {
    return send("GET", target, headers);
  }

  /** A request with {@code token} as its Bearer key. */
  private static byte[] as(String token, String method, String target, String... headers) {
    String[] all = new String[headers.length + 1];
    all[0] = "Authorization: Bearer " + token;
    System.arraycopy(headers, 0, all, 1, headers.length);
    return anonymous(method, target, all);
  }

  /** A request with no key but what {@code headers} hold. */
  private static byte[] anonymous(String method, String target, String... headers) {
    StringBuilder b = new StringBuilder(method + " " + target + " HTTP/1.1\r\n" + HOST + CLOSE);
    for (String h : headers) b.append(h).append("\r\n");
    return raw(b.append("\r\n").toString());
  }

  /** A POST to /api/v1/jobs with {@code headers} (CRLF-separated) and {@code body} as given. */
  private byte[] post(String headers, String body) {
    return raw(
        "POST /api/v1/jobs HTTP/1.1\r\n"
            + HOST
            + CLOSE
            + bearer()
            + (headers.contains("Content-Type") ? "" : "Content-Type: application/json\r\n")
            + headers
            + (headers.contains("Content-Length") || headers.contains("Transfer-Encoding")
                ? ""
                : "\r\nContent-Length: " + body.getBytes(StandardCharsets.ISO_8859_1).length)
            + "\r\n\r\n"
            + body);
  }

  private byte[] post(String path, String headers, String body) {
    return raw(
        "POST "
            + path
            + " HTTP/1.1\r\n"
            + HOST
            + CLOSE
            + bearer()
            + headers
            + "\r\nContent-Length: "
            + body.length()
            + "\r\n\r\n"
            + body);
  }

  private byte[] postJson(String body) {
    return postJson(body.getBytes(StandardCharsets.UTF_8));
  }

  private byte[] postJson(byte[] body) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.writeBytes(
        raw(
            "POST /api/v1/jobs HTTP/1.1\r\n"
                + HOST
                + CLOSE
                + bearer()
                + "Content-Type: application/json\r\nContent-Length: "
                + body.length
                + "\r\n\r\n"));
    b.writeBytes(body);
    return b.toByteArray();
  }

  private String bearer() {
    return "Authorization: Bearer " + keys.admin() + "\r\n";
  }

  /** Text and single bytes, in order: {@code bytes("a", 0xFF, "b")}. */
  private static byte[] bytes(Object... parts) {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    for (Object p : parts) {
      if (p instanceof String s) b.writeBytes(s.getBytes(StandardCharsets.UTF_8));
      else b.write((Integer) p);
    }
    return b.toByteArray();
  }

  private static String headers(int count) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < count; i++)
      b.append(i == 0 ? "" : "\r\n").append("X-H").append(i).append(": v");
    return b.toString();
  }

  private static String basic(String user, String password) {
    return "Authorization: Basic " + b64(user + ":" + password);
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private static String cut(String s) {
    return s.length() > 60 ? s.substring(0, 60) + "..." : s;
  }
}
