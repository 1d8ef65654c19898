package io.reportcluster.node.testkit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A local HTTP server that answers what a test scripts, in whatever wire format the test writes: a
 * status with headers and a body, or a stream of server-sent events (chunked), with pauses, a
 * stream held open until the client goes, or a connection cut mid-stream. It records every request
 * (method, path, query, headers, body) and how each answer ended, so a test can see what a client
 * sent and whether it hung up.
 */
public final class ScriptedLlmServer implements AutoCloseable {

  /** How the server's answer to one request ended. */
  public enum Ending {
    /** Everything scripted was sent and the answer closed properly. */
    FINISHED,
    /** Writing failed: the client closed the connection. */
    CLIENT_GONE,
    /** The script cut the connection before the answer's end. */
    CUT
  }

  /** One request as the server received it; {@code ending} completes when its answer ends. */
  public record Request(
      String method,
      String path,
      String query,
      Map<String, String> headers,
      String body,
      CompletableFuture<Ending> ending) {

    /** A header's (first) value, by a name in any case; null when absent. */
    public String header(String name) {
      return headers.get(name);
    }
  }

  private sealed interface Step {}

  private record Write(String text) implements Step {}

  private record Pause(Duration duration) implements Step {}

  private record Cut() implements Step {}

  private record Hold(Duration atMost) implements Step {}

  /** An answer to script: build it with {@link #json} or {@link #events}, then add to it. */
  public static final class Reply {
    private final int status;
    private final List<String[]> headers = new ArrayList<>();
    private final String body;
    private final List<Step> steps = new ArrayList<>();
    private Duration headersAfter = Duration.ZERO;

    private Reply(int status, String body) {
      this.status = status;
      this.body = body;
    }

    /** {@code status} with a JSON body (empty for none). */
    public static Reply json(int status, String body) {
      return new Reply(status, body).header("content-type", "application/json");
    }

    /** 200 with a chunked {@code text/event-stream}, whose events the test adds in order. */
    public static Reply events() {
      return new Reply(200, null).header("content-type", "text/event-stream; charset=utf-8");
    }

    /** A status with a body of any type (an HTML error page, a plain JSON answer to a stream). */
    public static Reply body(int status, String contentType, String body) {
      return new Reply(status, body).header("content-type", contentType);
    }

    public Reply header(String name, String value) {
      headers.add(new String[] {name, value});
      return this;
    }

    /** An event with a type: {@code event: type}, {@code data: data}, a blank line. */
    public Reply event(String type, String data) {
      return raw("event: " + type + "\n" + "data: " + data + "\n\n");
    }

    /** An event without a type: {@code data: data} and a blank line. */
    public Reply data(String data) {
      return raw("data: " + data + "\n\n");
    }

    /** Text written as it is, flushed as one chunk (a framing test's own line endings). */
    public Reply raw(String text) {
      steps.add(new Write(text));
      return this;
    }

    public Reply pause(Duration duration) {
      steps.add(new Pause(duration));
      return this;
    }

    /** Closes the connection here, without the chunked body's end: a stream cut mid-way. */
    public Reply cut() {
      steps.add(new Cut());
      return this;
    }

    /**
     * Keeps the stream open, writing an SSE comment every 20 ms, until the client goes (or {@code
     * atMost} passes): how the server notices a client that hung up.
     */
    public Reply hold(Duration atMost) {
      steps.add(new Hold(atMost));
      return this;
    }

    /** Waits this long before the status line: a provider slow to start its answer. */
    public Reply headersAfter(Duration delay) {
      this.headersAfter = delay;
      return this;
    }
  }

  /** Thrown out of the handler to make the JDK server drop the connection as it stands. */
  private static final class CutConnection extends RuntimeException {
    CutConnection() {
      super("connection cut by the script", null, false, false);
    }
  }

  static {
    // Each event goes out as its own small write, as a provider's do: send it at once rather than
    // wait for the client to acknowledge the last (Nagle), or a stream would stutter by 40 ms.
    System.setProperty("sun.net.httpserver.nodelay", "true");
  }

