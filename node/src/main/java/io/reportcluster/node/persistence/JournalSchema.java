package io.reportcluster.node.persistence;

import com.typesafe.config.Config;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.Properties;

/**
 * Creates the journal tables at start when they are missing, so a fresh machine needs no manual
 * SQL. Runs once, before the ActorSystem starts, each statement in its own autocommit (PostgreSQL
 * refuses some index builds inside a transaction). Every statement is idempotent.
 */
public final class JournalSchema {
  /** Advisory-lock key for schema creation on PostgreSQL (any constant of ours). */
  private static final long SCHEMA_LOCK = 0x7265706f7274L;

  private JournalSchema() {}

  public static void createIfMissing(Config db) {
    if (!db.getBoolean("create-schema")) return;
    String dialect = db.getString("schema-dialect");
    String ddl = read("db/" + dialect + ".sql");
    String url = db.getString("url");
    Properties props = new Properties();
    props.setProperty("user", db.getString("user"));
    props.setProperty("password", db.getString("password"));
    // H2 records its errors in a .trace.db file beside the database. When the database's folder
    // cannot be created (a bad path), neither can that file, and H2 then prints a stack trace to
    // stdout and stderr itself, around the one line the node reports the failure with. The
    // setting lasts while the database is open (the node's life with DB_CLOSE_DELAY=-1): errors
    // still reach the caller, which logs them. A URL that sets it keeps its own value.
    if (dialect.equals("h2") && !url.toUpperCase(Locale.ROOT).contains("TRACE_LEVEL_FILE")) {
      props.setProperty("TRACE_LEVEL_FILE", "0");
    }
    try (Connection c = DriverManager.getConnection(url, props);
        Statement st = c.createStatement()) {
      c.setAutoCommit(true);
      if (dialect.equals("postgres")) {
        // IF NOT EXISTS is not atomic: nodes starting together on an empty database would race
        // and one would fail with "already exists". One at a time (released when we close).
        st.execute("SELECT pg_advisory_lock(" + SCHEMA_LOCK + ")");
      }
      for (String sql : ddl.split(";")) {
        String stmt = stripComments(sql).trim();
        if (!stmt.isEmpty()) st.execute(stmt);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(
          "cannot create the journal schema at " + url + ": " + e.getMessage(), e);
    }
  }

  private static String stripComments(String sql) {
    StringBuilder out = new StringBuilder();
    for (String line : sql.split("\n")) {
      if (!line.trim().startsWith("--")) out.append(line).append('\n');
    }
    return out.toString();
  }

  private static String read(String resource) {
    try (InputStream in = JournalSchema.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null)
        throw new IllegalArgumentException(
            "no schema script " + resource + " (reports.db.schema-dialect)");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
