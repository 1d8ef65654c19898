package io.reportcluster.tools.chaos;

import io.reportcluster.tools.cli.Cli;
import io.reportcluster.tools.cli.CommandLine;
import io.reportcluster.tools.cli.UsageException;
import java.nio.file.Path;
import java.util.Set;

/** The options of {@code ops/chaos}, and its help. */
final class ChaosOptions implements Cli.Options {
  static final Cli.Usage USAGE =
      new Cli.Usage(
          "chaos",
          "ops/chaos --help",
          String.join(
              "\n",
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
              ""));

  Path repo = Path.of(System.getProperty("user.dir"));
  boolean useRunning;
  boolean keepUp;
  int nodes = 3;
  String latency = "200ms";
  int jobs = 300;
  int concurrency = 8;
  String rate = "auto";

  /** Jobs per second when --rate is a number. */
  double fixedRate;

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

  @Override
  public boolean help() {
    return help;
  }

  static ChaosOptions parse(String[] argv) throws UsageException {
    ChaosOptions o = new ChaosOptions();
    CommandLine args = new CommandLine(argv);
    while (args.next()) {
      switch (args.flag()) {
        case "--help", "-h" -> o.help = true;
        case "--use-running" -> o.useRunning = true;
        case "--keep-up" -> o.keepUp = true;
        case "--repo" -> o.repo = Path.of(args.value()).toAbsolutePath().normalize();
        case "--nodes" -> o.nodes = args.intValue(3);
        case "--latency" -> o.latency = args.value();
        case "--jobs" -> o.jobs = args.intValue(1);
        case "--concurrency" -> o.concurrency = args.intValue(1);
        case "--rate" -> {
          o.rate = args.value();
          if (!o.rate.equals("auto") && !o.rate.equals("max")) {
            try {
              o.fixedRate = Double.parseDouble(o.rate);
            } catch (NumberFormatException e) {
              throw new UsageException("--rate takes auto, max or a number of submits per second");
            }
            if (!(o.fixedRate > 0)) throw new UsageException("--rate must be positive");
          }
        }
        case "--deadline" -> o.deadlineS = args.intValue(1);
        case "--mode" -> {
          o.mode = args.value();
          if (!Set.of("kill", "stop", "term").contains(o.mode)) {
            throw new UsageException("--mode is kill, stop or term, not '" + o.mode + "'");
          }
        }
        case "--kills" -> o.kills = args.intValue(0);
        case "--interval" -> o.intervalS = args.intValue(1);
        case "--pause" -> o.pauseS = args.intValue(1);
        case "--failover-timeout" -> o.failoverTimeoutS = args.intValue(1);
        case "--seed" -> {
          try {
            o.seed = Long.parseLong(args.value());
          } catch (NumberFormatException e) {
            throw new UsageException("--seed needs a whole number");
          }
        }
        case "--db-url" -> o.dbUrl = args.value();
        case "--db-user" -> o.dbUser = args.value();
        case "--db-password" -> o.dbPassword = args.value();
        case "--redis-url" -> o.redisUrl = args.value();
        case "--prefix" -> o.prefix = args.value();
        default -> throw args.unknown();
      }
    }
    if (o.nodes > 9) throw new UsageException("--nodes must be 3..9");
    return o;
  }

  /** The node profile ops/cluster starts its nodes with: the journal is read with its settings. */
  Path clusterProfile() {
    return repo.resolve("config/local-cluster.conf");
  }

  private static String env(String name, String dflt) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? dflt : v;
  }
}
