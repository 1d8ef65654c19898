package io.reportcluster.node.http;

import io.reportcluster.node.metrics.NodeMetrics;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Arrays;
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
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.MalformedRequestContentRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's HTTP server: its routes behind one JSON error policy, every answer timed by route
 * ({@code http_server_requests_seconds}), bound on {@code reports.http.host:port}, and unbound
 * through Coordinated Shutdown (stop accepting, let requests in flight finish for up to {@code
 * reports.http.shutdown-deadline}, then close). With {@code reports.http.tls} on, the port speaks
 * only HTTPS ({@link HttpTls}).
 */
public final class HttpServer extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(HttpServer.class);

  /**
   * Local addresses of the bindings that speak HTTPS, while their system runs: a ServerBinding does
   * not say, and {@link #baseUrl} must.
   */
  private static final Set<InetSocketAddress> HTTPS = ConcurrentHashMap.newKeySet();

  private final long maxBodyBytes;
  private final NodeMetrics metrics;

  private HttpServer(long maxBodyBytes, NodeMetrics metrics) {
    this.maxBodyBytes = maxBodyBytes;
    this.metrics = metrics;
  }

  /**
   * Binds the routes (failing if the port cannot be bound within 30 s), over HTTPS when the
   * system's {@code reports.http.tls} says so.
   */
  public static ServerBinding start(
      ActorSystem<?> system,
      String host,
      int port,
      Duration shutdownDeadline,
      long maxBodyBytes,
      NodeMetrics metrics,
      Route... routes)
      throws Exception {
    HttpServer server = new HttpServer(maxBodyBytes, metrics);
    ServerBuilder builder = Http.get(system).newServerAt(host, port);
    Optional<HttpsConnectionContext> https = HttpTls.of(system.settings().config()).serverContext();
    if (https.isPresent()) builder = builder.enableHttps(https.get());
    ServerBinding binding =
        builder
            .bind(server.timed(server.withErrorPolicy(routes)))
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS)
            .addToCoordinatedShutdown(shutdownDeadline, system);
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

  private Route withErrorPolicy(Route... routes) {
    Route all =
        routes.length == 1
            ? routes[0]
            : concat(routes[0], Arrays.copyOfRange(routes, 1, routes.length));
    return handleExceptions(
        exceptionHandler(), () -> handleRejections(rejectionHandler(), () -> all));
  }

  private ExceptionHandler exceptionHandler() {
    return ExceptionHandler.newBuilder()
        .match(
            EntityStreamSizeException.class,
            e -> complete(JsonResponses.bodyTooLarge(maxBodyBytes)))
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

  /** Pekko's own rejections (404, 405, ...) keep their status and get a JSON body. */
  private RejectionHandler rejectionHandler() {
    // A body without Content-Length (chunked) hits the size limit only while `entity` reads it,
    // and that directive turns the EntityStreamSizeException into this rejection: the exception
    // handler above never sees it. Answer it like the Content-Length case.
    RejectionHandler bodyTooLarge =
        RejectionHandler.newBuilder()
            .handle(
                MalformedRequestContentRejection.class,
                r ->
                    r.getCause() instanceof EntityStreamSizeException
                        ? complete(JsonResponses.bodyTooLarge(maxBodyBytes))
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
