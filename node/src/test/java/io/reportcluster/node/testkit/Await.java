package io.reportcluster.node.testkit;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waits for a condition with a deadline: tests never sleep to synchronise. */
public final class Await {
  private Await() {}

  public static void until(Duration deadline, String what, BooleanSupplier condition) {
    long end = System.nanoTime() + deadline.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end)
        throw new AssertionError("not true within " + deadline.toSeconds() + " s: " + what);
      try {
        Thread.sleep(25);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for: " + what);
      }
    }
  }

  /** Polls until {@code ok} accepts the probed value, and returns that value. */
  public static <T> T value(
      Duration deadline, String what, Supplier<T> probe, java.util.function.Predicate<T> ok) {
    long end = System.nanoTime() + deadline.toNanos();
    T last = probe.get();
    while (!ok.test(last)) {
      if (System.nanoTime() > end) {
        throw new AssertionError(
            "not true within "
                + deadline.toSeconds()
                + " s: "
                + what
                + " (last seen: "
                + last
                + ")");
      }
      try {
        Thread.sleep(25);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for: " + what);
      }
      last = probe.get();
    }
    return last;
  }
}
