package io.reportcluster.node.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.reportcluster.node.testkit.FreePorts;
import io.reportcluster.node.testkit.NodeProcess;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node that cannot start, run as an operator runs it (its own JVM, the production logging
 * configuration): it exits non-zero, and the last thing it prints is one line saying what failed
 * and where, with no stack trace anywhere in its output.
 */
class NodeStartupFailureIT {
  private static final Duration EXIT_DEADLINE = Duration.ofSeconds(90);

  @TempDir Path dir;

  @Test
  void httpPortInUse() throws Exception {
    try (ServerSocket taken = listen()) {
      int port = taken.getLocalPort();
      List<String> output = failedStart("embedded.conf", port, h2Journal(FreePorts.pick(1).get(0)));
      assertOneLineReason(
          output, "reportcluster: cannot start: HTTP port 127.0.0.1:" + port + " is in use");
    }
  }

  @Test
  void managementPortInUse() throws Exception {
    try (ServerSocket taken = listen()) {
      int port = taken.getLocalPort();
      List<String> output = failedStart("embedded.conf", FreePorts.pick(1).get(0), h2Journal(port));
      assertOneLineReason(
          output, "reportcluster: cannot start: management port 127.0.0.1:" + port + " is in use");
    }
  }

  @Test
  void unreachableDatabase() throws Exception {
    List<Integer> ports = FreePorts.pick(3);
    // A port nothing listens on: the connection is refused at once.
    String url = "jdbc:postgresql://127.0.0.1:" + ports.get(2) + "/x";
    Map<String, String> props =
        new HashMap<>(
            Map.of("reports.db.url", url, "pekko.management.http.port", ports.get(1).toString()));
    List<String> output = failedStart("postgres.conf", ports.get(0), props);
    assertOneLineReason(
        output,
        "reportcluster: cannot start: database " + url + " unreachable (Connection refused)");
  }

  @Test
  void h2FileThatCannotBeCreated() throws Exception {
    // Its folder would have to be a regular file: no user, root included, can create it.
    Path notAFolder = Files.createFile(dir.resolve("not-a-folder"));
    String url = "jdbc:h2:file:" + notAFolder + "/journal";
    List<Integer> ports = FreePorts.pick(2);
    Map<String, String> props =
        new HashMap<>(
            Map.of("reports.db.url", url, "pekko.management.http.port", ports.get(1).toString()));
    List<String> output = failedStart("embedded.conf", ports.get(0), props);
    assertOneLineReason(
        output, "reportcluster: cannot start: database " + url + " cannot be opened: ");
  }

  private Map<String, String> h2Journal(int managementPort) {
    return new HashMap<>(
        Map.of(
            "reports.db.url",
            "jdbc:h2:file:" + dir.resolve("journal") + ";DB_CLOSE_DELAY=-1",
            "pekko.management.http.port",
            Integer.toString(managementPort)));
  }

  /** Starts a node that must fail, awaits its exit and returns everything it printed. */
  private List<String> failedStart(String profile, int httpPort, Map<String, String> props)
      throws Exception {
    // The node's own logging configuration, not the test classpath's logback-test.xml.
    props.put(
        "logback.configurationFile",
        Path.of(getClass().getResource("/logback.xml").toURI()).toString());
    try (NodeProcess node =
        NodeProcess.start("failing", profile, httpPort, FreePorts.pick(1).get(0), props)) {
      assertThat(node.awaitExit(EXIT_DEADLINE))
          .as("node exited within %s; log %s", EXIT_DEADLINE, node.log())
          .isTrue();
      List<String> output = Files.readAllLines(node.log().toPath());
      assertThat(node.exitCode())
          .as("exit code; output:%n%s", String.join("\n", output))
          .isNotZero();
      return output;
    }
  }

  private static void assertOneLineReason(List<String> output, String reasonStart) {
    String all = String.join("\n", output);
    assertThat(output.stream().filter(l -> l.startsWith("reportcluster: cannot start: ")))
        .as("the reason, once; output:%n%s", all)
        .singleElement()
        .asString()
        .startsWith(reasonStart);
    assertThat(output.get(output.size() - 1))
        .as("printed last; output:%n%s", all)
        .startsWith(reasonStart);
    assertThat(output)
        .as("no stack trace; output:%n%s", all)
        .noneMatch(l -> l.startsWith("\tat ") || l.startsWith("Caused by"));
  }

  private static ServerSocket listen() throws IOException {
    return new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
  }
}
