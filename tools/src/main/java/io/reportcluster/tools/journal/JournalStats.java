package io.reportcluster.tools.journal;

import io.reportcluster.node.job.ReportJob;
import io.reportcluster.tools.cli.Cli;
import io.reportcluster.tools.cli.CommandLine;
import io.reportcluster.tools.cli.UsageException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalLong;

/**
 * {@code journal-stats}: what a journal holds, as {@code key: value} lines the benchmarks read
 * (ops/bench): how many jobs were submitted and succeeded, and the write times of the first
 * Submitted and the last Succeeded, so a run is timed by the journal itself.
 */
public final class JournalStats {
  static final Cli.Usage USAGE =
      new Cli.Usage(
          "journal-stats",
          "journal-stats --help",
          String.join(
              "\n",
              "Usage: journal-stats --config FILE [--db-url URL] [--db-user U] [--db-password P]",
              "                     [--since-ms MS] [--submitted-only]",
              "",
              "Reads every job's events from a node's journal (typed events, through",
              "pekko-persistence-query) and prints, as 'key: value' lines:",
              "  jobs                  jobs in the journal",
              "  submitted, succeeded, failed, cancelled   events of each kind",
              "  first_submitted_ms    write time of the first Submitted (epoch ms)",
              "  last_succeeded_ms     write time of the last Succeeded (epoch ms)",
              "  span_s                last_succeeded_ms - first_submitted_ms, in seconds",
              "  input_tokens, output_tokens, cost_usd   what the completed steps' answers used",
              "A time with no such event is n/a.",
              "",
              "Options:",
              "  --config FILE         the node profile the nodes ran with (config/*.conf): the journal",
              "                        is read with its persistence and serialization settings",
              "  --db-url URL          the journal database, instead of the profile's (as REPORTS_DB_URL)",
              "  --db-user U, --db-password P",
              "  --since-ms MS         count only events written at or after MS (epoch ms)",
              "  --submitted-only      read each job's first event only (its Submitted): fast on a large",
              "                        journal; succeeded, failed, cancelled and the last time are n/a",
              "  --help                print this help",
              "",
              "Exit status: 0; 2 for bad options; 3 when the journal cannot be read.",
              ""));

  static final class Options implements Cli.Options {
    Path config;
    String url;
    String user;
    String password;
    long sinceMs = Long.MIN_VALUE;
    boolean submittedOnly;
    boolean help;

    @Override
    public boolean help() {
      return help;
    }

    static Options parse(String[] argv) throws UsageException {
      Options o = new Options();
      CommandLine args = new CommandLine(argv);
      while (args.next()) {
        switch (args.flag()) {
          case "--help", "-h" -> o.help = true;
          case "--config" -> o.config = Path.of(args.value());
          case "--db-url" -> o.url = args.value();
          case "--db-user" -> o.user = args.value();
          case "--db-password" -> o.password = args.value();
          case "--submitted-only" -> o.submittedOnly = true;
          case "--since-ms" -> {
            String v = args.value();
            try {
              o.sinceMs = Long.parseLong(v.trim());
            } catch (NumberFormatException e) {
              throw new UsageException("--since-ms needs a whole number, got '" + v + "'");
            }
          }
          default -> throw args.unknown();
        }
      }
      if (!o.help && o.config == null) throw new UsageException("--config is required");
      return o;
    }
  }

