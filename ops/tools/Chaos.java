import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * Chaos runner for a local reportcluster cluster (ops/cluster): runs a load of report jobs while
 * killing, freezing or stopping nodes one at a time, measures how long the jobs of each victim
 * take to come back on the survivors, and checks every accepted job against the journal.
 *
 * <p>Run through {@code ops/chaos} (Java 17 single-file source launcher, with the node's runtime
 * classpath for the PostgreSQL JDBC driver, Lettuce and Jackson). Progress and the event log go
 * to stderr; a {@code key: value} summary goes to stdout.
 *
 * <p>Threads: C submitters (paced, see {@link Pacer}), one chaos thread that runs the events one
 * after another, one watcher per event (Redis hashes of the victim's jobs, every 200 ms), one
 * sampler of every node's call counter (every second), and the main thread, which polls the
 * journal for finished jobs and draws progress.
 */
public final class Chaos {

  static final String USAGE = String.join("\n",
      "Usage: ops/chaos [options]",
      "",
      "Runs a load of report jobs on a local 3+ node cluster while taking one node down at a",
      "time, then checks every accepted job against the journal. Prints a 'key: value' summary on",
      "stdout; progress and the event log go to stderr.",
      "",
      "Cluster:",
      "  --use-running        use the cluster ops/cluster already runs (all its nodes must be up)",
      "                       instead of starting one; it is left running, whole, at the end",
      "  --nodes N            nodes to start (default 3, at least 3: keep-majority needs 2 of 3)",
      "  --latency D          simulated LLM call latency of a started cluster (default 200ms)",
      "  --keep-up            leave a cluster this run started running at the end",
      "Load:",
      "  --jobs N             jobs to submit (default 300)",
      "  --concurrency C      submitting clients (default 8), round-robin over the live nodes",
      "  --rate R             auto (default): kills+1 equal bursts, one at the start and one",
      "                       just before each event, so every event hits nodes with jobs",
      "                       running and queued; max: all at once; a number: submits per second",
      "  --deadline S         seconds from the first submit until unfinished jobs count as lost",
      "                       (default 900)",
      "Chaos:",
      "  --mode M             kill (kill -9, default), stop (SIGSTOP for --pause s, then SIGCONT)",
      "                       or term (SIGTERM, graceful leave); the node is then started again",
      "  --kills N            events in total (default 5); fewer if the load ends first",
      "                       (only possible with --rate max or a number)",
      "  --interval S         seconds between event starts (default 20); an event also waits",
      "                       until the cluster is whole again after the previous one, plus 10 s",
      "  --pause S            how long --mode stop freezes a node (default 15)",
      "  --failover-timeout S give up measuring one event's failover after S s (default 120)",
      "  --seed N             seed of the victim choice (default: random, printed)",
      "Stores (defaults match ops/cluster):",
      "  --db-url URL --db-user U --db-password P    journal (jdbc:postgresql://127.0.0.1:5432/reportcluster)",
      "  --redis-url URL --prefix P                  status mirror (redis://127.0.0.1:6379, reports:)",
      "  --repo DIR           repository root (ops/chaos passes it)",
      "",
      "Failover of an event: the unfinished jobs whose Redis hash names the victim at the signal;",
      "the time until each of them shows another node or a terminal state (polled every 200 ms),",
      "the maximum over them. Events that found no such job are reported as 'none' and not counted.",
      "",
      "Exit status: 0 when no accepted job was lost and none recorded a result twice; 1 otherwise;",
      "2 for bad options; 3 when the cluster or its stores could not be set up.",
      "");

  // ------------------------------------------------------------------------------------------
  // Options

  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String m) {
      super(m);
    }
  }

  /** Setup failures (cluster, database, Redis): exit status 3. */
  static final class Fatal extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Fatal(String m) {
      super(m);
    }
  }

  static final class Options {
    Path repo = Path.of(System.getProperty("user.dir"));
    boolean useRunning;
    boolean keepUp;
    int nodes = 3;
    String latency = "200ms";
    int jobs = 300;
    int concurrency = 8;
    String rate = "auto";
    double fixedRate; // jobs/s when rate is a number
    int deadlineS = 900;
    String mode = "kill";
    int kills = 5;
    int intervalS = 20;
    int pauseS = 15;
    int failoverTimeoutS = 120;
    Long seed;
    String dbUrl = "jdbc:postgresql://127.0.0.1:5432/" + env("REPORTS_CLUSTER_DB", "reportcluster");
    String dbUser = "postgres";
    String dbPassword = "";
    String redisUrl = "redis://127.0.0.1:6379";
    String prefix = env("REPORTS_REDIS_PREFIX", "reports:");
    boolean help;

    static Options parse(String[] args) throws UsageException {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String f = args[i];
        switch (f) {
          case "--help", "-h" -> o.help = true;
          case "--use-running" -> o.useRunning = true;
          case "--keep-up" -> o.keepUp = true;
          case "--repo" -> o.repo = Path.of(val(args, ++i, f)).toAbsolutePath().normalize();
          case "--nodes" -> o.nodes = intVal(args, ++i, f, 3);
          case "--latency" -> o.latency = val(args, ++i, f);
          case "--jobs" -> o.jobs = intVal(args, ++i, f, 1);
          case "--concurrency" -> o.concurrency = intVal(args, ++i, f, 1);
          case "--rate" -> {
            o.rate = val(args, ++i, f);
            if (!o.rate.equals("auto") && !o.rate.equals("max")) {
              try {
                o.fixedRate = Double.parseDouble(o.rate);
              } catch (NumberFormatException e) {
                throw new UsageException("--rate takes auto, max or a number of submits per second");
              }
              if (!(o.fixedRate > 0)) throw new UsageException("--rate must be positive");
            }
          }
          case "--deadline" -> o.deadlineS = intVal(args, ++i, f, 1);
          case "--mode" -> {
            o.mode = val(args, ++i, f);
            if (!Set.of("kill", "stop", "term").contains(o.mode)) {
              throw new UsageException("--mode is kill, stop or term, not '" + o.mode + "'");
            }
          }
          case "--kills" -> o.kills = intVal(args, ++i, f, 0);
          case "--interval" -> o.intervalS = intVal(args, ++i, f, 1);
          case "--pause" -> o.pauseS = intVal(args, ++i, f, 1);
          case "--failover-timeout" -> o.failoverTimeoutS = intVal(args, ++i, f, 1);
          case "--seed" -> {
            try {
              o.seed = Long.parseLong(val(args, ++i, f));
            } catch (NumberFormatException e) {
              throw new UsageException("--seed needs a whole number");
            }
          }
          case "--db-url" -> o.dbUrl = val(args, ++i, f);
          case "--db-user" -> o.dbUser = val(args, ++i, f);
          case "--db-password" -> o.dbPassword = val(args, ++i, f);
          case "--redis-url" -> o.redisUrl = val(args, ++i, f);
          case "--prefix" -> o.prefix = val(args, ++i, f);
          default -> throw new UsageException("unknown option '" + f + "'");
        }
      }
      if (o.nodes > 9) throw new UsageException("--nodes must be 3..9");
      return o;
    }

    private static String val(String[] a, int i, String f) throws UsageException {
      if (i >= a.length) throw new UsageException(f + " needs a value");
      return a[i];
    }

    private static int intVal(String[] a, int i, String f, int min) throws UsageException {
      String s = val(a, i, f);
      int v;
      try {
        v = Integer.parseInt(s.trim());
      } catch (NumberFormatException e) {
        throw new UsageException(f + " needs a whole number, got '" + s + "'");
      }
      if (v < min) throw new UsageException(f + " must be at least " + min + ", got " + v);
      return v;
    }

    private static String env(String name, String dflt) {
      String v = System.getenv(name);
      return v == null || v.isBlank() ? dflt : v;
    }
  }

  public static void main(String[] args) {
    quietLogging();
    Options o;
    try {
      o = Options.parse(args);
    } catch (UsageException e) {
      System.err.println("chaos: " + e.getMessage());
      System.err.println("Try 'ops/chaos --help'.");
      System.exit(2);
      return;
    }
    if (o.help) {
      System.out.print(USAGE);
      System.exit(0);
    }
    int rc;
    Chaos chaos = new Chaos(o);
    try {
      rc = chaos.run();
    } catch (Fatal e) {
      System.err.println("chaos: error: " + e.getMessage());
      rc = 3;
    } finally {
      chaos.cleanUp();
    }
    System.exit(rc);
  }

  /** Lettuce and Netty log through SLF4J; without the node's logback.xml Logback says everything. */
  static void quietLogging() {
    try {
      org.slf4j.Logger root = org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
      if (root instanceof ch.qos.logback.classic.Logger l) l.setLevel(ch.qos.logback.classic.Level.WARN);
    } catch (Throwable ignored) {
      // no Logback: nothing to quiet
    }
  }

  // ------------------------------------------------------------------------------------------
  // State

  static final ObjectMapper JSON = new ObjectMapper();
  static final CBORMapper CBOR = new CBORMapper();
  static final Set<String> TERMINAL = Set.of("SUCCESS", "FAILURE", "REVOKED");

  /** One node of the local cluster: node I, HTTP 808I, remoting 2552I. */
  final class Node {
    final int i;
    final String name;
    final int port;
    final String address;
    /** In the submit rotation and eligible as a victim; false while chaos has it down. */
    volatile boolean available = true;
    /** SIGSTOPped: nobody sends it requests (they would hang). */
    volatile boolean frozen;
    // Call counter bookkeeping (calls_started is per process: it restarts at 0).
    long incarnationPid = -1;
    long baseline;
    long last;
    long accumulated;

    Node(int i) {
      this.i = i;
      this.name = "node" + i;
      this.port = 8080 + i;
      this.address = "pekko://reportcluster@127.0.0.1:" + (25520 + i);
    }

    long pid() {
      try {
        return Long.parseLong(Files.readString(state.resolve("node" + i + ".pid")).trim());
      } catch (IOException | NumberFormatException e) {
        return -1;
      }
    }

    boolean alive() {
      return processAlive(pid());
    }

    synchronized long callsSoFar() {
      return accumulated + (last - baseline);
    }
  }

  /** One submitted job, named by its Idempotency-Key (so a retried submit reaches the same job). */
  static final class Job {
    final int index;
    final String key;
    volatile String id;
    /** 0: not answered yet; 202 accepted; 200 accepted earlier (a retry found it); -1 gave up. */
    volatile int outcome;
    volatile String acceptedBy;
    volatile boolean terminal;

    Job(int index, String key) {
      this.index = index;
      this.key = key;
      this.id = UUID.nameUUIDFromBytes(("idempotency-key:" + key).getBytes(StandardCharsets.UTF_8)).toString();
    }

    boolean accepted() {
      return outcome == 202 || outcome == 200;
    }
  }

  /** One chaos event and what was measured around it. */
  final class Event {
    final int n;
    final Node victim;
    long pid;
    long signalNs;
    long signalWallMs;
    Set<String> onVictim = Set.of();
    int finishedBeforeSignal;
    long callsAtSignal;
    long callsAfterSignal = -1;
    final Map<String, Double> resolvedS = new ConcurrentHashMap<>();
    volatile Double failoverS;
    volatile int unresolved;
    volatile double downS = Double.NaN;
    volatile double removedS = Double.NaN;
    volatile double exitedS = Double.NaN;
    volatile double contS = Double.NaN;
    volatile long contWallMs;
    volatile double restartedS = Double.NaN;
    volatile double wholeS = Double.NaN;
    volatile long restartBeganNs;
    volatile boolean watchDone;
    final Set<String> mirrorReverted = ConcurrentHashMap.newKeySet();
    final List<String> notes = new CopyOnWriteArrayList<>();

    Event(int n, Node victim) {
      this.n = n;
      this.victim = victim;
    }

    double since(long ns) {
      return (ns - signalNs) / 1e9;
    }
  }

  final Options o;
  final Path state;
  final String runId = Long.toString(System.currentTimeMillis() % 1_000_000_000L, 36);
  final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();
  final List<Node> nodes = new ArrayList<>();
  final List<Event> events = new CopyOnWriteArrayList<>();
  Job[] jobs;
  Random random;
  boolean startedCluster;
  volatile boolean clusterDown;
  volatile boolean stopChaos;
  volatile boolean loadFinished;
  volatile long loadStartNs;
  long loadStartWallMs;
  long deadlineNs;
  final AtomicInteger nextJob = new AtomicInteger();
  final AtomicInteger submitsSent = new AtomicInteger();
  final AtomicInteger submitErrors = new AtomicInteger();
  final AtomicInteger shed = new AtomicInteger();
  final Map<String, AtomicInteger> errorKinds = new ConcurrentHashMap<>();
  final Map<Path, Long> logOffsets = new HashMap<>();
  Connection db;
  RedisClient redisClient;
  StatefulRedisConnection<String, String> redis;
  StatefulRedisPubSubConnection<String, String> liveEvents;
  Pacer pacer;

  Chaos(Options o) {
    this.o = o;
    this.state = o.repo.resolve(".cluster");
  }

  // ------------------------------------------------------------------------------------------
  // Run

  int run() throws Fatal {
    long seed = o.seed != null ? o.seed : new Random().nextLong();
    random = new Random(seed);
    Runtime.getRuntime().addShutdownHook(new Thread(this::onInterrupt, "chaos-shutdown"));

    prepareCluster();
    connectStores();
    for (Node n : nodes) sample(n, true);
    rememberLogOffsets();

    jobs = new Job[o.jobs];
    for (int i = 0; i < o.jobs; i++) jobs[i] = new Job(i + 1, "chaos-" + runId + "-" + (i + 1));
    note("run " + runId + ": " + o.jobs + " jobs, " + o.concurrency + " clients, mode " + o.mode + ", "
        + o.kills + " events every " + o.intervalS + " s" + (o.mode.equals("stop") ? ", pause " + o.pauseS + " s" : "")
        + ", rate " + o.rate + ", seed " + seed);

    loadStartNs = System.nanoTime();
    loadStartWallMs = System.currentTimeMillis();
    deadlineNs = loadStartNs + TimeUnit.SECONDS.toNanos(o.deadlineS);
    pacer = new Pacer();

    List<Thread> submitters = new ArrayList<>();
    for (int w = 0; w < o.concurrency; w++) {
      int offset = w;
      submitters.add(start("submit-" + w, () -> submitLoop(offset)));
    }
    Thread sampler = start("sampler", this::sampleLoop);
    Thread chaos = start("chaos", this::chaosLoop);

    // Main thread: which accepted jobs are terminal (journal), progress, end of the load.
    long lastProgress = 0;
    while (true) {
      pollTerminal();
      boolean submitsDone = submitters.stream().noneMatch(Thread::isAlive);
      long open = java.util.Arrays.stream(jobs).filter(j -> j.accepted() && !j.terminal).count();
      if (submitsDone && open == 0) break;
      if (System.nanoTime() > deadlineNs) {
        note("deadline of " + o.deadlineS + " s reached with " + open + " accepted job(s) not terminal");
        break;
      }
      if (System.nanoTime() - lastProgress > 5e9) {
        lastProgress = System.nanoTime();
        progress();
      }
      sleep(1000);
    }
    loadFinished = true;
    long loadEndNs = System.nanoTime();
    progress();
    join(chaos, 400_000, "the chaos thread");
    stopChaos = true;
    for (Node n : nodes) sample(n, false);
    sampler.interrupt();

    Verdict v = verify();
    return printSummary(v, loadEndNs);
  }

  Thread start(String name, Runnable r) {
    Thread t = new Thread(() -> {
      try {
        r.run();
      } catch (RuntimeException e) {
        note("thread " + Thread.currentThread().getName() + " failed: " + e);
        e.printStackTrace();
      }
    }, "chaos-" + name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  // ------------------------------------------------------------------------------------------
  // Cluster set-up and tear-down

  void prepareCluster() {
    if (!Files.isExecutable(o.repo.resolve("ops/cluster"))) {
      throw new Fatal("no ops/cluster under " + o.repo + " (pass --repo)");
    }
    int n;
    if (o.useRunning) {
      try {
        n = Integer.parseInt(Files.readString(state.resolve("nodes")).trim());
      } catch (IOException | NumberFormatException e) {
        throw new Fatal("--use-running: no cluster started by ops/cluster (" + state.resolve("nodes") + ")");
      }
      if (n < 3) throw new Fatal("the running cluster has " + n + " nodes; chaos needs 3 or more");
      for (int i = 1; i <= n; i++) nodes.add(new Node(i));
      for (Node node : nodes) {
        if (!node.alive()) {
          throw new Fatal(node.name + " of the running cluster is not running (ops/cluster node-start " + node.i + ")");
        }
      }
      if (!waitWhole(60)) throw new Fatal("the running cluster is not whole: not all " + n + " members are Up");
      try {
        String env = Files.readString(state.resolve("env"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("REPORTS_SIM_LATENCY=(\\S+)").matcher(env);
        if (m.find()) o.latency = m.group(1) + " (running cluster)";
      } catch (IOException ignored) {
        o.latency = "unknown (running cluster)";
      }
    } else {
      n = o.nodes;
      for (int i = 1; i <= 9; i++) {
        if (new Node(i).alive()) {
          throw new Fatal("node" + i + " of a cluster is already running (ops/cluster status): pass --use-running,"
              + " or stop it first with ops/cluster down");
        }
      }
      for (int i = 1; i <= n; i++) nodes.add(new Node(i));
      note("starting a fresh cluster: ops/cluster up --nodes " + n + " --fresh --latency " + o.latency);
      startedCluster = true;
      int rc = script(600, "up", "--nodes", Integer.toString(n), "--fresh", "--latency", o.latency);
      if (rc != 0) throw new Fatal("ops/cluster up failed (exit " + rc + ")");
      if (!waitWhole(120)) throw new Fatal("the cluster did not become whole");
    }
  }

  void cleanUp() {
    if (startedCluster && !o.keepUp && !clusterDown) {
      clusterDown = true;
      note("stopping the cluster this run started (ops/cluster down)");
      script(180, "down");
    } else if (startedCluster && o.keepUp) {
      note("--keep-up: the cluster keeps running (ops/cluster down stops it)");
    }
  }

  /** Ctrl-C: never leave a node frozen; stop what this run started. */
  void onInterrupt() {
    stopChaos = true;
    for (Node n : nodes) {
      if (n.frozen) {
        try {
          new ProcessBuilder("kill", "-CONT", Long.toString(n.pid())).start().waitFor(5, TimeUnit.SECONDS);
        } catch (Exception ignored) {
          // best effort
        }
      }
    }
    cleanUp();
  }

  /** Runs ops/cluster with the arguments, its output copied to stderr; the exit status or -1. */
  int script(int timeoutS, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(o.repo.resolve("ops/cluster").toString());
    cmd.addAll(List.of(args));
    try {
      Process p = new ProcessBuilder(cmd).directory(o.repo.toFile()).redirectErrorStream(true).start();
      p.getOutputStream().close();
      Thread copier = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
          String line;
          while ((line = r.readLine()) != null) System.err.println("    | " + line);
        } catch (IOException ignored) {
          // process gone
        }
      });
      copier.setDaemon(true);
      copier.start();
      if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return -1;
      }
      copier.join(2000);
      return p.exitValue();
    } catch (IOException e) {
      throw new Fatal("cannot run ops/cluster: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** kill -SIG pid; the exit status of kill. */
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

  static boolean processAlive(long pid) {
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

  /** All nodes running, each a member that is Up, and node views with exactly N Up members. */
  boolean whole() {
    for (Node n : nodes) {
      if (n.frozen || !n.alive()) return false;
      JsonNode h = getJson(n, "/api/v1/health", 1500);
      if (h == null || !"Up".equals(h.path("cluster_member").asText())) return false;
    }
    for (Node n : nodes) {
      Map<String, String> m = members(n);
      if (m == null) return false;
      if (m.size() != nodes.size() || !m.values().stream().allMatch("Up"::equals)) return false;
    }
    return true;
  }

  boolean waitWhole(int timeoutS) {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutS);
    while (System.nanoTime() < end) {
      if (whole()) return true;
      sleep(500);
    }
    return false;
  }

  /** Member address to status as node n sees them; null if n does not answer. */
  Map<String, String> members(Node n) {
    JsonNode c = getJson(n, "/api/v1/cluster", 1500);
    if (c == null || !c.has("members")) return null;
    Map<String, String> out = new LinkedHashMap<>();
    for (JsonNode m : c.get("members")) out.put(m.path("address").asText(), m.path("status").asText());
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // Stores

  void connectStores() {
    try {
      db = DriverManager.getConnection(o.dbUrl, o.dbUser, o.dbPassword);
    } catch (SQLException e) {
      throw new Fatal("cannot connect to the journal at " + o.dbUrl + ": " + e.getMessage());
    }
    try {
      redisClient = RedisClient.create(o.redisUrl);
      redis = redisClient.connect();
      redis.setTimeout(Duration.ofSeconds(2));
      redis.sync().ping();
      liveEvents = redisClient.connectPubSub();
      liveEvents.addListener(new RedisPubSubAdapter<String, String>() {
        @Override
        public void message(String channel, String message) {
          onLiveEvent(message);
        }
      });
      liveEvents.sync().subscribe(o.prefix + "events");
    } catch (RuntimeException e) {
      throw new Fatal("cannot connect to Redis at " + o.redisUrl + ": " + e.getMessage());
    }
  }

  /**
   * A transition published by a node. One published by a victim for a job that has already
   * moved away from it (and before the victim was started again) means the old process still
   * runs that job: with --mode stop, after SIGCONT.
   */
  void onLiveEvent(String message) {
    String jobId;
    String node;
    String kind;
    try {
      JsonNode m = JSON.readTree(message);
      jobId = m.path("job_id").asText(null);
      node = m.path("node").asText(null);
      kind = m.path("event").asText("?");
    } catch (IOException | RuntimeException e) {
      return;
    }
    if (jobId == null || node == null) return;
    for (Event e : events) {
      if (e.restartBeganNs == 0 && e.victim.name.equals(node) && e.resolvedS.containsKey(jobId)
          && e.mirrorReverted.add(jobId)) {
        note("event " + e.n + ": " + node + " published '" + kind + "' for job " + jobId
            + ", which had already moved away from it");
      }
    }
  }

  /** state and node of each job's mirror hash (a missing hash or field: null). */
  Map<String, String[]> readHashes(Collection<String> ids) {
    RedisAsyncCommands<String, String> async = redis.async();
    Map<String, RedisFuture<List<KeyValue<String, String>>>> pending = new LinkedHashMap<>();
    for (String id : ids) pending.put(id, async.hmget(o.prefix + "job:" + id, "state", "node"));
    Map<String, String[]> out = new HashMap<>();
    for (Map.Entry<String, RedisFuture<List<KeyValue<String, String>>>> e : pending.entrySet()) {
      try {
        List<KeyValue<String, String>> kv = e.getValue().get(3, TimeUnit.SECONDS);
        out.put(e.getKey(), new String[] {kv.get(0).getValueOrElse(null), kv.get(1).getValueOrElse(null)});
      } catch (Exception ex) {
        out.put(e.getKey(), new String[] {null, null});
      }
    }
    return out;
  }

  /** Marks accepted jobs terminal once the journal has their final event. */
  void pollTerminal() {
    Map<String, Job> open = new HashMap<>();
    for (Job j : jobs) if (j.accepted() && !j.terminal) open.put(j.id, j);
    if (open.isEmpty()) return;
    for (String id : terminalInJournal(open.keySet(), Long.MAX_VALUE)) open.get(id).terminal = true;
  }

  /**
   * The ids among these whose job has a final event (Succeeded, JobFailed, Cancelled) written
   * at or before {@code untilWallMs}.
   */
  Set<String> terminalInJournal(Collection<String> ids, long untilWallMs) {
    Set<String> out = new HashSet<>();
    if (ids.isEmpty()) return out;
    String sql = "SELECT DISTINCT persistence_id FROM event_journal WHERE persistence_id = ANY(?) AND ("
        + "event_ser_manifest LIKE '%$Succeeded' OR event_ser_manifest LIKE '%$JobFailed'"
        + " OR event_ser_manifest LIKE '%$Cancelled') AND write_timestamp <= ?";
    synchronized (this) {
      try (PreparedStatement ps = db.prepareStatement(sql)) {
        ps.setArray(1, db.createArrayOf("varchar", ids.stream().map(id -> "ReportJob|" + id).toArray()));
        ps.setLong(2, untilWallMs);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) out.add(rs.getString(1).substring("ReportJob|".length()));
        }
      } catch (SQLException e) {
        note("journal query failed: " + e.getMessage());
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // HTTP

  JsonNode getJson(Node n, String path, long timeoutMs) {
    try {
      HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + n.port + path))
          .timeout(Duration.ofMillis(timeoutMs)).GET().build();
      HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) return null;
      return JSON.readTree(r.body());
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  // ------------------------------------------------------------------------------------------
  // Load

  /**
   * Decides when the next job may be submitted. auto: the jobs come in kills + 1 equal bursts,
   * the first at the start and one just before each event (the chaos thread releases it, waits
   * until it is accepted, gives the jobs a second to start, then strikes), so that every event
   * hits a node with jobs running and queued however fast the jobs finish; max: all at once;
   * a number: that many submits per second.
   */
  final class Pacer {
    private long nextNs = System.nanoTime();
    /** auto: jobs with an index below this may be submitted. */
    private int released;

    Pacer() {
      released = o.rate.equals("auto") ? share(0) : o.jobs;
    }

    int share(int k) {
      return (int) Math.round((double) o.jobs * (k + 1) / (o.kills + 1));
    }

    synchronized void release(int upTo) {
      released = Math.max(released, Math.min(upTo, o.jobs));
      notifyAll();
    }

    synchronized int released() {
      return released;
    }

    /** Waits until job index may go; false at the deadline. */
    synchronized boolean acquire(int index) {
      while (true) {
        long now = System.nanoTime();
        if (now > deadlineNs || stopChaos) return false;
        if (index < released && now >= nextNs) {
          if (o.fixedRate > 0) nextNs = now + (long) (1e9 / o.fixedRate);
          return true;
        }
        try {
          long waitMs = index < released ? Math.max(1, TimeUnit.NANOSECONDS.toMillis(nextNs - now)) : 200;
          wait(Math.min(waitMs, 200));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false;
        }
      }
    }
  }

  void submitLoop(int offset) {
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
  int submit(Job job, int rr) {
    String body = "{\"startup\": \"Chaos-" + runId + "-" + job.index + "\"}";
    long giveUp = Math.min(deadlineNs, System.nanoTime() + TimeUnit.SECONDS.toNanos(120));
    String lastError = "";
    while (System.nanoTime() < giveUp) {
      List<Node> live = nodes.stream().filter(n -> n.available && !n.frozen).toList();
      if (live.isEmpty()) {
        sleep(200);
        continue;
      }
      Node n = live.get(Math.floorMod(rr++, live.size()));
      HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + n.port + "/api/v1/jobs"))
          .timeout(Duration.ofSeconds(10))
          .header("Content-Type", "application/json")
          .header("Idempotency-Key", job.key)
          .POST(HttpRequest.BodyPublishers.ofString(body))
          .build();
      submitsSent.incrementAndGet();
      HttpResponse<String> r;
      try {
        r = http.send(req, HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        lastError = e.getClass().getSimpleName();
        countError(n.name + " " + lastError);
        sleep(100);
        continue;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      int s = r.statusCode();
      if (s == 202 || s == 200) {
        String id = null;
        try {
          id = JSON.readTree(r.body()).path("job_id").asText(null);
        } catch (IOException ignored) {
          // keep the computed id
        }
        if (id != null && !id.equals(job.id)) {
          note("job " + job.index + ": node answered id " + id + ", expected " + job.id + " (using the node's)");
          job.id = id;
        }
        job.acceptedBy = n.name;
        job.outcome = s;
        return rr;
      }
      lastError = "HTTP " + s;
      countError(n.name + " HTTP " + s + errorCode(r.body()));
      if (s == 503) {
        shed.incrementAndGet();
        long wait = r.headers().firstValue("Retry-After").map(v -> {
          try {
            return (long) (Double.parseDouble(v) * 1000);
          } catch (NumberFormatException e) {
            return 1000L;
          }
        }).orElse(1000L);
        sleep(Math.max(100, Math.min(wait, 5000)));
        continue;
      }
      if (s >= 400 && s < 500) break; // the request itself is wrong: retrying will not help
      sleep(200);
    }
    note("job " + job.index + " was not accepted (last: " + lastError + ")");
    job.outcome = -1;
    return rr;
  }

  void countError(String kind) {
    submitErrors.incrementAndGet();
    errorKinds.computeIfAbsent(kind, k -> new AtomicInteger()).incrementAndGet();
  }

  static String errorCode(String body) {
    try {
      String e = JSON.readTree(body).path("error").asText("");
      return e.isEmpty() ? "" : " " + e;
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }

  // ------------------------------------------------------------------------------------------
  // Call counters

  void sampleLoop() {
    while (!stopChaos && !Thread.currentThread().isInterrupted()) {
      for (Node n : nodes) if (!n.frozen) sample(n, false);
      sleep(1000);
    }
  }

  /** Reads calls_started of n's current process; a new process starts a new incarnation. */
  void sample(Node n, boolean atStart) {
    long pid = n.pid();
    if (!processAlive(pid) || n.frozen) return;
    JsonNode s = getJson(n, "/api/v1/node/stats", 1500);
    if (s == null || !s.has("calls_started")) return;
    long v = s.get("calls_started").asLong();
    synchronized (n) {
      if (pid != n.incarnationPid) {
        if (n.incarnationPid > 0) n.accumulated += n.last - n.baseline;
        n.incarnationPid = pid;
        // A process that ran before this run: only its calls from now on count.
        n.baseline = atStart ? v : 0;
        n.last = n.baseline;
      }
      n.last = Math.max(n.last, v);
    }
  }

  long callsTotal() {
    return nodes.stream().mapToLong(Node::callsSoFar).sum();
  }

  // ------------------------------------------------------------------------------------------
  // Chaos

  void chaosLoop() {
    try {
      chaosEvents();
    } finally {
      // Whatever stopped the events, the rest of the load goes.
      pacer.release(o.jobs);
    }
  }

  /**
   * auto rate: lets burst k go, waits until half of it is accepted (at most 10 s) and gives
   * those jobs half a second to start; the rest of the burst is submitted during the event.
   */
  void releaseBurst(int k) {
    int from = pacer.released();
    int upTo = pacer.share(k);
    pacer.release(upTo);
    long end = System.nanoTime() + 10_000_000_000L;
    while (System.nanoTime() < end && !stopChaos) {
      int answered = 0;
      for (int i = from; i < upTo; i++) if (jobs[i].outcome != 0) answered++;
      if (answered * 2 >= upTo - from) break;
      sleep(50);
    }
    sleep(500);
  }

  void chaosEvents() {
    long nextAt = loadStartNs + TimeUnit.SECONDS.toNanos(o.intervalS);
    while (events.size() < o.kills && !loadFinished && !stopChaos) {
      while (System.nanoTime() < nextAt && !loadFinished && !stopChaos) sleep(200);
      if (loadFinished || stopChaos) break;
      long waitFrom = System.nanoTime();
      boolean warned = false;
      while (!whole() && !loadFinished && !stopChaos) {
        if (!warned && System.nanoTime() - waitFrom > 5e9) {
          note("event " + (events.size() + 1) + " waits for the cluster to be whole again");
          warned = true;
        }
        if (System.nanoTime() - waitFrom > 180e9) {
          note("the cluster did not become whole within 180 s: no more events");
          return;
        }
        sleep(500);
      }
      if (loadFinished || stopChaos) break;
      List<Node> candidates = nodes.stream().filter(n -> n.available && n.alive()).toList();
      // Never leave fewer than 2 up (keep-majority of 3 needs 2).
      if (candidates.size() - 1 < 2) {
        sleep(1000);
        continue;
      }
      Node victim = candidates.get(random.nextInt(candidates.size()));
      Event e = new Event(events.size() + 1, victim);
      if (o.rate.equals("auto")) releaseBurst(e.n);
      runEvent(e);
      // After a restart, give the node one rebalance interval (10 s) to take shards back, so
      // that it carries jobs again when it is picked next.
      nextAt = Math.max(e.signalNs + TimeUnit.SECONDS.toNanos(o.intervalS), System.nanoTime() + 10_000_000_000L);
    }
  }

  void runEvent(Event e) {
    Node v = e.victim;
    sample(v, false);
    v.available = false;
    e.pid = v.pid();
    // Unfinished jobs whose mirror names the victim, just before the signal.
    List<String> candidates = java.util.Arrays.stream(jobs).filter(j -> j.accepted() && !j.terminal)
        .map(j -> j.id).toList();
    Map<String, String[]> hashes = readHashes(candidates);
    Set<String> onVictim = new LinkedHashSet<>();
    hashes.forEach((id, h) -> {
      if (v.name.equals(h[1]) && (h[0] == null || !TERMINAL.contains(h[0]))) onVictim.add(id);
    });
    String sig = switch (o.mode) {
      case "kill" -> "KILL";
      case "stop" -> "STOP";
      default -> "TERM";
    };
    // The calls the victim started so far (a killed process takes its counter along).
    sample(v, false);
    synchronized (v) {
      e.callsAtSignal = v.last;
    }
    if (sig.equals("STOP")) v.frozen = true;
    // What `ops/cluster node-signal` does, without a shell in between: the signal lands within
    // a few milliseconds of the snapshot above.
    int rc = signal(e.pid, sig);
    e.signalNs = System.nanoTime();
    e.signalWallMs = System.currentTimeMillis();
    // A job the journal already had as finished at the signal was not on the victim any more,
    // whatever its mirror said (the last mirror write may still have been on its way).
    Set<String> finished = terminalInJournal(onVictim, e.signalWallMs);
    onVictim.removeAll(finished);
    e.finishedBeforeSignal = finished.size();
    e.onVictim = onVictim;
    events.add(e);
    note(String.format(Locale.ROOT, "event %d: SIG%s %s (pid %d), %d unfinished job(s) on it%s%s", e.n, sig, v.name,
        e.pid, onVictim.size(), e.finishedBeforeSignal == 0 ? "" : " (+" + e.finishedBeforeSignal
            + " its mirror still showed running, already finished in the journal)",
        rc == 0 ? "" : " (kill exit " + rc + ")"));
    Thread watcher = start("watch-" + e.n, () -> watch(e));

    Node witness = nodes.stream().filter(n -> n != v && n.available).findFirst().orElse(null);
    switch (o.mode) {
      case "kill" -> waitMembership(e, witness, 60);
      case "stop" -> {
        long contAt = e.signalNs + TimeUnit.SECONDS.toNanos(o.pauseS);
        while (System.nanoTime() < contAt) {
          observeMembership(e, witness);
          sleep(250);
        }
        signal(e.pid, "CONT");
        e.contS = e.since(System.nanoTime());
        e.contWallMs = System.currentTimeMillis();
        v.frozen = false;
        note(String.format(Locale.ROOT, "event %d: SIGCONT %s after %.1f s (downed: %s, removed: %s)", e.n, v.name,
            e.contS, fmtS(e.downS), fmtS(e.removedS)));
        if (Double.isNaN(e.downS)) {
          e.notes.add("the cluster had not downed the frozen node when it was continued");
        }
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
      e.notes.add(v.name + " still running " + (o.mode.equals("stop") ? "60 s after SIGCONT" : "90 s after SIGTERM")
          + ": sent SIGKILL");
      note("event " + e.n + ": " + e.notes.get(e.notes.size() - 1));
      sample(v, false);
      signal(v.pid(), "KILL");
      for (int k = 0; k < 20 && v.alive(); k++) sleep(250);
    }
    // The node also publishes its counter to Redis every second, also while it leaves and its
    // HTTP server is already gone: take that figure if it is higher.
    try {
      String published = redis.sync().hget(o.prefix + "node:" + v.name, "calls_started");
      if (published != null) {
        synchronized (v) {
          if (v.incarnationPid == e.pid) v.last = Math.max(v.last, Long.parseLong(published.trim()));
        }
      }
    } catch (RuntimeException ignored) {
      // the HTTP samples stand
    }
    synchronized (v) {
      if (v.incarnationPid == e.pid) e.callsAfterSignal = v.last - e.callsAtSignal;
    }
    // ops/cluster sees a process as running while `kill -0` succeeds, which includes an exited
    // process its parent has not reaped yet: node-start would then refuse to start the node.
    for (int k = 0; k < 100 && Files.exists(Path.of("/proc/" + e.pid)); k++) sleep(100);
    e.restartBeganNs = System.nanoTime();
    int startRc = -1;
    for (int attempt = 1; attempt <= 3 && startRc != 0; attempt++) {
      startRc = script(240, "node-start", Integer.toString(v.i));
      if (startRc != 0) {
        e.notes.add("node-start " + v.i + " failed (exit " + startRc + "), attempt " + attempt);
        note("event " + e.n + ": node-start failed (exit " + startRc + "); see .cluster/" + v.name + ".log");
        sleep(3000);
      }
    }
    e.restartedS = e.since(System.nanoTime());
    boolean whole = waitWhole(180);
    e.wholeS = e.since(System.nanoTime());
    v.available = true;
    sample(v, false);
    note(String.format(Locale.ROOT, "event %d: %s started again at +%.1f s, cluster whole at %s", e.n, v.name,
        e.restartedS, whole ? fmtS(e.wholeS) : "never (180 s)"));
    join(watcher, TimeUnit.SECONDS.toMillis(o.failoverTimeoutS) + 5000, "the failover watcher");
  }

  /** Waits for the victim to be downed and removed, as a survivor sees it. */
  void waitMembership(Event e, Node witness, int timeoutS) {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutS);
    while (Double.isNaN(e.removedS) && System.nanoTime() < end) {
      observeMembership(e, witness);
      if (!Double.isNaN(e.removedS)) break;
      sleep(250);
    }
    if (Double.isNaN(e.removedS)) {
      e.notes.add(e.victim.name + " not removed from the cluster within " + timeoutS + " s of waiting");
    } else if (o.mode.equals("kill")) {
      note(String.format(Locale.ROOT, "event %d: %s downed at +%s, removed at +%s", e.n, e.victim.name, fmtS(e.downS),
          fmtS(e.removedS)));
    }
  }

  void observeMembership(Event e, Node witness) {
    if (witness == null || !Double.isNaN(e.removedS)) return;
    Map<String, String> m = members(witness);
    if (m == null) return;
    String st = m.get(e.victim.address);
    double now = e.since(System.nanoTime());
    if ((st == null || st.equals("Down")) && Double.isNaN(e.downS)) e.downS = now;
    if (st == null) e.removedS = now;
  }

  void waitExit(Event e, int timeoutS) {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutS);
    while (processAlive(e.pid) && System.nanoTime() < end) {
      if (o.mode.equals("term")) observeMembership(e, nodes.stream().filter(n -> n != e.victim).findFirst().get());
      sample(e.victim, false);
      sleep(200);
    }
    if (!processAlive(e.pid)) {
      e.exitedS = e.since(System.nanoTime());
      note(String.format(Locale.ROOT, "event %d: %s exited by itself at +%.1f s", e.n, e.victim.name, e.exitedS));
    }
  }

  /** Failover of one event: every job of the victim shows another node or a terminal state. */
  void watch(Event e) {
    Set<String> open = new HashSet<>(e.onVictim);
    long end = e.signalNs + TimeUnit.SECONDS.toNanos(o.failoverTimeoutS);
    while (!open.isEmpty() && System.nanoTime() < end && !stopChaos) {
      long tick = System.nanoTime();
      Map<String, String[]> h = readHashes(open);
      double at = e.since(System.nanoTime());
      for (Map.Entry<String, String[]> x : h.entrySet()) {
        String st = x.getValue()[0];
        String node = x.getValue()[1];
        if ((st != null && TERMINAL.contains(st)) || (node != null && !node.isEmpty() && !node.equals(e.victim.name))) {
          e.resolvedS.put(x.getKey(), at);
          open.remove(x.getKey());
        }
      }
      sleep(Math.max(1, 200 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - tick)));
    }
    e.unresolved = open.size();
    if (!e.onVictim.isEmpty()) {
      if (open.isEmpty()) {
        e.failoverS = e.resolvedS.values().stream().mapToDouble(Double::doubleValue).max().orElse(0);
        note(String.format(Locale.ROOT, "event %d: failover %.2f s (%d job(s) of %s elsewhere or finished)", e.n,
            e.failoverS, e.onVictim.size(), e.victim.name));
      } else {
        note("event " + e.n + ": " + open.size() + " job(s) still on " + e.victim.name + " after "
            + o.failoverTimeoutS + " s");
      }
    } else {
      note("event " + e.n + ": no unfinished job was on " + e.victim.name + ": failover not measured");
    }
    // Until the victim starts again, a moved job's hash must never name it again: that would
    // be the old process still running the job (stop mode: after SIGCONT).
    while (e.restartBeganNs == 0 && !stopChaos) {
      List<String> moved = e.resolvedS.keySet().stream().filter(id -> !e.mirrorReverted.contains(id)).toList();
      if (moved.isEmpty()) break;
      Map<String, String[]> h = readHashes(moved);
      h.forEach((id, x) -> {
        if (e.restartBeganNs == 0 && e.victim.name.equals(x[1]) && (x[0] == null || !TERMINAL.contains(x[0]))) {
          e.mirrorReverted.add(id);
          note("event " + e.n + ": job " + id + " moved away from " + e.victim.name + " but its mirror names "
              + e.victim.name + " again (state " + x[0] + ")");
        }
      });
      sleep(100);
    }
    e.watchDone = true;
  }

  // ------------------------------------------------------------------------------------------
  // Verification against the journal

  static final class JobFacts {
    int submitted;
    int stepCount = -1;
    final List<Integer> steps = new ArrayList<>();
    int attemptFailed;
    int succeeded;
    int failed;
    int cancelled;
    boolean undecodable;
    final List<String> writers = new ArrayList<>();
    final List<Long> times = new ArrayList<>();
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
    int undecodable;
  }

  Verdict verify() {
    Verdict v = new Verdict();
    Map<String, Job> byPid = new LinkedHashMap<>();
    for (Job j : jobs) byPid.put("ReportJob|" + j.id, j);
    Map<String, JobFacts> facts = new HashMap<>();
    String sql = "SELECT persistence_id, sequence_number, writer, write_timestamp, event_ser_manifest, event_payload"
        + " FROM event_journal WHERE persistence_id = ANY(?) ORDER BY persistence_id, sequence_number";
    synchronized (this) {
      try (PreparedStatement ps = db.prepareStatement(sql)) {
        ps.setArray(1, db.createArrayOf("varchar", byPid.keySet().toArray()));
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            JobFacts f = facts.computeIfAbsent(rs.getString(1), k -> new JobFacts());
            String manifest = rs.getString(5);
            String kind = manifest.substring(manifest.lastIndexOf('$') + 1);
            f.writers.add(rs.getString(3));
            f.times.add(rs.getLong(4));
            JsonNode payload = null;
            if (kind.equals("Submitted") || kind.equals("StepCompleted")) {
              try {
                payload = CBOR.readTree(rs.getBytes(6));
              } catch (IOException ex) {
                f.undecodable = true;
              }
            }
            switch (kind) {
              case "Submitted" -> {
                f.submitted++;
                if (payload != null && payload.path("steps").isArray()) f.stepCount = payload.path("steps").size();
              }
              case "StepCompleted" -> f.steps.add(payload == null ? -1 : payload.path("step").asInt(-1));
              case "AttemptFailed" -> f.attemptFailed++;
              case "Succeeded" -> f.succeeded++;
              case "JobFailed" -> f.failed++;
              case "Cancelled" -> f.cancelled++;
              default -> { }
            }
          }
        }
        // Everything the cluster recorded during the run (any job, also those of unanswered
        // submits), to set against the calls the nodes started.
        try (PreparedStatement agg = db.prepareStatement("SELECT"
            + " count(*) FILTER (WHERE event_ser_manifest LIKE '%$StepCompleted'),"
            + " count(*) FILTER (WHERE event_ser_manifest LIKE '%$AttemptFailed')"
            + " FROM event_journal WHERE persistence_id LIKE 'ReportJob|%' AND write_timestamp >= ?")) {
          agg.setLong(1, o.useRunning ? loadStartWallMs : 0L);
          try (ResultSet rs = agg.executeQuery()) {
            rs.next();
            v.stepCompletedInRun = rs.getLong(1);
            v.attemptFailedInRun = rs.getLong(2);
          }
        }
      } catch (SQLException e) {
        throw new Fatal("journal check failed: " + e.getMessage());
      }
    }
    v.calls = callsTotal();

    for (Map.Entry<String, Job> x : byPid.entrySet()) {
      Job j = x.getValue();
      JobFacts f = facts.get(x.getKey());
      if (!j.accepted()) {
        v.submitFailed++;
        if (f != null && f.submitted > 0) v.unansweredButInJournal++;
        continue;
      }
      if (j.outcome == 202) v.accepted++;
      else v.acceptedOnRetry++;
      if (f == null || f.submitted == 0) {
        v.lost.add(j.id);
        v.lostNoSubmitted.add(j.id);
        continue;
      }
      if (f.undecodable) v.undecodable++;
      if (f.succeeded == 1) v.succeeded++;
      if (f.failed > 0) v.failed++;
      if (f.cancelled > 0) v.revoked++;
      if (f.succeeded + f.failed + f.cancelled == 0) v.lost.add(j.id);
      int maxSteps = f.stepCount > 0 ? f.stepCount : 5;
      Set<Integer> seen = new HashSet<>();
      boolean dupStep = false;
      for (int s : f.steps) if (s >= 0 && !seen.add(s)) dupStep = true;
      if (f.succeeded > 1 || f.steps.size() > maxSteps || dupStep || f.succeeded + f.failed + f.cancelled > 1) {
        v.twice.add(j.id + " (" + f.succeeded + " Succeeded, StepCompleted steps " + f.steps + ")");
      }
      // Incarnations of a job must follow one another: a writer that comes back after another
      // one wrote means two live copies of the entity at once.
      List<String> order = new ArrayList<>();
      for (String w : f.writers) {
        if (order.isEmpty() || !order.get(order.size() - 1).equals(w)) order.add(w);
      }
      if (new HashSet<>(order).size() != order.size()) v.interleaved.add(j.id + " writers " + order);
    }
    checkMirror(v, facts);
    // Stop mode: after SIGCONT, the frozen process must not write for a job that moved.
    for (Event e : events) {
      if (e.contWallMs == 0) continue;
      for (String id : e.onVictim) {
        JobFacts f = facts.get("ReportJob|" + id);
        if (f == null) continue;
        String before = null;
        for (int k = 0; k < f.times.size(); k++) if (f.times.get(k) <= e.signalWallMs) before = f.writers.get(k);
        for (int k = 0; k < f.times.size(); k++) {
          if (before != null && f.writers.get(k).equals(before) && f.times.get(k) > e.contWallMs) {
            v.zombieWrites.add("event " + e.n + " job " + id + " seq " + (k + 1));
          }
        }
      }
    }
    return v;
  }

  /**
   * The status mirror must end where the journal ends: a finished job's hash shows its final
   * state (clients read it: GET /api/v1/jobs/{id} answers from the mirror when it has the job).
   */
  void checkMirror(Verdict v, Map<String, JobFacts> facts) {
    Map<String, String> expected = new HashMap<>();
    for (Job j : jobs) {
      JobFacts f = facts.get("ReportJob|" + j.id);
      if (!j.accepted() || f == null) continue;
      String want = f.succeeded > 0 ? "SUCCESS" : f.failed > 0 ? "FAILURE" : f.cancelled > 0 ? "REVOKED" : null;
      if (want != null) expected.put(j.id, want);
    }
    Map<String, String[]> seen = new HashMap<>();
    for (int round = 0; round < 3; round++) {
      seen.clear();
      readHashes(expected.keySet()).forEach((id, h) -> {
        if (!expected.get(id).equals(h[0])) seen.put(id, h);
      });
      if (seen.isEmpty()) break;
      sleep(2000); // the last transitions may still be on their way
    }
    seen.forEach((id, h) -> v.mirrorStale.add(id + " journal " + expected.get(id) + ", mirror " + h[0] + " on " + h[1]));
    if (!seen.isEmpty()) {
      String id = seen.keySet().iterator().next();
      Node n = nodes.stream().filter(x -> x.available && x.alive()).findFirst().orElse(null);
      JsonNode view = n == null ? null : getJson(n, "/api/v1/jobs/" + id, 3000);
      v.apiSample = "GET /api/v1/jobs/" + id + " on " + (n == null ? "-" : n.name) + " answers state "
          + (view == null ? "(no answer)" : view.path("state").asText() + ", node " + view.path("node").asText())
          + " (journal: " + expected.get(id) + ")";
    }
  }

  // ------------------------------------------------------------------------------------------
  // Output

  int printSummary(Verdict v, long loadEndNs) {
    List<Double> counted = new ArrayList<>();
    List<String> each = new ArrayList<>();
    List<String> jobsEach = new ArrayList<>();
    List<String> downEach = new ArrayList<>();
    List<String> restartEach = new ArrayList<>();
    int timeouts = 0;
    int reverted = 0;
    for (Event e : events) {
      jobsEach.add(Integer.toString(e.onVictim.size()));
      downEach.add(fmtS(e.downS) + "/" + fmtS(e.removedS));
      restartEach.add(fmtS(e.wholeS));
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
    List<Double> sorted = counted.stream().sorted().toList();
    String median = sorted.isEmpty() ? "n/a" : String.format(Locale.ROOT, "%.2f", median(sorted));
    String max = sorted.isEmpty() ? "n/a" : String.format(Locale.ROOT, "%.2f", sorted.get(sorted.size() - 1));
    long rerun = v.calls - v.stepCompletedInRun - v.attemptFailedInRun;

    LogScan logs = scanLogs();

    if (!errorKinds.isEmpty()) {
      note("submit errors by node and kind: " + errorKinds.entrySet().stream().sorted(Map.Entry.comparingByKey())
          .map(x -> x.getKey() + "=" + x.getValue()).collect(Collectors.joining(", ")));
    }
    for (Event e : events) for (String n : e.notes) note("event " + e.n + ": " + n);
    report("lost job", v.lost);
    report("job recorded twice", v.twice);
    report("job written by two incarnations at once", v.interleaved);
    report("write after SIGCONT by the frozen node", v.zombieWrites);
    report("mirror disagrees with the journal", v.mirrorStale);
    if (!v.apiSample.isEmpty()) note(v.apiSample);
    for (String s : logs.samples) note("node log: " + s);

    var out = System.out;
    out.println("mode: " + o.mode);
    out.println("nodes: " + nodes.size());
    out.println("latency: " + o.latency);
    out.println("jobs: " + o.jobs);
    out.println("accepted: " + v.accepted);
    out.println("accepted_on_retry: " + v.acceptedOnRetry);
    out.println("submit_failed: " + v.submitFailed);
    out.println("submit_errors: " + submitErrors.get());
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
    out.println("steps_rerun_how: calls_started " + v.calls + " - StepCompleted " + v.stepCompletedInRun
        + " - AttemptFailed " + v.attemptFailedInRun + " = " + rerun + " (calls_started summed over every node"
        + " process, sampled every second and just before each signal: a lower bound)");
    out.println("attempts_failed: " + v.attemptFailedInRun);
    out.println("kills: " + events.size());
    out.println("kills_measured: " + counted.size());
    out.println("failover_s_median: " + median);
    out.println("failover_s_max: " + max);
    out.println("failover_s_each: " + (each.isEmpty() ? "n/a" : String.join(",", each)));
    out.println("failover_jobs_each: " + (jobsEach.isEmpty() ? "n/a" : String.join(",", jobsEach)));
    out.println("failover_timeouts: " + timeouts);
    out.println("downed_removed_s_each: " + (downEach.isEmpty() ? "n/a" : String.join(",", downEach)));
    out.println("calls_after_signal_each: " + (events.isEmpty() ? "n/a" : events.stream()
        .map(e -> e.callsAfterSignal < 0 ? "?" : Long.toString(e.callsAfterSignal)).collect(Collectors.joining(","))));
    out.println("whole_again_s_each: " + (restartEach.isEmpty() ? "n/a" : String.join(",", restartEach)));
    out.println("unanswered_submits_in_journal: " + v.unansweredButInJournal);
    out.println("node_log_errors: " + logs.errors);
    out.println("node_log_warnings: " + logs.warnings);
    out.println("elapsed_s: " + String.format(Locale.ROOT, "%.1f", (loadEndNs - loadStartNs) / 1e9));
    out.flush();
    return v.lost.isEmpty() && v.twice.isEmpty() ? 0 : 1;
  }

  void report(String what, List<String> items) {
    int shown = 0;
    for (String s : items) {
      if (shown++ == 10) {
        note("... and " + (items.size() - 10) + " more");
        break;
      }
      note(what + ": " + s);
    }
  }

  static double median(List<Double> sorted) {
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  static String fmtS(double s) {
    return Double.isNaN(s) ? "-" : String.format(Locale.ROOT, "%.1f", s);
  }

  void progress() {
    long submitted = java.util.Arrays.stream(jobs).filter(j -> j.outcome != 0).count();
    long accepted = java.util.Arrays.stream(jobs).filter(Job::accepted).count();
    long terminal = java.util.Arrays.stream(jobs).filter(j -> j.terminal).count();
    long up = nodes.stream().filter(n -> n.available).count();
    note(String.format(Locale.ROOT, "submitted %d/%d (accepted %d), finished %d, nodes up %d/%d, events %d/%d, calls %d",
        submitted, o.jobs, accepted, terminal, up, nodes.size(), events.size(), o.kills, callsTotal()));
  }

  void note(String s) {
    double t = loadStartNs == 0 ? 0 : (System.nanoTime() - loadStartNs) / 1e9;
    synchronized (System.err) {
      System.err.println(String.format(Locale.ROOT, "[chaos %6.1fs] ", t) + s);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Node logs

  static final class LogScan {
    int errors;
    int warnings;
    final List<String> samples = new ArrayList<>();
  }

  void rememberLogOffsets() {
    for (Node n : nodes) {
      Path p = state.resolve(n.name + ".log");
      try {
        logOffsets.put(p, Files.exists(p) ? Files.size(p) : 0L);
      } catch (IOException e) {
        logOffsets.put(p, 0L);
      }
    }
  }

  /** ERROR and WARN lines the nodes logged during the run; a few distinct ones as samples. */
  LogScan scanLogs() {
    LogScan scan = new LogScan();
    Map<String, Integer> distinct = new LinkedHashMap<>();
    for (Map.Entry<Path, Long> x : logOffsets.entrySet()) {
      Path p = x.getKey();
      if (!Files.exists(p)) continue;
      try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "r")) {
        long from = x.getValue() <= f.length() ? x.getValue() : 0;
        f.seek(from);
        byte[] buf = new byte[(int) Math.min(f.length() - from, 64L << 20)];
        f.readFully(buf);
        for (String line : new String(buf, StandardCharsets.UTF_8).split("\n")) {
          boolean err = line.contains(" ERROR ");
          boolean warn = line.contains(" WARN ");
          if (!err && !warn) continue;
          if (err) scan.errors++;
          else scan.warnings++;
          // Group by message shape: drop the time, ids and numbers.
          String shape = line.length() > 13 ? line.substring(13) : line;
          shape = shape.replaceAll("[0-9a-f]{8}-[0-9a-f-]{27}", "<id>").replaceAll("\\d+", "N");
          if (shape.length() > 150) shape = shape.substring(0, 150);
          distinct.merge(p.getFileName() + ": " + shape, 1, Integer::sum);
        }
      } catch (IOException e) {
        scan.samples.add("cannot read " + p + ": " + e.getMessage());
      }
    }
    distinct.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue()).limit(15)
        .forEach(x -> scan.samples.add(x.getValue() + "x " + x.getKey()));
    return scan;
  }

  // ------------------------------------------------------------------------------------------
  // Helpers

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  void join(Thread t, long ms, String what) {
    try {
      t.join(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (t.isAlive()) note(what + " did not finish within " + ms / 1000 + " s");
  }
}
