package io.reportcluster.tools.fakellm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.reportcluster.protocol.Json;
import io.reportcluster.tools.fakellm.WireFormat.Ask;
import io.reportcluster.tools.fakellm.WireFormat.BadRequest;
import io.reportcluster.tools.fakellm.WireFormat.Completion;
import io.reportcluster.tools.fakellm.WireFormat.ErrorAnswer;
import io.reportcluster.tools.fakellm.WireFormat.Finish;
import io.reportcluster.tools.fakellm.WireFormat.Refusal;
import io.reportcluster.tools.fakellm.WireFormat.Refused;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.EnumMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The fake's HTTP server (the JDK's, on a cached thread pool: one thread per request in flight, so
 * hundreds of slow streams wait side by side). Each API request goes through the checks a real
 * provider makes, in its order: key, headers, body, model, rate limits; then the error knobs; then
 * an answer, whole or streamed at the configured pace. Its {@link WireFormat} spells each outcome.
 */
final class FakeLlmServer implements AutoCloseable {
  /** Connections waiting to be accepted: a burst of hundreds of streams must not be refused. */
  private static final int BACKLOG = 1024;

  private static final String ID_ALPHABET =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

  private final FakeLlmOptions options;
  private final HttpServer http;
  private final ExecutorService pool;
  private final Map<Provider, WireFormat> wires = new EnumMap<>(Provider.class);
  private final Map<Provider, MinuteLimits> limits = new EnumMap<>(Provider.class);
  private final Map<Provider, ServedStats> stats = new EnumMap<>(Provider.class);

  /** What the checks decided: an error to answer, or an answer to give. */
  private record Decision(
      Ask ask, Completion completion, ErrorAnswer error, MinuteLimits.Verdict verdict) {}

  /**
   * Thrown out of the handler to drop a stream (--cut-rate): the JDK's server then closes the
   * connection without the last chunk, so the client sees the body end early, as on a real cut.
   */
  private static final class StreamCut extends RuntimeException {
    private static final long serialVersionUID = 1L;

    StreamCut() {
      super("stream cut on purpose", null, false, false);
    }
  }

  private FakeLlmServer(FakeLlmOptions options, HttpServer http, ExecutorService pool) {
    this.options = options;
    this.http = http;
    this.pool = pool;
    for (WireFormat w :
        new WireFormat[] {new OpenAiWire(), new AnthropicWire(), new GeminiWire()}) {
      Provider p = w.provider();
      wires.put(p, w);
      limits.put(
          p,
          new MinuteLimits(
              FakeLlmOptions.limitOf(options.rpm, p),
              FakeLlmOptions.limitOf(options.tpm, p),
              options.windowMs,
              System::nanoTime,
              System::currentTimeMillis));
      stats.put(p, new ServedStats(new SlidingPeaks(options.windowMs, System::nanoTime)));
    }
  }

  /** Opens the port and starts serving; throws when the port cannot be opened. */
  static FakeLlmServer start(FakeLlmOptions options) throws IOException {
    // Streams flush a few bytes at a time: without TCP_NODELAY, Nagle's algorithm and delayed
    // ACKs hold them back by tens of milliseconds. The JDK reads this once, at its first server.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
    HttpServer http = HttpServer.create(new InetSocketAddress(options.host, options.port), BACKLOG);
    AtomicInteger threads = new AtomicInteger();
    ExecutorService pool =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "fake-llm-" + threads.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    http.setExecutor(pool);
    FakeLlmServer server = new FakeLlmServer(options, http, pool);
    http.createContext("/", server::handle);
    http.start();
    return server;
  }

  /** The port it listens on (the one chosen when --port 0). */
  int port() {
    return http.getAddress().getPort();
  }

  /** Its root URL, e.g. {@code http://127.0.0.1:8090}. */
  URI uri() {
    String host = options.host.contains(":") ? "[" + options.host + "]" : options.host;
    return URI.create("http://" + host + ":" + port());
  }

  ServedStats stats(Provider p) {
    return stats.get(p);
  }

  @Override
  public void close() {
    http.stop(0);
    pool.shutdownNow();
  }

