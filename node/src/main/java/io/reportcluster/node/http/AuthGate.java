package io.reportcluster.node.http;

import io.reportcluster.node.auth.ApiKey;
import io.reportcluster.node.auth.ApiKeys;
import io.reportcluster.node.auth.Caller;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.AttributeKey;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * API keys at the door. With keys on, every request but health, the dashboard's files and the
 * Basic-auth admin routes needs {@code Authorization: Bearer <token>} (or, for server-sent events,
 * which browsers open without headers, {@code ?access_token=}): none or a wrong one is 401; a
 * client key on the cluster's own figures is 403. The routes inside read who called from the
 * request ({@link #caller}) to submit as that key and show it only its jobs. Without keys nothing
 * is checked and every caller may do everything.
 */
public final class AuthGate extends AllDirectives {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(AuthGate.class);
  private static final AttributeKey<Caller> CALLER = AttributeKey.create("caller", Caller.class);

  private enum Access {
    PUBLIC,
    ANY_KEY,
    ADMIN
  }

  private final Optional<ApiKeys> keys;
  private final Executor blocking;

  /** {@code keys} empty: the node runs without keys. {@code blocking}: for key lookups. */
  public AuthGate(Optional<ApiKeys> keys, Executor blocking) {
    this.keys = keys;
    this.blocking = blocking;
  }

  /** Who sent the request the inner route serves. */
  public static Route caller(Function<Caller, Route> inner) {
    return new AllDirectives() {}.optionalAttribute(
        CALLER, c -> inner.apply(c.orElse(Caller.OPEN)));
  }

  public Route around(Route inner) {
    if (keys.isEmpty()) return inner;
    return extractRequest(
        request -> {
          Access need = access(request.getUri().path());
          if (need == Access.PUBLIC) return inner;
          Optional<String> token = token(request);
          if (token.isEmpty())
            return complete(unauthorized("no API key: send Authorization: Bearer <key>"));
          return onSuccess(
              check(token.get()),
              key -> {
                if (key.isEmpty()) return complete(unauthorized("this API key is not valid"));
                if (need == Access.ADMIN && !key.get().isAdmin()) {
                  return complete(
                      JsonResponses.error(
                          StatusCodes.FORBIDDEN, "forbidden", "this needs an admin key"));
                }
                Caller caller = Caller.of(key.get());
                if (key.get().isAdmin() && !request.method().value().equals("GET")) {
                  // Every change an admin key makes is on record, by its name (never its token).
                  log.info(
                      "admin key {}: {} {}",
                      caller.describe(),
                      request.method().value(),
                      request.getUri().path());
                }
                return mapRequest(r -> r.addAttribute(CALLER, caller), () -> inner);
              });
        });
  }

  private CompletionStage<Optional<ApiKey>> check(String token) {
    return CompletableFuture.supplyAsync(() -> keys.get().check(token), blocking);
  }

  private static Optional<String> token(HttpRequest request) {
    Optional<String> header =
        request
            .getHeader("Authorization")
            .map(h -> h.value().trim())
            .filter(v -> v.regionMatches(true, 0, "Bearer ", 0, 7))
            .map(v -> v.substring(7).trim());
    if (header.isPresent()) return header;
    return request.method().value().equals("GET")
        ? request.getUri().query().get("access_token")
        : Optional.empty();
  }

  private static Access access(String path) {
    if (path.equals("/api/v1/health")
        || path.equals("/dashboard")
        || path.startsWith("/dashboard/")
        || path.equals("/favicon.ico")
        || path.equals("/admin")
        || path.startsWith("/admin/")) {
      return Access.PUBLIC;
    }
    if (path.equals("/metrics")
        || path.equals("/api/v1/cluster")
        || path.equals("/api/v1/node/calls")
        || path.equals("/api/v1/stats")) {
      return Access.ADMIN;
    }
    return Access.ANY_KEY;
  }

  private static HttpResponse unauthorized(String detail) {
    return JsonResponses.error(StatusCodes.UNAUTHORIZED, "unauthorized", detail)
        .addHeader(RawHeader.create("WWW-Authenticate", "Bearer realm=\"reportcluster\""));
  }
}
