package io.reportcluster.node.job;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.List;

/** What every ReportJob on a node shares: its steps, limits and retry policy. */
public record JobSettings(List<String> steps, int maxStartupLength, Duration finishedIdleTimeout, RetryPolicy retry) {

  public static JobSettings fromConfig(Config reports) {
    Config job = reports.getConfig("job");
    List<String> steps = List.copyOf(job.getStringList("steps"));
    if (steps.isEmpty()) throw new IllegalArgumentException("reports.job.steps must name at least one step");
    return new JobSettings(
        steps,
        job.getInt("max-startup-length"),
        job.getDuration("finished-idle-timeout"),
        RetryPolicy.fromConfig(reports.getConfig("retry")));
  }
}
