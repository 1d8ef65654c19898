package io.reportcluster.tools.admin;

import io.reportcluster.node.http.PasswordHash;
import io.reportcluster.tools.cli.Cli;
import io.reportcluster.tools.cli.CommandLine;
import io.reportcluster.tools.cli.UsageException;
import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * {@code hash-password}: the stored form of an admin password, for {@code
 * reports.management.admin-password-hash} (REPORTS_ADMIN_PASSWORD_HASH). Reads the password from
 * stdin (on a terminal without echo, twice), never from the command line, where other users and the
 * shell's history would see it.
 */
public final class HashPassword {
  static final Cli.Usage USAGE =
      new Cli.Usage(
          "hash-password",
          "hash-password --help",
          String.join(
              "\n",
              "Usage: hash-password [--iterations N] < password",
              "",
              "Reads a password from stdin (its first line; on a terminal it asks twice, without",
              "echo) and prints its hash, for reports.management.admin-password-hash:",
              "  " + PasswordHash.SCHEME + "$<iterations>$<salt base64>$<hash base64>",
              "",
              "Options:",
              "  --iterations N   PBKDF2 iterations (default "
                  + PasswordHash.DEFAULT_ITERATIONS
                  + ", "
                  + PasswordHash.MIN_ITERATIONS
                  + " to "
                  + PasswordHash.MAX_ITERATIONS
                  + "): more costs an attacker",
              "                   with the hash more, and each admin request's check as much",
              "  --help           print this help",
              "",
              "Exit status: 0; 1 when no password was read; 2 for bad options.",
              ""));

  static final class Options implements Cli.Options {
    int iterations = PasswordHash.DEFAULT_ITERATIONS;
    boolean help;

    @Override
    public boolean help() {
      return help;
    }
  }

  private HashPassword() {}

  public static int main(String[] args) {
    return Cli.run(
        USAGE, args, HashPassword::parse, o -> run(o, System.in, System.out, System.err));
  }

  static Options parse(String[] argv) throws UsageException {
    Options o = new Options();
    CommandLine args = new CommandLine(argv);
    while (args.next()) {
      switch (args.flag()) {
        case "--iterations" -> o.iterations = args.intValue(PasswordHash.MIN_ITERATIONS);
        case "--help", "-h" -> o.help = true;
        default -> throw args.unknown();
      }
    }
    if (o.iterations > PasswordHash.MAX_ITERATIONS) {
      throw new UsageException("--iterations must be at most " + PasswordHash.MAX_ITERATIONS);
    }
    return o;
  }

  static int run(Options o, InputStream in, PrintStream out, PrintStream err) {
    char[] password;
    try {
      password = read(in, err);
    } catch (IOException e) {
      err.println("hash-password: cannot read the password: " + e.getMessage());
      return 1;
    }
    if (password == null || password.length == 0) {
      err.println("hash-password: no password read (give it on stdin)");
      return 1;
    }
    try {
      out.println(PasswordHash.of(password, o.iterations).encoded());
    } finally {
      Arrays.fill(password, '\0');
    }
    return 0;
  }

  /** The password: asked twice on a terminal, else the first line of {@code in}; null if none. */
  private static char[] read(InputStream in, PrintStream err) throws IOException {
    Console console = System.console();
    if (in == System.in && console != null) {
      char[] first = console.readPassword("Admin password: ");
      char[] again = console.readPassword("Again: ");
      if (first == null || again == null) return null;
      if (!Arrays.equals(first, again)) {
        err.println("hash-password: the two passwords differ");
        return null;
      }
      Arrays.fill(again, '\0');
      return first;
    }
    String line = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8)).readLine();
    return line == null ? null : line.toCharArray();
  }
}
