package io.reportcluster.node.http;

import java.util.Optional;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.Cluster;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.server.directives.SecurityDirectives.ProvidedCredentials;
import org.apache.pekko.management.cluster.javadsl.ClusterHttpManagementRoutes;

/**
 * pekko-management's full cluster routes, writes included (leave, down), under {@code
 * /admin/cluster/...}, behind Basic auth with credentials from config. With no credentials
 * configured nothing is served here: a node cannot be downed over HTTP by default.
 * (pekko-management's own port stays read-only; it ships no auth of its own that would not also
 * lock out Cluster Bootstrap's contact-point probes.)
 */
public final class AdminRoutes extends AllDirectives {
  private final ActorSystem<?> system;
  private final String user;
  private final String password;

  public AdminRoutes(ActorSystem<?> system, String user, String password) {
    this.system = system;
    this.user = user;
    this.password = password;
  }

  public Route routes() {
    if (user.isBlank() || password.isEmpty()) return reject();
    Cluster cluster = Cluster.get(Adapter.toClassic(system));
    return pathPrefix(
        "admin",
        () ->
            authenticateBasic(
                "reportcluster-admin",
                this::check,
                who -> ClusterHttpManagementRoutes.all(cluster)));
  }

  private Optional<String> check(Optional<ProvidedCredentials> credentials) {
    return credentials
        .filter(c -> c.identifier().equals(user) && c.verify(password))
        .map(ProvidedCredentials::identifier);
  }
}
