package io.reportcluster.node.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.stream.Stream;

/** Reads a server-sent-event stream over real HTTP, event by event (heartbeats skipped). */
public final class SseClient {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final HttpClient CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  /** Each stream is read on a thread of its own (a stream blocks its reader while idle). */
  private static final ExecutorService READERS = Executors.newCachedThreadPool(r -> {
    Thread t = new Thread(r, "sse-reader");
    t.setDaemon(true);
    return t;
  });

  /** One event: its type ({@code event:} field, "message" when absent) and its data. */
  public record Event(String event, String data) {
    public JsonNode json() {
      try {
        return MAPPER.readTree(data);
      } catch (IOException e) {
        throw new AssertionError("event data is not JSON: " + data, e);
      }
    }
  }

  /** What was read, and whether the server ended the stream. */
  public record Result(List<Event> events, boolean ended, int status) {}

  private SseClient() {}

  /**
   * Reads {@code url} until {@code enough} holds for the events read so far, or the server ends
   * the stream; fails if neither happens within the deadline.
   */
  public static Result read(String url, Duration deadline, Predicate<List<Event>> enough) {
    List<Event> events = new ArrayList<>();
    CompletableFuture<Result> result = CompletableFuture.supplyAsync(() -> {
      HttpRequest request = HttpRequest.newBuilder(URI.create(url)).header("Accept", "text/event-stream").GET().build();
      HttpResponse<Stream<String>> response;
      try {
        response = CLIENT.send(request, HttpResponse.BodyHandlers.ofLines());
      } catch (IOException e) {
        throw new AssertionError("SSE request failed: " + e.getMessage(), e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
      try (Stream<String> lines = response.body()) {
        if (response.statusCode() != 200) return new Result(List.of(), true, response.statusCode());
        String type = null;
        StringBuilder data = null;
        Iterator<String> it = lines.iterator();
        while (it.hasNext()) {
          String line = it.next();
          if (line.isEmpty()) {
            if (data != null && !(type == null && data.length() == 0)) {
              synchronized (events) {
                events.add(new Event(type == null ? "message" : type, data.toString()));
                if (enough.test(List.copyOf(events))) return new Result(List.copyOf(events), false, 200);
              }
            }
            type = null;
            data = null;
            continue;
          }
          if (line.startsWith(":")) continue;
          int colon = line.indexOf(':');
          String field = colon < 0 ? line : line.substring(0, colon);
          String value = colon < 0 ? "" : line.substring(colon + 1);
          if (value.startsWith(" ")) value = value.substring(1);
          if (field.equals("event")) type = value;
          else if (field.equals("data")) data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
        }
        synchronized (events) {
          return new Result(List.copyOf(events), true, 200);
        }
      }
    }, READERS);
    try {
      return result.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      synchronized (events) {
        throw new AssertionError("SSE stream " + url + " did not deliver what was expected within "
            + deadline.toSeconds() + " s; events so far: " + events);
      }
    } catch (ExecutionException e) {
      throw new AssertionError("SSE stream " + url + " failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Reads until the server ends the stream. */
  public static Result readToEnd(String url, Duration deadline) {
    return read(url, deadline, events -> false);
  }

  /** The first event of the stream (the stream is then dropped). */
  public static Event first(String url, Duration deadline) {
    Result s = read(url, deadline, events -> !events.isEmpty());
    if (s.events().isEmpty()) throw new AssertionError("SSE stream " + url + " ended (status " + s.status() + ") with no event");
    return s.events().get(0);
  }
}
