package io.reportcluster.tools.keys;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.reportcluster.node.auth.ApiKey;
import io.reportcluster.node.auth.ApiKeys;
import io.reportcluster.node.persistence.JournalSchema;
import java.io.PrintStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * {@code keys}: API keys of a deployment, in its journal's database. {@code create} prints the new
 * token once (only its hash is stored); {@code list} shows names, roles and limits, never a secret;
 * {@code revoke} ends a key (every node stops taking it within reports.auth.cache-ttl).
 */
public final class Keys {
  static final String USAGE =
      String.join(
          "\n",
          "Usage: keys mint     (a new admin token for REPORTS_ADMIN_TOKEN; no database)",
          "       keys create --name NAME [--role client|admin] [--rate N] [--max-unfinished N]",
          "                   [--daily-tokens N] [--daily-cost USD]",
          "       keys list",
          "       keys revoke --name NAME",
          "  common: [--db-url URL] [--db-user U] [--db-password P]",
          "",
          "The database is the nodes' journal: --db-url, else REPORTS_DB_URL, else the embedded",
          "H2 file ./data/reportcluster (the node must be stopped: H2 opens a file once).",
          "  --role            client (its own jobs; the default) or admin (everything)",
          "  --rate N          submits a minute on each node (0: no limit; default 0)",
          "  --max-unfinished  most jobs not yet finished (0: no limit)",
          "  --daily-tokens    most tokens its jobs use per UTC day (0: no limit)",
          "  --daily-cost USD  most its jobs cost per UTC day (0: no limit)",
          "",
          "Exit status: 0; 1 when the key to revoke does not exist; 2 for bad options; 3 when",
          "the database cannot be used.",
          "");

  private Keys() {}

  public static int main(String[] argv) {
    return run(argv, System.out, System.err);
  }

  static int run(String[] argv, PrintStream out, PrintStream err) {
    if (argv.length == 0 || argv[0].equals("--help") || argv[0].equals("-h")) {
      (argv.length == 0 ? err : out).print(USAGE);
      return argv.length == 0 ? 2 : 0;
    }
    String command = argv[0];
    if (command.equals("mint")) {
      out.println(io.reportcluster.node.auth.Tokens.mint().token());
      return 0;
    }
    Map<String, String> opts = new HashMap<>();
    for (int i = 1; i < argv.length; i++) {
      if (!argv[i].startsWith("--") || i + 1 >= argv.length) {
        err.println("keys: expected --option VALUE, got " + argv[i]);
        return 2;
      }
      opts.put(argv[i].substring(2), argv[++i]);
    }
    String url =
        opts.getOrDefault(
            "db-url",
            System.getenv().getOrDefault("REPORTS_DB_URL", "jdbc:h2:file:./data/reportcluster"));
    boolean h2 = url.startsWith("jdbc:h2:");
    String user =
        opts.getOrDefault(
            "db-user", System.getenv().getOrDefault("REPORTS_DB_USER", h2 ? "sa" : "postgres"));
    String password =
        opts.getOrDefault("db-password", System.getenv().getOrDefault("REPORTS_DB_PASSWORD", ""));
    try {
      switch (command) {
        case "create", "list", "revoke" -> {}
        default -> {
          err.println("keys: unknown command " + command + "\n" + USAGE);
          return 2;
        }
      }
      Config db =
          ConfigFactory.empty()
              .withValue("url", ConfigValueFactory.fromAnyRef(url))
              .withValue("user", ConfigValueFactory.fromAnyRef(user))
              .withValue("password", ConfigValueFactory.fromAnyRef(password))
              .withValue("schema-dialect", ConfigValueFactory.fromAnyRef(h2 ? "h2" : "postgres"))
              .withValue("create-schema", ConfigValueFactory.fromAnyRef(true));
      JournalSchema.createIfMissing(db);
      HikariConfig hc = new HikariConfig();
      hc.setJdbcUrl(url);
      hc.setUsername(user);
      hc.setPassword(password);
      hc.setMaximumPoolSize(1);
      try (HikariDataSource ds = new HikariDataSource(hc)) {
        ApiKeys keys = new ApiKeys(ds, Duration.ZERO);
        return switch (command) {
          case "create" -> create(keys, opts, out, err);
          case "list" -> list(keys, out);
          default -> revoke(keys, opts, out, err);
        };
      }
    } catch (NumberFormatException e) {
      err.println("keys: a limit must be a number: " + e.getMessage());
      return 2;
    } catch (RuntimeException e) {
      err.println("keys: " + e.getMessage());
      return 3;
    }
  }

  private static int create(ApiKeys keys, Map<String, String> o, PrintStream out, PrintStream err) {
    String name = o.get("name");
    if (name == null || name.isBlank()) {
      err.println("keys create: --name is required");
      return 2;
    }
    ApiKey.Role role;
    try {
      role = ApiKey.Role.valueOf(o.getOrDefault("role", "client").toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      err.println("keys create: --role is client or admin");
      return 2;
    }
    String token =
        keys.create(
            name,
            role,
            Integer.parseInt(o.getOrDefault("rate", "0")),
            Integer.parseInt(o.getOrDefault("max-unfinished", "0")),
            Long.parseLong(o.getOrDefault("daily-tokens", "0")),
            Double.parseDouble(o.getOrDefault("daily-cost", "0")));
    out.println(token);
    err.println(
        "keys: created "
            + role.name().toLowerCase(Locale.ROOT)
            + " key '"
            + name
            + "'; the token above is shown once: keep it (only its hash is stored)");
    return 0;
  }

  private static int list(ApiKeys keys, PrintStream out) {
    out.println("name\trole\tid\tcreated\trevoked\trate\tmax_unfinished\tdaily_tokens\tdaily_cost");
    for (ApiKeys.Listed l : keys.list()) {
      ApiKey k = l.key();
      out.println(
          String.join(
              "\t",
              k.name(),
              k.role().name().toLowerCase(Locale.ROOT),
              k.id(),
              l.createdAt().toString(),
              l.revokedAt() == null ? "-" : l.revokedAt().toString(),
              Integer.toString(k.submitsPerMinute()),
              Integer.toString(k.maxUnfinished()),
              Long.toString(k.dailyTokens()),
              Double.toString(k.dailyCostUsd())));
    }
    return 0;
  }

  private static int revoke(ApiKeys keys, Map<String, String> o, PrintStream out, PrintStream err) {
    String name = o.get("name");
    if (name == null) {
      err.println("keys revoke: --name is required");
      return 2;
    }
    if (!keys.revoke(name)) {
      err.println("keys revoke: no live key named '" + name + "'");
      return 1;
    }
    out.println("revoked " + name);
    return 0;
  }
}
