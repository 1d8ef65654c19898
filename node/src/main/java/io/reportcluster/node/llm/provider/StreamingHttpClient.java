package io.reportcluster.node.llm.provider;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.OutgoingConnectionBuilder;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaType;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.http.javadsl.settings.ServerSentEventSettings;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.http.javadsl.unmarshalling.sse.EventStreamUnmarshalling;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;

/**
 * The HTTP side of the providers that stream, on Pekko HTTP's client: one POST per call, whose
 * answer is read as server-sent events by the provider's {@link WireFormat}, or, with any status
 * but 2xx, read whole and classified by the provider's error mapping.
 *
 * <p>Each call has a connection of its own, so that cancelling a call closes its TCP connection
 * whatever the call is doing (connecting, waiting for the first byte, streaming), and the provider
 * sees its client go and stops generating (and billing). A pooled connection could only be given up
 * once its answer began; and beside calls that last seconds, a new connection per call (a TLS
 * handshake) is cheap.
 *
 * <p>The API key travels only in the headers a provider gives to {@link #post}; every message this
 * client produces is cleaned of it, whatever its source.
 */
final class StreamingHttpClient {

  /**
   * Longest line and event of a stream, bytes. An event is one JSON chunk, which can outgrow
   * Pekko's 4 KiB default (a long Gemini chunk with its metadata).
   */
  private static final int MAX_EVENT_BYTES = 1 << 20;

  /** Longest error body read, bytes: any provider's JSON error fits many times over. */
  private static final int MAX_ERROR_BODY = 64 * 1024;

  /** Marks the end of the one answer a call's connection carries. */
  private static final Object END = new Object();

  private final ActorSystem<?> system;
  private final String provider;
  private final String apiKey;
  private final boolean https;
  private final String host;
  private final int port;
  private final String basePath;
  private final ClientConnectionSettings connection;
  private final Unmarshaller<HttpEntity, Source<ServerSentEvent, NotUsed>> events;
  private final Function<ErrorResponse, LlmCallException> errors;

  /**
   * A client of the entry {@code settings}; {@code errors} classifies the provider's HTTP errors.
   */
  StreamingHttpClient(
      ActorSystem<?> system,
      ProviderSettings settings,
      Function<ErrorResponse, LlmCallException> errors) {
    this.system = system;
    this.provider = settings.name();
    this.apiKey = settings.apiKey() == null ? "" : settings.apiKey();
    this.errors = errors;
    URI base = baseUri(settings);
    this.https = base.getScheme().equalsIgnoreCase("https");
    this.host = base.getHost().replaceAll("^\\[|]$", "");
    this.port = base.getPort() > 0 ? base.getPort() : https ? 443 : 80;
    String path = base.getRawPath() == null ? "" : base.getRawPath();
    this.basePath = path.endsWith("/") ? path.substring(0, path.length() - 1) : path;
    // The connecting timeout is Pekko's (pekko.http.client.connecting-timeout). The caller's
    // call-timeout ends a call that takes too long; the connection's idle timeout only backs it
    // up, so it must not be shorter (a model may think for longer than the 60 s default).
    this.connection =
        ClientConnectionSettings.create(system.classicSystem())
            .withIdleTimeout(settings.callTimeout().plusSeconds(10));
    this.events =
        EventStreamUnmarshalling.fromEventsStream(
            (org.apache.pekko.http.scaladsl.settings.ServerSentEventSettings)
                ServerSentEventSettings.create(system.classicSystem())
                    .withMaxEventSize(MAX_EVENT_BYTES + 1)
                    .withLineLength(MAX_EVENT_BYTES));
  }

  private static URI baseUri(ProviderSettings s) {
    try {
      URI uri = new URI(s.baseUrl().strip());
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if ((scheme.equals("http") || scheme.equals("https")) && uri.getHost() != null) return uri;
    } catch (java.net.URISyntaxException e) {
      // said below
    }
    throw new IllegalArgumentException(
        "reports.llm.providers." + s.name() + ".base-url must be an http(s) URL with a host");
  }

  /**
   * Starts {@code POST <base URL><path>} with {@code body} as JSON; its events go to {@code wire},
   * the text they carry to {@code onDelta} as it arrives.
   */
  LlmCall post(
      String path,
      List<HttpHeader> headers,
      JsonNode body,
      WireFormat wire,
      Consumer<String> onDelta) {
    HttpRequest request =
        HttpRequest.POST(basePath + path)
            .addHeaders(headers)
            .withEntity(ContentTypes.APPLICATION_JSON, json(body));
    OutgoingConnectionBuilder to =
        Http.get(system).connectionTo(host).toPort(port).withClientConnectionSettings(connection);
    StreamedCall call = new StreamedCall(wire, onDelta);
    Pair<UniqueKillSwitch, CompletionStage<Done>> running =
        Source.single(request)
            // The request side stays open until the answer is read: closing it half-closes the
            // connection, which some servers and proxies take for a client that has gone.
            .concat(Source.never())
            // Aborting here fails the connection itself: its TCP socket closes at once.
            .viaMat(KillSwitches.single(), Keep.right())
            .via(https ? to.https() : to.http())
            .flatMapConcat(response -> read(response, call).concat(Source.single(END)))
            .takeWhile(element -> element != END)
            .toMat(Sink.ignore(), Keep.both())
            .run(system);
    call.running(running.first(), running.second());
    return call;
  }

  private static byte[] json(JsonNode body) {
    try {
      return WireFormat.JSON.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("a request body that cannot be written", e);
    }
  }

