package io.reportcluster.tools.chaos;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * What the parts of one chaos run share: its options, its clock, the jobs and the events, the flags
 * that stop it, and its log on stderr ({@link #note}).
 */
final class ChaosRun {
  final ChaosOptions o;
  final String runId = Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36);
  final List<ChaosEvent> events = new CopyOnWriteArrayList<>();
  final ChaosJob[] jobs;
  volatile boolean stopChaos;
  volatile boolean loadFinished;
  volatile long loadStartNs;
  volatile long loadStartWallMs;
  volatile long deadlineNs;

  ChaosRun(ChaosOptions o) {
    this.o = o;
    this.jobs = new ChaosJob[o.jobs];
    for (int i = 0; i < o.jobs; i++)
      jobs[i] = new ChaosJob(i + 1, "chaos-" + runId + "-" + (i + 1));
  }

  /** Starts the load's clock: notes count from here, the deadline too. */
  void startLoad() {
    loadStartNs = System.nanoTime();
    loadStartWallMs = System.currentTimeMillis();
    deadlineNs = loadStartNs + TimeUnit.SECONDS.toNanos(o.deadlineS);
  }

  /** Accepted jobs the journal does not have as finished yet. */
  List<ChaosJob> openJobs() {
    return Arrays.stream(jobs).filter(j -> j.accepted() && !j.terminal).toList();
  }

  /** One line of the event log on stderr, stamped with the seconds since the load started. */
  void note(String s) {
    double t = loadStartNs == 0 ? 0 : (System.nanoTime() - loadStartNs) / 1e9;
    synchronized (System.err) {
      System.err.println(String.format(Locale.ROOT, "[chaos %6.1fs] ", t) + s);
    }
  }

  /** A daemon thread named chaos-{name}; a crash in it is logged, not silent. */
  Thread start(String name, Runnable r) {
    Thread t =
        new Thread(
            () -> {
              try {
                r.run();
              } catch (RuntimeException e) {
                note("thread " + Thread.currentThread().getName() + " failed: " + e);
                e.printStackTrace();
              }
            },
            "chaos-" + name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  void join(Thread t, long ms, String what) {
    try {
      t.join(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (t.isAlive()) note(what + " did not finish within " + ms / 1000 + " s");
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static String fmtS(double s) {
    return Double.isNaN(s) ? "-" : String.format(Locale.ROOT, "%.1f", s);
  }
}
