package io.reportcluster.tools.loadgen;

import io.reportcluster.tools.cli.Cli;
import io.reportcluster.tools.cli.CommandLine;
import io.reportcluster.tools.cli.UsageException;
import java.net.URI;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** The options of {@code ops/loadgen}, and its help. */
final class LoadGenOptions implements Cli.Options {
  static final Cli.Usage USAGE =
      new Cli.Usage(
          "loadgen",
          "loadgen --help",
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
              "  --rate R              paced submits: job i is sent no earlier than i / R seconds",
              "                        after the start (default: as fast as the clients go; a",
              "                        late submit goes at once, so the rate is a ceiling)",
              "  --deadline SECONDS    overall time limit from the first submit (default 600)",
              "  --poll-interval MS    time between two polls of the same job (default 500)",
              "  --startup PREFIX      startup name prefix; job i is PREFIX-i (default Startup)",
              "  --provider NAME       the provider entry every job uses (default: the node's default)",
              "  --providers A,B,...   instead, the provider entries every job may use, in order:",
              "                        the node falls back to the next when one refuses or fails",
              "  --job-ids FILE        write the id of every accepted job to FILE, one a line, in",
              "                        submit order (to read their views afterwards)",
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
              ""));

  String url = "http://127.0.0.1:8080";
  int jobs = 30;
  int concurrency = 4;

  /** Submits per second (--rate); 0: not paced. */
  double rate;

  int deadlineSeconds = 600;
  int pollIntervalMs = 500;
  String startup = "Startup";

  /** The provider entry every job names; null: the node's default. */
  String provider;

  /** The fallback chain every job names instead (--providers); null: none. */
  List<String> providers;

  /** Where to write the accepted jobs' ids (--job-ids); null: nowhere. */
  Path jobIdsFile;

  boolean submitOnly;
  boolean seedApi;
  boolean quiet;
  boolean help;

  @Override
  public boolean help() {
    return help;
  }

  static LoadGenOptions parse(String[] argv) throws UsageException {
    LoadGenOptions o = new LoadGenOptions();
    CommandLine args = new CommandLine(argv);
    while (args.next()) {
      switch (args.flag()) {
        case "--help", "-h" -> o.help = true;
        case "--submit-only" -> o.submitOnly = true;
        case "--seed-api" -> o.seedApi = true;
        case "--quiet" -> o.quiet = true;
        case "--url" -> o.url = args.value();
        case "--jobs" -> o.jobs = args.intValue(1);
        case "--concurrency" -> o.concurrency = args.intValue(1);
        case "--rate" -> o.rate = args.doubleValue(0.001, 1_000_000);
        case "--deadline" -> o.deadlineSeconds = args.intValue(1);
        case "--poll-interval" -> o.pollIntervalMs = args.intValue(1);
        case "--startup" -> o.startup = args.value();
        case "--provider" -> o.provider = args.value();
        case "--providers" -> o.providers = names(args.value());
        case "--job-ids" -> o.jobIdsFile = Path.of(args.value());
        default -> throw args.unknown();
      }
    }
    if (o.help) return o;
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
    if (o.startup.isEmpty()) throw new UsageException("--startup must not be empty");
    if (o.providers != null && o.provider != null) {
      throw new UsageException("give --provider or --providers, not both");
    }
    if (o.providers != null && o.providers.isEmpty()) {
      throw new UsageException("--providers needs at least one name");
    }
    return o;
  }

  private static List<String> names(String list) {
    return Arrays.stream(list.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
  }

  /** Where jobs are submitted. */
  URI submitUri() {
    return URI.create(url + (seedApi ? "/generate" : "/api/v1/jobs"));
  }

  /** Where job {@code id} is polled. */
  URI statusUri(String pathSegment) {
    return URI.create(url + (seedApi ? "/status/" : "/api/v1/jobs/") + pathSegment);
  }
}
