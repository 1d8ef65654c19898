package io.reportcluster.node.job;

import com.fasterxml.jackson.annotation.JsonIgnore;
import io.reportcluster.node.job.ReportJob.AttemptFailed;
import io.reportcluster.node.job.ReportJob.AttemptStarted;
import io.reportcluster.node.job.ReportJob.ProviderSwitched;
import io.reportcluster.node.job.ReportJob.Resumed;
import io.reportcluster.node.job.ReportJob.StepCompleted;
import io.reportcluster.node.job.ReportJob.Submitted;
import io.reportcluster.protocol.Api.Usage;
import io.reportcluster.protocol.CborSerializable;
import io.reportcluster.protocol.JobState;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the journal says about one {@link ReportJob}: its state, rebuilt from its events. Runtime
 * knowledge (whether a call is queued or running now) stays in the entity.
 */
public final class ReportJobState {
  private ReportJobState() {}

  /**
   * A step as the journal knows it: done when it has an output. {@code attempts} counts the calls
   * started; {@code inFlight} says the last of them has no outcome in the journal yet.
   */
  public record Step(
      String name,
      int attempts,
      boolean inFlight,
      String output,
      Instant startedAt,
      Instant finishedAt,
      String lastError,
      Answer answer,
      int providerIndex,
      int switchedAtAttempt)
      implements CborSerializable {
    @JsonIgnore
    boolean done() {
      return output != null;
    }

    /** Calls started for this step on its current provider. */
    @JsonIgnore
    int attemptsOnProvider() {
      return attempts - switchedAtAttempt;
    }

    Step switched(ProviderSwitched e) {
      return new Step(
          name,
          attempts,
          false,
          output,
          startedAt,
          finishedAt,
          lastError,
          answer,
          e.toIndex(),
          attempts);
    }

    /** The attempt number of this step's running call, or of its next one. */
    @JsonIgnore
    int currentAttempt() {
      return inFlight ? attempts : attempts + 1;
    }

    Step started(int attempt, Instant start) {
      return new Step(
          name,
          Math.max(attempts, attempt),
          true,
          output,
          startedAt == null ? start : startedAt,
          finishedAt,
          lastError,
          answer,
          providerIndex,
          switchedAtAttempt);
    }

    Step attempted(int attempt, Instant start, String error) {
      return new Step(
          name,
          Math.max(attempts, attempt),
          false,
          output,
          startedAt == null ? start : startedAt,
          finishedAt,
          error,
          answer,
          providerIndex,
          switchedAtAttempt);
    }

    /** A retried job's failed step: back to the first provider, with a fresh retry budget. */
    Step resumed() {
      return new Step(
          name, attempts, false, output, startedAt, finishedAt, lastError, answer, 0, attempts);
    }

    Step completed(StepCompleted e) {
      return new Step(
          name,
          Math.max(attempts, e.attempt()),
          false,
          e.output(),
          startedAt == null ? e.startedAt() : startedAt,
          e.finishedAt(),
          lastError,
          new Answer(e.provider(), e.model(), e.usage(), e.finishReason()),
          providerIndex,
          switchedAtAttempt);
    }
  }

  /** A run of the job that ended (in FAILURE) before a client retried it. */
  public record Run(Instant startedAt, Instant finishedAt, JobState outcome, String error)
      implements CborSerializable {}

  /** Who answered a step, what it cost, and why the model stopped. */
  public record Answer(String provider, String model, Usage usage, String finishReason)
      implements CborSerializable {}

