package io.reportcluster.node.job;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Exponential backoff with "equal jitter": retry n waits min(cap, base * 2^(n-1)) scaled by a
 * random factor in [1 - jitter, 1], and never less than a 429's Retry-After. Jitter keeps a burst
 * of failed jobs from coming back at the same instant.
 */
public record RetryPolicy(int maxRetries, Duration base, Duration cap, double jitter) {

  public static RetryPolicy fromConfig(Config retry) {
    return new RetryPolicy(
        retry.getInt("max-retries"),
        retry.getDuration("backoff-base"),
        retry.getDuration("backoff-cap"),
        retry.getDouble("jitter"));
  }

  /** The wait before retry number {@code retry} (1-based), given the provider's Retry-After. */
  public Duration delay(int retry, Duration retryAfter) {
    long baseMs = base.toMillis();
    int shift = Math.min(Math.max(retry - 1, 0), 30);
    long exp = baseMs > (Long.MAX_VALUE >> shift) ? Long.MAX_VALUE : baseMs << shift;
    long capped = Math.min(cap.toMillis(), exp);
    double factor = 1.0 - jitter * ThreadLocalRandom.current().nextDouble();
    long ms = Math.round(capped * factor);
    if (retryAfter != null) ms = Math.max(ms, retryAfter.toMillis());
    return Duration.ofMillis(ms);
  }
}
