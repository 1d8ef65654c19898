package io.reportcluster.tools.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class CommandLineTest {

  /** A tool with one number, one word and one switch, as the real tools declare theirs. */
  static final class Opts implements Cli.Options {
    int jobs = 30;
    String url = "http://x";
    double rate;
    boolean quiet;
    boolean help;

    @Override
    public boolean help() {
      return help;
    }

    static Opts parse(String[] argv) throws UsageException {
      Opts o = new Opts();
      CommandLine args = new CommandLine(argv);
      while (args.next()) {
        switch (args.flag()) {
          case "--help" -> o.help = true;
          case "--jobs" -> o.jobs = args.intValue(1);
          case "--url" -> o.url = args.value();
          case "--rate" -> o.rate = args.doubleValue(0, 1);
          case "--quiet" -> o.quiet = true;
          default -> throw args.unknown();
        }
      }
      return o;
    }
  }

  @Test
  void readsFlagsAndTheirValuesInAnyOrder() throws Exception {
    Opts o =
        Opts.parse(
            new String[] {"--quiet", "--jobs", " 12 ", "--url", "http://y", "--rate", "0.25"});
    assertThat(o.jobs).isEqualTo(12);
    assertThat(o.rate).isEqualTo(0.25);
    assertThat(o.url).isEqualTo("http://y");
    assertThat(o.quiet).isTrue();
  }

  @Test
  void namesWhatIsWrongInTheToolsWords() {
    assertThatThrownBy(() -> Opts.parse(new String[] {"--jobs"}))
        .hasMessage("--jobs needs a value");
    assertThatThrownBy(() -> Opts.parse(new String[] {"--jobs", "many"}))
        .hasMessage("--jobs needs a whole number, got 'many'");
    assertThatThrownBy(() -> Opts.parse(new String[] {"--jobs", "0"}))
        .hasMessage("--jobs must be at least 1, got 0");
    assertThatThrownBy(() -> Opts.parse(new String[] {"--rate", "often"}))
        .hasMessage("--rate needs a number, got 'often'");
    assertThatThrownBy(() -> Opts.parse(new String[] {"--rate", "1.5"}))
        .hasMessage("--rate must be from 0.0 to 1.0, got 1.5");
    assertThatThrownBy(() -> Opts.parse(new String[] {"--rate", "NaN"}))
        .hasMessage("--rate must be from 0.0 to 1.0, got NaN");
    assertThatThrownBy(() -> Opts.parse(new String[] {"--bogus"}))
        .hasMessage("unknown option '--bogus'");
  }

  @Test
  void helpPrintsTheUsageAndRunsNothing() {
    Run run = run("--help");
    assertThat(run.status).isZero();
    assertThat(run.out).isEqualTo("Usage: tool\n");
    assertThat(run.err).isEmpty();
  }

  @Test
  void aBadOptionExitsWithTwoAndAHint() {
    Run run = run("--jobs", "0");
    assertThat(run.status).isEqualTo(2);
    assertThat(run.out).isEmpty();
    assertThat(run.err).isEqualTo("tool: --jobs must be at least 1, got 0\nTry 'tool --help'.\n");
  }

  @Test
  void otherwiseTheToolsOwnStatus() {
    assertThat(run("--jobs", "7").status).isEqualTo(7);
  }

  record Run(int status, String out, String err) {}

  private static Run run(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int status =
        Cli.run(
            new Cli.Usage("tool", "tool --help", "Usage: tool\n"),
            args,
            Opts::parse,
            o -> o.jobs,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(
        status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }
}
