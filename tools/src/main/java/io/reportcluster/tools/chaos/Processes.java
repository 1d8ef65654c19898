package io.reportcluster.tools.chaos;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Local node processes: is one alive, send one a signal. Linux (/proc, kill). */
final class Processes {
  private Processes() {}

  /** kill -SIG pid; the exit status of kill, or -1. */
  static int signal(long pid, String sig) {
    try {
      Process p = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start();
      return p.waitFor(10, TimeUnit.SECONDS) ? p.exitValue() : -1;
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  static boolean alive(long pid) {
    if (pid <= 0) return false;
    // A zombie (exited, not reaped yet) is not alive, whatever kill -0 says; but a process whose
    // main thread has ended while other threads still run (the JVM on its way out) shows Z too
    // and still holds its ports: it is alive while it has threads left.
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      int close = stat.lastIndexOf(')');
      if (close < 0 || close + 2 >= stat.length()) return false;
      if (stat.charAt(close + 2) != 'Z') return true;
      try (var tasks = Files.list(Path.of("/proc/" + pid + "/task"))) {
        return tasks.count() > 1;
      }
    } catch (IOException e) {
      return false;
    }
  }

  /** Whether /proc still lists the process (also a zombie not yet reaped). */
  static boolean listed(long pid) {
    return Files.exists(Path.of("/proc/" + pid));
  }
}
