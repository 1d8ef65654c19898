import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.DelayQueue;
import java.util.concurrent.Delayed;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Load generator and benchmark client for a reportcluster service (replaces send_requests.py).
 *
 * <p>Submits N jobs with C concurrent clients, polls them until each is terminal or the deadline
 * passes, shows progress on stderr and prints a grep-friendly {@code key: value} summary on stdout.
 * Run through {@code ops/loadgen} (Java 17 single-file source launcher); JDK only, no libraries.
 *
 * <p>Threading: one shared HttpClient (HTTP/1.1) and C worker threads. Each worker first takes job
 * indexes from a shared counter and submits them; once there is nothing left to submit it turns
 * into a poller. Submitted jobs wait in a {@link DelayQueue} keyed by their next poll time, so the
 * same C threads poll every unfinished job round-robin, once per poll interval, instead of one
 * thread per job. That keeps the client cheap enough to benchmark a 2-core machine from itself.
 */
public final class LoadGen {

  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
  /** Floor for a 503 back-off so a {@code Retry-After: 0} cannot turn into a busy loop. */
  private static final long MIN_RETRY_WAIT_MS = 100;
  /** How long an idle poller sleeps at most before re-checking "all done" and the deadline. */
  private static final long IDLE_WAIT_MS = 100;
  /** Extra time the main thread grants workers past the deadline before giving up on them. */
  private static final long JOIN_GRACE_MS = 2_000;

  public static void main(String[] args) {
    Options opts;
    try {
      opts = Options.parse(args);
    } catch (UsageException e) {
      System.err.println("loadgen: " + e.getMessage());
      System.err.println("Try 'loadgen --help'.");
      System.exit(2);
      return;
    }
    if (opts.help) {
      System.out.print(Options.USAGE);
      System.exit(0);
    }
    // The worker threads are daemons and may still sit in a request after the grace period, so
    // leave through System.exit rather than by returning from main.
    System.exit(new LoadGen(opts).run());
  }

