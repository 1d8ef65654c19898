package io.reportcluster.tools.loadgen;

import io.reportcluster.protocol.Api;
import io.reportcluster.protocol.JobState;
import io.reportcluster.tools.cli.Cli;
import io.reportcluster.tools.http.Answer;
import io.reportcluster.tools.http.ServiceClient;
import io.reportcluster.tools.loadgen.LoadJob.Outcome;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Load generator and benchmark client for a reportcluster service (replaces send_requests.py), run
 * by {@code ops/loadgen}. Submits N jobs with C concurrent clients, polls them until each is
 * terminal or the deadline passes, shows progress on stderr and prints a grep-friendly {@code key:
 * value} summary on stdout ({@link LoadSummary}).
 *
 * <p>Threading: one shared HTTP client and C worker threads. Each worker first takes job indexes
 * from a shared counter and submits them; once there is nothing left to submit it turns into a
 * poller. Submitted jobs wait in a {@link DelayQueue} keyed by their next poll time, so the same C
 * threads poll every unfinished job round-robin, once per poll interval, instead of one thread per
 * job. That keeps the client cheap enough to benchmark a 2-core machine from itself.
 */
public final class LoadGen {
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

  /** How long an idle poller sleeps at most before re-checking "all done" and the deadline. */
  private static final long IDLE_WAIT_MS = 100;

  /** Extra time the main thread grants workers past the deadline before giving up on them. */
  private static final long JOIN_GRACE_MS = 2_000;

  /**
   * {@code loadgen [options]}: the exit status (the worker threads are daemons: exit, do not
   * return).
   */
  public static int main(String[] args) {
    return Cli.run(LoadGenOptions.USAGE, args, LoadGenOptions::parse, o -> new LoadGen(o).run());
  }

  private final LoadGenOptions opts;
  private final ServiceClient http;
  private final ExecutorService httpExecutor;
  private final LoadJob[] jobs;
  private final DelayQueue<LoadJob> pollQueue = new DelayQueue<>();
  private final AtomicInteger nextIndex = new AtomicInteger();

  /** Jobs that are neither terminal nor failed to submit; the workers stop when it reaches 0. */
  private final AtomicInteger open;

  // Live counters for the progress line; the summary recounts from the jobs.
  private final AtomicInteger submitted = new AtomicInteger();
  private final AtomicInteger submitFailed = new AtomicInteger();
  final AtomicInteger shed = new AtomicInteger();
  private final AtomicInteger succeeded = new AtomicInteger();
  private final AtomicInteger endedBadly = new AtomicInteger();

  /** Latency in ms of each submit request that got an HTTP answer. */
  final ConcurrentLinkedQueue<Double> submitLatenciesMs = new ConcurrentLinkedQueue<>();

  /**
   * nanoTime of the last submit answer (accepted or not), for the submit rate (no 0 sentinel:
   * nanoTime may be negative).
   */
  final AtomicLong lastSubmitDoneNs = new AtomicLong(Long.MIN_VALUE);

  private final Progress progress;
  long startNs;
  private long deadlineNs;

  LoadGen(LoadGenOptions opts) {
    this.opts = opts;
    // Daemon threads: the JVM must be able to exit even if a request is stuck past the deadline.
    this.httpExecutor =
        Executors.newFixedThreadPool(opts.concurrency, daemonThreads("loadgen-http"));
    this.http = ServiceClient.create(REQUEST_TIMEOUT, httpExecutor);
    this.jobs = new LoadJob[opts.jobs];
    for (int i = 0; i < jobs.length; i++) jobs[i] = new LoadJob(i + 1);
    this.open = new AtomicInteger(opts.jobs);
    this.progress = new Progress(System.err, opts.quiet, System.console() != null);
  }

