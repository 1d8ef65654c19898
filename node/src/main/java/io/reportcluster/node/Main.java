package io.reportcluster.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

/** Starts one node with the configuration chosen by -Dconfig.file (default: the embedded profile). */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    // A standalone node's JVM ends with its ActorSystem (after SIGTERM, or when it is downed).
    Config config = ConfigFactory.parseString("pekko.coordinated-shutdown.exit-jvm = on")
        .withFallback(ConfigFactory.load());
    ReportNode node;
    try {
      node = ReportNode.start(config);
    } catch (RuntimeException e) {
      System.err.println("reportcluster: " + e.getMessage());
      System.exit(1);
      return;
    }
    String db = config.getString("reports.db.url");
    System.out.println("reportcluster node " + node.nodeName() + " listening on " + node.baseUrl()
        + " (journal: " + db + ", provider: " + config.getString("reports.llm.default-provider")
        + ", callers: " + node.metrics().callers + ")");
  }
}