  // ---------------------------------------------------------------------------------------------
  // Options

  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }

  static final class Options {
    static final String USAGE =
        String.join(
            "\n",
            "Usage: loadgen [options]",
            "",
            "Submits jobs to a reportcluster service, polls them until they finish, and prints a",
            "'key: value' summary on stdout. Progress goes to stderr.",
            "",
            "Options:",
            "  --url URL             service base URL (default http://127.0.0.1:8080)",
            "  --jobs N              number of jobs to submit (default 30)",
            "  --concurrency C       concurrent clients, for submitting and polling (default 4)",
            "  --deadline SECONDS    overall time limit from the first submit (default 600)",
            "  --poll-interval MS    time between two polls of the same job (default 500)",
            "  --startup PREFIX      startup name prefix; job i is PREFIX-i (default Startup)",
            "  --submit-only         benchmark submits only: do not poll, summarize submits",
            "  --seed-api            use the Flask-compatible POST /generate and GET /status/{id}",
            "  --quiet               no progress output",
            "  --help                print this help",
            "",
            "A 503 answer to a submit is retried after its Retry-After (at least 100 ms) and",
            "counted as shed_503, not as a failure. Every request times out after 10 s.",
            "submit_latency_ms covers every submit request that got an answer (503s included);",
            "job_duration_s runs from the submit answer to the first poll that sees the job",
            "terminal, so it is only as precise as --poll-interval.",
            "",
            "Exit status: 0 if every job succeeded (--submit-only: every submit was accepted),",
            "1 otherwise, 2 for bad options.",
            "");

    String url = "http://127.0.0.1:8080";
    int jobs = 30;
    int concurrency = 4;
    int deadlineSeconds = 600;
    int pollIntervalMs = 500;
    String startup = "Startup";
    boolean submitOnly;
    boolean seedApi;
    boolean quiet;
    boolean help;

    static Options parse(String[] args) throws UsageException {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String flag = args[i];
        switch (flag) {
          case "--help":
          case "-h":
            o.help = true;
            break;
          case "--submit-only":
            o.submitOnly = true;
            break;
          case "--seed-api":
            o.seedApi = true;
            break;
          case "--quiet":
            o.quiet = true;
            break;
          case "--url":
            o.url = value(args, ++i, flag);
            break;
          case "--jobs":
            o.jobs = positiveInt(value(args, ++i, flag), flag);
            break;
          case "--concurrency":
            o.concurrency = positiveInt(value(args, ++i, flag), flag);
            break;
          case "--deadline":
            o.deadlineSeconds = positiveInt(value(args, ++i, flag), flag);
            break;
          case "--poll-interval":
            o.pollIntervalMs = positiveInt(value(args, ++i, flag), flag);
            break;
          case "--startup":
            o.startup = value(args, ++i, flag);
            break;
          default:
            throw new UsageException("unknown option '" + flag + "'");
        }
      }
      if (o.help) {
        return o;
      }
      // Trailing slashes would give "//api/v1/jobs", which some routers reject.
      o.url = o.url.replaceAll("/+$", "");
      try {
        URI uri = URI.create(o.url);
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())
            || uri.getHost() == null) {
          throw new IllegalArgumentException();
        }
      } catch (IllegalArgumentException e) {
        throw new UsageException("--url must be an http:// or https:// URL, got '" + o.url + "'");
      }
      if (o.startup.isEmpty()) {
        throw new UsageException("--startup must not be empty");
      }
      return o;
    }

    private static String value(String[] args, int i, String flag) throws UsageException {
      if (i >= args.length) {
        throw new UsageException(flag + " needs a value");
      }
      return args[i];
    }

    private static int positiveInt(String s, String flag) throws UsageException {
      int v;
      try {
        v = Integer.parseInt(s.trim());
      } catch (NumberFormatException e) {
        throw new UsageException(flag + " needs a whole number, got '" + s + "'");
      }
      if (v < 1) {
        throw new UsageException(flag + " must be at least 1, got " + v);
      }
      return v;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Per-job state

  /** Where a job ended up; {@code null} in {@link Job#outcome} while it is still open. */
  enum Outcome {
    SUBMIT_FAILED,
    SUCCESS,
    FAILURE,
    REVOKED
  }

  /**
   * One job. Its fields are written by whichever worker currently holds it (a job is in the poll
   * queue or in one worker's hands, never both) and read by the summary after the workers are
   * joined; the progress counters live in atomics elsewhere, so no field needs to be volatile.
   */
  static final class Job implements Delayed {
    final int index;
    String id;
    /** System.nanoTime() when the accepting submit answer arrived. */
    long acceptedAtNs;
    /** System.nanoTime() when the job is next due for a poll (only meaningful while queued). */
    long nextPollNs;
    Outcome outcome;
    /** Seconds from acceptance to the first poll that saw a terminal state. */
    double durationS = Double.NaN;

    Job(int index) {
      this.index = index;
    }

    @Override
    public long getDelay(TimeUnit unit) {
      return unit.convert(nextPollNs - System.nanoTime(), TimeUnit.NANOSECONDS);
    }

    @Override
    public int compareTo(Delayed other) {
      return Long.compare(nextPollNs, ((Job) other).nextPollNs);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Run

  private final Options opts;
  private final HttpClient http;
  private final ExecutorService httpExecutor;
  private final URI submitUri;
  private final String statusPrefix;
  private final Job[] jobs;
  private final DelayQueue<Job> pollQueue = new DelayQueue<>();
  private final AtomicInteger nextIndex = new AtomicInteger();
  /** Jobs that are neither terminal nor failed to submit; the workers stop when it reaches 0. */
  private final AtomicInteger open;

  // Live counters for the progress line; the summary recounts from the Job objects.
  private final AtomicInteger submitted = new AtomicInteger();
  private final AtomicInteger submitFailed = new AtomicInteger();
  private final AtomicInteger shed = new AtomicInteger();
  private final AtomicInteger succeeded = new AtomicInteger();
  private final AtomicInteger endedBadly = new AtomicInteger();

  /** Latency in ms of each submit request that got an HTTP answer. */
  private final ConcurrentLinkedQueue<Double> submitLatenciesMs = new ConcurrentLinkedQueue<>();
  /** nanoTime of the last submit answer (accepted or not), for the submit rate. */
  private final AtomicLongMax lastSubmitDoneNs = new AtomicLongMax();

  private final Progress progress;
  private long startNs;
  private long deadlineNs;

  LoadGen(Options opts) {
    this.opts = opts;
    // Daemon threads: the JVM must be able to exit even if a request is stuck past the deadline.
    this.httpExecutor = Executors.newFixedThreadPool(opts.concurrency, daemonThreads("loadgen-http"));
    this.http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(REQUEST_TIMEOUT)
            .executor(httpExecutor)
            .build();
    this.submitUri = URI.create(opts.url + (opts.seedApi ? "/generate" : "/api/v1/jobs"));
    this.statusPrefix = opts.url + (opts.seedApi ? "/status/" : "/api/v1/jobs/");
    this.jobs = new Job[opts.jobs];
    for (int i = 0; i < jobs.length; i++) {
      jobs[i] = new Job(i + 1);
    }
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
    if (stuck) {
      progress.warn("some requests were still running at the deadline; they count as unfinished");
    }
    progress.flushWarnings();
    if (open.get() > 0 && System.nanoTime() >= deadlineNs) {
      // Always shown, even after the warning limit: it explains a non-zero exit on its own.
      progress.line(
          "warning: deadline of " + opts.deadlineSeconds + " s reached with " + open.get()
              + " job(s) not finished");
    }
    if (!opts.submitOnly && !opts.quiet) {
      progress.note(
          "job_duration_s is measured at poll granularity (poll interval "
              + opts.pollIntervalMs
              + " ms)");
    }
    httpExecutor.shutdownNow();
    return printSummary(endNs);
  }

  /** Worker loop: submit while there are indexes left, then poll until nothing is open. */
  private void work() {
    int i;
    while ((i = nextIndex.getAndIncrement()) < jobs.length) {
      submit(jobs[i]);
    }
    if (opts.submitOnly) {
      return;
    }
    while (open.get() > 0) {
      long left = msUntil(deadlineNs);
      if (left <= 0) {
        return;
      }
      Job job;
      try {
        job = pollQueue.poll(Math.min(IDLE_WAIT_MS, left), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        return;
      }
      if (job != null) {
        poll(job);
      }
    }
  }

  private void submit(Job job) {
    String body =
        "{\"startup\": \"" + jsonEscape(opts.startup + "-" + job.index) + "\"}";
    while (true) {
      Duration timeout = requestTimeout();
      if (timeout == null) {
        failSubmit(job, "deadline passed before job " + job.index + " was accepted");
        return;
      }
      HttpRequest request =
          HttpRequest.newBuilder(submitUri)
              .timeout(timeout)
              .header("Content-Type", "application/json")
              .header("Accept", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(body))
              .build();
      long sentNs = System.nanoTime();
      HttpResponse<String> response;
      try {
        response = http.send(request, HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        failSubmit(job, "submit of job " + job.index + " failed: " + describe(e));
        return;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        failSubmit(job, "submit of job " + job.index + " interrupted");
        return;
      }
      long doneNs = System.nanoTime();
      submitLatenciesMs.add((doneNs - sentNs) / 1e6);
      lastSubmitDoneNs.accumulate(doneNs);

      int status = response.statusCode();
      if (status == 503) {
        // Load shedding by a full node queue: back off as told and try the same job again.
        shed.incrementAndGet();
        long waitMs = retryAfterMs(response);
        if (!sleepBeforeDeadline(waitMs)) {
          failSubmit(job, "deadline passed while job " + job.index + " was being shed (503)");
          return;
        }
        continue;
      }
      if (status / 100 != 2) {
        failSubmit(
            job,
            "submit of job " + job.index + " answered HTTP " + status + ": " + snippet(response.body()));
        return;
      }
      String id = Json.topLevelField(response.body(), "job_id");
      if (id == null || id.isEmpty()) {
        failSubmit(job, "submit of job " + job.index + " answered without job_id: " + snippet(response.body()));
        return;
      }
      job.id = id;
      job.acceptedAtNs = doneNs;
      submitted.incrementAndGet();
      if (opts.submitOnly) {
        open.decrementAndGet();
      } else {
        job.nextPollNs = doneNs + TimeUnit.MILLISECONDS.toNanos(opts.pollIntervalMs);
        pollQueue.add(job);
      }
      return;
    }
  }

  private void failSubmit(Job job, String why) {
    job.outcome = Outcome.SUBMIT_FAILED;
    submitFailed.incrementAndGet();
    endedBadly.incrementAndGet();
    open.decrementAndGet();
    progress.warn(why);
  }

  /** One GET for a due job; requeues it for the next interval unless it is terminal. */
  private void poll(Job job) {
    Duration timeout = requestTimeout();
    if (timeout == null) {
      return; // deadline: the job stays unfinished
    }
    long sentNs = System.nanoTime();
    String state = null;
    try {
      HttpRequest request =
          HttpRequest.newBuilder(URI.create(statusPrefix + pathSegment(job.id)))
              .timeout(timeout)
              .header("Accept", "application/json")
              .GET()
              .build();
      HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() == 200) {
        state = Json.topLevelField(response.body(), "state");
      } else {
        // Transient or not, keep polling: the deadline decides when to give up on the job.
        progress.warn(
            "poll of job " + job.index + " (" + job.id + ") answered HTTP " + response.statusCode()
                + ": " + snippet(response.body()));
      }
    } catch (IOException e) {
      progress.warn("poll of job " + job.index + " (" + job.id + ") failed: " + describe(e));
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

  private static Outcome terminalOutcome(String state) {
    if (state == null) {
      return null;
    }
    switch (state.trim().toUpperCase(Locale.ROOT)) {
      case "SUCCESS":
        return Outcome.SUCCESS;
      case "FAILURE":
        return Outcome.FAILURE;
      case "REVOKED":
        return Outcome.REVOKED;
      default:
        return null; // PENDING, STARTED, RETRY or anything new: not done yet
    }
  }

  /** The usual 10 s request timeout, cut short by the deadline; null once the deadline passed. */
  private Duration requestTimeout() {
    long left = msUntil(deadlineNs);
    if (left <= 0) {
      return null;
    }
    return Duration.ofMillis(Math.min(REQUEST_TIMEOUT.toMillis(), left));
  }

  private boolean sleepBeforeDeadline(long waitMs) {
    if (waitMs >= msUntil(deadlineNs)) {
      return false;
    }
    try {
      Thread.sleep(waitMs);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Retry-After in delta-seconds (fractions tolerated); 1 s if absent or an HTTP date. */
  private static long retryAfterMs(HttpResponse<?> response) {
    long ms = 1_000;
    String header = response.headers().firstValue("Retry-After").orElse(null);
    if (header != null) {
      try {
        ms = (long) (Double.parseDouble(header.trim()) * 1_000);
      } catch (NumberFormatException ignored) {
        // An HTTP-date is legal but not something the node sends; the default is fine.
      }
    }
    return Math.max(MIN_RETRY_WAIT_MS, ms);
  }

  private static long msUntil(long ns) {
    return TimeUnit.NANOSECONDS.toMillis(ns - System.nanoTime());
  }

  // ---------------------------------------------------------------------------------------------
  // Output

  private String progressLine() {
    int total = jobs.length;
    int ok;
    int bad = endedBadly.get();
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
            bar, done, total, verb, ok, bad, (System.nanoTime() - startNs) / 1e9);
    int shedCount = shed.get();
    return shedCount > 0 ? line + ", " + shedCount + " shed" : line;
  }

  private int printSummary(long endNs) {
    int nSubmitted = 0;
    int nSubmitFailed = 0;
    int nSucceeded = 0;
    int nFailed = 0;
    int nRevoked = 0;
    List<Double> durations = new ArrayList<>();
    for (Job job : jobs) {
      if (job.id != null) {
        nSubmitted++;
      }
      if (job.outcome == null) {
        if (job.id == null) {
          nSubmitFailed++; // never got an answer before the hard stop
        }
        continue;
      }
      switch (job.outcome) {
        case SUBMIT_FAILED:
          nSubmitFailed++;
          break;
        case SUCCESS:
          nSucceeded++;
          break;
        case FAILURE:
          nFailed++;
          break;
        case REVOKED:
          nRevoked++;
          break;
      }
      if (!Double.isNaN(job.durationS)) {
        durations.add(job.durationS);
      }
    }
    int unfinished = opts.submitOnly ? 0 : nSubmitted - nSucceeded - nFailed - nRevoked;

    double[] latencies = submitLatenciesMs.stream().mapToDouble(Double::doubleValue).toArray();
    double[] jobDurations = durations.stream().mapToDouble(Double::doubleValue).toArray();
    // Submit rate: accepted submits over the span from the first send to the last submit answer.
    long lastSubmit = lastSubmitDoneNs.get();
    double submitSpanS = lastSubmit > startNs ? (lastSubmit - startNs) / 1e9 : 0;
    String rate = nSubmitted > 0 && submitSpanS > 0 ? fmt("%.1f", nSubmitted / submitSpanS) : "n/a";

    PrintStream out = System.out;
    out.println("url: " + opts.url);
    out.println("jobs: " + opts.jobs);
    out.println("concurrency: " + opts.concurrency);
    out.println("submitted: " + nSubmitted);
    out.println("submit_failed: " + nSubmitFailed);
    out.println("shed_503: " + shed.get());
    if (!opts.submitOnly) {
      out.println("succeeded: " + nSucceeded);
      out.println("failed: " + nFailed);
      out.println("revoked: " + nRevoked);
      out.println("unfinished: " + unfinished);
    }
    out.println("submit_rate_per_s: " + rate);
    out.println("submit_latency_ms_p50: " + percentile(latencies, 50, "%.1f"));
    out.println("submit_latency_ms_p99: " + percentile(latencies, 99, "%.1f"));
    if (!opts.submitOnly) {
      out.println("job_duration_s_p50: " + percentile(jobDurations, 50, "%.2f"));
      out.println("job_duration_s_p99: " + percentile(jobDurations, 99, "%.2f"));
    }
    out.println("elapsed_s: " + fmt("%.1f", (endNs - startNs) / 1e9));
    out.flush();

    boolean allGood = opts.submitOnly ? nSubmitted == opts.jobs : nSucceeded == opts.jobs;
    return allGood ? 0 : 1;
  }

  /** Nearest-rank percentile: the smallest sample with at least p% of the samples at or below. */
  static String percentile(double[] samples, double p, String format) {
    if (samples.length == 0) {
      return "n/a";
    }
    double[] sorted = samples.clone();
    Arrays.sort(sorted);
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return fmt(format, sorted[Math.max(0, Math.min(sorted.length, rank) - 1)]);
  }

  private static String fmt(String format, double value) {
    return String.format(Locale.ROOT, format, value);
  }

  /**
   * Progress and warnings on stderr. On a terminal the bar is redrawn in place with {@code \r};
   * otherwise (CI logs) a plain line is written every 5 s so logs stay readable.
   */
  static final class Progress {
    static final long TTY_PERIOD_MS = 200;
    static final long PLAIN_PERIOD_MS = 5_000;
    /** Only the first few warnings are shown; a flood of identical errors helps nobody. */
    static final int MAX_WARNINGS = 5;

    private final PrintStream err;
    private final boolean quiet;
    private final boolean tty;
    private long lastDrawNs;
    private int lastWidth;
    private int warnings;

    Progress(PrintStream err, boolean quiet, boolean tty) {
      this.err = err;
      this.quiet = quiet;
      this.tty = tty;
      this.lastDrawNs = System.nanoTime();
    }

    /** Draws the progress line if its period has elapsed; called often by the main thread. */
    synchronized void tick(java.util.function.Supplier<String> line) {
      if (quiet) {
        return;
      }
      long now = System.nanoTime();
      long period = tty ? TTY_PERIOD_MS : PLAIN_PERIOD_MS;
      if (now - lastDrawNs < TimeUnit.MILLISECONDS.toNanos(period)) {
        return;
      }
      lastDrawNs = now;
      draw(line.get());
    }

    /** Final state of the bar, always shown (unless quiet) and ended with a newline. */
    synchronized void finish(String line) {
      if (quiet) {
        return;
      }
      draw(line);
      if (tty) {
        err.println();
        lastWidth = 0;
      }
    }

    private void draw(String line) {
      if (tty) {
        // Pad with spaces so a shorter line fully covers the previous one.
        String pad = " ".repeat(Math.max(0, lastWidth - line.length()));
        err.print("\r" + line + pad);
        lastWidth = line.length();
      } else {
        err.println(line);
      }
      err.flush();
    }

    synchronized void warn(String message) {
      warnings++;
      if (warnings <= MAX_WARNINGS) {
        println("warning: " + message);
      }
    }

    synchronized void flushWarnings() {
      if (warnings > MAX_WARNINGS) {
        println("warning: " + (warnings - MAX_WARNINGS) + " more warnings not shown");
      }
    }

    synchronized void note(String message) {
      println("note: " + message);
    }

    synchronized void line(String message) {
      println(message);
    }

    /** Prints a whole line without mangling a bar that is currently drawn in place. */
    private void println(String message) {
      if (tty && lastWidth > 0) {
        err.print("\r" + " ".repeat(lastWidth) + "\r");
        lastWidth = 0; // redrawn on the next tick
      }
      err.println(message);
      err.flush();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Small helpers

  /** Running maximum of nanoTime stamps (nanoTime may be negative, so no 0 sentinel tricks). */
  static final class AtomicLongMax {
    private final java.util.concurrent.atomic.AtomicLong value =
        new java.util.concurrent.atomic.AtomicLong(Long.MIN_VALUE);

    void accumulate(long v) {
      value.accumulateAndGet(v, Math::max);
    }

    long get() {
      return value.get();
    }
  }

  /**
   * Just enough JSON to read a string (or scalar) field of the top-level object. It skips nested
   * objects and arrays, so a {@code "state"} inside {@code "steps": [...]} is never mistaken for
   * the job's state.
   */
  static final class Json {
    private Json() {}

    /** The value of {@code key} in the outermost object, or null if absent, null or not scalar. */
    static String topLevelField(String json, String key) {
      if (json == null) {
        return null;
      }
      int depth = 0;
      int i = 0;
      int n = json.length();
      while (i < n) {
        char c = json.charAt(i);
        if (c == '"') {
          int end = stringEnd(json, i);
          if (depth == 1) {
            int colon = skipWhitespace(json, end);
            if (colon < n && json.charAt(colon) == ':'
                && key.equals(unescape(json.substring(i + 1, end - 1)))) {
              return scalarAt(json, skipWhitespace(json, colon + 1));
            }
          }
          i = end;
          continue;
        }
        if (c == '{' || c == '[') {
          depth++;
        } else if (c == '}' || c == ']') {
          depth--;
        }
        i++;
      }
      return null;
    }

    /** Index just past the closing quote of the string that opens at {@code start}. */
    private static int stringEnd(String s, int start) {
      int i = start + 1;
      while (i < s.length()) {
        char c = s.charAt(i);
        if (c == '\\') {
          i += 2;
        } else if (c == '"') {
          return i + 1;
        } else {
          i++;
        }
      }
      return s.length(); // unterminated: treat the rest as the string
    }

    private static int skipWhitespace(String s, int i) {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
      return i;
    }

    private static String scalarAt(String s, int i) {
      if (i >= s.length()) {
        return null;
      }
      char c = s.charAt(i);
      if (c == '"') {
        int end = stringEnd(s, i);
        boolean terminated = end - 1 > i && s.charAt(end - 1) == '"';
        return terminated ? unescape(s.substring(i + 1, end - 1)) : null;
      }
      if (c == '{' || c == '[') {
        return null;
      }
      int end = i;
      while (end < s.length() && ",}] \t\r\n".indexOf(s.charAt(end)) < 0) {
        end++;
      }
      String literal = s.substring(i, end);
      return literal.equals("null") ? null : literal;
    }

    private static String unescape(String s) {
      if (s.indexOf('\\') < 0) {
        return s;
      }
      StringBuilder b = new StringBuilder(s.length());
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (c != '\\' || i + 1 >= s.length()) {
          b.append(c);
          continue;
        }
        char e = s.charAt(++i);
        switch (e) {
          case 'n': b.append('\n'); break;
          case 't': b.append('\t'); break;
          case 'r': b.append('\r'); break;
          case 'b': b.append('\b'); break;
          case 'f': b.append('\f'); break;
          case 'u':
            if (i + 4 < s.length()) {
              try {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                i += 4;
                break;
              } catch (NumberFormatException ignored) {
                // fall through to keep the text as it was
              }
            }
            b.append("\\u");
            break;
          default: b.append(e); // \" \\ \/
        }
      }
      return b.toString();
    }
  }

  static String jsonEscape(String s) {
    StringBuilder b = new StringBuilder(s.length() + 8);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"': b.append("\\\""); break;
        case '\\': b.append("\\\\"); break;
        case '\n': b.append("\\n"); break;
        case '\r': b.append("\\r"); break;
        case '\t': b.append("\\t"); break;
        default:
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
      }
    }
    return b.toString();
  }

  /** Percent-encodes a job id for use as one path segment. */
  private static String pathSegment(String id) {
    return URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** Exception class plus the first message along the cause chain (HttpClient often nests it). */
  private static String describe(Throwable e) {
    String message = null;
    for (Throwable t = e; t != null && message == null; t = t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isEmpty()) {
        message = t.getMessage();
      }
    }
    if (message == null && e instanceof java.net.ConnectException) {
      // The JDK client leaves "Connection refused" out of its exception; say what it means.
      message = "could not connect (is the service running at that address?)";
    }
    return e.getClass().getSimpleName() + (message == null ? "" : ": " + message);
  }

  private static String snippet(String body) {
    if (body == null) {
      return "";
    }
    String oneLine = body.replaceAll("\\s+", " ").trim();
    return oneLine.length() > 200 ? oneLine.substring(0, 200) + "..." : oneLine;
  }

  private static java.util.concurrent.ThreadFactory daemonThreads(String prefix) {
    AtomicInteger count = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + count.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
