package io.reportcluster.tools.chaos;

import io.reportcluster.tools.stats.Stats;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The end of a run: findings on stderr, the {@code key: value} summary on stdout, the exit status.
 */
final class ChaosReport {
  private final ChaosRun run;
  private final ChaosOptions o;
  private final LocalCluster cluster;
  private final Submitter submitter;
  private final NodeLogs logs;

  ChaosReport(ChaosRun run, LocalCluster cluster, Submitter submitter, NodeLogs logs) {
    this.run = run;
    this.o = run.o;
    this.cluster = cluster;
    this.submitter = submitter;
    this.logs = logs;
  }

  /** 0 when no accepted job was lost and none recorded twice, else 1. */
  int print(Verification.Verdict v, long loadEndNs, PrintStream out) {
    List<Double> counted = new ArrayList<>();
    List<String> each = new ArrayList<>();
    List<String> jobsEach = new ArrayList<>();
    List<String> downEach = new ArrayList<>();
    List<String> restartEach = new ArrayList<>();
    int timeouts = 0;
    int reverted = 0;
    for (ChaosEvent e : run.events) {
      jobsEach.add(Integer.toString(e.onVictim.size()));
      downEach.add(ChaosRun.fmtS(e.downS) + "/" + ChaosRun.fmtS(e.removedS));
      restartEach.add(ChaosRun.fmtS(e.wholeS));
      reverted += e.mirrorReverted.size();
      if (e.onVictim.isEmpty()) {
        each.add("none");
      } else if (e.failoverS == null) {
        each.add("timeout(" + e.unresolved + ")");
        timeouts++;
      } else {
        counted.add(e.failoverS);
        each.add(String.format(Locale.ROOT, "%.2f", e.failoverS));
      }
    }
    String median = Stats.format("%.2f", Stats.median(counted));
    String max =
        Stats.format(
            "%.2f", counted.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN));
    long rerun = v.calls - v.stepCompletedInRun - v.attemptFailedInRun;

    NodeLogs.Scan scan = logs.scan();

    if (!submitter.errorKinds.isEmpty()) {
      run.note(
          "submit errors by node and kind: "
              + submitter.errorKinds.entrySet().stream()
                  .sorted(Map.Entry.comparingByKey())
                  .map(x -> x.getKey() + "=" + x.getValue())
                  .collect(Collectors.joining(", ")));
    }
    for (ChaosEvent e : run.events) for (String n : e.notes) run.note("event " + e.n + ": " + n);
    report("lost job", v.lost);
    report("job recorded twice", v.twice);
    report("job written by two incarnations at once", v.interleaved);
    report("write after SIGCONT by the frozen node", v.zombieWrites);
    report("mirror disagrees with the journal", v.mirrorStale);
    if (!v.apiSample.isEmpty()) run.note(v.apiSample);
    for (String s : scan.samples) run.note("node log: " + s);

    out.println("mode: " + o.mode);
    out.println("nodes: " + cluster.nodes.size());
    out.println("latency: " + o.latency);
    out.println("jobs: " + o.jobs);
    out.println("accepted: " + v.accepted);
    out.println("accepted_on_retry: " + v.acceptedOnRetry);
    out.println("submit_failed: " + v.submitFailed);
    out.println("submit_errors: " + submitter.submitErrors.get());
    out.println("succeeded: " + v.succeeded);
    out.println("failed: " + v.failed);
    out.println("revoked: " + v.revoked);
    out.println("lost: " + v.lost.size());
    out.println("lost_never_journaled: " + v.lostNoSubmitted.size());
    out.println("recorded_twice: " + v.twice.size());
    out.println("concurrent_incarnations: " + v.interleaved.size());
    out.println("writes_after_cont: " + v.zombieWrites.size());
    out.println("mirror_reverted_to_victim: " + reverted);
    out.println("mirror_stale_at_end: " + v.mirrorStale.size());
    // Calls a node started after its last stats sample (it died, or its HTTP server had already
    // unbound on its way out) are not counted: the figure is a lower bound, never below 0.
    out.println("steps_rerun: " + Math.max(0, rerun));
    out.println(
        "steps_rerun_how: calls_started "
            + v.calls
            + " - StepCompleted "
            + v.stepCompletedInRun
            + " - AttemptFailed "
            + v.attemptFailedInRun
            + " = "
            + rerun
            + " (calls_started summed over every node"
            + " process, sampled every second and just before each signal: a lower bound)");
    out.println("attempts_failed: " + v.attemptFailedInRun);
    out.println("kills: " + run.events.size());
    out.println("kills_measured: " + counted.size());
    out.println("failover_s_median: " + median);
    out.println("failover_s_max: " + max);
    out.println("failover_s_each: " + joinOrNa(each));
    out.println("failover_jobs_each: " + joinOrNa(jobsEach));
    out.println("failover_timeouts: " + timeouts);
    out.println("downed_removed_s_each: " + joinOrNa(downEach));
    out.println(
        "calls_after_signal_each: "
            + joinOrNa(
                run.events.stream()
                    .map(e -> e.callsAfterSignal < 0 ? "?" : Long.toString(e.callsAfterSignal))
                    .toList()));
    out.println("whole_again_s_each: " + joinOrNa(restartEach));
    out.println("unanswered_submits_in_journal: " + v.unansweredButInJournal);
    out.println("node_log_errors: " + scan.errors);
    out.println("node_log_warnings: " + scan.warnings);
    out.println(
        "elapsed_s: " + String.format(Locale.ROOT, "%.1f", (loadEndNs - run.loadStartNs) / 1e9));
    out.flush();
    return v.lost.isEmpty() && v.twice.isEmpty() ? 0 : 1;
  }

  private static String joinOrNa(List<String> items) {
    return items.isEmpty() ? "n/a" : String.join(",", items);
  }

  private void report(String what, List<String> items) {
    int shown = 0;
    for (String s : items) {
      if (shown++ == 10) {
        run.note("... and " + (items.size() - 10) + " more");
        break;
      }
      run.note(what + ": " + s);
    }
  }
}