  public record State(
      String jobId,
      String startup,
      String provider,
      String idempotencyKey,
      List<Step> steps,
      JobState outcome,
      String result,
      String error,
      Instant submittedAt,
      Instant updatedAt,
      Instant finishedAt,
      Instant nextRetryAt,
      List<String> providers,
      Instant runStartedAt,
      List<Run> pastRuns,
      String owner)
      implements CborSerializable {

    static final State EMPTY =
        new State(
            null, null, null, null, List.of(), null, null, null, null, null, null, null, List.of(),
            null, List.of(), null);

    @JsonIgnore
    public boolean isEmpty() {
      return jobId == null;
    }

    /** SUCCESS, FAILURE or REVOKED once finished; null while the job runs. */
    @JsonIgnore
    public boolean isTerminal() {
      return outcome != null;
    }

    @JsonIgnore
    boolean isActive() {
      return !isEmpty() && !isTerminal();
    }

    /** Index of the first step not done yet (== steps.size() once all are). */
    @JsonIgnore
    public int currentStep() {
      int i = 0;
      while (i < steps.size() && steps.get(i).done()) i++;
      return i;
    }

    @JsonIgnore
    List<String> stepNames() {
      return steps.stream().map(Step::name).toList();
    }

    List<String> outputsBefore(int step) {
      return steps.subList(0, step).stream().map(Step::output).toList();
    }

    static State submitted(Submitted e) {
      List<Step> steps =
          e.steps().stream()
              .map(n -> new Step(n, 0, false, null, null, null, null, null, 0, 0))
              .toList();
      return new State(
          e.jobId(),
          e.startup(),
          e.provider(),
          e.idempotencyKey(),
          steps,
          null,
          null,
          null,
          e.at(),
          e.at(),
          null,
          null,
          e.chain(),
          e.at(),
          List.of(),
          e.owner());
    }

    /** The provider a step calls now. */
    String providerOf(int step) {
      return providers.get(Math.min(steps.get(step).providerIndex(), providers.size() - 1));
    }

    /** The provider after the current one of this step, if its chain has one. */
    Optional<String> nextProvider(int step) {
      int next = steps.get(step).providerIndex() + 1;
      return next < providers.size() ? Optional.of(providers.get(next)) : Optional.empty();
    }

    State providerSwitched(ProviderSwitched e) {
      return withStep(e.step(), steps.get(e.step()).switched(e), e.at(), null);
    }

    private State withStep(int index, Step step, Instant at, Instant nextRetry) {
      List<Step> copy = new ArrayList<>(steps);
      copy.set(index, step);
      return new State(
          jobId,
          startup,
          provider,
          idempotencyKey,
          List.copyOf(copy),
          outcome,
          result,
          error,
          submittedAt,
          at,
          finishedAt,
          nextRetry,
          providers,
          runStartedAt,
          pastRuns,
          owner);
    }

    State attemptStarted(AttemptStarted e) {
      return withStep(
          e.step(), steps.get(e.step()).started(e.attempt(), e.at()), e.at(), nextRetryAt);
    }

    State stepCompleted(StepCompleted e) {
      Step s = steps.get(e.step()).completed(e);
      return withStep(e.step(), s, e.finishedAt(), null);
    }

    State attemptFailed(AttemptFailed e) {
      Step s = steps.get(e.step()).attempted(e.attempt(), e.startedAt(), e.error());
      return withStep(e.step(), s, e.finishedAt(), e.nextRetryAt());
    }

    State finished(JobState how, String result, String error, Instant at) {
      return new State(
          jobId,
          startup,
          provider,
          idempotencyKey,
          steps,
          how,
          result,
          error,
          submittedAt,
          at,
          at,
          null,
          providers,
          runStartedAt,
          pastRuns,
          owner);
    }

    /** A client retried the failed job: a new run from its failed step. */
    State resumed(Resumed e) {
      List<Run> runs = new ArrayList<>(pastRuns);
      runs.add(new Run(runStartedAt, finishedAt, outcome, error));
      List<Step> copy = new ArrayList<>(steps);
      copy.set(e.step(), steps.get(e.step()).resumed());
      return new State(
          jobId,
          startup,
          provider,
          idempotencyKey,
          List.copyOf(copy),
          null,
          null,
          null,
          submittedAt,
          e.at(),
          null,
          null,
          providers,
          e.at(),
          List.copyOf(runs),
          owner);
    }
  }
}
