package io.reportcluster.tools.fakellm;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * One provider's requests-per-minute and tokens-per-minute budget, in fixed windows: a window opens
 * with the first request after the previous one ended and both budgets refill when it closes. A
 * fixed window makes "remaining" and "reset" exact, which is what the 429s and headers report.
 */
final class MinuteLimits {
  /** Which budget a refused request exceeded. */
  enum Exceeded {
    REQUESTS,
    TOKENS
  }

  /**
   * The outcome of one request and the budget after it. A limit of 0 means that budget is not
   * limited (and its headers are left out).
   */
  record Verdict(
      Exceeded exceeded,
      int requestLimit,
      int requestsLeft,
      int tokenLimit,
      int tokensLeft,
      int tokensAsked,
      long resetMs) {
    boolean admitted() {
      return exceeded == null;
    }
  }

  private final int rpm;
  private final int tpm;
  private final long windowNs;
  private final LongSupplier nanoClock;

  private boolean open;
  private long windowStartNs;
  private int requests;
  private int tokens;

  MinuteLimits(int rpm, int tpm, long windowMs, LongSupplier nanoClock) {
    this.rpm = rpm;
    this.tpm = tpm;
    this.windowNs = TimeUnit.MILLISECONDS.toNanos(windowMs);
    this.nanoClock = nanoClock;
  }

  /** True when at least one budget is limited. */
  boolean limited() {
    return rpm > 0 || tpm > 0;
  }

  /** Charges one request of {@code asked} tokens if both budgets allow it; refused, it costs 0. */
  synchronized Verdict admit(int asked) {
    long now = nanoClock.getAsLong();
    if (!open || now - windowStartNs >= windowNs) {
      open = true;
      windowStartNs = now;
      requests = 0;
      tokens = 0;
    }
    Exceeded exceeded = null;
    if (rpm > 0 && requests + 1 > rpm) {
      exceeded = Exceeded.REQUESTS;
    } else if (tpm > 0 && (long) tokens + asked > tpm) {
      exceeded = Exceeded.TOKENS;
    } else {
      requests++;
      tokens += asked;
    }
    // Rounded up: a client that waits exactly this long finds the window closed.
    long resetMs = TimeUnit.NANOSECONDS.toMillis(windowStartNs + windowNs - now + 999_999);
    return new Verdict(
        exceeded, rpm, Math.max(0, rpm - requests), tpm, Math.max(0, tpm - tokens), asked, resetMs);
  }

  /** Closes the window: both budgets are full again. */
  synchronized void reset() {
    open = false;
  }
}
