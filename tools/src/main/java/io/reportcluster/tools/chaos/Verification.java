package io.reportcluster.tools.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.node.job.ReportJob;
import io.reportcluster.tools.journal.JobHistory;
import io.reportcluster.tools.journal.JournalEvent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The check at the end of a run: every job against the journal (lost, recorded twice, written by
 * two incarnations at once, written by a frozen node after SIGCONT), the calls the nodes started
 * against the calls the journal recorded, and the status mirror against the journal.
 */
final class Verification {

  /** What the journal says about one job. */
  record JobFacts(JobHistory history, List<String> writers) {
    int submitted() {
      return history.count(ReportJob.Submitted.class);
    }

    int succeeded() {
      return history.count(ReportJob.Succeeded.class);
    }

    int failed() {
      return history.count(ReportJob.JobFailed.class);
    }

    int cancelled() {
      return history.count(ReportJob.Cancelled.class);
    }

    /** The final state the journal gives the job, or null while it runs. */
    String finalState() {
      return succeeded() > 0
          ? "SUCCESS"
          : failed() > 0 ? "FAILURE" : cancelled() > 0 ? "REVOKED" : null;
    }
  }

  static final class Verdict {
    int accepted;
    int acceptedOnRetry;
    int submitFailed;
    int succeeded;
    int failed;
    int revoked;
    final List<String> lost = new ArrayList<>();
    final List<String> lostNoSubmitted = new ArrayList<>();
    final List<String> twice = new ArrayList<>();
    final List<String> interleaved = new ArrayList<>();
    final List<String> zombieWrites = new ArrayList<>();
    int unansweredButInJournal;
    final List<String> mirrorStale = new ArrayList<>();
    String apiSample = "";
    long stepCompletedInRun;
    long attemptFailedInRun;
    long calls;
  }

  private final ChaosRun run;
  private final LocalCluster cluster;
  private final StatusMirror mirror;
  private final RunJournal journal;
  private final CallCounters counters;

  Verification(
      ChaosRun run,
      LocalCluster cluster,
      StatusMirror mirror,
      RunJournal journal,
      CallCounters counters) {
    this.run = run;
    this.cluster = cluster;
    this.mirror = mirror;
    this.journal = journal;
    this.counters = counters;
  }

  Verdict verify() {
    Verdict v = new Verdict();
    Map<String, JobFacts> facts = new HashMap<>();
    try {
      List<String> ids = Arrays.stream(run.jobs).map(j -> j.id).toList();
      Map<String, JobHistory> histories = journal.histories(ids);
      Map<String, Map<Long, String>> writers = journal.reader.writers(ids);
      histories.forEach(
          (id, h) -> {
            if (h.events().isEmpty()) return;
            Map<Long, String> bySeq = writers.getOrDefault(id, Map.of());
            facts.put(
                id,
                new JobFacts(
                    h,
                    h.events().stream()
                        .map(e -> bySeq.getOrDefault(e.sequenceNr(), "?"))
                        .toList()));
          });
      countRecordedCalls(v, histories);
    } catch (RuntimeException e) {
      throw new Fatal("journal check failed: " + e.getMessage());
    }
    v.calls = counters.total();

    for (ChaosJob j : run.jobs) {
      JobFacts f = facts.get(j.id);
      if (!j.accepted()) {
        v.submitFailed++;
        if (f != null && f.submitted() > 0) v.unansweredButInJournal++;
        continue;
      }
      if (j.outcome == 202) v.accepted++;
      else v.acceptedOnRetry++;
      if (f == null || f.submitted() == 0) {
        v.lost.add(j.id);
        v.lostNoSubmitted.add(j.id);
        continue;
      }
      int succeeded = f.succeeded();
      int failed = f.failed();
      int cancelled = f.cancelled();
      if (succeeded == 1) v.succeeded++;
      if (failed > 0) v.failed++;
      if (cancelled > 0) v.revoked++;
      if (succeeded + failed + cancelled == 0) v.lost.add(j.id);
      int stepCount = f.history().stepCount();
      int maxSteps = stepCount > 0 ? stepCount : 5;
      List<Integer> steps = f.history().completedSteps();
      Set<Integer> seen = new HashSet<>();
      boolean dupStep = false;
      for (int s : steps) if (s >= 0 && !seen.add(s)) dupStep = true;
      if (succeeded > 1
          || steps.size() > maxSteps
          || dupStep
          || succeeded + failed + cancelled > 1) {
        v.twice.add(j.id + " (" + succeeded + " Succeeded, StepCompleted steps " + steps + ")");
      }
      // Incarnations of a job must follow one another: a writer that comes back after another
      // one wrote means two live copies of the entity at once.
      List<String> order = new ArrayList<>();
      for (String w : f.writers()) {
        if (order.isEmpty() || !order.get(order.size() - 1).equals(w)) order.add(w);
      }
      if (new HashSet<>(order).size() != order.size())
        v.interleaved.add(j.id + " writers " + order);
    }
    checkMirror(v, facts);
    checkWritesAfterCont(v, facts);
    return v;
  }