  int run() {
    startNs = System.nanoTime();
    deadlineNs = startNs + TimeUnit.SECONDS.toNanos(opts.deadlineSeconds);

    List<Thread> workers = new ArrayList<>();
    for (int w = 0; w < opts.concurrency; w++) {
      Thread t = new Thread(this::work, "loadgen-worker-" + w);
      t.setDaemon(true);
      t.start();
      workers.add(t);
    }

    // The main thread only draws progress and waits; the workers do all HTTP work.
    long hardStopNs = deadlineNs + TimeUnit.MILLISECONDS.toNanos(JOIN_GRACE_MS);
    for (Thread t : workers) {
      while (t.isAlive() && System.nanoTime() < hardStopNs) {
        progress.tick(this::progressLine);
        try {
          t.join(Math.max(1, Math.min(Progress.TTY_PERIOD_MS, msUntil(hardStopNs))));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
    }
    long endNs = System.nanoTime();
    boolean stuck = workers.stream().anyMatch(Thread::isAlive);
    progress.finish(progressLine());
    if (stuck)
      progress.warn("some requests were still running at the deadline; they count as unfinished");
    progress.flushWarnings();
    if (open.get() > 0 && System.nanoTime() >= deadlineNs) {
      // Always shown, even after the warning limit: it explains a non-zero exit on its own.
      progress.line(
          "warning: deadline of "
              + opts.deadlineSeconds
              + " s reached with "
              + open.get()
              + " job(s) not finished");
    }
    if (!opts.submitOnly && !opts.quiet) {
      progress.note(
          "job_duration_s is measured at poll granularity (poll interval "
              + opts.pollIntervalMs
              + " ms)");
    }
    httpExecutor.shutdownNow();
    int status = new LoadSummary(opts, this, jobs).print(System.out, endNs);
    return writeJobIds() ? status : 1;
  }

  /** The accepted jobs' ids, one a line in submit order, to --job-ids; false if it cannot. */
  private boolean writeJobIds() {
    if (opts.jobIdsFile == null) return true;
    List<String> ids = new ArrayList<>();
    for (LoadJob job : jobs) if (job.id != null) ids.add(job.id);
    try {
      Files.write(opts.jobIdsFile, ids);
      return true;
    } catch (IOException e) {
      System.err.println("loadgen: cannot write --job-ids " + opts.jobIdsFile + ": " + e);
      return false;
    }
  }

  /** Worker loop: submit while there are indexes left, then poll until nothing is open. */
  private void work() {
    int i;
    while ((i = nextIndex.getAndIncrement()) < jobs.length) {
      if (!awaitSlot(i)) {
        failSubmit(jobs[i], "deadline passed before job " + jobs[i].index + " was due");
        continue;
      }
      submit(jobs[i]);
    }
    if (opts.submitOnly) return;
    while (open.get() > 0) {
      long left = msUntil(deadlineNs);
      if (left <= 0) return;
      LoadJob job;
      try {
        job = pollQueue.poll(Math.min(IDLE_WAIT_MS, left), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        return;
      }
      if (job != null) poll(job);
    }
  }

  /**
   * --rate: waits until job index {@code i} is due, {@code i / rate} seconds after the start (each
   * index has its own slot, so a late submit goes at once and the next ones catch up); false if the
   * deadline comes first.
   */
  private boolean awaitSlot(int i) {
    if (opts.rate <= 0) return true;
    long dueNs = startNs + (long) (i * 1e9 / opts.rate);
    long waitMs = TimeUnit.NANOSECONDS.toMillis(dueNs - System.nanoTime());
    return waitMs <= 0 || sleepBeforeDeadline(waitMs);
  }

  private void submit(LoadJob job) {
    String startup = opts.startup + "-" + job.index;
    while (true) {
      Duration timeout = requestTimeout();
      if (timeout == null) {
        failSubmit(job, "deadline passed before job " + job.index + " was accepted");
        return;
      }
      Answer answer;
      try {
        answer =
            opts.providers != null
                ? http.submitWithFallbacks(opts.submitUri(), startup, opts.providers, null, timeout)
                : http.submit(opts.submitUri(), startup, opts.provider, null, timeout);
      } catch (IOException e) {
        failSubmit(job, "submit of job " + job.index + " failed: " + ServiceClient.describe(e));
        return;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failSubmit(job, "submit of job " + job.index + " interrupted");
        return;
      }
      submitLatenciesMs.add(answer.latencyMs());
      lastSubmitDoneNs.accumulateAndGet(answer.doneNs(), Math::max);

      if (answer.status() == 503) {
        // Load shedding by a full node queue: back off as told and try the same job again.
        shed.incrementAndGet();
        if (!sleepBeforeDeadline(answer.retryAfterMs())) {
          failSubmit(job, "deadline passed while job " + job.index + " was being shed (503)");
          return;
        }
        continue;
      }
      if (!answer.ok()) {
        failSubmit(
            job,
            "submit of job "
                + job.index
                + " answered HTTP "
                + answer.status()
                + ": "
                + answer.snippet());
        return;
      }
      String id = acceptedJobId(answer);
      if (id == null || id.isEmpty()) {
        failSubmit(
            job, "submit of job " + job.index + " answered without job_id: " + answer.snippet());
        return;
      }
      job.id = id;
      job.acceptedAtNs = answer.doneNs();
      submitted.incrementAndGet();
      if (opts.submitOnly) {
        open.decrementAndGet();
      } else {
        job.nextPollNs = answer.doneNs() + TimeUnit.MILLISECONDS.toNanos(opts.pollIntervalMs);
        pollQueue.add(job);
      }
      return;
    }
  }

  private String acceptedJobId(Answer answer) {
    if (opts.seedApi) {
      Api.GenerateAccepted accepted = answer.as(Api.GenerateAccepted.class);
      return accepted == null ? null : accepted.jobId();
    }
    Api.JobAccepted accepted = answer.as(Api.JobAccepted.class);
    return accepted == null ? null : accepted.jobId();
  }

  private void failSubmit(LoadJob job, String why) {
    job.outcome = Outcome.SUBMIT_FAILED;
    submitFailed.incrementAndGet();
    endedBadly.incrementAndGet();
    open.decrementAndGet();
    progress.warn(why);
  }

  /** One GET for a due job; requeues it for the next interval unless it is terminal. */
  private void poll(LoadJob job) {
    Duration timeout = requestTimeout();
    if (timeout == null) return; // deadline: the job stays unfinished
    long sentNs = System.nanoTime();
    JobState state = null;
    try {
      Answer answer = http.get(opts.statusUri(ServiceClient.pathSegment(job.id)), timeout);
      if (answer.status() == 200) {
        state = jobState(answer);
      } else {
        // Transient or not, keep polling: the deadline decides when to give up on the job.
        progress.warn(
            "poll of job "
                + job.index
                + " ("
                + job.id
                + ") answered HTTP "
                + answer.status()
                + ": "
                + answer.snippet());
      }
    } catch (IOException e) {
      progress.warn(
          "poll of job " + job.index + " (" + job.id + ") failed: " + ServiceClient.describe(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return;
    }
    long doneNs = System.nanoTime();

    Outcome outcome = terminalOutcome(state);
    if (outcome != null) {
      job.outcome = outcome;
      job.durationS = (doneNs - job.acceptedAtNs) / 1e9;
      (outcome == Outcome.SUCCESS ? succeeded : endedBadly).incrementAndGet();
      open.decrementAndGet();
      return;
    }
    // Schedule from the send time so each job is polled once per interval, not interval + latency.
    job.nextPollNs = sentNs + TimeUnit.MILLISECONDS.toNanos(opts.pollIntervalMs);
    pollQueue.add(job);
  }

  private JobState jobState(Answer answer) {
    if (opts.seedApi) {
      Api.SeedStatus status = answer.as(Api.SeedStatus.class);
      return status == null ? null : status.state();
    }
    Api.JobView view = answer.as(Api.JobView.class);
    return view == null ? null : view.state();
  }

  private static Outcome terminalOutcome(JobState state) {
    if (state == null) return null;
    return switch (state) {
      case SUCCESS -> Outcome.SUCCESS;
      case FAILURE -> Outcome.FAILURE;
      case REVOKED -> Outcome.REVOKED;
      default -> null; // PENDING, STARTED, RETRY: not done yet
    };
  }

  /** The usual 10 s request timeout, cut short by the deadline; null once the deadline passed. */
  private Duration requestTimeout() {
    long left = msUntil(deadlineNs);
    if (left <= 0) return null;
    return Duration.ofMillis(Math.min(REQUEST_TIMEOUT.toMillis(), left));
  }

  private boolean sleepBeforeDeadline(long waitMs) {
    if (waitMs >= msUntil(deadlineNs)) return false;
    try {
      Thread.sleep(waitMs);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static long msUntil(long ns) {
    return TimeUnit.NANOSECONDS.toMillis(ns - System.nanoTime());
  }

  private String progressLine() {
    int total = jobs.length;
    int bad = endedBadly.get();
    int ok;
    int done;
    String verb;
    if (opts.submitOnly) {
      ok = submitted.get();
      done = ok + submitFailed.get();
      verb = "submitted";
    } else {
      ok = succeeded.get();
      done = ok + bad;
      verb = "done";
    }
    int width = 20;
    int filled = total == 0 ? width : (int) ((long) done * width / total);
    String bar = "#".repeat(filled) + ".".repeat(width - filled);
    String line =
        String.format(
            Locale.ROOT,
            "[%s] %d/%d %s (%d ok, %d failed) %.1fs",
            bar,
            done,
            total,
            verb,
            ok,
            bad,
            (System.nanoTime() - startNs) / 1e9);
    int shedCount = shed.get();
    return shedCount > 0 ? line + ", " + shedCount + " shed" : line;
  }

  private static ThreadFactory daemonThreads(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + count.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
