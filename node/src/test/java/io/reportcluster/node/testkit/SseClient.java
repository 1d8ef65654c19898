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
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A real server-sent-events client over java.net.http: reads the stream line by line on a
 * background thread and hands out what it parsed (events, heartbeats, the end of the stream), each
 * wait bounded by a deadline. A response that is not an event stream is kept as a body.
 */
public final class SseClient implements AutoCloseable {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** Something read from the stream. */
  public sealed interface Item permits Event, Heartbeat, End {}

  /** A dispatched event: its name ("message" when none was sent) and its data lines joined. */
  public record Event(String event, String data) implements Item {
    public JsonNode json() {
      try {
        return MAPPER.readTree(data);
      } catch (IOException e) {
        throw new AssertionError("event " + event + " carries no JSON: " + data, e);
      }
    }
  }

  /** A keep-alive: a comment line, or an event with neither name nor data. */
  public record Heartbeat(String raw) implements Item {}

  /** The server completed the stream (or it failed: {@code error} then says how). */
  public record End(String error) implements Item {}

  private final int status;
  private final String contentType;
  private final java.net.http.HttpHeaders headers;
  private final String body; // only when the response is not an event stream
  private final Stream<String> lines;
  private final BlockingQueue<Item> items = new LinkedBlockingQueue<>();
  private final List<String> rawLines = new ArrayList<>();
  private final List<Item> seen = new ArrayList<>();
  private final Thread reader;
  private volatile boolean closed;

  private SseClient(HttpResponse<Stream<String>> response) {
    this.status = response.statusCode();
    this.contentType = response.headers().firstValue("Content-Type").orElse("");
    this.headers = response.headers();
    if (status == 200 && contentType.startsWith("text/event-stream")) {
      this.body = null;
      this.lines = response.body();
      this.reader = new Thread(this::read, "sse-client");
      reader.setDaemon(true);
      reader.start();
    } else {
      try (Stream<String> s = response.body()) {
        this.body = s.collect(Collectors.joining("\n"));
      }
      this.lines = null;
      this.reader = null;
    }
  }

  /** Opens a stream (GET with Accept: text/event-stream); waits at most 10 s for the headers. */
  public static SseClient connect(String url) {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(url))
            .header("Accept", "text/event-stream")
            .timeout(Duration.ofSeconds(10))
            .GET()
            .build();
    try {
      return new SseClient(CLIENT.send(request, HttpResponse.BodyHandlers.ofLines()));
    } catch (IOException e) {
      throw new AssertionError("cannot open " + url + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  public int status() {
    return status;
  }

  public String contentType() {
    return contentType;
  }

  /** A response header, if the response has it. */
  public java.util.Optional<String> header(String name) {
    return headers.firstValue(name);
  }

  public boolean isEventStream() {
    return lines != null;
  }

  /** The body of a response that is not an event stream. */
  public JsonNode jsonBody() {
    try {
      return MAPPER.readTree(body);
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + body, e);
    }
  }

  /** The next item, whatever it is; fails when none comes within the deadline. */
  public Item next(Duration deadline) {
    try {
      Item item = items.poll(deadline.toMillis(), TimeUnit.MILLISECONDS);
      if (item == null) {
        throw new AssertionError(
            "nothing on the stream within " + deadline.toMillis() + " ms; so far: " + describe());
      }
      synchronized (seen) {
        seen.add(item);
      }
      if (item instanceof End) items.add(item); // the end stays the end
      return item;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The next event, skipping heartbeats; fails on the end of the stream or the deadline. */
  public Event nextEvent(Duration deadline) {
    long end = System.nanoTime() + deadline.toNanos();
    while (true) {
      Item item = next(Duration.ofNanos(Math.max(1, end - System.nanoTime())));
      if (item instanceof Event e) return e;
      if (item instanceof End x)
        throw new AssertionError(
            "the stream ended (" + x + ") while an event was awaited; so far: " + describe());
    }
  }

  /** Events until one matches (that one included), skipping heartbeats. */
  public List<Event> eventsUntil(Duration deadline, Predicate<Event> last) {
    long end = System.nanoTime() + deadline.toNanos();
    List<Event> out = new ArrayList<>();
    while (true) {
      Event e = nextEvent(Duration.ofNanos(Math.max(1, end - System.nanoTime())));
      out.add(e);
      if (last.test(e)) return out;
    }
  }

  /** Asserts the server completes the stream within the deadline with no further event. */
  public void assertEndsWithoutEvents(Duration deadline) {
    long end = System.nanoTime() + deadline.toNanos();
    while (true) {
      Item item = next(Duration.ofNanos(Math.max(1, end - System.nanoTime())));
      if (item instanceof End x) {
        if (x.error() != null)
          throw new AssertionError("the stream failed instead of completing: " + x.error());
        return;
      }
      if (item instanceof Event e)
        throw new AssertionError("expected the end of the stream, got " + e);
    }
  }

  /**
   * Heartbeats counted for the given span; fails on the end of the stream or any event that is not
   * {@code tolerated}.
   */
  public int heartbeatsOnlyFor(Duration span, Predicate<Event> tolerated) {
    long end = System.nanoTime() + span.toNanos();
    int beats = 0;
    while (true) {
      long left = end - System.nanoTime();
      if (left <= 0) return beats;
      Item item;
      try {
        item = items.poll(left, TimeUnit.NANOSECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
      if (item == null) return beats;
      synchronized (seen) {
        seen.add(item);
      }
      if (item instanceof Heartbeat) beats++;
      else if (item instanceof Event e && tolerated.test(e)) continue;
      else
        throw new AssertionError(
            "expected only heartbeats while idle, got " + item + "; so far: " + describe());
    }
  }

  /** The raw lines read so far (for messages). */
  public List<String> rawLines() {
    synchronized (rawLines) {
      return List.copyOf(rawLines);
    }
  }

  public String describe() {
    synchronized (seen) {
      return seen.toString();
    }
  }

  private void read() {
    String name = null;
    StringBuilder data = null;
    try {
      Iterator<String> it = lines.iterator();
      while (it.hasNext()) {
        String line = it.next();
        synchronized (rawLines) {
          rawLines.add(line);
        }
        if (line.isEmpty()) {
          if (name == null && (data == null || data.length() == 0)) {
            if (data != null) items.add(new Heartbeat("data:"));
          } else {
            items.add(
                new Event(name == null ? "message" : name, data == null ? "" : data.toString()));
          }
          name = null;
          data = null;
        } else if (line.startsWith(":")) {
          items.add(new Heartbeat(line));
        } else {
          int colon = line.indexOf(':');
          String field = colon < 0 ? line : line.substring(0, colon);
          String value = colon < 0 ? "" : line.substring(colon + 1);
          if (value.startsWith(" ")) value = value.substring(1);
          if (field.equals("event")) {
            name = value;
          } else if (field.equals("data")) {
            if (data == null) data = new StringBuilder();
            else data.append('\n');
            data.append(value);
          }
        }
      }
      items.add(new End(null));
    } catch (RuntimeException e) {
      items.add(new End(closed ? null : e.toString()));
    }
  }

  /** Closes the connection (the server sees the client go). */
  @Override
  public void close() {
    closed = true;
    if (lines != null) lines.close();
  }
}
