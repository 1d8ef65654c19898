package io.reportcluster.node.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A stand-in for OpenAI's Chat Completions ({@code POST /v1/chat/completions}, streamed or not)
 * that enforces a rate limit as the provider does: at most {@code requests} admitted requests and
 * {@code tokens} tokens (prompt and answer) in any sliding window of {@code window}; past it, 429
 * with OpenAI's error body and {@code retry-after-ms}. A wrong or missing API key gets OpenAI's
 * 401.
 *
 * <p>It records when each admitted request arrived and how many tokens it counted, so that a test
 * can find the busiest window a provider saw; and it counts what it refused. A switch makes it
 * answer 429 to everything for a while, as a provider does when another client spent the budget.
 */
public final class BudgetedLlmServer implements AutoCloseable {

  /**
   * What the server allows and how it answers: limits per {@code window} (0: none), the time it
   * takes to answer, the answer's length in words (one token each), the key it wants (null: any).
   */
  public record Settings(
      Duration window, int requests, long tokens, Duration delay, int words, String apiKey) {

    public static Settings unlimited() {
      return new Settings(Duration.ofSeconds(3), 0, 0, Duration.ofMillis(200), 20, null);
    }

    public Settings withRequests(int perWindow, Duration window) {
      return new Settings(window, perWindow, tokens, delay, words, apiKey);
    }

    public Settings withTokens(long perWindow, Duration window) {
      return new Settings(window, requests, perWindow, delay, words, apiKey);
    }

    public Settings withDelay(Duration answerAfter) {
      return new Settings(window, requests, tokens, answerAfter, words, apiKey);
    }

    public Settings withWords(int answerWords) {
      return new Settings(window, requests, tokens, delay, answerWords, apiKey);
    }

    public Settings withApiKey(String key) {
      return new Settings(window, requests, tokens, delay, words, key);
    }
  }

  /** An admitted request: when it arrived (ms on this JVM's monotonic clock) and its tokens. */
  public record Admitted(double atMs, long tokens) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  static {
    // Each chunk goes out at once, as a provider's do (see ScriptedLlmServer).
    System.setProperty("sun.net.httpserver.nodelay", "true");
  }

  private final HttpServer server;
  private final ExecutorService threads;
  private final Settings settings;
  private final long started = System.nanoTime();

  /** Admitted requests still inside the window, oldest first: the server's own count. */
  private final ArrayDeque<Admitted> inWindow = new ArrayDeque<>();

  private long tokensInWindow;
  private final List<Admitted> admitted = new ArrayList<>();
  private double rateLimitedUntilMs = Double.NEGATIVE_INFINITY;
  private final AtomicInteger rateLimited = new AtomicInteger();
  private final AtomicInteger unauthorized = new AtomicInteger();

  private BudgetedLlmServer(HttpServer server, ExecutorService threads, Settings settings) {
    this.server = server;
    this.threads = threads;
    this.settings = settings;
  }

