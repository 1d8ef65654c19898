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
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A private, throw-away redis-server for one test: started as a child process on a free port, with
 * no persistence at all (so a restart comes back EMPTY), killed with SIGKILL to simulate an outage,
 * and restarted on the same port. Only this process is ever killed; the machine's shared Redis is
 * never touched. A JVM shutdown hook kills it if the test JVM dies first.
 */
public final class RedisServer implements AutoCloseable {
  public static final String BINARY =
      System.getenv().getOrDefault("REPORTS_TEST_REDIS_SERVER", "/usr/bin/redis-server");

  private final int port;
  private final Path dir;
  private final Thread shutdownHook;
  private volatile Process process;

  private RedisServer(int port, Path dir) {
    this.port = port;
    this.dir = dir;
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

  public int port() {
    return port;
  }

  public String url() {
    return "redis://127.0.0.1:" + port;
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
    ProcessBuilder pb =
        new ProcessBuilder(
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
                    dir.toString()))
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

  /** True when a redis-server answers PING on the port. */
  private boolean ping() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      s.setSoTimeout(500);
      OutputStream out = s.getOutputStream();
      out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String line =
          new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.US_ASCII))
              .readLine();
      return "+PONG".equals(line);
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
