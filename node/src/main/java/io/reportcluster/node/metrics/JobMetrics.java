package io.reportcluster.node.metrics;

import io.reportcluster.node.llm.provider.LlmCallException;
import io.reportcluster.protocol.JobState;
import java.time.Duration;

/**
 * What a job tells the metrics of its life. Called from a job's side effects after an event was
 * persisted, never while the journal is replayed, so a job that recovers on another node (or after
 * a restart) is not counted twice.
 */
public interface JobMetrics {
  JobMetrics NONE =
      new JobMetrics() {
        @Override
        public void submitted(String provider) {}

        @Override
        public void finished(JobState outcome, String provider, Duration sinceSubmitted) {}

        @Override
        public void stepCompleted(String provider, String step, Duration took) {}

        @Override
        public void retried(LlmCallException.Kind reason) {}
      };

  /**
   * A new job was journaled ({@code provider}: the first of its chain); not an idempotent repeat.
   */
  void submitted(String provider);

  /** The job ended with SUCCESS, FAILURE or REVOKED, {@code sinceSubmitted} after its submit. */
  void finished(JobState outcome, String provider, Duration sinceSubmitted);

  /** A step was answered by {@code provider}; {@code took}: its answering call's start to end. */
  void stepCompleted(String provider, String step, Duration took);

  /** An attempt failed for {@code reason} and the step will be tried again after a backoff. */
  void retried(LlmCallException.Kind reason);
}
