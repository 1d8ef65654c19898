package io.reportcluster.tools.fakellm;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The most requests, and the most tokens, one provider admitted within any interval of one window's
 * length: what a provider that counts a sliding minute would have seen. The fixed windows of {@link
 * MinuteLimits} let a client send a whole budget at the end of one window and another at the start
 * of the next; this measure does not. Kept whether the provider is limited or not, so a test can
 * measure a client's own pacing against a fake that never refuses.
 */
final class SlidingPeaks {
  private record Admission(long atNs, int tokens) {}

  private final long windowNs;
  private final LongSupplier nanoClock;

  /** The admissions of the last window's length, oldest first, and their tokens. */
  private final Deque<Admission> recent = new ArrayDeque<>();

  private long recentTokens;
  private int maxRequests;
  private long maxTokens;

  SlidingPeaks(long windowMs, LongSupplier nanoClock) {
    this.windowNs = TimeUnit.MILLISECONDS.toNanos(windowMs);
    this.nanoClock = nanoClock;
  }

  /** A request of {@code tokens} tokens was admitted now. */
  synchronized void admitted(int tokens) {
    long now = nanoClock.getAsLong();
    // The densest half-open interval [t, t + window) can be taken to end just after an admission,
    // so checking the interval (now - window, now] at each one finds it.
    while (!recent.isEmpty() && now - recent.peekFirst().atNs() >= windowNs) {
      recentTokens -= recent.removeFirst().tokens();
    }
    recent.addLast(new Admission(now, tokens));
    recentTokens += tokens;
    maxRequests = Math.max(maxRequests, recent.size());
    maxTokens = Math.max(maxTokens, recentTokens);
  }

  synchronized int maxRequests() {
    return maxRequests;
  }

  synchronized long maxTokens() {
    return maxTokens;
  }

  synchronized void reset() {
    recent.clear();
    recentTokens = 0;
    maxRequests = 0;
    maxTokens = 0;
  }
}
