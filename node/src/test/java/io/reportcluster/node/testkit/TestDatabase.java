package io.reportcluster.node.testkit;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.io.File;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * A private schema on the machine's PostgreSQL for one test: the journal (and the sharding
 * remember-entities state in it) of one test never leaks into another. The node is configured
 * through the real {@code config/postgres.conf} profile, only the URL is pointed at the schema.
 */
public final class TestDatabase implements AutoCloseable {
  public static final String SERVER_URL =
      System.getenv().getOrDefault("REPORTS_TEST_DB_URL", "jdbc:postgresql://127.0.0.1:5432/test");
  public static final String USER =
      System.getenv().getOrDefault("REPORTS_TEST_DB_USER", "postgres");

  private final String schema =
      "rc_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);

  public TestDatabase() {
    execute("CREATE SCHEMA " + schema);
  }

  public String schema() {
    return schema;
  }

  public String url() {
    return SERVER_URL + (SERVER_URL.contains("?") ? "&" : "?") + "currentSchema=" + schema;
  }

  /**
   * A node's configuration on this schema: the postgres profile, a random HTTP port and any
   * overrides (HOCON), resolved like a real node's.
   */
  public Config nodeConfig(String overrides) {
    Config profile = ConfigFactory.parseFile(profileFile("postgres.conf"));
    Config cfg =
        ConfigFactory.parseString(overrides)
            .withFallback(
                ConfigFactory.parseString(
                    "reports.http.port = 0\nreports.node-name = test-node\npekko.management.http.port = 0"))
            .withValue("reports.db.url", ConfigValueFactory.fromAnyRef(url()))
            .withValue("reports.db.user", ConfigValueFactory.fromAnyRef(USER))
            .withFallback(profile);
    return ConfigFactory.load(cfg);
  }

  public static File profileFile(String name) {
    // Surefire runs in node/; the profiles live in the repository's config/.
    File f = new File("../config/" + name);
    if (!f.exists()) f = new File("config/" + name);
    if (!f.exists())
      throw new IllegalStateException(
          "cannot find config/" + name + " from " + new File(".").getAbsolutePath());
    return f;
  }

  /** Per persistence id, how many events of the given class (simple name) the journal holds. */
  public Map<String, Integer> countEvents(String eventSimpleName) {
    Map<String, Integer> counts = new HashMap<>();
    String sql =
        "SELECT persistence_id, count(*) FROM "
            + schema
            + ".event_journal WHERE event_ser_manifest LIKE '%$"
            + eventSimpleName
            + "' GROUP BY persistence_id";
    try (Connection c = connect();
        Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) counts.put(rs.getString(1), rs.getInt(2));
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return counts;
  }

  private void execute(String sql) {
    try (Connection c = connect();
        Statement st = c.createStatement()) {
      st.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(
          "PostgreSQL at " + SERVER_URL + " is needed by this test: " + e.getMessage(), e);
    }
  }

  private static Connection connect() throws SQLException {
    return DriverManager.getConnection(SERVER_URL, USER, "");
  }

  @Override
  public void close() {
    execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  }
}
