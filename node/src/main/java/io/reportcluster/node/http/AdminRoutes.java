package io.reportcluster.node.http;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.BasicHttpCredentials;
import org.apache.pekko.http.javadsl.model.headers.HttpChallenge;
import org.apache.pekko.http.javadsl.model.headers.HttpCredentials;
import org.apache.pekko.http.javadsl.model.headers.WWWAuthenticate;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Rejection;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.cluster.javadsl.ClusterHttpManagementRoutes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * pekko-management's full cluster routes, writes included (leave, down), under {@code
 * /admin/cluster/...}, behind Basic auth with credentials from config ({@link AdminCredentials}).
 * With no credentials configured nothing is served here: a node cannot be downed over HTTP by
 * default. (pekko-management's own port stays read-only; it ships no auth of its own that would not
 * also lock out Cluster Bootstrap's contact-point probes.)
 *
 * <p>A write (any method but GET, HEAD, OPTIONS) over plain HTTP from beyond this machine is
 * refused with 403 before any credential is looked at: its password crossed the network in clear.
 * Every request here is logged on {@code reportcluster.admin.audit} with the user name given, the
 * method and path, the client's address and the outcome; never the password.
 */
public final class AdminRoutes extends AllDirectives {
  private static final Logger log = LoggerFactory.getLogger(AdminRoutes.class);
  private static final Logger audit = LoggerFactory.getLogger("reportcluster.admin.audit");
  private static final String REALM = "reportcluster-admin";
  private static final Set<String> READS = Set.of("GET", "HEAD", "OPTIONS");

  private final ActorSystem<?> system;
  private final Optional<AdminCredentials> credentials;

  /** Checks run here: a password hash costs tens of milliseconds of CPU by design. */
  private final Executor checks;

  public AdminRoutes(ActorSystem<?> system, String user, String password, String passwordHash) {
    this.system = system;
    this.credentials = AdminCredentials.of(user, password, passwordHash);
    this.checks =
        system.dispatchers().lookup(DispatcherSelector.fromConfig("reports-blocking-dispatcher"));
    credentials.ifPresent(
        c -> {
          if (!passwordHash.isBlank() && !password.isEmpty()) {
            log.warn(
                "reports.management.admin-password is ignored: admin-password-hash is set too;"
                    + " remove the plain one");
          } else if (c.plainText()) {
            log.warn(
                "reports.management.admin-password is stored in plain text; store a hash instead"
                    + " (admin-password-hash, REPORTS_ADMIN_PASSWORD_HASH; make it with"
                    + " ops/hash-password)");
          }
        });
  }

  public Route routes() {
    if (credentials.isEmpty()) return reject();
    Cluster cluster = Cluster.get(Adapter.toClassic(system));
    return pathPrefix(
        "admin",
        () ->
            extractRequest(
                request -> extractCredentials(given -> guarded(request, given, cluster))));
  }

  private Route guarded(HttpRequest request, Optional<HttpCredentials> given, Cluster cluster) {
    Optional<BasicHttpCredentials> basic =
        given.filter(BasicHttpCredentials.class::isInstance).map(BasicHttpCredentials.class::cast);
    String who = basic.map(BasicHttpCredentials::username).orElse("-");
    if (!READS.contains(request.method().value()) && !ClientTransport.isPrivate(request)) {
      record(who, request, "403 refused: a write over plain HTTP from beyond loopback");
      return complete(
          JsonResponses.error(
              StatusCodes.FORBIDDEN,
              "insecure_transport",
              "cluster write operations are served only over TLS or to a client on this"
                  + " machine (loopback)"));
    }
    if (basic.isEmpty()) {
      record(who, request, "401 refused: no Basic credentials");
      return complete(unauthorized("Basic credentials are required"));
    }
    CompletableFuture<Boolean> check =
        CompletableFuture.supplyAsync(
            () -> credentials.get().matches(basic.get().username(), basic.get().password()),
            checks);
    return onSuccess(
        check,
        ok -> {
          if (!ok) {
            record(who, request, "401 refused: wrong user name or password");
            return complete(unauthorized("the user name or password is wrong"));
          }
          return mapResponse(
              response -> {
                record(
                    who, request, response.status().intValue() + " " + response.status().reason());
                return response;
              },
              () ->
                  mapRejections(
                      rejections -> {
                        record(who, request, "rejected " + describe(rejections));
                        return rejections;
                      },
                      () -> ClusterHttpManagementRoutes.all(cluster)));
        });
  }

  private static HttpResponse unauthorized(String detail) {
    return JsonResponses.error(StatusCodes.UNAUTHORIZED, "unauthorized", detail)
        .addHeader(WWWAuthenticate.create(HttpChallenge.createBasic(REALM)));
  }

  private static void record(String who, HttpRequest request, String outcome) {
    audit.info(
        "admin user={} action=\"{} {}\" client={} outcome=\"{}\"",
        LogSafe.text(who),
        request.method().value(),
        LogSafe.text(request.getUri().path()),
        ClientTransport.describe(request),
        outcome);
  }

  private static String describe(List<Rejection> rejections) {
    return rejections.isEmpty()
        ? "(no such route)"
        : rejections.get(0).getClass().getSimpleName().replace("Rejection", "").replace("$", "");
  }
}