  /** The answer's events, or the failure its status and body mean. */
  private Source<Object, NotUsed> read(HttpResponse response, StreamedCall call) {
    int status = response.status().intValue();
    if (status < 200 || status >= 300) {
      Map<String, String> headers = new HashMap<>();
      for (HttpHeader h : response.getHeaders()) headers.putIfAbsent(h.lowercaseName(), h.value());
      return response
          .entity()
          .withoutSizeLimit()
          .getDataBytes()
          .fold(
              ByteString.emptyByteString(),
              (all, bytes) -> all.size() >= MAX_ERROR_BODY ? all : all.concat(bytes))
          .map(
              body -> {
                throw clean(errors.apply(new ErrorResponse(status, headers, body.utf8String())));
              })
          .mapMaterializedValue(m -> NotUsed.getInstance());
    }
    call.pause = call.wire.usedUpFor(name -> response.getHeader(name).map(HttpHeader::value));
    MediaType type = response.entity().getContentType().mediaType();
    if (!(type.mainType().equals("text") && type.subType().equals("event-stream"))) {
      // A server that does not stream will not start to on a retry.
      return Source.failed(
          new LlmCallException(
              LlmCallException.Kind.BAD_REQUEST,
              provider + " " + status + ": expected an event stream, got " + type));
    }
    return Source.completionStageSource(events.unmarshal(response.entity(), system))
        .map(
            event -> {
              call.onEvent(event);
              return (Object) event;
            })
        .mapMaterializedValue(m -> NotUsed.getInstance());
  }

  /**
   * The failure with the key, wherever it appears in its message, replaced. Every failure is
   * cleaned before it enters the stream: Pekko logs a stream's failures (at debug level).
   */
  private LlmCallException clean(LlmCallException e) {
    String message = e.getMessage() == null ? "" : e.getMessage();
    if (apiKey.isEmpty() || !message.contains(apiKey)) return e;
    return new LlmCallException(e.kind(), message.replace(apiKey, "[redacted]"), e.retryAfter());
  }

  /** One call: its text as it grows, its outcome, and the switch that closes its connection. */
  private final class StreamedCall implements LlmCall {
    private final WireFormat wire;
    private final Consumer<String> onDelta;
    private final StringBuilder text = new StringBuilder();
    private final CompletableFuture<LlmAnswer> result = new CompletableFuture<>();
    private final CompletableFuture<String> answer = new CompletableFuture<>();
    private final CompletableFuture<Void> stopped = new CompletableFuture<>();
    private UniqueKillSwitch connectionSwitch;
    private boolean settled;

    /** What the answer's headers said of the provider's budget (see WireFormat#usedUpFor). */
    private volatile Optional<Duration> pause = Optional.empty();

    @Override
    public Optional<Duration> providerPause() {
      return pause;
    }

    StreamedCall(WireFormat wire, Consumer<String> onDelta) {
      this.wire = wire;
      this.onDelta = onDelta;
    }

    /** An event, on the stream's thread. */
    void onEvent(ServerSentEvent event) {
      String piece;
      try {
        piece = wire.onEvent(event.getEventType().orElse(null), event.getData());
      } catch (LlmCallException e) {
        throw clean(e);
      }
      if (piece == null || piece.isEmpty()) return;
      synchronized (text) {
        text.append(piece);
      }
      try {
        onDelta.accept(piece);
      } catch (RuntimeException listenerBug) {
        // A listener's failure must not fail the call: the whole text is still in the answer.
      }
    }

    synchronized void running(UniqueKillSwitch connectionSwitch, CompletionStage<Done> done) {
      this.connectionSwitch = connectionSwitch;
      done.whenComplete(
          (ok, failure) -> {
            if (failure != null) settle(null, failure(failure));
            else if (!wire.complete())
              settle(
                  null,
                  new LlmCallException(
                      LlmCallException.Kind.CONNECTION,
                      provider + ": the stream ended before its last event"));
            else {
              String whole;
              synchronized (text) {
                whole = text.toString();
              }
              settle(wire.answer(whole), null);
            }
            stopped.complete(null);
          });
    }

    private LlmCallException failure(Throwable failure) {
      Throwable t = failure;
      while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
      if (t instanceof LlmCallException e) return e;
      String why = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
      return new LlmCallException(
          LlmCallException.Kind.CONNECTION,
          provider + ": connection failed: " + ErrorResponse.oneLine(why));
    }

    /** The call's one outcome: the first to come wins (an answer, a failure, a cancel). */
    private void settle(LlmAnswer done, LlmCallException failure) {
      synchronized (this) {
        if (settled) return;
        settled = true;
      }
      if (failure != null) {
        LlmCallException clean = clean(failure);
        result.completeExceptionally(clean);
        answer.completeExceptionally(clean);
      } else {
        result.complete(done);
        answer.complete(done.text());
      }
    }

    @Override
    public CompletionStage<String> answer() {
      return answer;
    }

    @Override
    public CompletionStage<LlmAnswer> result() {
      return result;
    }

    @Override
    public CompletionStage<Void> cancel() {
      LlmCallException cancelled =
          new LlmCallException(LlmCallException.Kind.CANCELLED, "the call was cancelled");
      settle(null, cancelled);
      UniqueKillSwitch s;
      synchronized (this) {
        s = connectionSwitch;
      }
      // Fails the connection, whose socket closes; the stream then ends, and so "stopped".
      s.abort(cancelled);
      return stopped;
    }
  }
}