  /** The figures of a set of job histories. */
  record Figures(
      int jobs,
      int submitted,
      int succeeded,
      int failed,
      int cancelled,
      OptionalLong firstSubmittedMs,
      OptionalLong lastSucceededMs,
      long inputTokens,
      long outputTokens,
      double costUsd) {

    /** The figures of the events written at or after {@code sinceMs}. */
    static Figures of(Collection<List<JournalEvent>> histories, long sinceMs) {
      int submitted = 0;
      int succeeded = 0;
      int failed = 0;
      int cancelled = 0;
      long first = Long.MAX_VALUE;
      long last = Long.MIN_VALUE;
      long in = 0;
      long out = 0;
      double cost = 0;
      for (List<JournalEvent> events : histories) {
        for (JournalEvent e : events) {
          if (e.writtenAtMs() < sinceMs) continue;
          if (e.event() instanceof ReportJob.Submitted) {
            submitted++;
            first = Math.min(first, e.writtenAtMs());
          } else if (e.event() instanceof ReportJob.StepCompleted done) {
            in += done.inputTokens();
            out += done.outputTokens();
            cost += done.costUsd();
          } else if (e.event() instanceof ReportJob.Succeeded) {
            succeeded++;
            last = Math.max(last, e.writtenAtMs());
          } else if (e.event() instanceof ReportJob.JobFailed) {
            failed++;
          } else if (e.event() instanceof ReportJob.Cancelled) {
            cancelled++;
          }
        }
      }
      return new Figures(
          histories.size(),
          submitted,
          succeeded,
          failed,
          cancelled,
          submitted == 0 ? OptionalLong.empty() : OptionalLong.of(first),
          succeeded == 0 ? OptionalLong.empty() : OptionalLong.of(last),
          in,
          out,
          cost);
    }

    /** Only the first events were read: what the later ones would tell is unknown. */
    Figures withoutEnds() {
      return new Figures(
          jobs, submitted, -1, -1, -1, firstSubmittedMs, OptionalLong.empty(), -1, -1, -1);
    }

    void print(PrintStream out) {
      out.println("jobs: " + jobs);
      out.println("submitted: " + submitted);
      out.println("succeeded: " + count(succeeded));
      out.println("failed: " + count(failed));
      out.println("cancelled: " + count(cancelled));
      out.println("first_submitted_ms: " + text(firstSubmittedMs));
      out.println("last_succeeded_ms: " + text(lastSucceededMs));
      out.println(
          "span_s: "
              + (firstSubmittedMs.isPresent() && lastSucceededMs.isPresent()
                  ? String.format(
                      Locale.ROOT,
                      "%.3f",
                      (lastSucceededMs.getAsLong() - firstSubmittedMs.getAsLong()) / 1000.0)
                  : "n/a"));
      out.println("input_tokens: " + (inputTokens < 0 ? "n/a" : inputTokens));
      out.println("output_tokens: " + (outputTokens < 0 ? "n/a" : outputTokens));
      out.println(
          "cost_usd: " + (costUsd < 0 ? "n/a" : String.format(Locale.ROOT, "%.6f", costUsd)));
      out.flush();
    }

    private static String count(int n) {
      return n < 0 ? "n/a" : Integer.toString(n);
    }

    private static String text(OptionalLong ms) {
      return ms.isPresent() ? Long.toString(ms.getAsLong()) : "n/a";
    }
  }

  /** {@code journal-stats [options]}: the exit status. */
  public static int main(String[] args) {
    return Cli.run(
        USAGE,
        args,
        Options::parse,
        o -> {
          JournalReader reader;
          try {
            reader = JournalReader.open(new JournalSource(o.config, o.url, o.user, o.password));
          } catch (RuntimeException e) {
            System.err.println("journal-stats: error: " + e.getMessage());
            return 3;
          }
          try {
            List<String> jobs = reader.jobIds();
            if (o.submittedOnly) {
              Figures.of(reader.firstEvents(jobs).values(), o.sinceMs)
                  .withoutEnds()
                  .print(System.out);
            } else {
              Map<String, Long> fromStart = new LinkedHashMap<>();
              for (String id : jobs) fromStart.put(id, 1L);
              Figures.of(reader.events(fromStart).values(), o.sinceMs).print(System.out);
            }
            return 0;
          } catch (RuntimeException e) {
            System.err.println(
                "journal-stats: error: cannot read the journal at "
                    + reader.url()
                    + ": "
                    + e.getMessage());
            return 3;
          } finally {
            reader.close();
          }
        });
  }
}
