package io.reportcluster.tools.chaos;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * One node of the local cluster as ops/cluster runs it: node I, HTTP 808I, remoting 2552I, its PID
 * in .cluster/nodeI.pid. Also the count of calls it started over all its processes (calls_started
 * is per process: it starts again at 0 after a restart).
 */
final class ClusterNode {
  final int i;
  final String name;
  final int port;
  final String address;
  private final Path pidFile;

  /** In the submit rotation and eligible as a victim; false while chaos has it down. */
  volatile boolean available = true;

  /** SIGSTOPped: nobody sends it requests (they would hang). */
  volatile boolean frozen;

  private long incarnationPid = -1;
  private long baseline;
  private long last;
  private long accumulated;

  ClusterNode(int i, Path stateDir) {
    this.i = i;
    this.name = "node" + i;
    this.port = 8080 + i;
    this.address = "pekko://reportcluster@127.0.0.1:" + (25520 + i);
    this.pidFile = stateDir.resolve("node" + i + ".pid");
  }

  long pid() {
    try {
      return Long.parseLong(Files.readString(pidFile).trim());
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  boolean alive() {
    return Processes.alive(pid());
  }

  URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  /**
   * A calls_started figure of process {@code pid}. A new process starts a new incarnation; one that
   * ran before this run ({@code atStart}) counts only its calls from now on.
   */
  synchronized void counted(long pid, long value, boolean atStart) {
    if (pid != incarnationPid) {
      if (incarnationPid > 0) accumulated += last - baseline;
      incarnationPid = pid;
      baseline = atStart ? value : 0;
      last = baseline;
    }
    last = Math.max(last, value);
  }

  /**
   * A figure the node published elsewhere (Redis), taken if it is of process {@code pid} and
   * higher.
   */
  synchronized void countedLate(long pid, long value) {
    if (incarnationPid == pid) last = Math.max(last, value);
  }

  /** The calls_started last seen of the current process. */
  synchronized long lastCount() {
    return last;
  }

  /**
   * The calls_started last seen of process {@code pid}, or -1 when another process was seen since.
   */
  synchronized long lastCountOf(long pid) {
    return incarnationPid == pid ? last : -1;
  }

  synchronized long callsSoFar() {
    return accumulated + (last - baseline);
  }
}
