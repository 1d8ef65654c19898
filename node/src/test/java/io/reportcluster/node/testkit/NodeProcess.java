package io.reportcluster.node.testkit;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real node in its own JVM (io.reportcluster.node.Main), as an operator runs it, for tests that
 * kill processes. Only processes started here are ever signalled, by PID.
 */
public final class NodeProcess implements AutoCloseable {
  private final String name;
  private final Process process;
  private final int httpPort;
  private final int remotePort;
  private final Path log;
  private final String scheme;

  private NodeProcess(
      String name, Process process, int httpPort, int remotePort, Path log, String scheme) {
    this.name = name;
    this.process = process;
    this.httpPort = httpPort;
    this.remotePort = remotePort;
    this.log = log;
    this.scheme = scheme;
  }

  /**
   * Starts a node with the given profile (a file in config/) and system-property overrides. The
   * child runs on this test JVM's classpath.
   */
  public static NodeProcess start(
      String name, String profile, int httpPort, int remotePort, Map<String, String> props)
      throws IOException {
    return start(name, profile, httpPort, remotePort, props, "io.reportcluster.node.Main");
  }

  /** The same with another main class of the test classpath (a node with a test provider). */
  public static NodeProcess start(
      String name,
      String profile,
      int httpPort,
      int remotePort,
      Map<String, String> props,
      String mainClass)
      throws IOException {
    return start(name, profile, httpPort, remotePort, props, Map.of(), mainClass);
  }

  /**
   * The same with environment variables added to this JVM's: the overrides an operator sets ({@code
   * REPORTS_OPENAI_RPM}, ...), read through the profile's {@code ${?VAR}} lines.
   */
  public static NodeProcess start(
      String name,
      String profile,
      int httpPort,
      int remotePort,
      Map<String, String> props,
      Map<String, String> env,
      String mainClass)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx256m");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-Dconfig.file=" + TestDatabase.profileFile(profile).getAbsolutePath());
    cmd.add("-Dreports.node-name=" + name);
    cmd.add("-Dreports.http.port=" + httpPort);
    cmd.add("-Dpekko.remote.artery.canonical.port=" + remotePort);
    props.forEach((k, v) -> cmd.add("-D" + k + "=" + v));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(mainClass);
    Path logs = Path.of("target", "node-logs");
    Files.createDirectories(logs);
    Path log = logs.resolve(name + "-" + System.currentTimeMillis() + ".log");
    ProcessBuilder builder =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().putAll(env);
    Process p = builder.start();
    // A node started with reports.http.tls.enabled (property or environment) speaks HTTPS.
    boolean https =
        "on".equals(props.get("reports.http.tls.enabled"))
            || "on".equals(env.get("REPORTS_HTTP_TLS"));
    return new NodeProcess(name, p, httpPort, remotePort, log, https ? "https" : "http");
  }

  public String name() {
    return name;
  }

  /** http://127.0.0.1:port, or https://... for a node started with HTTPS on. */
  public String baseUrl() {
    return scheme + "://127.0.0.1:" + httpPort;
  }

  public String address() {
    return "pekko://reportcluster@127.0.0.1:" + remotePort;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public File log() {
    return log.toFile();
  }

  /** kill -9: no shutdown hook, no goodbye to the cluster. */
  public void kill9() {
    process.destroyForcibly();
  }

  /** SIGTERM: the node leaves the cluster through Coordinated Shutdown. */
  public void terminate() {
    process.destroy();
  }

  public boolean awaitExit(Duration timeout) throws InterruptedException {
    return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  public int exitCode() {
    return process.exitValue();
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
