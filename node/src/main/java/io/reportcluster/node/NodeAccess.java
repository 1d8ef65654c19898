package io.reportcluster.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.reportcluster.node.auth.ApiKeys;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Optional;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who may use the node: API keys ({@code reports.auth}), or nobody checked at all, which a node
 * allows only when it listens on loopback, so nothing is open by accident.
 */
final class NodeAccess {
  private static final Logger log = LoggerFactory.getLogger(NodeAccess.class);

  private NodeAccess() {}

  /** Before anything starts: a node beyond loopback without keys refuses to run. */
  static void checkBinding(Config reports) {
    String host = reports.getString("http.host");
    if (reports.getBoolean("auth.enabled") || isLoopback(host)) return;
    throw new ConfigException.BadValue(
        "reports.http.host",
        "the API would listen on "
            + host
            + " with no API keys: anyone who reaches it could read and cancel every job. Turn"
            + " keys on (REPORTS_AUTH=on, with REPORTS_ADMIN_TOKEN or keys made by ops/keys), or"
            + " listen on 127.0.0.1");
  }

  /** The node's keys when they are on (the first admin key stored if given); else empty. */
  static Optional<ApiKeys> start(ActorSystem<?> system, Config reports) {
    String where = reports.getString("http.host") + ":" + reports.getInt("http.port");
    if (!reports.getBoolean("auth.enabled")) {
      log.warn(
          "no API keys (reports.auth.enabled = off): anyone who can reach {} may submit, read and"
              + " cancel every job; this is allowed on loopback only",
          where);
      return Optional.empty();
    }
    Config db = reports.getConfig("db");
    HikariConfig hc = new HikariConfig();
    hc.setPoolName("api-keys");
    hc.setJdbcUrl(db.getString("url"));
    hc.setUsername(db.getString("user"));
    hc.setPassword(db.getString("password"));
    hc.setDriverClassName(db.getString("driver"));
    hc.setMaximumPoolSize(2);
    hc.setMinimumIdle(1);
    HikariDataSource ds = new HikariDataSource(hc);
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
            "api-keys-close",
            () -> {
              ds.close();
              return java.util.concurrent.CompletableFuture.completedFuture(Done.getInstance());
            });
    ApiKeys keys = new ApiKeys(ds, reports.getDuration("auth.cache-ttl"));
    String first = reports.getString("auth.bootstrap-admin-token");
    if (!first.isBlank() && !keys.ensure("bootstrap-admin", first)) {
      throw new ConfigException.BadValue(
          "reports.auth.bootstrap-admin-token",
          "not a token of this service (make one with ops/keys create)");
    }
    log.info("API keys required on {} (reports.auth.enabled = on)", where);
    return Optional.of(keys);
  }

  private static boolean isLoopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }
}
