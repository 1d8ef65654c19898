package io.reportcluster.tools.loadgen;

import java.io.PrintStream;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Progress and warnings on stderr. On a terminal the bar is redrawn in place with {@code \r};
 * otherwise (CI logs) a plain line is written every 5 s so logs stay readable. Warnings are shown
 * even with --quiet.
 */
final class Progress {
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
  synchronized void tick(Supplier<String> line) {
    if (quiet) return;
    long now = System.nanoTime();
    long period = tty ? TTY_PERIOD_MS : PLAIN_PERIOD_MS;
    if (now - lastDrawNs < TimeUnit.MILLISECONDS.toNanos(period)) return;
    lastDrawNs = now;
    draw(line.get());
  }

  /** Final state of the bar, always shown (unless quiet) and ended with a newline. */
  synchronized void finish(String line) {
    if (quiet) return;
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
    if (warnings <= MAX_WARNINGS) println("warning: " + message);
  }

  synchronized void flushWarnings() {
    if (warnings > MAX_WARNINGS)
      println("warning: " + (warnings - MAX_WARNINGS) + " more warnings not shown");
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
