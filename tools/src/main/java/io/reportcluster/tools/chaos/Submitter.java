package io.reportcluster.tools.chaos;

import io.reportcluster.protocol.Api;
import io.reportcluster.tools.http.Answer;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The load: submitting clients that take the jobs in order, paced by the {@link Pacer}, each
 * round-robin over the live nodes. A failed submit is retried on the next live node with the same
 * Idempotency-Key, so it reaches the same job whichever node takes it.
 */
final class Submitter {
  /** A 503's Retry-After is honoured up to this long; then the next node is tried. */
  private static final long MAX_SHED_WAIT_MS = 5_000;

  /** One job stops being retried after this long (or at the deadline). */
  private static final long GIVE_UP_S = 120;

  final AtomicInteger submitErrors = new AtomicInteger();
  final AtomicInteger shed = new AtomicInteger();
  final Map<String, AtomicInteger> errorKinds = new ConcurrentHashMap<>();
  private final AtomicInteger nextJob = new AtomicInteger();
  private final AtomicInteger submitsSent = new AtomicInteger();
  private final ChaosRun run;
  private final LocalCluster cluster;
  private final Pacer pacer;

  Submitter(ChaosRun run, LocalCluster cluster, Pacer pacer) {
    this.run = run;
    this.cluster = cluster;
    this.pacer = pacer;
  }

  /**
   * One client: submits jobs until none is left; {@code offset} staggers the clients' first node.
   */
  void loop(int offset) {
    ChaosJob[] jobs = run.jobs;
    int rr = offset;
    while (true) {
      int i = nextJob.getAndIncrement();
      if (i >= jobs.length) return;
      if (!pacer.acquire(i)) {
        // Deadline: whatever was not submitted counts as a failed submit.
        jobs[i].outcome = -1;
        while ((i = nextJob.getAndIncrement()) < jobs.length) jobs[i].outcome = -1;
        return;
      }
      rr = submit(jobs[i], rr);
    }
  }

  /** Submits one job until a node accepts it, trying the next live node after a failure. */
  private int submit(ChaosJob job, int rr) {
    String startup = "Chaos-" + run.runId + "-" + job.index;
    long giveUp = Math.min(run.deadlineNs, System.nanoTime() + TimeUnit.SECONDS.toNanos(GIVE_UP_S));
    String lastError = "";
    while (System.nanoTime() < giveUp) {
      List<ClusterNode> live = cluster.live();
      if (live.isEmpty()) {
        ChaosRun.sleep(200);
        continue;
      }
      ClusterNode n = live.get(Math.floorMod(rr++, live.size()));
      submitsSent.incrementAndGet();
      Answer r;
      try {
        r = cluster.http.submit(n.uri("/api/v1/jobs"), startup, job.key, Duration.ofSeconds(10));
      } catch (IOException e) {
        lastError = e.getClass().getSimpleName();
        countError(n.name + " " + lastError);
        ChaosRun.sleep(100);
        continue;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      int s = r.status();
      if (s == 202 || s == 200) {
        Api.JobAccepted accepted = r.as(Api.JobAccepted.class);
        String id = accepted == null ? null : accepted.jobId();
        if (id != null && !id.equals(job.id)) {
          run.note(
              "job "
                  + job.index
                  + ": node answered id "
                  + id
                  + ", expected "
                  + job.id
                  + " (using the node's)");
          job.id = id;
        }
        job.acceptedBy = n.name;
        job.outcome = s;
        return rr;
      }
      lastError = "HTTP " + s;
      String code = r.errorCode();
      countError(n.name + " HTTP " + s + (code == null || code.isEmpty() ? "" : " " + code));
      if (s == 503) {
        shed.incrementAndGet();
        ChaosRun.sleep(Math.min(r.retryAfterMs(), MAX_SHED_WAIT_MS));
        continue;
      }
      if (s >= 400 && s < 500) break; // the request itself is wrong: retrying will not help
      ChaosRun.sleep(200);
    }
    run.note("job " + job.index + " was not accepted (last: " + lastError + ")");
    job.outcome = -1;
    return rr;
  }

  private void countError(String kind) {
    submitErrors.incrementAndGet();
    errorKinds.computeIfAbsent(kind, k -> new AtomicInteger()).incrementAndGet();
  }
}
