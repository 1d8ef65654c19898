package io.reportcluster.tools.cli;

import java.io.PrintStream;

/**
 * What every tool does with its command line: help on stdout with status 0, a bad option on stderr
 * with a hint and status 2, otherwise the tool's own exit status.
 */
public final class Cli {
  private Cli() {}

  /** A tool's name in its error lines, the command its hint names, and its help text. */
  public record Usage(String name, String helpCommand, String text) {}

  /** Options that can ask for the help text instead of a run. */
  public interface Options {
    boolean help();
  }

  @FunctionalInterface
  public interface Parser<O extends Options> {
    O parse(String[] args) throws UsageException;
  }

  @FunctionalInterface
  public interface Tool<O extends Options> {
    int run(O options);
  }

  public static <O extends Options> int run(
      Usage usage, String[] args, Parser<O> parser, Tool<O> tool) {
    return run(usage, args, parser, tool, System.out, System.err);
  }

  static <O extends Options> int run(
      Usage usage,
      String[] args,
      Parser<O> parser,
      Tool<O> tool,
      PrintStream out,
      PrintStream err) {
    O options;
    try {
      options = parser.parse(args);
    } catch (UsageException e) {
      err.println(usage.name() + ": " + e.getMessage());
      err.println("Try '" + usage.helpCommand() + "'.");
      return 2;
    }
    if (options.help()) {
      out.print(usage.text());
      out.flush();
      return 0;
    }
    return tool.run(options);
  }
}
