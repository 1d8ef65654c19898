package io.reportcluster.node.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLContext;

/** A small real HTTP client for tests: every call goes over loopback to a running node. */
public final class HttpJson {
  public record Reply(int status, JsonNode body, HttpResponse<String> raw) {
    public String text(String field) {
      JsonNode n = body.get(field);
      return n == null || n.isNull() ? null : n.asText();
    }
  }

  private static final ObjectMapper MAPPER = new ObjectMapper();
  private final HttpClient client;
  private final String baseUrl;

  public HttpJson(String baseUrl) {
    this.baseUrl = baseUrl;
    this.client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  }

  /** A client for an HTTPS node, trusting what {@code ssl} trusts (a test CA). */
  public HttpJson(String baseUrl, SSLContext ssl) {
    this.baseUrl = baseUrl;
    this.client =
        HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).sslContext(ssl).build();
  }

  public Reply get(String path) {
    return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).GET());
  }

  public Reply delete(String path) {
    return send(HttpRequest.newBuilder(URI.create(baseUrl + path)).DELETE());
  }

  public Reply postJson(String path, String body) {
    return post(path, body, Map.of("Content-Type", "application/json"));
  }

  public Reply post(String path, String body, Map<String, String> headers) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(baseUrl + path))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    headers.forEach(b::header);
    return send(b);
  }

  public Reply send(HttpRequest.Builder request) {
    try {
      HttpResponse<String> r =
          client.send(
              request.timeout(Duration.ofSeconds(10)).build(),
              HttpResponse.BodyHandlers.ofString());
      JsonNode body = r.body().isEmpty() ? MAPPER.missingNode() : MAPPER.readTree(r.body());
      return new Reply(r.statusCode(), body, r);
    } catch (IOException e) {
      throw new AssertionError("HTTP call failed or answered non-JSON: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
