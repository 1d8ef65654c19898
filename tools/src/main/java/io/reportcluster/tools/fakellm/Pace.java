package io.reportcluster.tools.fakellm;

import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * When each word of an answer is due: the first after the time to first token, the others at the
 * configured tokens per second, each wait drawn within +-jitter of its nominal length. Due times
 * accumulate from the request's arrival, so a slow write does not slow the pace that follows.
 */
final class Pace {
  private final long firstNs;
  private final long perWordNs;
  private final double jitter;
  private final Random random;
  private long dueNs;

  Pace(FakeLlmOptions o, long startNs, Random random) {
    this.firstNs = TimeUnit.MILLISECONDS.toNanos(o.ttftMs);
    this.perWordNs = o.tokensPerSecond == 0 ? 0 : 1_000_000_000L / o.tokensPerSecond;
    this.jitter = o.jitter;
    this.random = random;
    this.dueNs = startNs;
  }

  /** When word {@code i} is due (call in order, from 0). */
  long due(int i) {
    dueNs += jittered(i == 0 ? firstNs : perWordNs);
    return dueNs;
  }

  /** When a non-streaming answer of {@code words} words is due: all its words' waits. */
  long dueWhole(int words) {
    long at = dueNs;
    for (int i = 0; i < Math.max(1, words); i++) at = due(i);
    return at;
  }

  /** Waits until {@code dueNs} (returns at once when it has passed). */
  static void sleepUntil(long dueNs) throws InterruptedException {
    long wait = dueNs - System.nanoTime();
    if (wait > 0) TimeUnit.NANOSECONDS.sleep(wait);
  }

  private long jittered(long ns) {
    if (ns == 0 || jitter == 0) return ns;
    return Math.round(ns * (1 + jitter * (2 * random.nextDouble() - 1)));
  }
}
