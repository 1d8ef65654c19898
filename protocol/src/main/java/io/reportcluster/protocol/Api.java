package io.reportcluster.protocol;

import java.time.Instant;
import java.util.List;

/**
 * REST JSON bodies. Field names are written in snake_case by the node's HTTP mapper ({@code jobId}
 * becomes {@code job_id}).
 */
public final class Api {
  private Api() {}

  /** {@code POST /generate}: the seed-compatible answer. */
  public record GenerateAccepted(String jobId, String status) {}

  /** {@code GET /status/{id}}: the seed-compatible view. */
  public record SeedStatus(String jobId, JobState state, String result) {}

  /**
   * {@code POST /api/v1/jobs}: {@code created} is false when an Idempotency-Key matched an existing
   * job, which is then returned instead of a new one.
   */
  public record JobAccepted(String jobId, String status, JobState state, boolean created) {}

  /** {@code GET /api/v1/jobs/{id}}. {@code usage} sums the usage of the steps' answers. */
  public record JobView(
      String jobId,
      String startup,
      String provider,
      JobState state,
      int attempts,
      String currentStep,
      List<StepView> steps,
      String result,
      String error,
      String node,
      Instant submittedAt,
      Instant updatedAt,
      Instant finishedAt,
      Instant nextRetryAt,
      Usage usage,
      List<String> providers,
      Waiting waitingFor,
      List<RunView> runs,
      String owner) {

    /**
     * A view without an owner: {@code owner} is the id of the API key that submitted the job, null
     * when the node runs without keys.
     */
    public JobView(
        String jobId,
        String startup,
        String provider,
        JobState state,
        int attempts,
        String currentStep,
        List<StepView> steps,
        String result,
        String error,
        String node,
        Instant submittedAt,
        Instant updatedAt,
        Instant finishedAt,
        Instant nextRetryAt,
        Usage usage,
        List<String> providers,
        Waiting waitingFor,
        List<RunView> runs) {
      this(
          jobId,
          startup,
          provider,
          state,
          attempts,
          currentStep,
          steps,
          result,
          error,
          node,
          submittedAt,
          updatedAt,
          finishedAt,
          nextRetryAt,
          usage,
          providers,
          waitingFor,
          runs,
          null);
    }

    /** A view of a job that ran once (never retried after a FAILURE). */
    public JobView(
        String jobId,
        String startup,
        String provider,
        JobState state,
        int attempts,
        String currentStep,
        List<StepView> steps,
        String result,
        String error,
        String node,
        Instant submittedAt,
        Instant updatedAt,
        Instant finishedAt,
        Instant nextRetryAt,
        Usage usage,
        List<String> providers,
        Waiting waitingFor) {
      this(
          jobId,
          startup,
          provider,
          state,
          attempts,
          currentStep,
          steps,
          result,
          error,
          node,
          submittedAt,
          updatedAt,
          finishedAt,
          nextRetryAt,
          usage,
          providers,
          waitingFor,
          List.of());
    }

    /** A view without a provider chain or a wait (one provider, not held back). */
    public JobView(
        String jobId,
        String startup,
        String provider,
        JobState state,
        int attempts,
        String currentStep,
        List<StepView> steps,
        String result,
        String error,
        String node,
        Instant submittedAt,
        Instant updatedAt,
        Instant finishedAt,
        Instant nextRetryAt,
        Usage usage) {
      this(
          jobId,
          startup,
          provider,
          state,
          attempts,
          currentStep,
          steps,
          result,
          error,
          node,
          submittedAt,
          updatedAt,
          finishedAt,
          nextRetryAt,
          usage,
          provider == null ? List.of() : List.of(provider),
          null);
    }
  }

  /**
   * One run of a job: the first from its submit, and one more each time a client retried it after a
   * FAILURE (from its failed step, with a fresh retry budget). {@code state} is null while the run
   * goes on.
   */
  public record RunView(
      int run, Instant startedAt, Instant finishedAt, JobState state, String error) {}

  /**
   * What a queued call waits for: budget of {@code provider} ({@code reason}: requests, tokens,
   * input_tokens, output_tokens, concurrency) or its cooldown after a 429 ({@code cooldown}), until
   * about {@code until}. Waiting is not an attempt.
   */
  public record Waiting(String provider, String reason, Instant until) {}

  /**
   * Tokens a job or a step used, as the providers counted them, and what they cost at the
   * configured prices (US dollars).
   */
  public record Usage(long inputTokens, long outputTokens, double costUsd) {
    public static final Usage NONE = new Usage(0, 0, 0);

    public Usage plus(Usage other) {
      return other == null
          ? this
          : new Usage(
              inputTokens + other.inputTokens,
              outputTokens + other.outputTokens,
              costUsd + other.costUsd);
    }
  }

  /** One LLM step of a job; {@code attempts} counts calls started for it. */
  public record StepView(
      String name,
      JobState state,
      int attempts,
      Instant startedAt,
      Instant finishedAt,
      Long durationMs,
      String lastError,
      String provider,
      String model,
      Usage usage,
      String finishReason,
      List<String> providersTried) {}

  /** {@code GET /api/v1/node/stats}: this node's caller pool. */
  public record NodeStats(
      String node,
      int callers,
      int inFlight,
      int queueDepth,
      int queueLimit,
      long callsStarted,
      long callsSucceeded,
      long callsFailed) {}

  /** Every error answer: a short machine-readable code and a human detail. */
  public record ErrorBody(String error, Object detail) {}

  /** One job in a list: the read side's row, not the job's whole view. */
  public record JobSummary(
      String jobId,
      JobState state,
      String startup,
      List<String> providers,
      String provider,
      int stepsDone,
      int stepsTotal,
      int attempts,
      int runs,
      Usage usage,
      String node,
      Instant submittedAt,
      Instant updatedAt,
      Instant finishedAt,
      String error) {}

  /**
   * {@code GET /api/v1/jobs}: newest first; {@code nextCursor} null on the last page; {@code
   * counts} per state over the filters other than state; {@code total} matches every filter; {@code
   * lagMs}: how far the read side is behind the journal.
   */
  public record JobPage(
      List<JobSummary> jobs,
      String nextCursor,
      java.util.Map<String, Long> counts,
      long total,
      long lagMs) {}

  /** {@code GET /api/v1/stats}: per-minute figures of the last minutes, oldest first. */
  public record Stats(
      int bucketSeconds, List<JobMinute> jobs, List<ProviderMinute> providers, long lagMs) {}

  public record JobMinute(
      Instant start,
      long submitted,
      long succeeded,
      long failed,
      long revoked,
      Long avgDurationMs,
      Long maxDurationMs) {}

  public record ProviderMinute(
      Instant start,
      String provider,
      long steps,
      long inputTokens,
      long outputTokens,
      double costUsd) {}
}
