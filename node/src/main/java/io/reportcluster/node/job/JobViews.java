package io.reportcluster.node.job;

import io.reportcluster.node.job.ReportJobState.Answer;
import io.reportcluster.node.job.ReportJobState.Run;
import io.reportcluster.node.job.ReportJobState.State;
import io.reportcluster.node.job.ReportJobState.Step;
import io.reportcluster.protocol.Api.JobView;
import io.reportcluster.protocol.Api.RunView;
import io.reportcluster.protocol.Api.StepView;
import io.reportcluster.protocol.Api.Usage;
import io.reportcluster.protocol.Api.Waiting;
import io.reportcluster.protocol.JobState;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** How a {@link ReportJob} looks to clients: its journaled state plus what it is doing now. */
final class JobViews {
  private JobViews() {}

  static int totalAttempts(State s) {
    return s.steps().stream().mapToInt(Step::attempts).sum();
  }

  /**
   * @param running the current step's call is at its provider
   * @param backoff the current step waits for its next attempt
   * @param waiting what the queued call waits for, if its provider holds it back; else null
   * @param node the node that runs the job
   */
  static JobView view(State s, boolean running, boolean backoff, Waiting waiting, String node) {
    int current = s.currentStep();
    running = running && s.isActive();
    JobState state;
    if (s.isTerminal()) state = s.outcome();
    else if (backoff) state = JobState.RETRY;
    else if (running || totalAttempts(s) > 0) state = JobState.STARTED;
    else state = JobState.PENDING;

    List<StepView> steps = new ArrayList<>(s.steps().size());
    Usage usage = Usage.NONE;
    for (int i = 0; i < s.steps().size(); i++) {
      Step st = s.steps().get(i);
      JobState stepState;
      if (st.done()) stepState = JobState.SUCCESS;
      else if (i != current) stepState = JobState.PENDING;
      else if (s.isTerminal())
        stepState = s.outcome() == JobState.SUCCESS ? JobState.PENDING : s.outcome();
      else if (backoff) stepState = JobState.RETRY;
      else if (running) stepState = JobState.STARTED;
      else stepState = JobState.PENDING;
      Instant started = st.startedAt();
      Long durationMs =
          st.done() && started != null
              ? Duration.between(started, st.finishedAt()).toMillis()
              : null;
      Answer a = st.answer();
      steps.add(
          new StepView(
              st.name(),
              stepState,
              st.attempts(),
              started,
              st.finishedAt(),
              durationMs,
              st.lastError(),
              a == null ? null : a.provider(),
              a == null ? null : a.model(),
              a == null ? null : a.usage(),
              a == null ? null : a.finishReason(),
              triedBy(s, st)));
      if (a != null) usage = usage.plus(a.usage());
    }
    return new JobView(
        s.jobId(),
        s.startup(),
        s.provider(),
        state,
        totalAttempts(s),
        current < s.steps().size() ? s.steps().get(current).name() : null,
        steps,
        s.result(),
        s.error(),
        node,
        s.submittedAt(),
        s.updatedAt(),
        s.finishedAt(),
        backoff && s.isActive() ? s.nextRetryAt() : null,
        usage,
        s.providers(),
        s.isActive() ? waiting : null,
        runs(s),
        s.owner());
  }

  /** Every run of the job, the current one last (one run unless a client retried it). */
  private static List<RunView> runs(State s) {
    List<RunView> runs = new ArrayList<>(s.pastRuns().size() + 1);
    for (Run r : s.pastRuns()) {
      runs.add(new RunView(runs.size() + 1, r.startedAt(), r.finishedAt(), r.outcome(), r.error()));
    }
    Instant start = s.runStartedAt() == null ? s.submittedAt() : s.runStartedAt();
    runs.add(new RunView(runs.size() + 1, start, s.finishedAt(), s.outcome(), s.error()));
    return runs;
  }

  /** The providers a step was handed to, in order: its chain up to the current one. */
  private static List<String> triedBy(State s, Step st) {
    if (st.attempts() == 0 && st.providerIndex() == 0) return List.of();
    return s.providers().subList(0, Math.min(st.providerIndex() + 1, s.providers().size()));
  }
}
