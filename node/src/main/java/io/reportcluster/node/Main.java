package io.reportcluster.node;

import ch.qos.logback.classic.LoggerContext;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.slf4j.LoggerFactory;

/**
 * Starts one node with the configuration chosen by -Dconfig.file (default: the embedded profile).
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    Config config = null;
    ReportNode node;
    try {
      // A standalone node's JVM ends with its ActorSystem (after SIGTERM, or when it is downed).
      config =
          ConfigFactory.parseString("pekko.coordinated-shutdown.exit-jvm = on")
              .withFallback(ConfigFactory.load());
      node = ReportNode.start(config);
    } catch (RuntimeException e) {
      exitBecause(StartupFailure.of(e, config), e);
      return;
    }
    String db = StartupFailure.redacted(config.getString("reports.db.url"));
    System.out.println(
        "reportcluster node "
            + node.nodeName()
            + " listening on "
            + node.baseUrl()
            + " (journal: "
            + db
            + ", provider: "
            + config.getString("reports.llm.default-provider")
            + ", callers: "
            + node.metrics().callers
            + ")");
  }

  /**
   * One line saying what failed and where, as the last thing the node prints, then exit 1. A port
   * in use or a database down is the machine's state, not a bug: its stack trace would only bury
   * the line. Anything else is a bug, and its trace is what fixing it needs.
   */
  private static void exitBecause(StartupFailure failure, RuntimeException e) {
    // The ActorSystem is still shutting down after the failed start; its log lines would
    // follow the reason and push it out of sight. Stopping logging flushes what is queued.
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext logging) logging.stop();
    if (!failure.expected()) e.printStackTrace();
    System.err.println("reportcluster: cannot start: " + failure.reason());
    System.exit(1);
  }
}
