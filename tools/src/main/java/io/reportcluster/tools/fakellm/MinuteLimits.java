package io.reportcluster.tools.fakellm;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * One provider's requests-per-minute and tokens-per-minute budget, in fixed windows: a window opens
 * with the first request after the previous one ended and both budgets refill when it closes. A
 * fixed window makes "remaining" and "reset" exact, which is what the 429s and headers report. It
 * remembers what each window admitted and refused, so a test can read a client's pace per window.
 */
final class MinuteLimits {
  /**
   * Windows remembered, the current one included: at one minute each, 16 hours of load, in a few
   * tens of kilobytes of {@code /fake/stats}.
   */
  static final int KEPT_WINDOWS = 1000;

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

  /**
   * What one window admitted (the requests and tokens charged) and refused (its 429s). {@code
   * complete} once a later window has opened: the last one is not, even when its time is up, as the
   * load may have ended inside it.
   */
  record Window(long startedAtMs, int requests, int tokens, int rateLimited, boolean complete) {}

  private final int rpm;
  private final int tpm;
  private final long windowNs;
  private final LongSupplier nanoClock;

  /** Wall time and the nano clock read together once: a window's start in epoch ms follows. */
  private final long epochAnchorMs;

  private final long nanoAnchor;

  private final Deque<Window> closed = new ArrayDeque<>();
  private boolean open;
  private long windowStartNs;
  private int requests;
  private int tokens;
  private int rateLimited;

  /**
   * @param nanoClock when requests come (System::nanoTime, or a test's)
   * @param epochMsClock wall time, read once to give the windows' starts as epoch ms
   */
  MinuteLimits(int rpm, int tpm, long windowMs, LongSupplier nanoClock, LongSupplier epochMsClock) {
    this.rpm = rpm;
    this.tpm = tpm;
    this.windowNs = TimeUnit.MILLISECONDS.toNanos(windowMs);
    this.nanoClock = nanoClock;
    this.nanoAnchor = nanoClock.getAsLong();
    this.epochAnchorMs = epochMsClock.getAsLong();
  }

  /** True when at least one budget is limited. */
  boolean limited() {
    return rpm > 0 || tpm > 0;
  }

  /** Charges one request of {@code asked} tokens if both budgets allow it; refused, it costs 0. */
  synchronized Verdict admit(int asked) {
    long now = nanoClock.getAsLong();
    if (!open || now - windowStartNs >= windowNs) {
      if (open) remember(current(true));
      open = true;
      windowStartNs = now;
      requests = 0;
      tokens = 0;
      rateLimited = 0;
    }
    Exceeded exceeded = null;
    if (rpm > 0 && requests + 1 > rpm) {
      exceeded = Exceeded.REQUESTS;
      rateLimited++;
    } else if (tpm > 0 && (long) tokens + asked > tpm) {
      exceeded = Exceeded.TOKENS;
      rateLimited++;
    } else {
      requests++;
      tokens += asked;
    }
    // Rounded up: a client that waits exactly this long finds the window closed.
    long resetMs = TimeUnit.NANOSECONDS.toMillis(windowStartNs + windowNs - now + 999_999);
    return new Verdict(
        exceeded, rpm, Math.max(0, rpm - requests), tpm, Math.max(0, tpm - tokens), asked, resetMs);
  }

  /** The windows remembered, oldest first; the current one last, not complete. */
  synchronized List<Window> windows() {
    List<Window> all = new ArrayList<>(closed);
    if (open) all.add(current(false));
    return all;
  }

  /** Closes the window and forgets the others: both budgets are full again. */
  synchronized void reset() {
    open = false;
    closed.clear();
  }

  private Window current(boolean complete) {
    long startedAtMs = epochAnchorMs + TimeUnit.NANOSECONDS.toMillis(windowStartNs - nanoAnchor);
    return new Window(startedAtMs, requests, tokens, rateLimited, complete);
  }

  private void remember(Window w) {
    // One place is kept for the current window.
    if (closed.size() == KEPT_WINDOWS - 1) closed.removeFirst();
    closed.addLast(w);
  }
}
