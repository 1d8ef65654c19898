package io.reportcluster.tools.chaos;

import io.reportcluster.protocol.LiveEvent;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The chaos thread: every --interval seconds, once the cluster is whole again, takes a random node
 * down (kill -9, SIGSTOP then SIGCONT, or SIGTERM), measures how long its jobs take to show up
 * elsewhere, and starts it again. One event at a time; a watcher thread per event.
 */
final class EventRunner {
  private final ChaosRun run;
  private final ChaosOptions o;
  private final LocalCluster cluster;
  private final StatusMirror mirror;
  private final RunJournal journal;
  private final CallCounters counters;
  private final Pacer pacer;
  private final Random random;

  EventRunner(
      ChaosRun run,
      LocalCluster cluster,
      StatusMirror mirror,
      RunJournal journal,
      CallCounters counters,
      Pacer pacer,
      Random random) {
    this.run = run;
    this.o = run.o;
    this.cluster = cluster;
    this.mirror = mirror;
    this.journal = journal;
    this.counters = counters;
    this.pacer = pacer;
    this.random = random;
  }

  void loop() {
    try {
      events();
    } finally {
      // Whatever stopped the events, the rest of the load goes.
      pacer.release(o.jobs);
    }
  }

  /**
   * A transition published by a node. One published by a victim for a job that has already moved
   * away from it (and before the victim was started again) means the old process still runs that
   * job: with --mode stop, after SIGCONT.
   */
  static void onLiveEvent(ChaosRun run, LiveEvent m) {
    String jobId = m.jobId();
    String node = m.node();
    if (jobId == null || node == null) return;
    String kind = m.event() == null ? "?" : m.event();
    for (ChaosEvent e : run.events) {
      if (e.restartBeganNs == 0
          && e.victim.name.equals(node)
          && e.resolvedS.containsKey(jobId)
          && e.mirrorReverted.add(jobId)) {
        run.note(
            "event "
                + e.n
                + ": "
                + node
                + " published '"
                + kind
                + "' for job "
                + jobId
                + ", which had already moved away from it");
      }
    }
  }

  /**
   * auto rate: lets burst k go, waits until half of it is accepted (at most 10 s) and gives those
   * jobs half a second to start; the rest of the burst is submitted during the event.
   */
  private void releaseBurst(int k) {
    int from = pacer.released();
    int upTo = pacer.share(k);
    pacer.release(upTo);
    long end = System.nanoTime() + 10_000_000_000L;
    while (System.nanoTime() < end && !run.stopChaos) {
      int answered = 0;
      for (int i = from; i < upTo; i++) if (run.jobs[i].outcome != 0) answered++;
      if (answered * 2 >= upTo - from) break;
      ChaosRun.sleep(50);
    }
    ChaosRun.sleep(500);
  }

  private void events() {
    long nextAt = run.loadStartNs + TimeUnit.SECONDS.toNanos(o.intervalS);
    while (run.events.size() < o.kills && !run.loadFinished && !run.stopChaos) {
      while (System.nanoTime() < nextAt && !run.loadFinished && !run.stopChaos) ChaosRun.sleep(200);
      if (run.loadFinished || run.stopChaos) break;
      long waitFrom = System.nanoTime();
      boolean warned = false;
      while (!cluster.whole() && !run.loadFinished && !run.stopChaos) {
        if (!warned && System.nanoTime() - waitFrom > 5e9) {
          run.note("event " + (run.events.size() + 1) + " waits for the cluster to be whole again");
          warned = true;
        }
        if (System.nanoTime() - waitFrom > 180e9) {
          run.note("the cluster did not become whole within 180 s: no more events");
          return;
        }
        ChaosRun.sleep(500);
      }
      if (run.loadFinished || run.stopChaos) break;
      List<ClusterNode> candidates =
          cluster.nodes.stream().filter(n -> n.available && n.alive()).toList();
      // Never leave fewer than 2 up (keep-majority of 3 needs 2).
      if (candidates.size() - 1 < 2) {
        ChaosRun.sleep(1000);
        continue;
      }
      ClusterNode victim = candidates.get(random.nextInt(candidates.size()));
      ChaosEvent e = new ChaosEvent(run.events.size() + 1, victim);
      if (o.rate.equals("auto")) releaseBurst(e.n);
      runEvent(e);
      // After a restart, give the node one rebalance interval (10 s) to take shards back, so
      // that it carries jobs again when it is picked next.
      nextAt =
          Math.max(
              e.signalNs + TimeUnit.SECONDS.toNanos(o.intervalS),
              System.nanoTime() + 10_000_000_000L);
    }
  }

