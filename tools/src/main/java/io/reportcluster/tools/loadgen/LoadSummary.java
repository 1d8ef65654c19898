package io.reportcluster.tools.loadgen;

import io.reportcluster.tools.stats.Stats;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/** The {@code key: value} summary of a load on stdout, counted from the jobs themselves. */
final class LoadSummary {
  private final LoadGenOptions opts;
  private final LoadGen run;
  private final LoadJob[] jobs;

  LoadSummary(LoadGenOptions opts, LoadGen run, LoadJob[] jobs) {
    this.opts = opts;
    this.run = run;
    this.jobs = jobs;
  }

  /**
   * Prints the summary; the exit status: 0 when every job succeeded (or, submit-only, was
   * accepted).
   */
  int print(PrintStream out, long endNs) {
    int nSubmitted = 0;
    int nSubmitFailed = 0;
    int nSucceeded = 0;
    int nFailed = 0;
    int nRevoked = 0;
    List<Double> durations = new ArrayList<>();
    for (LoadJob job : jobs) {
      if (job.id != null) nSubmitted++;
      if (job.outcome == null) {
        if (job.id == null) nSubmitFailed++; // never got an answer before the hard stop
        continue;
      }
      switch (job.outcome) {
        case SUBMIT_FAILED -> nSubmitFailed++;
        case SUCCESS -> nSucceeded++;
        case FAILURE -> nFailed++;
        case REVOKED -> nRevoked++;
      }
      if (!Double.isNaN(job.durationS)) durations.add(job.durationS);
    }
    int unfinished = opts.submitOnly ? 0 : nSubmitted - nSucceeded - nFailed - nRevoked;

    double[] latencies = run.submitLatenciesMs.stream().mapToDouble(Double::doubleValue).toArray();
    double[] jobDurations = durations.stream().mapToDouble(Double::doubleValue).toArray();
    // Submit rate: accepted submits over the span from the first send to the last submit answer.
    long lastSubmit = run.lastSubmitDoneNs.get();
    double submitSpanS = lastSubmit > run.startNs ? (lastSubmit - run.startNs) / 1e9 : 0;
    String rate =
        nSubmitted > 0 && submitSpanS > 0 ? Stats.format("%.1f", nSubmitted / submitSpanS) : "n/a";

    out.println("url: " + opts.url);
    out.println("jobs: " + opts.jobs);
    out.println("concurrency: " + opts.concurrency);
    out.println("submitted: " + nSubmitted);
    out.println("submit_failed: " + nSubmitFailed);
    out.println("shed_503: " + run.shed.get());
    if (!opts.submitOnly) {
      out.println("succeeded: " + nSucceeded);
      out.println("failed: " + nFailed);
      out.println("revoked: " + nRevoked);
      out.println("unfinished: " + unfinished);
    }
    out.println("submit_rate_per_s: " + rate);
    out.println("submit_latency_ms_p50: " + Stats.format("%.1f", Stats.percentile(latencies, 50)));
    out.println("submit_latency_ms_p99: " + Stats.format("%.1f", Stats.percentile(latencies, 99)));
    if (!opts.submitOnly) {
      out.println(
          "job_duration_s_p50: " + Stats.format("%.2f", Stats.percentile(jobDurations, 50)));
      out.println(
          "job_duration_s_p99: " + Stats.format("%.2f", Stats.percentile(jobDurations, 99)));
    }
    out.println("elapsed_s: " + Stats.format("%.1f", (endNs - run.startNs) / 1e9));
    out.flush();

    boolean allGood = opts.submitOnly ? nSubmitted == opts.jobs : nSucceeded == opts.jobs;
    return allGood ? 0 : 1;
  }
}