  /**
   * Everything the cluster recorded during the run (any job, also those of unanswered submits), to
   * set against the calls the nodes started. With --use-running, only what was written since the
   * load started.
   */
  private void countRecordedCalls(Verdict v, Map<String, JobHistory> ours) {
    long since = run.o.useRunning ? run.loadStartWallMs : 0L;
    List<String> others = journal.allJobIds().stream().filter(id -> !ours.containsKey(id)).toList();
    List<JobHistory> all = new ArrayList<>(ours.values());
    all.addAll(journal.histories(others).values());
    for (JobHistory h : all) {
      for (JournalEvent e : h.events()) {
        if (e.writtenAtMs() < since) continue;
        if (e.event() instanceof ReportJob.StepCompleted) v.stepCompletedInRun++;
        if (e.event() instanceof ReportJob.AttemptFailed) v.attemptFailedInRun++;
      }
    }
  }

  /** Stop mode: after SIGCONT, the frozen process must not write for a job that moved. */
  private void checkWritesAfterCont(Verdict v, Map<String, JobFacts> facts) {
    for (ChaosEvent e : run.events) {
      if (e.contWallMs == 0) continue;
      for (String id : e.onVictim) {
        JobFacts f = facts.get(id);
        if (f == null) continue;
        List<JournalEvent> events = f.history().events();
        String before = null;
        for (int k = 0; k < events.size(); k++) {
          if (events.get(k).writtenAtMs() <= e.signalWallMs) before = f.writers().get(k);
        }
        for (int k = 0; k < events.size(); k++) {
          if (before != null
              && f.writers().get(k).equals(before)
              && events.get(k).writtenAtMs() > e.contWallMs) {
            v.zombieWrites.add(
                "event " + e.n + " job " + id + " seq " + events.get(k).sequenceNr());
          }
        }
      }
    }
  }

  /**
   * The status mirror must end where the journal ends: a finished job's hash shows its final state
   * (clients read it: GET /api/v1/jobs/{id} answers from the mirror when it has the job).
   */
  private void checkMirror(Verdict v, Map<String, JobFacts> facts) {
    Map<String, String> expected = new HashMap<>();
    for (ChaosJob j : run.jobs) {
      JobFacts f = facts.get(j.id);
      if (!j.accepted() || f == null) continue;
      String want = f.finalState();
      if (want != null) expected.put(j.id, want);
    }
    Map<String, StatusMirror.Entry> seen = new LinkedHashMap<>();
    for (int round = 0; round < 3; round++) {
      seen.clear();
      mirror
          .read(expected.keySet())
          .forEach(
              (id, h) -> {
                if (!expected.get(id).equals(h.state())) seen.put(id, h);
              });
      if (seen.isEmpty()) break;
      ChaosRun.sleep(2000); // the last transitions may still be on their way
    }
    seen.forEach(
        (id, h) ->
            v.mirrorStale.add(
                id + " journal " + expected.get(id) + ", mirror " + h.state() + " on " + h.node()));
    if (!seen.isEmpty()) {
      String id = seen.keySet().iterator().next();
      ClusterNode n =
          cluster.nodes.stream().filter(x -> x.available && x.alive()).findFirst().orElse(null);
      JsonNode view = n == null ? null : cluster.getJson(n, "/api/v1/jobs/" + id, 3000);
      v.apiSample =
          "GET /api/v1/jobs/"
              + id
              + " on "
              + (n == null ? "-" : n.name)
              + " answers state "
              + (view == null
                  ? "(no answer)"
                  : view.path("state").asText() + ", node " + view.path("node").asText())
              + " (journal: "
              + expected.get(id)
              + ")";
    }
  }
}
