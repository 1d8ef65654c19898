package io.reportcluster.node.testkit;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;

/**
 * A private, throw-away redis-server for one test: started as a child process on a free port, with
 * no persistence at all (so a restart comes back EMPTY), killed with SIGKILL to simulate an outage,
 * and restarted on the same port. Only this process is ever killed; the machine's shared Redis is
 * never touched. A JVM shutdown hook kills it if the test JVM dies first. {@link #startTls} starts
 * one that speaks only TLS and admits only an ACL user with a password.
 */
public final class RedisServer implements AutoCloseable {
  public static final String BINARY =
      System.getenv().getOrDefault("REPORTS_TEST_REDIS_SERVER", "/usr/bin/redis-server");

  private final int port;
  private final Path dir;
  private final Thread shutdownHook;

  /** Options after the data-less defaults: TLS and ACL users, or none. */
  private final List<String> extra;

  /** Null for plain TCP; else the client context that trusts the server's CA. */
  private final SSLContext tls;

  private final String userInfo;
  private volatile Process process;

  private RedisServer(int port, Path dir) {
    this(port, dir, List.of(), null, "");
  }

  private RedisServer(int port, Path dir, List<String> extra, SSLContext tls, String userInfo) {
    this.port = port;
    this.dir = dir;
    this.extra = extra;
    this.tls = tls;
    this.userInfo = userInfo;
    this.shutdownHook = new Thread(this::kill, "redis-server-" + port + "-killer");
    Runtime.getRuntime().addShutdownHook(shutdownHook);
  }

  /** Starts a redis-server on a free loopback port and waits until it answers PING. */
  public static RedisServer start() {
    try {
      RedisServer server = new RedisServer(freePort(), Files.createTempDirectory("rc-test-redis-"));
      server.startProcess();
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A redis-server that speaks only TLS (its certificate signed by {@code ca}, for 127.0.0.1) and
   * admits only the ACL user {@code user} with {@code password} (the default user is off). Clients
   * need no certificate of their own.
   */
  public static RedisServer startTls(TestCertificates ca, String user, String password) {
    try {
      Path dir = Files.createTempDirectory("rc-test-redis-tls-");
      TestCertificates.Issued cert = ca.issue("redis-" + dir.getFileName());
      List<String> extra =
          List.of(
              "--port",
              "0",
              "--tls-port",
              "PORT",
              "--tls-cert-file",
              cert.certPem().toString(),
              "--tls-key-file",
              cert.keyPem().toString(),
              "--tls-ca-cert-file",
              ca.caPem().toString(),
              "--tls-auth-clients",
              "no",
              "--user",
              "default",
              "off",
              "--user",
              user,
              "on",
              ">" + password,
              "~*",
              "&*",
              "+@all");
      RedisServer server =
          new RedisServer(freePort(), dir, extra, ca.clientContext(), user + ":" + password + "@");
      server.startProcess();
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public int port() {
    return port;
  }

  /** redis://127.0.0.1:port, or rediss://user:password@127.0.0.1:port for a TLS server. */
  public String url() {
    return (tls == null ? "redis://" : "rediss://") + userInfo + "127.0.0.1:" + port;
  }

  public long pid() {
    return process.pid();
  }

  public boolean isAlive() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /** The outage: SIGKILL to this redis-server (and only to it), then wait until it is gone. */
  public void kill() {
    Process p = process;
    if (p == null) return;
    p.destroyForcibly();
    try {
      if (!p.waitFor(10, TimeUnit.SECONDS))
        throw new IllegalStateException("redis-server pid " + p.pid() + " did not die");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Starts the server again on the same port; it has no data (nothing was ever saved). */
  public void restart() {
    if (isAlive())
      throw new IllegalStateException("redis-server on port " + port + " is still running");
    startProcess();
  }

  private void startProcess() {
    File log = dir.resolve("redis.log").toFile();
    List<String> cmd =
        new ArrayList<>(
            List.of(
                BINARY,
                "--port",
                Integer.toString(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                dir.toString()));
    // Later options win: a TLS server moves the plain port to 0 (none) and serves TLS on ours.
    for (String arg : extra) cmd.add(arg.equals("PORT") ? Integer.toString(port) : arg);
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log));
    try {
      process = pb.start();
    } catch (IOException e) {
      throw new IllegalStateException("cannot start " + BINARY + ": " + e.getMessage(), e);
    }
    long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!ping()) {
      if (!process.isAlive() || System.nanoTime() > end) {
        kill();
        throw new IllegalStateException(
            "redis-server did not come up on port " + port + "; see " + log);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  /**
   * True when a redis-server answers PING on the port (over TLS for a TLS server, where "NOAUTH"
   * counts as an answer: it needs a password, and it is up).
   */
  private boolean ping() {
    try (Socket s = tls == null ? new Socket() : tls.getSocketFactory().createSocket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      s.setSoTimeout(500);
      OutputStream out = s.getOutputStream();
      out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String line =
          new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII))
              .readLine();
      return "+PONG".equals(line) || (line != null && line.startsWith("-NOAUTH"));
    } catch (IOException e) {
      return false;
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    kill();
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException shuttingDown) {
      // the hook runs anyway
    }
    File[] files = dir.toFile().listFiles();
    if (files != null) for (File f : files) f.delete();
    dir.toFile().delete();
  }
}