  /** A server on a free loopback port. */
  public static BudgetedLlmServer start(Settings settings) {
    try {
      HttpServer server =
          HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      ExecutorService threads =
          Executors.newCachedThreadPool(
              r -> {
                Thread t = new Thread(r, "budgeted-llm-server");
                t.setDaemon(true);
                return t;
              });
      BudgetedLlmServer budgeted = new BudgetedLlmServer(server, threads, settings);
      server.createContext("/v1/chat/completions", budgeted::handle);
      server.setExecutor(threads);
      server.start();
      return budgeted;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code http://127.0.0.1:<port>/v1}: what an {@code openai} entry's base-url is set to. */
  public String baseUrl() {
    InetSocketAddress a = server.getAddress();
    return "http://" + a.getAddress().getHostAddress() + ":" + a.getPort() + "/v1";
  }

  public Settings settings() {
    return settings;
  }

  /** Every admitted request so far, in order of arrival. */
  public synchronized List<Admitted> admitted() {
    return List.copyOf(admitted);
  }

  /** 429s sent, for the limits and for {@link #rateLimitFor}. */
  public int rateLimited() {
    return rateLimited.get();
  }

  /** 401s sent for a wrong or missing key. */
  public int unauthorized() {
    return unauthorized.get();
  }

  /**
   * From now on, for {@code pause}, every request gets 429 with a {@code retry-after-ms} of the
   * time left: the budget is gone, whoever spent it.
   */
  public synchronized void rateLimitFor(Duration pause) {
    rateLimitedUntilMs = clockMs() + pause.toMillis();
  }

  /** Forgets what was admitted and refused (the limits keep counting what is in the window). */
  public synchronized void resetRecords() {
    admitted.clear();
    rateLimited.set(0);
    unauthorized.set(0);
  }

  /** The most requests admitted in any window of the server's length. */
  public int maxRequestsInAnyWindow() {
    return busiestWindow().requests();
  }

  /** A window of the server's length: when it began (see {@link #clockMs}) and what it admitted. */
  public record Window(double fromMs, int requests) {}

  /** The window (of the server's length) in which the most requests were admitted. */
  public Window busiestWindow() {
    return busiest(admitted(), settings.window().toMillis());
  }

  /** The window of {@code windowMs} holding the most of {@code all} (in order of arrival). */
  static Window busiest(List<Admitted> all, long windowMs) {
    Window most = new Window(0, 0);
    int from = 0;
    for (int to = 0; to < all.size(); to++) {
      while (all.get(to).atMs() - all.get(from).atMs() >= windowMs) from++;
      if (to - from + 1 > most.requests()) most = new Window(all.get(from).atMs(), to - from + 1);
    }
    return most;
  }

  /** The most tokens admitted in any window of the server's length. */
  public long maxTokensInAnyWindow() {
    List<Admitted> all = admitted();
    long most = 0;
    long sum = 0;
    int from = 0;
    for (int to = 0; to < all.size(); to++) {
      sum += all.get(to).tokens();
      while (all.get(to).atMs() - all.get(from).atMs() >= settings.window().toMillis()) {
        sum -= all.get(from).tokens();
        from++;
      }
      most = Math.max(most, sum);
    }
    return most;
  }

  /**
   * Requests admitted in each whole window from {@code fromMs} on (the server's clock, see {@link
   * #clockMs}), the windows laid end to end up to the last admitted request; the last window, cut
   * short by the end of the work, is not counted.
   */
  public List<Integer> requestsPerFullWindow(double fromMs) {
    List<Admitted> all = admitted();
    return all.isEmpty()
        ? List.of()
        : requestsPerFullWindow(fromMs, all.get(all.size() - 1).atMs());
  }

  /** The same for the windows that lie wholly between {@code fromMs} and {@code toMs}. */
  public List<Integer> requestsPerFullWindow(double fromMs, double toMs) {
    List<Admitted> all = admitted();
    List<Integer> counts = new ArrayList<>();
    long w = settings.window().toMillis();
    for (double start = fromMs; start + w <= toMs; start += w) {
      double s = start;
      counts.add((int) all.stream().filter(a -> a.atMs() >= s && a.atMs() < s + w).count());
    }
    return counts;
  }

  /** Now, on the clock the server records arrivals with (ms). */
  public double clockMs() {
    return (System.nanoTime() - started) / 1e6;
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try {
      if (!"POST".equals(exchange.getRequestMethod())) {
        send(exchange, 405, error("only POST here", "invalid_request_error", null), null);
        return;
      }
      String auth = exchange.getRequestHeaders().getFirst("Authorization");
      if (settings.apiKey() != null && !("Bearer " + settings.apiKey()).equals(auth)) {
        unauthorized.incrementAndGet();
        send(
            exchange,
            401,
            error(
                "Incorrect API key provided. You can find your API key at"
                    + " https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key"),
            null);
        return;
      }
      JsonNode request = JSON.readTree(exchange.getRequestBody());
      long promptTokens = promptTokens(request);
      int maxTokens = request.path("max_tokens").asInt(Integer.MAX_VALUE);
      int words = Math.min(settings.words(), maxTokens);
      double retryAfterMs = admit(promptTokens + words);
      if (retryAfterMs > 0) {
        rateLimited.incrementAndGet();
        send(
            exchange,
            429,
            error(
                "Rate limit reached for requests. Please try again in "
                    + Math.round(retryAfterMs)
                    + "ms.",
                "requests",
                "rate_limit_exceeded"),
            Math.max(1, (long) Math.ceil(retryAfterMs)));
        return;
      }
      pause(settings.delay());
      String text = answer(words);
      String model = request.path("model").asText("stand-in");
      if (request.path("stream").asBoolean(false)) {
        stream(exchange, model, text, promptTokens, words);
      } else {
        ObjectNode body = JSON.createObjectNode();
        body.put("id", "chatcmpl-standin").put("object", "chat.completion").put("model", model);
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0).put("finish_reason", "stop");
        choice.putObject("message").put("role", "assistant").put("content", text);
        usage(body.putObject("usage"), promptTokens, words);
        send(exchange, 200, body, null);
      }
    } finally {
      exchange.close();
    }
  }

  /**
   * Admits a request of {@code tokens} arriving now, or says how long until it would fit (ms; 0:
   * admitted). Its time is read under the lock, so the record is in order of arrival.
   */
  private synchronized double admit(long tokens) {
    double at = clockMs();
    if (at < rateLimitedUntilMs) return rateLimitedUntilMs - at;
    double w = settings.window().toMillis();
    while (!inWindow.isEmpty() && inWindow.peekFirst().atMs() <= at - w) {
      tokensInWindow -= inWindow.pollFirst().tokens();
    }
    if (settings.requests() > 0 && inWindow.size() >= settings.requests()) {
      return inWindow.peekFirst().atMs() + w - at;
    }
    if (settings.tokens() > 0 && tokensInWindow + tokens > settings.tokens()) {
      long freed = 0;
      for (Admitted a : inWindow) {
        freed += a.tokens();
        if (tokensInWindow - freed + tokens <= settings.tokens()) return a.atMs() + w - at;
      }
      return w;
    }
    Admitted a = new Admitted(at, tokens);
    inWindow.addLast(a);
    tokensInWindow += tokens;
    admitted.add(a);
    return 0;
  }

  /**
   * The prompt's tokens as this server counts them: a token per four characters of the messages.
   */
  private static long promptTokens(JsonNode request) {
    long chars = 0;
    for (JsonNode m : request.path("messages")) chars += m.path("content").asText("").length();
    return (chars + 3) / 4;
  }

  private static String answer(int words) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < words; i++) sb.append(i == 0 ? "" : " ").append("word").append(i);
    return sb.toString();
  }

  /**
   * Chunks of a few words each, a chunk with {@code finish_reason}, then (the client asked for
   * {@code stream_options.include_usage}) a chunk with the usage and no choices, then {@code
   * [DONE]}.
   */
  private static void stream(
      HttpExchange exchange, String model, String text, long promptTokens, int words)
      throws IOException {
    exchange.getResponseHeaders().add("content-type", "text/event-stream; charset=utf-8");
    exchange.sendResponseHeaders(200, 0);
    OutputStream out = exchange.getResponseBody();
    String[] parts = text.split("(?<= )");
    for (int i = 0; i < parts.length; i += 5) {
      StringBuilder piece = new StringBuilder();
      for (int j = i; j < Math.min(parts.length, i + 5); j++) piece.append(parts[j]);
      ObjectNode chunk = chunk(model);
      ObjectNode choice = ((ArrayNode) chunk.get("choices")).addObject();
      choice.put("index", 0).putNull("finish_reason");
      choice.putObject("delta").put("content", piece.toString());
      event(out, chunk.toString());
    }
    ObjectNode last = chunk(model);
    ObjectNode choice = ((ArrayNode) last.get("choices")).addObject();
    choice.put("index", 0).put("finish_reason", "stop");
    choice.putObject("delta");
    event(out, last.toString());
    ObjectNode usage = chunk(model);
    usage(usage.putObject("usage"), promptTokens, words);
    event(out, usage.toString());
    event(out, "[DONE]");
  }

  private static ObjectNode chunk(String model) {
    ObjectNode chunk = JSON.createObjectNode();
    chunk.put("id", "chatcmpl-standin").put("object", "chat.completion.chunk").put("model", model);
    chunk.putArray("choices");
    return chunk;
  }

  private static void usage(ObjectNode usage, long promptTokens, int words) {
    usage
        .put("prompt_tokens", promptTokens)
        .put("completion_tokens", words)
        .put("total_tokens", promptTokens + words);
  }

  private static void event(OutputStream out, String data) throws IOException {
    out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  private static ObjectNode error(String message, String type, String code) {
    ObjectNode body = JSON.createObjectNode();
    ObjectNode error = body.putObject("error");
    error.put("message", message).put("type", type).putNull("param");
    if (code == null) error.putNull("code");
    else error.put("code", code);
    return body;
  }

  private static void send(HttpExchange exchange, int status, JsonNode body, Long retryAfterMs)
      throws IOException {
    byte[] bytes = body.toString().getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().add("content-type", "application/json");
    if (retryAfterMs != null) {
      exchange.getResponseHeaders().add("retry-after-ms", Long.toString(retryAfterMs));
      exchange
          .getResponseHeaders()
          .add("retry-after", Long.toString(Math.max(1, (retryAfterMs + 999) / 1000)));
    }
    exchange.sendResponseHeaders(status, bytes.length);
    exchange.getResponseBody().write(bytes);
  }

  /** The provider's own time to answer (the server's pacing, not a test waiting for something). */
  private static void pause(Duration d) {
    if (d.isZero()) return;
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
