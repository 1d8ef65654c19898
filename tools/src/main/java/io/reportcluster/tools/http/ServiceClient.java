package io.reportcluster.tools.http;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.protocol.Json;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;

/**
 * The tools' one HTTP client for a reportcluster service: submit a job, read JSON. HTTP/1.1 (the
 * node's server), bodies through the protocol's JSON mapper. It makes one request per call; what to
 * do with a 503 (wait {@link Answer#retryAfterMs()}, try another node) is the caller's policy.
 */
public final class ServiceClient {
  private final HttpClient http;

  private ServiceClient(HttpClient http) {
    this.http = http;
  }

  /** A client whose connections time out after {@code connectTimeout}; its own threads. */
  public static ServiceClient create(Duration connectTimeout) {
    return new ServiceClient(builder(connectTimeout).build());
  }

  /** A client that runs its exchanges on {@code executor} (daemon threads let the JVM exit). */
  public static ServiceClient create(Duration connectTimeout, Executor executor) {
    return new ServiceClient(builder(connectTimeout).executor(executor).build());
  }

  /**
   * The service's API key, from the environment (REPORTS_API_KEY; never an option, so it stays out
   * of process lists): sent on every request when set.
   */
  private static final String API_KEY = System.getenv("REPORTS_API_KEY");

  private static HttpRequest.Builder authorized(HttpRequest.Builder request) {
    if (API_KEY != null && !API_KEY.isBlank()) request.header("Authorization", "Bearer " + API_KEY);
    return request;
  }

  private static HttpClient.Builder builder(Duration connectTimeout) {
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(connectTimeout);
  }

  /**
   * POSTs {@code {"startup": ...}} to {@code uri} (a submit endpoint), with an Idempotency-Key
   * unless {@code idempotencyKey} is null.
   */
  public Answer submit(URI uri, String startup, String idempotencyKey, Duration timeout)
      throws IOException, InterruptedException {
    return submit(uri, startup, null, idempotencyKey, timeout);
  }

  /** The same, naming the provider entry the job uses (null: the node's default). */
  public Answer submit(
      URI uri, String startup, String provider, String idempotencyKey, Duration timeout)
      throws IOException, InterruptedException {
    Map<String, Object> body =
        provider == null
            ? Map.of("startup", startup)
            : Map.of("startup", startup, "provider", provider);
    return post(uri, body, idempotencyKey, timeout);
  }

  /**
   * The same, naming the provider entries the job may use, in order: {@code "providers": [...]}, a
   * fallback chain the node walks when an entry refuses or fails.
   */
  public Answer submitWithFallbacks(
      URI uri, String startup, List<String> providers, String idempotencyKey, Duration timeout)
      throws IOException, InterruptedException {
    return post(uri, Map.of("startup", startup, "providers", providers), idempotencyKey, timeout);
  }

  private Answer post(URI uri, Map<String, Object> body, String idempotencyKey, Duration timeout)
      throws IOException, InterruptedException {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(uri)
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("Accept", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(Json.MAPPER.writeValueAsString(body)));
    if (idempotencyKey != null) request.header("Idempotency-Key", idempotencyKey);
    return send(authorized(request).build());
  }

  /** GETs {@code uri}, whatever its status. */
  public Answer get(URI uri, Duration timeout) throws IOException, InterruptedException {
    return send(
        authorized(
                HttpRequest.newBuilder(uri)
                    .timeout(timeout)
                    .header("Accept", "application/json")
                    .GET())
            .build());
  }

  /**
   * The JSON of a 200 answer to a GET; null for any other status, a body that is not JSON, or no
   * answer.
   */
  public JsonNode getJson(URI uri, Duration timeout) {
    try {
      Answer answer = get(uri, timeout);
      return answer.status() == 200 ? Json.MAPPER.readTree(answer.body()) : null;
    } catch (IOException e) {
      return null; // no answer, or a body that is not JSON
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private Answer send(HttpRequest request) throws IOException, InterruptedException {
    long sentNs = System.nanoTime();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    return new Answer(
        response.statusCode(),
        response.body(),
        response.headers().firstValue("Retry-After").orElse(null),
        sentNs,
        System.nanoTime());
  }

  /** Percent-encodes a job id for use as one path segment. */
  public static String pathSegment(String id) {
    return URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** Exception class plus the first message along the cause chain (HttpClient often nests it). */
  public static String describe(Throwable e) {
    String message = null;
    for (Throwable t = e; t != null && message == null; t = t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isEmpty()) message = t.getMessage();
    }
    if (message == null && e instanceof ConnectException) {
      // The JDK client leaves "Connection refused" out of its exception; say what it means.
      message = "could not connect (is the service running at that address?)";
    }
    return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }
}
