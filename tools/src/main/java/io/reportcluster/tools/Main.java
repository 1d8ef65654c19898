package io.reportcluster.tools;

import io.reportcluster.tools.admin.HashPassword;
import io.reportcluster.tools.chaos.Chaos;
import io.reportcluster.tools.fakellm.FakeLlm;
import io.reportcluster.tools.journal.JournalStats;
import io.reportcluster.tools.loadgen.LoadGen;
import java.util.Arrays;

/**
 * The operator tools, one program: {@code loadgen}, {@code chaos}, {@code journal-stats}, {@code
 * fake-llm}, {@code hash-password}. Run by the ops/ scripts on the tools module's classpath
 * (ops/lib/common.sh, run_tool).
 */
public final class Main {
  private Main() {}

  static final String USAGE =
      String.join(
          "\n",
          "Usage: reportcluster-tools TOOL [options]   (TOOL --help for its options)",
          "",
          "  loadgen         submit jobs to a service, poll them, summarise (ops/loadgen)",
          "  chaos           take nodes of a local cluster down under load, check the journal (ops/chaos)",
          "  journal-stats   counts and write times of a journal's events (ops/bench)",
          "  fake-llm        a local stand-in for the OpenAI, Anthropic and Gemini APIs (ops/fake-llm)",
          "  keys            create, list and revoke API keys (ops/keys)",
          "  hash-password   the hash of an admin password, read from stdin (ops/hash-password)",
          "");

  public static void main(String[] args) {
    // Pekko, HikariCP and Lettuce log through SLF4J. The node's logback.xml (INFO on stdout) is
    // on this classpath too; the tools' own keeps stdout for their summaries.
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "tools-logback.xml");
    }
    String tool = args.length == 0 ? "" : args[0];
    String[] rest = args.length == 0 ? args : Arrays.copyOfRange(args, 1, args.length);
    int status =
        switch (tool) {
          case "loadgen" -> LoadGen.main(rest);
          case "chaos" -> Chaos.main(rest);
          case "journal-stats" -> JournalStats.main(rest);
          case "fake-llm" -> FakeLlm.main(rest);
          case "keys" -> io.reportcluster.tools.keys.Keys.main(rest);
          case "hash-password" -> HashPassword.main(rest);
          case "--help", "-h" -> {
            System.out.print(USAGE);
            yield 0;
          }
          default -> {
            System.err.print(USAGE);
            yield 2;
          }
        };
    // Worker threads may still sit in a request past a deadline: leave, do not wait for them.
    System.exit(status);
  }
}
