package io.reportcluster.node.http;

import io.reportcluster.node.metrics.NodeMetrics;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.ServerBuilder;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.http.scaladsl.model.IllegalRequestException;
import org.apache.pekko.io.Inet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's HTTP server: its routes behind one JSON error policy, every answer timed by route
 * ({@code http_server_requests_seconds}), bound on {@code reports.http.host:port}, and unbound
 * through Coordinated Shutdown (stop accepting, let requests in flight finish for up to {@code
 * reports.http.shutdown-deadline}, then close). Clients are held to {@link HttpLimits}: a request
 * whose headers come too slowly loses its connection ({@link SlowClientGuard}), a body is read
 * whole before routing or answered 408 when it does not arrive in time, and a request the routes do
 * not answer in time gets a JSON 503. With {@code reports.http.tls} on, the port speaks only HTTPS
 * ({@link HttpTls}).
 */
public final class HttpServer extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(HttpServer.class);

  /**
   * Local addresses of the bindings that speak HTTPS, while their system runs: a ServerBinding does
   * not say, and {@link #baseUrl} must.
   */
  private static final Set<InetSocketAddress> HTTPS = ConcurrentHashMap.newKeySet();

  private final HttpLimits limits;
  private final NodeMetrics metrics;

  private HttpServer(HttpLimits limits, NodeMetrics metrics) {
    this.limits = limits;
    this.metrics = metrics;
  }

  /** Binds the routes (failing if the port cannot be bound within 30 s). */
  public static ServerBinding start(
      ActorSystem<?> system,
      String host,
      int port,
      Duration shutdownDeadline,
      HttpLimits limits,
      NodeMetrics metrics,
      Route... routes)
      throws Exception {
    HttpServer server = new HttpServer(limits, metrics);
    SlowClientGuard guard = new SlowClientGuard(limits.requestHeaderTimeout());
    ServerSettings configured = ServerSettings.create(system.settings().config());
    List<Inet.SocketOption> options = new ArrayList<>();
    configured.getSocketOptions().forEach(options::add);
    options.add(guard);
    ServerSettings settings =
        configured
            // The guard and the admin routes need the client's address; a header could be forged.
            .withRemoteAddressAttribute(true)
            .withSocketOptions(options);
    ServerBuilder builder = Http.get(system).newServerAt(host, port).withSettings(settings);
    Optional<HttpsConnectionContext> https = HttpTls.of(system.settings().config()).serverContext();
    if (https.isPresent()) builder = builder.enableHttps(https.get());
    ServerBinding binding =
        builder
            .bind(server.guarded(guard, server.timed(server.withErrorPolicy(routes))))
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS)
            .addToCoordinatedShutdown(shutdownDeadline, system);
    guard.start(system);
    if (https.isPresent()) {
      InetSocketAddress address = binding.localAddress();
      HTTPS.add(address);
      system.getWhenTerminated().thenRun(() -> HTTPS.remove(address));
    }
    return binding;
  }

  /** The base URL a client reaches a bound server at: https://... when it speaks HTTPS. */
  public static String baseUrl(ServerBinding binding) {
    InetSocketAddress address = binding.localAddress();
    String scheme = HTTPS.contains(address) ? "https" : "http";
    return scheme + "://" + address.getHostString() + ":" + address.getPort();
  }

  /** Tells the guard when each request has arrived and when its answer has been sent. */
  private Route guarded(SlowClientGuard guard, Route inner) {
    return extractRequest(request -> mapResponse(guard.arrived(request), () -> inner));
  }

  /**
   * Records each request once its response is made (errors and rejections included, since the error
   * policy sits inside); a stream (SSE) is timed to its head.
   */
  private Route timed(Route inner) {
    return extractRequest(
        request -> {
          long start = System.nanoTime();
          return mapResponse(
              response -> {
                metrics.httpRequest(
                    request.method().value(),
                    RouteTemplates.of(request.getUri().path()),
                    response.status().intValue(),
                    System.nanoTime() - start);
                return response;
              },
              () -> inner);
        });
  }

  /**
   * Every failure answered as JSON. The body is read whole before routing, within {@code
   * reports.http.body-read-timeout} and {@code max-body-bytes}: a client sending it slowly is
   * answered 408 (and its connection closed) instead of holding the route.
   */
  private Route withErrorPolicy(Route... routes) {
    Route all =
        routes.length == 1
            ? routes[0]
            : concat(routes[0], Arrays.copyOfRange(routes, 1, routes.length));
    return withRequestTimeoutResponse(
        this::notAnsweredInTime,
        () ->
            handleExceptions(
                exceptionHandler(),
                () ->
                    handleRejections(
                        rejectionHandler(),
                        // No size cap of its own: the entity's (max-content-length, the same
                        // max-body-bytes) fails as EntityStreamSizeException, answered 413.
                        () ->
                            toStrictEntity(limits.bodyReadTimeout(), Long.MAX_VALUE, () -> all))));
  }

  /** {@code reports.http.request-timeout} passed with no answer from the routes. */
  private HttpResponse notAnsweredInTime(HttpRequest request) {
    return JsonResponses.unavailable(
        "unavailable",
        "the node did not answer within "
            + limits.requestTimeout().toMillis()
            + " ms; retry (with the same Idempotency-Key for a submit)",
        1L);
  }

  private ExceptionHandler exceptionHandler() {
    return ExceptionHandler.newBuilder()
        .match(
            EntityStreamSizeException.class,
            e -> complete(JsonResponses.bodyTooLarge(limits.maxBodyBytes())))
        .match(IllegalRequestException.class, e -> complete(illegalRequest(e)))
        .matchAny(
            e -> {
              log.error("unexpected error in a route", e);
              return complete(
                  JsonResponses.error(
                      StatusCodes.INTERNAL_SERVER_ERROR,
                      "internal_error",
                      "the request could not be handled; see the node's log"));
            })
        .build();
  }

  /**
   * A request Pekko found wrong while routing: the body did not arrive within {@code
   * reports.http.body-read-timeout} (408), or could not be read (a malformed chunk: 400).
   */
  private HttpResponse illegalRequest(IllegalRequestException e) {
    if (e.status().intValue() == StatusCodes.REQUEST_TIMEOUT.intValue()) {
      return JsonResponses.error(
          StatusCodes.REQUEST_TIMEOUT,
          "request_timeout",
          "the body did not arrive within " + limits.bodyReadTimeout().toMillis() + " ms");
    }
    return JsonResponses.error(
        e.status(), JsonParsingErrorHandler.errorCode(e.status()), e.info().summary());
  }

  /** Pekko's own rejections (404, 405, ...) keep their status and get a JSON body. */
  private RejectionHandler rejectionHandler() {
    // Bodies are read whole before routing, so a body over the limit arrives as the exception
    // above; a route that read a streamed entity itself would get this rejection from `entity`
    // instead. Answer it the same way.
    RejectionHandler bodyTooLarge =
        RejectionHandler.newBuilder()
            .handle(
                MalformedRequestContentRejection.class,
                r ->
                    r.getCause() instanceof EntityStreamSizeException
                        ? complete(JsonResponses.bodyTooLarge(limits.maxBodyBytes()))
                        : complete(
                            JsonResponses.error(
                                StatusCodes.BAD_REQUEST,
                                "malformed_body",
                                "the body could not be read")))
            .build();
    return bodyTooLarge.withFallback(
        RejectionHandler.defaultHandler()
            .mapRejectionResponse(
                response -> {
                  String text =
                      response.entity() instanceof HttpEntity.Strict strict
                          ? strict.getData().utf8String()
                          : "";
                  String error = response.status().reason().toLowerCase().replace(' ', '_');
                  return JsonResponses.error(response.status(), error, text)
                      .withHeaders(response.getHeaders());
                }));
  }
}
