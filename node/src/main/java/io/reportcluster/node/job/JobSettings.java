package io.reportcluster.node.job;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;

/**
 * What every ReportJob on a node shares: its steps, limits, retry policy, and the backoff of its
 * entity's restarts (after a journal failure).
 */
public record JobSettings(
    List<String> steps,
    int maxStartupLength,
    Duration finishedIdleTimeout,
    RetryPolicy retry,
    Backoff restart,
    Duration fallbackAfterCooldown) {

  /** Settings whose steps never leave a provider for its cooldown. */
  public JobSettings(
      List<String> steps,
      int maxStartupLength,
      Duration finishedIdleTimeout,
      RetryPolicy retry,
      Backoff restart) {
    this(steps, maxStartupLength, finishedIdleTimeout, retry, restart, Duration.ofDays(365));
  }

  /** Restart-with-backoff of a supervised actor. */
  public record Backoff(Duration minBackoff, Duration maxBackoff, double randomFactor) {
    public static Backoff fromConfig(Config backoff) {
      return new Backoff(
          backoff.getDuration("min-backoff"),
          backoff.getDuration("max-backoff"),
          backoff.getDouble("random-factor"));
    }
  }

  public static JobSettings fromConfig(Config reports) {
    Config job = reports.getConfig("job");
    List<String> steps = List.copyOf(job.getStringList("steps"));
    if (steps.isEmpty())
      throw new IllegalArgumentException("reports.job.steps must name at least one step");
    return new JobSettings(
        steps,
        job.getInt("max-startup-length"),
        job.getDuration("finished-idle-timeout"),
        RetryPolicy.fromConfig(reports.getConfig("retry")),
        Backoff.fromConfig(job.getConfig("restart")),
        reports.getDuration("llm.limits.fallback-after-cooldown"));
  }
}