  private void runEvent(ChaosEvent e) {
    ClusterNode v = e.victim;
    counters.sample(v, false);
    v.available = false;
    e.pid = v.pid();
    // Unfinished jobs whose mirror names the victim, just before the signal.
    List<String> candidates = run.openJobs().stream().map(j -> j.id).toList();
    Set<String> onVictim = new LinkedHashSet<>();
    mirror
        .read(candidates)
        .forEach(
            (id, h) -> {
              if (v.name.equals(h.node()) && !h.terminal()) onVictim.add(id);
            });
    String sig =
        switch (o.mode) {
          case "kill" -> "KILL";
          case "stop" -> "STOP";
          default -> "TERM";
        };
    // The calls the victim started so far (a killed process takes its counter along).
    counters.sample(v, false);
    e.callsAtSignal = v.lastCount();
    if (sig.equals("STOP")) v.frozen = true;
    // What `ops/cluster node-signal` does, without a shell in between: the signal lands within
    // a few milliseconds of the snapshot above.
    int rc = Processes.signal(e.pid, sig);
    e.signalNs = System.nanoTime();
    e.signalWallMs = System.currentTimeMillis();
    // A job the journal already had as finished at the signal was not on the victim any more,
    // whatever its mirror said (the last mirror write may still have been on its way).
    Set<String> finished = journal.finishedBy(onVictim, e.signalWallMs);
    onVictim.removeAll(finished);
    e.finishedBeforeSignal = finished.size();
    e.onVictim = onVictim;
    run.events.add(e);
    run.note(
        String.format(
            Locale.ROOT,
            "event %d: SIG%s %s (pid %d), %d unfinished job(s) on it%s%s",
            e.n,
            sig,
            v.name,
            e.pid,
            onVictim.size(),
            e.finishedBeforeSignal == 0
                ? ""
                : " (+"
                    + e.finishedBeforeSignal
                    + " its mirror still showed running, already finished in the journal)",
            rc == 0 ? "" : " (kill exit " + rc + ")"));
    Thread watcher = run.start("watch-" + e.n, () -> watch(e));

    ClusterNode witness =
        cluster.nodes.stream().filter(n -> n != v && n.available).findFirst().orElse(null);
    switch (o.mode) {
      case "kill" -> waitMembership(e, witness, 60);
      case "stop" -> {
        long contAt = e.signalNs + TimeUnit.SECONDS.toNanos(o.pauseS);
        while (System.nanoTime() < contAt) {
          observeMembership(e, witness);
          ChaosRun.sleep(250);
        }
        Processes.signal(e.pid, "CONT");
        e.contS = e.since(System.nanoTime());
        e.contWallMs = System.currentTimeMillis();
        v.frozen = false;
        run.note(
            String.format(
                Locale.ROOT,
                "event %d: SIGCONT %s after %.1f s (downed: %s, removed: %s)",
                e.n,
                v.name,
                e.contS,
                ChaosRun.fmtS(e.downS),
                ChaosRun.fmtS(e.removedS)));
        if (Double.isNaN(e.downS))
          e.notes.add("the cluster had not downed the frozen node when it was continued");
        waitExit(e, 60);
        waitMembership(e, witness, 30);
      }
      default -> {
        waitExit(e, 90);
        waitMembership(e, witness, 30);
      }
    }
    // Kill mode: the process is gone at once; the other modes waited for it above.
    if (v.alive() && o.mode.equals("kill")) e.notes.add("process still alive after SIGKILL?");
    if (v.alive()) {
      e.notes.add(
          v.name
              + " still running "
              + (o.mode.equals("stop") ? "60 s after SIGCONT" : "90 s after SIGTERM")
              + ": sent SIGKILL");
      run.note("event " + e.n + ": " + e.notes.get(e.notes.size() - 1));
      counters.sample(v, false);
      Processes.signal(v.pid(), "KILL");
      for (int k = 0; k < 20 && v.alive(); k++) ChaosRun.sleep(250);
    }
    // The node also publishes its counter to Redis every second, also while it leaves and its
    // HTTP server is already gone: take that figure if it is higher.
    try {
      String published = mirror.publishedCallsStarted(v.name);
      if (published != null) v.countedLate(e.pid, Long.parseLong(published.trim()));
    } catch (RuntimeException ignored) {
      // the HTTP samples stand
    }
    long last = v.lastCountOf(e.pid);
    if (last >= 0) e.callsAfterSignal = last - e.callsAtSignal;
    // ops/cluster sees a process as running while `kill -0` succeeds, which includes an exited
    // process its parent has not reaped yet: node-start would then refuse to start the node.
    for (int k = 0; k < 100 && Processes.listed(e.pid); k++) ChaosRun.sleep(100);
    e.restartBeganNs = System.nanoTime();
    int startRc = -1;
    for (int attempt = 1; attempt <= 3 && startRc != 0; attempt++) {
      startRc = cluster.script(240, "node-start", Integer.toString(v.i));
      if (startRc != 0) {
        e.notes.add("node-start " + v.i + " failed (exit " + startRc + "), attempt " + attempt);
        run.note(
            "event "
                + e.n
                + ": node-start failed (exit "
                + startRc
                + "); see .cluster/"
                + v.name
                + ".log");
        ChaosRun.sleep(3000);
      }
    }
    e.restartedS = e.since(System.nanoTime());
    boolean whole = cluster.waitWhole(180);
    e.wholeS = e.since(System.nanoTime());
    v.available = true;
    counters.sample(v, false);
    run.note(
        String.format(
            Locale.ROOT,
            "event %d: %s started again at +%.1f s, cluster whole at %s",
            e.n,
            v.name,
            e.restartedS,
            whole ? ChaosRun.fmtS(e.wholeS) : "never (180 s)"));
    run.join(watcher, TimeUnit.SECONDS.toMillis(o.failoverTimeoutS) + 5000, "the failover watcher");
  }

