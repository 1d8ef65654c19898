package io.reportcluster.tools.cli;

/**
 * The options of one tool, read left to right. Each tool keeps its own switch over the flags and
 * asks this class for the value of the one it is at, so every tool says "needs a value", "needs a
 * whole number" and "must be at least" in the same words:
 *
 * <pre>{@code
 * CommandLine args = new CommandLine(argv);
 * while (args.next()) {
 *   switch (args.flag()) {
 *     case "--jobs" -> jobs = args.intValue(1);
 *     case "--url" -> url = args.value();
 *     default -> throw args.unknown();
 *   }
 * }
 * }</pre>
 */
public final class CommandLine {
  private final String[] args;
  private int index = -1;

  public CommandLine(String[] args) {
    this.args = args.clone();
  }

  /** Moves to the next flag; false when there is none left. */
  public boolean next() {
    index++;
    return index < args.length;
  }

  /** The flag this parser is at. */
  public String flag() {
    return args[index];
  }

  /** The word after the current flag, which it consumes. */
  public String value() throws UsageException {
    String flag = flag();
    if (index + 1 >= args.length) throw new UsageException(flag + " needs a value");
    return args[++index];
  }

  /** The value of the current flag as a whole number of at least {@code min}. */
  public int intValue(int min) throws UsageException {
    String flag = flag();
    String s = value();
    int v;
    try {
      v = Integer.parseInt(s.trim());
    } catch (NumberFormatException e) {
      throw new UsageException(flag + " needs a whole number, got '" + s + "'");
    }
    if (v < min) throw new UsageException(flag + " must be at least " + min + ", got " + v);
    return v;
  }

  /** The value of the current flag as a number from {@code min} to {@code max}, both included. */
  public double doubleValue(double min, double max) throws UsageException {
    String flag = flag();
    String s = value();
    double v;
    try {
      v = Double.parseDouble(s.trim());
    } catch (NumberFormatException e) {
      throw new UsageException(flag + " needs a number, got '" + s + "'");
    }
    if (!(v >= min && v <= max)) {
      throw new UsageException(flag + " must be from " + min + " to " + max + ", got " + s);
    }
    return v;
  }

  /** The error for a flag no case matched. */
  public UsageException unknown() {
    return new UsageException("unknown option '" + flag() + "'");
  }
}
