package io.reportcluster.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.net.BindException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.sql.SQLException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Why a node could not start, as one line an operator can act on: which port is taken, which
 * database cannot be reached. Found by walking the cause chain, since the failure arrives wrapped
 * (an ExecutionException around Pekko's bind failure, ReportNode's own wrapper).
 *
 * @param reason what failed and where, one line
 * @param expected a failure of the machine or the settings (port, database, configuration), not of
 *     the code: no stack trace helps with it
 */
record StartupFailure(String reason, boolean expected) {

  /** Pekko's bind failures name the endpoint as "[/127.0.0.1:8080] Address already in use". */
  private static final Pattern ENDPOINT = Pattern.compile("\\[[^/\\]]*/([^\\]]*):(\\d+)]\\s*(.*)");

  /** H2 ends its messages with "[errorcode-version]": noise in a one-line reason. */
  private static final Pattern H2_CODE = Pattern.compile("\\s*\\[\\d+-\\d+]$");

  /** {@code config} is null when the configuration itself could not be loaded. */
  static StartupFailure of(Throwable failure, Config config) {
    ConfigException badConfig = find(failure, ConfigException.class);
    if (badConfig != null)
      return new StartupFailure("configuration: " + firstLine(badConfig.getMessage()), true);
    if (config != null) {
      BindException bind = find(failure, BindException.class);
      if (bind != null) return new StartupFailure(bindReason(bind, config), true);
      SQLException sql = find(failure, SQLException.class);
      if (sql != null)
        return new StartupFailure(databaseReason(sql, config.getString("reports.db.url")), true);
    }
    Throwable cause = innermostSaying(failure);
    return new StartupFailure(
        cause.getMessage() == null ? cause.getClass().getName() : firstLine(cause.getMessage()),
        false);
  }

  private static String bindReason(BindException bind, Config config) {
    Matcher m = ENDPOINT.matcher(String.valueOf(bind.getMessage()));
    if (!m.find()) return "cannot bind a port: " + firstLine(bind.getMessage());
    String endpoint = m.group(1) + ":" + m.group(2);
    int port = Integer.parseInt(m.group(2));
    String problem = m.group(3).isBlank() ? "cannot be bound" : m.group(3);
    String why = problem.contains("in use") ? "is in use" : "cannot be bound (" + problem + ")";
    // The message names only the address; which of the node's listeners it was comes from the
    // configured ports (the HTTP API, pekko-management, cluster remoting).
    if (port == config.getInt("reports.http.port")) {
      return "HTTP port " + endpoint + " " + why + " (set another with REPORTS_HTTP_PORT)";
    }
    if (port == config.getInt("pekko.management.http.port")) {
      return "management port "
          + endpoint
          + " "
          + why
          + " (set another with REPORTS_MANAGEMENT_PORT)";
    }
    if (port == config.getInt("pekko.remote.artery.canonical.port")) {
      return "cluster remoting port "
          + endpoint
          + " "
          + why
          + " (set another with REPORTS_REMOTE_PORT)";
    }
    return "port " + endpoint + " " + why;
  }

  private static String databaseReason(SQLException sql, String url) {
    String where = "database " + redacted(url);
    Throwable network =
        find(
            sql,
            ConnectException.class,
            NoRouteToHostException.class,
            SocketTimeoutException.class,
            UnknownHostException.class);
    if (network instanceof UnknownHostException)
      return where + " unreachable (unknown host " + network.getMessage() + ")";
    if (network != null) return where + " unreachable (" + firstLine(network.getMessage()) + ")";
    return where
        + " cannot be opened: "
        + H2_CODE.matcher(firstLine(sql.getMessage())).replaceAll("");
  }

  /**
   * A password given in a JDBC URL ({@code password=}, {@code sslpassword=}) stays out of the
   * output.
   */
  static String redacted(String url) {
    return url.replaceAll("(?i)(password=)[^&;]*", "$1***");
  }

  /**
   * The first cause whose message says more than a repetition of its own cause's (wrappers such as
   * "node failed to start: " + cause, or an ExecutionException, add nothing).
   */
  private static Throwable innermostSaying(Throwable t) {
    while (t.getCause() != null
        && t.getCause() != t
        && String.valueOf(t.getMessage()).endsWith(String.valueOf(t.getCause().getMessage()))) {
      t = t.getCause();
    }
    return t;
  }

  @SafeVarargs
  private static <T extends Throwable> T find(Throwable failure, Class<? extends T>... types) {
    for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
      for (Class<? extends T> type : types) {
        if (type.isInstance(t)) return type.cast(t);
      }
    }
    return null;
  }

  private static String firstLine(String message) {
    if (message == null) return "";
    int nl = message.indexOf('\n');
    return (nl < 0 ? message : message.substring(0, nl)).trim();
  }
}