  /** A JSON tree as text, through the protocol's mapper. */
  static String json(JsonNode node) {
    try {
      return Json.MAPPER.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void handle(HttpExchange ex) throws IOException {
    try {
      String path = ex.getRequestURI().getPath();
      WireFormat wire = route(path);
      if (wire != null && ex.getRequestMethod().equals("POST")) {
        serve(wire, ex);
      } else if (path.equals("/fake/stats") && ex.getRequestMethod().equals("GET")) {
        send(ex, 200, statsJson());
      } else if (path.equals("/fake/reset") && ex.getRequestMethod().equals("POST")) {
        reset();
        send(ex, 200, statsJson());
      } else {
        ObjectNode body = Json.MAPPER.createObjectNode();
        body.putObject("error").put("message", ex.getRequestMethod() + " " + path + ": no route");
        ex.getResponseHeaders().set("Allow", wire != null ? "POST" : "GET, POST");
        send(ex, wire != null ? 405 : 404, body);
      }
    } catch (StreamCut cut) {
      throw cut;
    } catch (IOException clientGone) {
      // Nobody to answer; the stats counted it.
    }
    ex.close();
  }

  private WireFormat route(String path) {
    if (path.equals("/v1/chat/completions")) return wires.get(Provider.OPENAI);
    if (path.equals("/v1/messages")) return wires.get(Provider.ANTHROPIC);
    if (GeminiWire.PATH.matcher(path).matches()) return wires.get(Provider.GEMINI);
    return null;
  }

  private void serve(WireFormat wire, HttpExchange ex) throws IOException {
    ServedStats served = stats.get(wire.provider());
    long startNs = System.nanoTime();
    served.started();
    int status = 500;
    try {
      Decision d = decide(wire, ex);
      status = d.error() != null ? d.error().status() : 200;
      if (d.verdict() != null) wire.limitHeaders(ex.getResponseHeaders(), d.verdict());
      if (d.error() != null) {
        send(ex, d.error().status(), d.error().body());
      } else if (d.ask().stream()) {
        stream(wire, ex, d, served, startNs);
      } else {
        whole(wire, ex, d, served, startNs);
      }
    } finally {
      served.finished(status);
      if (options.logRequests) {
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        // The path only: a Gemini query may carry the key.
        System.err.printf(
            "fake-llm: %s %s %s %d %d ms%n",
            wire.provider().wireName(),
            ex.getRequestMethod(),
            ex.getRequestURI().getPath(),
            status,
            ms);
      }
    }
  }

  /** The checks of a real provider, in its order; the first that fails decides the answer. */
  private Decision decide(WireFormat wire, HttpExchange ex) throws IOException {
    byte[] bytes = ex.getRequestBody().readAllBytes();
    String key = wire.apiKey(ex);
    if (key == null) return refuse(wire, Refusal.MISSING_KEY, null, null, null);
    if (options.apiKey != null && !sameKey(key, options.apiKey)) {
      return refuse(wire, Refusal.WRONG_KEY, null, null, null);
    }
    String missingHeader = wire.missingHeader(ex);
    if (missingHeader != null) return refuse(wire, Refusal.BAD_REQUEST, null, missingHeader, null);
    JsonNode body;
    try {
      body = Json.MAPPER.readTree(bytes);
    } catch (IOException e) {
      body = null;
    }
    if (body == null || body.isMissingNode()) {
      return refuse(wire, Refusal.BAD_REQUEST, null, "The request body is not valid JSON.", null);
    }
    Ask ask;
    try {
      ask = wire.read(body, ex);
    } catch (BadRequest e) {
      return refuse(wire, Refusal.BAD_REQUEST, null, e.getMessage(), null);
    }
    if (options.models != null && !options.models.contains(ask.model())) {
      return refuse(wire, Refusal.UNKNOWN_MODEL, ask.model(), null, null);
    }
    Random random = ThreadLocalRandom.current();
    int words = options.answerTokens;
    Finish finish = Finish.STOP;
    if (ask.maxTokens() != Ask.NO_MAX && ask.maxTokens() < words) {
      words = ask.maxTokens();
      finish = Finish.LENGTH;
    }
    if (options.filterRate > 0 && random.nextDouble() < options.filterRate) {
      words = Math.max(1, words / 2);
      finish = Finish.FILTER;
    }
    MinuteLimits limit = limits.get(wire.provider());
    int asked = ask.inputTokens() + words;
    MinuteLimits.Verdict verdict = limit.limited() ? limit.admit(asked) : null;
    if (verdict != null && !verdict.admitted()) {
      return refuse(wire, Refusal.RATE_LIMITED, ask.model(), null, verdict);
    }
    stats.get(wire.provider()).admitted(asked);
    if (options.errorRate > 0 && random.nextDouble() < options.errorRate) {
      Refusal error = random.nextBoolean() ? Refusal.SERVER_ERROR : Refusal.OVERLOADED;
      return refuse(wire, error, ask.model(), null, verdict);
    }
    Completion c =
        new Completion(
            wire.newId(randomId(random)),
            ask.model(),
            System.currentTimeMillis() / 1000,
            Words.answer(words, random),
            finish);
    return new Decision(ask, c, null, verdict);
  }

  private static Decision refuse(
      WireFormat wire, Refusal refusal, String model, String detail, MinuteLimits.Verdict verdict) {
    ErrorAnswer error = wire.error(new Refused(refusal, model, detail, verdict));
    return new Decision(null, null, error, verdict);
  }

  private void whole(WireFormat wire, HttpExchange ex, Decision d, ServedStats served, long startNs)
      throws IOException {
    Completion c = d.completion();
    Pace pace = new Pace(options, startNs, ThreadLocalRandom.current());
    sleepUntil(pace.dueWhole(c.outputTokens()));
    requestId(wire, ex, c);
    try {
      send(ex, 200, wire.whole(c, d.ask()));
    } catch (IOException e) {
      served.clientClosed(0);
      throw e;
    }
    served.delivered(d.ask().inputTokens(), c.outputTokens(), false);
  }

  private void stream(
      WireFormat wire, HttpExchange ex, Decision d, ServedStats served, long startNs)
      throws IOException {
    Completion c = d.completion();
    Ask ask = d.ask();
    Random random = ThreadLocalRandom.current();
    Pace pace = new Pace(options, startNs, random);
    int n = c.outputTokens();
    // A cut leaves after 1 to n-1 words: mid-answer, never before the stream has begun.
    int cutAfter =
        options.cutRate > 0 && random.nextDouble() < options.cutRate
            ? 1 + random.nextInt(Math.max(1, n - 1))
            : -1;
    long firstDue = pace.due(0);
    sleepUntil(firstDue);
    requestId(wire, ex, c);
    ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
    ex.getResponseHeaders().set("Cache-Control", "no-cache");
    ex.sendResponseHeaders(200, 0);
    OutputStream out = ex.getResponseBody();
    int sent = 0;
    try {
      for (String frame : wire.streamHead(c, ask)) write(out, frame);
      for (int i = 0; i < n; i++) {
        long due = i == 0 ? firstDue : pace.due(i);
        if (due > System.nanoTime()) {
          out.flush();
          sleepUntil(due);
        }
        write(out, wire.streamWord(c, ask, i));
        sent = i + 1;
        if (sent == cutAfter) {
          out.flush();
          served.cut(sent);
          throw new StreamCut();
        }
      }
      for (String frame : wire.streamTail(c, ask)) write(out, frame);
      out.flush();
    } catch (IOException e) {
      served.clientClosed(sent);
      throw e;
    }
    served.delivered(ask.inputTokens(), n, true);
  }

  private static void write(OutputStream out, String frame) throws IOException {
    out.write(frame.getBytes(StandardCharsets.UTF_8));
  }

  private static void send(HttpExchange ex, int status, JsonNode body) throws IOException {
    byte[] bytes = json(body).getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  private static void requestId(WireFormat wire, HttpExchange ex, Completion c) {
    String header = wire.requestIdHeader();
    if (header != null) ex.getResponseHeaders().set(header, "req_" + c.id());
  }

  private static void sleepUntil(long dueNs) throws IOException {
    try {
      Pace.sleepUntil(dueNs);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("fake-llm is stopping", e);
    }
  }

  /** Compared in constant time, as a real server would. */
  private static boolean sameKey(String given, String expected) {
    return MessageDigest.isEqual(
        given.getBytes(StandardCharsets.UTF_8), expected.getBytes(StandardCharsets.UTF_8));
  }

  private static String randomId(Random random) {
    char[] id = new char[24];
    for (int i = 0; i < id.length; i++) {
      id[i] = ID_ALPHABET.charAt(random.nextInt(ID_ALPHABET.length()));
    }
    return new String(id);
  }

  private ObjectNode statsJson() {
    ObjectNode o = Json.MAPPER.createObjectNode();
    for (Provider p : Provider.values()) {
      o.set(p.wireName(), stats.get(p).toJson(limits.get(p).windows()));
    }
    return o;
  }

  private void reset() {
    for (Provider p : Provider.values()) {
      stats.get(p).reset();
      limits.get(p).reset();
    }
  }
}