  private final HttpServer server;
  private final ExecutorService threads;
  private final ConcurrentLinkedQueue<Reply> replies = new ConcurrentLinkedQueue<>();
  private final List<Request> requests = new CopyOnWriteArrayList<>();

  private ScriptedLlmServer(HttpServer server, ExecutorService threads) {
    this.server = server;
    this.threads = threads;
  }

  /** A server on a free loopback port. */
  public static ScriptedLlmServer start() {
    try {
      HttpServer server =
          HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
      ExecutorService threads =
          Executors.newCachedThreadPool(
              r -> {
                Thread t = new Thread(r, "scripted-llm-server");
                t.setDaemon(true);
                return t;
              });
      ScriptedLlmServer scripted = new ScriptedLlmServer(server, threads);
      server.createContext("/", scripted::handle);
      server.setExecutor(threads);
      server.start();
      return scripted;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code http://127.0.0.1:<port>}, no trailing slash. */
  public String baseUrl() {
    InetSocketAddress a = server.getAddress();
    return "http://" + a.getAddress().getHostAddress() + ":" + a.getPort();
  }

  /** Answers the next requests with these, in order; a request with none scripted gets a 500. */
  public void enqueue(Reply... next) {
    Collections.addAll(replies, next);
  }

  /** Forgets scripted answers and recorded requests. */
  public void reset() {
    replies.clear();
    requests.clear();
  }

  public List<Request> requests() {
    return List.copyOf(requests);
  }

  /** The only request received so far (fails when there were none or several). */
  public Request onlyRequest() {
    List<Request> all = requests();
    if (all.size() != 1) throw new AssertionError("expected one request, got " + all.size());
    return all.get(0);
  }

  @Override
  public void close() {
    server.stop(0);
    threads.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    exchange.getRequestHeaders().forEach((name, values) -> headers.put(name, values.get(0)));
    String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
    Request request =
        new Request(
            exchange.getRequestMethod(),
            exchange.getRequestURI().getRawPath(),
            exchange.getRequestURI().getRawQuery(),
            Collections.unmodifiableMap(headers),
            body,
            new CompletableFuture<>());
    requests.add(request);
    Reply reply = replies.poll();
    if (reply == null) reply = Reply.json(500, "{\"error\":{\"message\":\"no reply scripted\"}}");
    try {
      answer(exchange, reply);
      exchange.close();
      request.ending().complete(Ending.FINISHED);
    } catch (IOException e) {
      request.ending().complete(Ending.CLIENT_GONE);
      try {
        exchange.close();
      } catch (RuntimeException closingABrokenConnection) {
        // the client is gone already
      }
    } catch (CutConnection e) {
      request.ending().complete(Ending.CUT);
      throw e;
    }
  }

  private static void answer(HttpExchange exchange, Reply reply) throws IOException {
    sleep(reply.headersAfter);
    for (String[] h : reply.headers) exchange.getResponseHeaders().add(h[0], h[1]);
    if (reply.body != null) {
      byte[] bytes = reply.body.getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(reply.status, bytes.length == 0 ? -1 : bytes.length);
      if (bytes.length > 0) exchange.getResponseBody().write(bytes);
      return;
    }
    exchange.sendResponseHeaders(reply.status, 0); // chunked
    OutputStream out = exchange.getResponseBody();
    for (Step step : reply.steps) {
      if (step instanceof Write w) {
        out.write(w.text().getBytes(StandardCharsets.UTF_8));
        out.flush();
      } else if (step instanceof Pause p) {
        sleep(p.duration());
      } else if (step instanceof Cut) {
        throw new CutConnection();
      } else if (step instanceof Hold h) {
        long end = System.nanoTime() + h.atMost().toNanos();
        while (System.nanoTime() < end) {
          out.write(": ping\n\n".getBytes(StandardCharsets.UTF_8));
          out.flush();
          sleep(Duration.ofMillis(20));
        }
      }
    }
  }

  /** The server's own pacing (a scripted pause), not a test waiting for something. */
  private static void sleep(Duration d) {
    if (d.isZero()) return;
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CutConnection();
    }
  }
}
