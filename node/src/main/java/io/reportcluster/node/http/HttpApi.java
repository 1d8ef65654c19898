package io.reportcluster.node.http;

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

/** The node's whole HTTP API: its routes behind one JSON error policy. */
public final class HttpApi extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(HttpApi.class);

  private final long maxBodyBytes;

  public HttpApi(long maxBodyBytes) {
    this.maxBodyBytes = maxBodyBytes;
  }

  public Route of(Route... routes) {
    Route all = routes.length == 1 ? routes[0] : concat(routes[0], java.util.Arrays.copyOfRange(routes, 1, routes.length));
    return handleExceptions(exceptionHandler(), () -> handleRejections(rejectionHandler(), () -> all));
  }

  private ExceptionHandler exceptionHandler() {
    return ExceptionHandler.newBuilder()
        .match(EntityStreamSizeException.class, e -> complete(JobRoutes.tooLargeResponse(maxBodyBytes)))
        .matchAny(e -> {
          log.error("unexpected error in a route", e);
          return complete(JsonResponses.error(StatusCodes.INTERNAL_SERVER_ERROR, "internal_error",
              "the request could not be handled; see the node's log"));
        })
        .build();
  }

  /** Pekko's own rejections (404, 405, ...) keep their status and get a JSON body. */
  private RejectionHandler rejectionHandler() {
    // A body without Content-Length (chunked) hits the size limit only while `entity` reads it,
    // and that directive turns the EntityStreamSizeException into this rejection: the exception
    // handler above never sees it. Answer it like the Content-Length case.
    RejectionHandler bodyTooLarge = RejectionHandler.newBuilder()
        .handle(MalformedRequestContentRejection.class, r -> r.getCause() instanceof EntityStreamSizeException
            ? complete(JobRoutes.tooLargeResponse(maxBodyBytes))
            : complete(JsonResponses.error(StatusCodes.BAD_REQUEST, "malformed_body", "the body could not be read")))
        .build();
    return bodyTooLarge.withFallback(RejectionHandler.defaultHandler().mapRejectionResponse(response -> {
      String text = response.entity() instanceof HttpEntity.Strict strict ? strict.getData().utf8String() : "";
      String error = response.status().reason().toLowerCase().replace(' ', '_');
      return JsonResponses.error(response.status(), error, text).withHeaders(response.getHeaders());
    }));
  }
}