  /** Waits for the victim to be downed and removed, as a survivor sees it. */
  private void waitMembership(ChaosEvent e, ClusterNode witness, int timeoutS) {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutS);
    while (Double.isNaN(e.removedS) && System.nanoTime() < end) {
      observeMembership(e, witness);
      if (!Double.isNaN(e.removedS)) break;
      ChaosRun.sleep(250);
    }
    if (Double.isNaN(e.removedS)) {
      e.notes.add(
          e.victim.name + " not removed from the cluster within " + timeoutS + " s of waiting");
    } else if (o.mode.equals("kill")) {
      run.note(
          String.format(
              Locale.ROOT,
              "event %d: %s downed at +%s, removed at +%s",
              e.n,
              e.victim.name,
              ChaosRun.fmtS(e.downS),
              ChaosRun.fmtS(e.removedS)));
    }
  }

  private void observeMembership(ChaosEvent e, ClusterNode witness) {
    if (witness == null || !Double.isNaN(e.removedS)) return;
    Map<String, String> m = cluster.members(witness);
    if (m == null) return;
    String st = m.get(e.victim.address);
    double now = e.since(System.nanoTime());
    if ((st == null || st.equals("Down")) && Double.isNaN(e.downS)) e.downS = now;
    if (st == null) e.removedS = now;
  }

  private void waitExit(ChaosEvent e, int timeoutS) {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutS);
    while (Processes.alive(e.pid) && System.nanoTime() < end) {
      if (o.mode.equals("term")) {
        observeMembership(e, cluster.nodes.stream().filter(n -> n != e.victim).findFirst().get());
      }
      counters.sample(e.victim, false);
      ChaosRun.sleep(200);
    }
    if (!Processes.alive(e.pid)) {
      e.exitedS = e.since(System.nanoTime());
      run.note(
          String.format(
              Locale.ROOT,
              "event %d: %s exited by itself at +%.1f s",
              e.n,
              e.victim.name,
              e.exitedS));
    }
  }

  /** Failover of one event: every job of the victim shows another node or a terminal state. */
  private void watch(ChaosEvent e) {
    Set<String> open = new HashSet<>(e.onVictim);
    long end = e.signalNs + TimeUnit.SECONDS.toNanos(o.failoverTimeoutS);
    while (!open.isEmpty() && System.nanoTime() < end && !run.stopChaos) {
      long tick = System.nanoTime();
      Map<String, StatusMirror.Entry> h = mirror.read(open);
      double at = e.since(System.nanoTime());
      for (Map.Entry<String, StatusMirror.Entry> x : h.entrySet()) {
        String node = x.getValue().node();
        if (x.getValue().terminal()
            || (node != null && !node.isEmpty() && !node.equals(e.victim.name))) {
          e.resolvedS.put(x.getKey(), at);
          open.remove(x.getKey());
        }
      }
      ChaosRun.sleep(Math.max(1, 200 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - tick)));
    }
    e.unresolved = open.size();
    if (!e.onVictim.isEmpty()) {
      if (open.isEmpty()) {
        e.failoverS =
            e.resolvedS.values().stream().mapToDouble(Double::doubleValue).max().orElse(0);
        run.note(
            String.format(
                Locale.ROOT,
                "event %d: failover %.2f s (%d job(s) of %s elsewhere or finished)",
                e.n,
                e.failoverS,
                e.onVictim.size(),
                e.victim.name));
      } else {
        run.note(
            "event "
                + e.n
                + ": "
                + open.size()
                + " job(s) still on "
                + e.victim.name
                + " after "
                + o.failoverTimeoutS
                + " s");
      }
    } else {
      run.note(
          "event "
              + e.n
              + ": no unfinished job was on "
              + e.victim.name
              + ": failover not measured");
    }
    // Until the victim starts again, a moved job's hash must never name it again: that would
    // be the old process still running the job (stop mode: after SIGCONT).
    while (e.restartBeganNs == 0 && !run.stopChaos) {
      List<String> moved =
          e.resolvedS.keySet().stream().filter(id -> !e.mirrorReverted.contains(id)).toList();
      if (moved.isEmpty()) break;
      mirror
          .read(moved)
          .forEach(
              (id, x) -> {
                if (e.restartBeganNs == 0 && e.victim.name.equals(x.node()) && !x.terminal()) {
                  e.mirrorReverted.add(id);
                  run.note(
                      "event "
                          + e.n
                          + ": job "
                          + id
                          + " moved away from "
                          + e.victim.name
                          + " but its mirror names "
                          + e.victim.name
                          + " again (state "
                          + x.state()
                          + ")");
                }
              });
      ChaosRun.sleep(100);
    }
    e.watchDone = true;
  }
}
