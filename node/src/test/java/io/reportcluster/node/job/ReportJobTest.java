package io.reportcluster.node.job;

import static io.reportcluster.protocol.JobState.FAILURE;
import static io.reportcluster.protocol.JobState.PENDING;
import static io.reportcluster.protocol.JobState.RETRY;
import static io.reportcluster.protocol.JobState.REVOKED;
import static io.reportcluster.protocol.JobState.STARTED;
import static io.reportcluster.protocol.JobState.SUCCESS;
import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.reportcluster.node.job.ReportJob.Accepted;
import io.reportcluster.node.job.ReportJob.AttemptFailed;
import io.reportcluster.node.job.ReportJob.AttemptStarted;
import io.reportcluster.node.job.ReportJob.Cancel;
import io.reportcluster.node.job.ReportJob.CancelAccepted;
import io.reportcluster.node.job.ReportJob.CancelRefused;
import io.reportcluster.node.job.ReportJob.CancelReply;
import io.reportcluster.node.job.ReportJob.Cancelled;
import io.reportcluster.node.job.ReportJob.Command;
import io.reportcluster.node.job.ReportJob.Event;
import io.reportcluster.node.job.ReportJob.Found;
import io.reportcluster.node.job.ReportJob.Get;
import io.reportcluster.node.job.ReportJob.GetReply;
import io.reportcluster.node.job.ReportJob.IdempotencyConflict;
import io.reportcluster.node.job.ReportJob.JobFailed;
import io.reportcluster.node.job.ReportJob.NotFound;
import io.reportcluster.node.job.ReportJob.Resumed;
import io.reportcluster.node.job.ReportJob.Retry;
import io.reportcluster.node.job.ReportJob.RetryAccepted;
import io.reportcluster.node.job.ReportJob.RetryRefused;
import io.reportcluster.node.job.ReportJob.RetryReply;
import io.reportcluster.node.job.ReportJob.StepCompleted;
import io.reportcluster.node.job.ReportJob.SubmitReply;
import io.reportcluster.node.job.ReportJob.Submitted;
import io.reportcluster.node.job.ReportJob.Succeeded;
import io.reportcluster.node.job.ReportJobState.State;
import io.reportcluster.node.llm.CallMessages;
import io.reportcluster.node.llm.LlmCallerPool;
import io.reportcluster.node.llm.PoolMetrics;
import io.reportcluster.node.llm.provider.LlmAnswer;
import io.reportcluster.node.llm.provider.LlmAnswer.FinishReason;
import io.reportcluster.node.llm.provider.LlmCallException;
import io.reportcluster.node.llm.provider.LlmCallException.Kind;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.metrics.JobMetrics;
import io.reportcluster.node.mirror.JobMirror;
import io.reportcluster.node.testkit.Await;
import io.reportcluster.protocol.Api.JobView;
import io.reportcluster.protocol.Api.StepView;
import io.reportcluster.protocol.Api.Usage;
import io.reportcluster.protocol.JobState;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes;
import org.apache.pekko.actor.testkit.typed.javadsl.SerializationTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The behaviour of one report job, written as its specification.
 *
 * <p>The entity runs alone under {@link EventSourcedBehaviorTestKit}: an in-memory journal, and
 * CBOR serialization of every command, reply, event and state verified. A probe stands in for the
 * node's LLM-caller pool, and the test plays the caller that takes each call ({@link Caller}).
 * Everything asynchronous is awaited on probes with deadlines, never slept on.
 */
class ReportJobTest {

  private static final List<String> STEPS = List.of("market", "team", "synthesis");

  /** The last step: its prompt carries the earlier outputs, its text is the job's result. */
  private static final int SYNTHESIS = STEPS.size() - 1;

  private static final String STARTUP = "TeslaAI";
  private static final String PROVIDER = "simulated";
  private static final String IDEMPOTENCY_KEY = "client-key-1";
  private static final String NODE = "test-node";
  private static final String REPORT = "TeslaAI: the full report";

  /** How long the test waits for something that must happen. */
  private static final Duration DEADLINE = Duration.ofSeconds(5);

  /** How long the test watches for something that must not happen. */
  private static final Duration QUIET = Duration.ofMillis(300);

  /** How often a condition is checked while waiting for it. */
  private static final Duration POLL = Duration.ofMillis(10);

  /** A timer measured against the wall clock may fire this much early (scheduler ticks). */
  private static final Duration TIMER_SLACK = Duration.ofMillis(20);

  private static final int MAX_RETRIES = 2;

  /** Retries within milliseconds. */
  private static final RetryPolicy FAST_RETRIES = retries(Duration.ofMillis(20));

  /** A backoff a test can see pending but never sees expire. */
  private static final RetryPolicy SLOW_RETRIES = retries(Duration.ofSeconds(10));

  private static final Duration NO_IDLE_TIMEOUT = Duration.ofHours(1);

  /** A step leaves a provider whose cooldown lasts longer than this. */
  private static final Duration FALLBACK_AFTER_COOLDOWN = Duration.ofSeconds(30);

  /** The second provider of a chain. */
  private static final String BACKUP = "backup";

  /** No jitter: retry n waits exactly base * 2^(n-1), so the test can predict the retry time. */
  private static RetryPolicy retries(Duration base) {
    return new RetryPolicy(MAX_RETRIES, base, Duration.ofMinutes(5), 0.0);
  }

  private static ActorTestKit kit;

  @BeforeAll
  static void startActorSystem() {
    kit =
        ActorTestKit.create(
            "ReportJobTest",
            EventSourcedBehaviorTestKit.config()
                .withFallback(ConfigFactory.parseResources("serialization.conf")));
    // The testkit verifies serialization with the node's real binding, not a silent fallback.
    assertThat(
            kit.system()
                .settings()
                .config()
                .getString(
                    "pekko.actor.serialization-bindings.\"io.reportcluster.protocol.CborSerializable\""))
        .isEqualTo("jackson-cbor");
  }

  @AfterAll
  static void stopActorSystem() {
    kit.shutdownTestKit();
  }

  private final String jobId = "job-" + UUID.randomUUID();
  private final TestProbe<ClusterSharding.ShardCommand> shard = kit.createTestProbe();
  private final TestProbe<LlmCallerPool.Command> pool = kit.createTestProbe();

  /** The node's pool figures that admission reads; the queue limit is set per test. */
  private PoolMetrics poolMetrics = new PoolMetrics(4, 1000);

  /** What the job told the metrics, in order. */
  private final RecordedMetrics metrics = new RecordedMetrics();

  private EventSourcedBehaviorTestKit<Command, Event, State> entity;
  private Journal journal;

  // ================================================================ the specification

  @Nested
  class AnEmptyEntity {
    /** An id that names no job is kept only briefly, then passivated. */
    private final Duration idle = Duration.ofMillis(300);

    @BeforeEach
    void start() {
      startEntity(SLOW_RETRIES, idle);
    }

    @Test
    void submitPersistsSubmittedAcceptsTheJobAsPendingAndDispatchesStep0Attempt1() {
      Instant before = Instant.now();
      var result = submit(STARTUP, PROVIDER);

      assertThat(result.events()).hasSize(1);
      Submitted submitted = result.eventOfType(Submitted.class);
      assertThat(submitted)
          .usingRecursiveComparison()
          .ignoringFields("at")
          .isEqualTo(
              new Submitted(
                  jobId, STARTUP, PROVIDER, IDEMPOTENCY_KEY, STEPS, null, List.of(PROVIDER)));
      assertThat(submitted.at()).isBetween(before, Instant.now());

      Accepted accepted = result.replyOfType(Accepted.class);
      assertThat(accepted.created()).isTrue();
      JobView job = accepted.job();
      assertThat(job.jobId()).isEqualTo(jobId);
      assertThat(job.startup()).isEqualTo(STARTUP);
      assertThat(job.provider()).isEqualTo(PROVIDER);
      assertThat(job.node()).isEqualTo(NODE);
      assertThat(job.state()).isEqualTo(PENDING);
      assertThat(job.attempts()).isZero();
      assertThat(job.currentStep()).isEqualTo(STEPS.get(0));
      assertThat(job.submittedAt()).isEqualTo(submitted.at());
      assertThat(job.steps()).extracting(StepView::name).containsExactlyElementsOf(STEPS);
      assertThat(stepStates(job)).containsOnly(PENDING);

      LlmRequest request = takeCall(0, 1).request;
      assertThat(request.startup()).isEqualTo(STARTUP);
      assertThat(request.prompt()).contains("\"" + STARTUP + "\"").contains(STEPS.get(0));
      pool.expectNoMessage(QUIET);
    }

    @Test
    void aSubmitThatArrivesAfterItsDeadlineCreatesNothingAndTheEntityLeaves() {
      Instant deadline = Instant.now().minusMillis(1);

      var result =
          ReportJobTest.this.<SubmitReply>run(
              replyTo ->
                  new ReportJob.Submit(STARTUP, PROVIDER, IDEMPOTENCY_KEY, deadline, replyTo));

      assertThat(result.reply()).isEqualTo(new ReportJob.Expired(jobId));
      assertThat(result.hasNoEvents()).isTrue();
      assertThat(result.state().isEmpty()).isTrue();
      expectPassivation();
      pool.expectNoMessage(QUIET);
    }

    @Test
    void aSubmitBeforeItsDeadlineIsAccepted() {
      Instant deadline = Instant.now().plusSeconds(5);

      var result =
          ReportJobTest.this.<SubmitReply>run(
              replyTo ->
                  new ReportJob.Submit(STARTUP, PROVIDER, IDEMPOTENCY_KEY, deadline, replyTo));

      assertThat(result.replyOfType(Accepted.class).created()).isTrue();
      takeCall(0, 1);
    }

    @Test
    void aSubmitToANodeWhoseQueueIsFullCreatesNothingAndSaysWhere() {
      poolMetrics = new PoolMetrics(4, 0); // the limit is reached: nothing more may wait
      startEntity(SLOW_RETRIES, idle);

      var result = submit(STARTUP, PROVIDER);

      assertThat(result.reply()).isEqualTo(new ReportJob.Overloaded(NODE, 0, 0));
      assertThat(result.hasNoEvents()).isTrue();
      expectPassivation();
      pool.expectNoMessage(QUIET);
    }

    @Test
    void getRepliesNotFoundAndAsksTheShardToPassivateIt() {
      assertNotFoundAndPassivated(get());
    }

    @Test
    void cancelRepliesNotFoundAndAsksTheShardToPassivateIt() {
      assertNotFoundAndPassivated(cancel());
    }

    private void assertNotFoundAndPassivated(
        CommandResultWithReply<Command, Event, State, ?> result) {
      Instant answered = Instant.now();
      assertThat(result.reply()).isEqualTo(new NotFound(jobId));
      assertThat(result.hasNoEvents()).isTrue();
      assertThat(result.state().isEmpty()).isTrue();
      assertThat(expectPassivation()).isNotNull();
      // Not at once: a Submit for the same id may be right behind the lookup.
      assertThat(Duration.between(answered, Instant.now()))
          .isGreaterThanOrEqualTo(idle.minus(TIMER_SLACK));
      pool.expectNoMessage(QUIET);
    }
  }

  @Nested
  class RunningTheSteps {
    @BeforeEach
    void submitted() {
      givenSubmittedJob(SLOW_RETRIES);
    }

    @Test
    void callStartedMovesThePendingJobToStartedAndJournalsOnlyTheAttemptsStart() {
      Caller call = takeCall(0, 1);
      assertThat(view().state()).isEqualTo(PENDING);

      call.starts();

      JobView job = view();
      assertThat(job.state()).isEqualTo(STARTED);
      assertThat(job.attempts()).isEqualTo(1);
      assertThat(stepStates(job)).containsExactly(STARTED, PENDING, PENDING);
      StepView step = job.steps().get(0);
      assertThat(step.attempts()).isEqualTo(1);
      assertThat(step.startedAt()).isEqualTo(call.startedAt);
      journal.assertNothingNew();
    }

    @Test
    void eachStepKeepsWhoAnsweredItsTokensCostAndFinishReasonAndTheJobSumsThem() {
      Caller call = takeCall(0, 1);
      call.starts().answers(output(0), "model-a", 120, 80, 0.0012, FinishReason.STOP);
      assertThat(journal.next(StepCompleted.class))
          .isEqualTo(
              new StepCompleted(
                  0,
                  1,
                  output(0),
                  call.startedAt,
                  call.finishedAt,
                  call.request.provider(),
                  "model-a",
                  120,
                  80,
                  0.0012,
                  "STOP"));
      call = takeCall(1, 1);
      call.starts().answers(output(1), "model-b", 30, 1024, 0.01, FinishReason.LENGTH);
      journal.next(StepCompleted.class);

      JobView job = view();
      StepView first = job.steps().get(0);
      assertThat(first.provider()).isEqualTo(call.request.provider());
      assertThat(first.model()).isEqualTo("model-a");
      assertThat(first.usage()).isEqualTo(new Usage(120, 80, 0.0012));
      assertThat(first.finishReason()).isEqualTo("STOP");
      assertThat(job.steps().get(1).finishReason())
          .as("a cut-off answer says so on its step")
          .isEqualTo("LENGTH");
      assertThat(job.steps().get(2).usage()).as("not answered yet").isNull();
      assertThat(job.usage()).isEqualTo(new Usage(150, 1104, 0.0112));
    }

    @Test
    void eachCompletedStepIsPersistedAndTheNextStepDispatched() {
      Caller call = takeCall(0, 1);
      for (int step = 0; step < SYNTHESIS; step++) {
        call.starts().succeeds(output(step));
        assertThat(journal.next(StepCompleted.class))
            .isEqualTo(new StepCompleted(step, 1, output(step), call.startedAt, call.finishedAt));

        call = takeCall(step + 1, 1);
        JobView job = view();
        assertThat(job.state()).isEqualTo(STARTED);
        assertThat(job.currentStep()).isEqualTo(STEPS.get(step + 1));
        assertThat(job.steps().get(step).state()).isEqualTo(SUCCESS);
        assertThat(job.steps().get(step + 1).state())
            .as("queued, not yet started")
            .isEqualTo(PENDING);
      }
    }

    @Test
    void theLastStepPersistsStepCompletedAndSucceededAndItsTextIsTheResult() {
      List<Caller> earlier = completeSteps(SYNTHESIS);
      Caller last = takeCall(SYNTHESIS, 1).starts().succeeds(REPORT);

      assertThat(journal.nextEvents(StepCompleted.class, Succeeded.class))
          .containsExactly(
              new StepCompleted(SYNTHESIS, 1, REPORT, last.startedAt, last.finishedAt),
              new Succeeded(REPORT, last.finishedAt));

      JobView job = view();
      assertThat(job.state()).isEqualTo(SUCCESS);
      assertThat(job.result()).isEqualTo(REPORT);
      assertThat(job.error()).isNull();
      assertThat(job.finishedAt()).isEqualTo(last.finishedAt);
      assertThat(job.currentStep()).isNull();
      assertThat(job.attempts()).isEqualTo(STEPS.size());
      List<Caller> callers = append(earlier, last);
      for (int i = 0; i < STEPS.size(); i++) {
        StepView step = job.steps().get(i);
        Caller call = callers.get(i);
        assertThat(step.state()).isEqualTo(SUCCESS);
        assertThat(step.attempts()).isEqualTo(1);
        assertThat(step.startedAt()).isEqualTo(call.startedAt);
        assertThat(step.finishedAt()).isEqualTo(call.finishedAt);
        assertThat(step.durationMs())
            .isEqualTo(Duration.between(call.startedAt, call.finishedAt).toMillis());
      }
      pool.expectNoMessage(QUIET);
    }

    @Test
    void theSynthesisPromptCarriesTheOutputsOfTheEarlierSteps() {
      completeSteps(SYNTHESIS);

      String prompt = takeCall(SYNTHESIS, 1).request.prompt();

      assertThat(prompt).contains(STARTUP);
      for (int step = 0; step < SYNTHESIS; step++) {
        assertThat(prompt).contains(STEPS.get(step), output(step));
      }
    }
  }

  @Nested
  class ARepeatedSubmit {
    @BeforeEach
    void submitted() {
      givenSubmittedJob(SLOW_RETRIES);
      takeCall(0, 1);
    }

    @Test
    void withTheSameRequestReturnsTheExistingJobAndPersistsNothing() {
      var again = submit(STARTUP, PROVIDER);

      assertThat(again.hasNoEvents()).isTrue();
      Accepted accepted = again.replyOfType(Accepted.class);
      assertThat(accepted.created()).isFalse();
      assertThat(accepted.job().jobId()).isEqualTo(jobId);
      assertThat(accepted.job().state()).isEqualTo(PENDING);
      pool.expectNoMessage(QUIET);
    }

    @Test
    void withAnotherStartupOrProviderIsAnIdempotencyConflict() {
      for (var conflicting : List.of(submit("OtherCo", PROVIDER), submit(STARTUP, "openai"))) {
        assertThat(conflicting.hasNoEvents()).isTrue();
        assertThat(conflicting.reply()).isEqualTo(new IdempotencyConflict(jobId, STARTUP));
      }
      assertThat(view().startup()).isEqualTo(STARTUP);
      pool.expectNoMessage(QUIET);
    }
  }

  @Nested
  class Retries {
    @ParameterizedTest
    @EnumSource(
        value = Kind.class,
        names = {"TIMEOUT", "RATE_LIMITED", "SERVER_ERROR", "CONNECTION", "CALLER_CRASHED"})
    void aRetryableFailurePersistsAttemptFailedWithTheRetryTimeAndTheJobWaitsInRetry(Kind kind) {
      givenSubmittedJob(SLOW_RETRIES);
      Caller call = takeCall(0, 1).starts().fails(kind, "provider trouble");
      String error = kind + ": provider trouble";
      Instant retryAt = call.finishedAt.plus(SLOW_RETRIES.base());

      assertThat(journal.next(AttemptFailed.class))
          .isEqualTo(new AttemptFailed(0, 1, error, call.startedAt, call.finishedAt, retryAt));

      JobView job = view();
      assertThat(job.state()).isEqualTo(RETRY);
      assertThat(job.nextRetryAt()).isEqualTo(retryAt);
      assertThat(job.error()).as("the job has not failed").isNull();
      assertThat(stepStates(job)).containsExactly(RETRY, PENDING, PENDING);
      assertThat(job.steps().get(0).attempts()).isEqualTo(1);
      assertThat(job.steps().get(0).lastError()).isEqualTo(error);
      pool.expectNoMessage(QUIET);
    }

    @Test
    void afterTheBackoffTheSameStepIsDispatchedAgainWithTheNextAttemptAndTheBackoffDoubles() {
      RetryPolicy retry = retries(Duration.ofMillis(300));
      givenSubmittedJob(retry);

      Caller first = takeCall(0, 1).starts().fails(Kind.SERVER_ERROR, "502 bad gateway");
      Instant firstRetryAt = journal.next(AttemptFailed.class).nextRetryAt();
      assertThat(firstRetryAt).isEqualTo(first.finishedAt.plus(retry.base()));

      Caller second = takeCall(0, 2);
      assertThat(second.startedAt)
          .as("dispatched after the backoff")
          .isAfterOrEqualTo(firstRetryAt.minus(TIMER_SLACK));
      second.starts().fails(Kind.TIMEOUT, "no answer");
      Instant secondRetryAt = journal.next(AttemptFailed.class).nextRetryAt();
      assertThat(secondRetryAt).isEqualTo(second.finishedAt.plus(retry.base().multipliedBy(2)));

      Caller third = takeCall(0, 3);
      assertThat(third.startedAt).isAfterOrEqualTo(secondRetryAt.minus(TIMER_SLACK));
      third.starts().succeeds(output(0));
      assertThat(journal.next(StepCompleted.class))
          .isEqualTo(new StepCompleted(0, 3, output(0), third.startedAt, third.finishedAt));

      takeCall(1, 1).starts().fails(Kind.CONNECTION, "connection reset");
      assertThat(journal.next(AttemptFailed.class).nextRetryAt())
          .as("the next step has a retry budget of its own")
          .isNotNull();
    }

    @Test
    void aRateLimitIsRetriedNoSoonerThanTheProvidersRetryAfter() {
      givenSubmittedJob(FAST_RETRIES);
      Duration retryAfter = Duration.ofSeconds(30);

      Caller call = takeCall(0, 1).starts().fails(Kind.RATE_LIMITED, "429 slow down", retryAfter);

      Instant retryAt = journal.next(AttemptFailed.class).nextRetryAt();
      assertThat(retryAt).isAfterOrEqualTo(call.finishedAt.plus(retryAfter));
      JobView job = view();
      assertThat(job.state()).isEqualTo(RETRY);
      assertThat(job.nextRetryAt()).isEqualTo(retryAt);
      pool.expectNoMessage(QUIET);
    }

    @Test
    void whenTheRetriesAreExhaustedTheJobFailsNamingTheStepAndTheLastError() {
      givenSubmittedJob(FAST_RETRIES);
      for (int attempt = 1; attempt <= MAX_RETRIES; attempt++) {
        takeCall(0, attempt).starts().fails(Kind.SERVER_ERROR, "503 overloaded");
        assertThat(journal.next(AttemptFailed.class).nextRetryAt()).isNotNull();
      }

      Caller last =
          takeCall(0, MAX_RETRIES + 1).starts().fails(Kind.SERVER_ERROR, "500 still broken");

      String lastError = "SERVER_ERROR: 500 still broken";
      List<Event> events = journal.nextEvents(AttemptFailed.class, JobFailed.class);
      assertThat(events.get(0))
          .isEqualTo(
              new AttemptFailed(
                  0, MAX_RETRIES + 1, lastError, last.startedAt, last.finishedAt, null));
      JobFailed failed = (JobFailed) events.get(1);
      assertThat(failed.error()).contains(STEPS.get(0), lastError).doesNotContain("503");
      assertThat(failed.at()).isEqualTo(last.finishedAt);

      JobView job = view();
      assertThat(job.state()).isEqualTo(FAILURE);
      assertThat(job.error()).isEqualTo(failed.error());
      assertThat(job.nextRetryAt()).isNull();
      assertThat(job.finishedAt()).isEqualTo(last.finishedAt);
      assertThat(stepStates(job)).containsExactly(FAILURE, PENDING, PENDING);
      assertThat(job.steps().get(0).attempts()).isEqualTo(MAX_RETRIES + 1);
      assertThat(job.steps().get(0).lastError()).isEqualTo(lastError);
      pool.expectNoMessage(QUIET);
    }

    @ParameterizedTest
    @EnumSource(
        value = Kind.class,
        names = {"BAD_REQUEST", "UNAUTHORIZED", "FORBIDDEN"})
    void aPermanentFailureFailsTheJobAtOnceWithTheProvidersMessage(Kind kind) {
      givenSubmittedJob(FAST_RETRIES);
      completeSteps(1);

      Caller call = takeCall(1, 1).starts().fails(kind, "invalid x-api-key");

      List<Event> events = journal.nextEvents(AttemptFailed.class, JobFailed.class);
      assertThat(events.get(0))
          .isEqualTo(
              new AttemptFailed(
                  1, 1, kind + ": invalid x-api-key", call.startedAt, call.finishedAt, null));
      assertThat(((JobFailed) events.get(1)).error()).contains(STEPS.get(1), "invalid x-api-key");
      JobView job = view();
      assertThat(job.state()).isEqualTo(FAILURE);
      assertThat(job.error()).contains(STEPS.get(1), "invalid x-api-key");
      assertThat(stepStates(job)).containsExactly(SUCCESS, FAILURE, PENDING);
      pool.expectNoMessage(QUIET);
    }
  }

  @Nested
  class Cancellation {
    @Test
    void cancelWhileACallIsInFlightRevokesTheJobAndIgnoresTheCallsLateAnswer() {
      givenSubmittedJob(SLOW_RETRIES);
      Caller inFlight = takeCall(0, 1).starts();

      var result = cancel();

      assertThat(result.events()).singleElement().isInstanceOf(Cancelled.class);
      JobView revoked = result.replyOfType(CancelAccepted.class).job();
      assertThat(revoked.state()).isEqualTo(REVOKED);
      assertThat(revoked.finishedAt()).isNotNull();
      pool.expectMessage(DEADLINE, new LlmCallerPool.CancelCalls(jobId, null));

      inFlight.succeeds(output(0));

      JobView after = view();
      assertThat(after.state()).isEqualTo(REVOKED);
      assertThat(after.result()).isNull();
      assertThat(after.steps().get(0).state()).isEqualTo(REVOKED);
      journal.assertNothingNew();
      pool.expectNoMessage(QUIET);
    }

    @Test
    void cancelDuringABackoffCancelsTheRetry() {
      Duration backoff = Duration.ofSeconds(1);
      givenSubmittedJob(retries(backoff));
      takeCall(0, 1).starts().fails(Kind.SERVER_ERROR, "500");
      journal.next(AttemptFailed.class);

      assertThat(cancel().replyOfType(CancelAccepted.class).job().state()).isEqualTo(REVOKED);

      pool.expectMessage(DEADLINE, new LlmCallerPool.CancelCalls(jobId, null));
      pool.expectNoMessage(backoff.plus(QUIET));
    }

    @Test
    void cancellingARevokedJobAgainIsAcceptedAndPersistsNothing() {
      givenSubmittedJob(SLOW_RETRIES);
      finishAs(REVOKED);

      var again = cancel();

      assertThat(again.hasNoEvents()).isTrue();
      assertThat(again.replyOfType(CancelAccepted.class).job().state()).isEqualTo(REVOKED);
    }

    @ParameterizedTest
    @EnumSource(
        value = JobState.class,
        names = {"SUCCESS", "FAILURE"})
    void cancellingAFinishedJobIsRefused(JobState outcome) {
      givenSubmittedJob(SLOW_RETRIES);
      finishAs(outcome);

      var result = cancel();

      assertThat(result.hasNoEvents()).isTrue();
      assertThat(result.replyOfType(CancelRefused.class).job().state()).isEqualTo(outcome);
      pool.expectNoMessage(QUIET);
    }
  }

  @Nested
  @DisplayName("a job retried after a FAILURE")
  class ARetriedJob {
    private CommandResultWithReply<Command, Event, State, RetryReply> retry() {
      return run(Retry::new);
    }

    /** Step 0 done, step 1 fails after every retry: the job is FAILURE at step 1. */
    private void givenFailedAtStep1() {
      givenSubmittedJob(FAST_RETRIES);
      completeSteps(1);
      for (int attempt = 1; attempt <= MAX_RETRIES + 1; attempt++) {
        takeCall(1, attempt).starts().fails(Kind.SERVER_ERROR, "503 overloaded");
        if (attempt <= MAX_RETRIES) journal.next(AttemptFailed.class);
      }
      journal.nextEvents(AttemptFailed.class, JobFailed.class);
      assertThat(view().state()).isEqualTo(FAILURE);
    }

    @Test
    void runsAgainFromItsFailedStepWithAFreshRetryBudgetAndKeepsTheFirstRun() {
      givenFailedAtStep1();

      var result = retry();

      Resumed resumed = (Resumed) result.events().get(0);
      assertThat(result.events()).hasSize(1);
      assertThat(resumed.step()).isEqualTo(1);
      JobView accepted = result.replyOfType(RetryAccepted.class).job();
      assertThat(accepted.state()).isEqualTo(STARTED);
      assertThat(accepted.error()).isNull();
      assertThat(accepted.finishedAt()).isNull();
      assertThat(accepted.runs()).hasSize(2);
      assertThat(accepted.runs().get(0).state()).isEqualTo(FAILURE);
      assertThat(accepted.runs().get(0).error()).contains("503 overloaded");
      assertThat(accepted.runs().get(1).state()).isNull();
      assertThat(accepted.runs().get(1).startedAt()).isEqualTo(resumed.at());

      // The step's attempts go on counting, and it gets max-retries retries again.
      int first = MAX_RETRIES + 2;
      for (int attempt = first; attempt < first + MAX_RETRIES; attempt++) {
        takeCall(1, attempt).starts().fails(Kind.SERVER_ERROR, "503 again");
        assertThat(journal.next(AttemptFailed.class).nextRetryAt()).isNotNull();
      }
      takeCall(1, first + MAX_RETRIES).starts().succeeds(output(1));
      journal.next(StepCompleted.class);
      takeCall(SYNTHESIS, 1).starts().succeeds(REPORT);
      journal.nextEvents(StepCompleted.class, Succeeded.class);

      JobView done = view();
      assertThat(done.state()).isEqualTo(SUCCESS);
      assertThat(done.result()).isEqualTo(REPORT);
      assertThat(done.steps().get(1).attempts()).isEqualTo(first + MAX_RETRIES);
      assertThat(done.runs()).extracting(r -> r.state()).containsExactly(FAILURE, SUCCESS);
    }

    @Test
    void aRecoveredJobKeepsBothRunsAndItsRetriedStep() {
      givenFailedAtStep1();
      retry();
      takeCall(1, MAX_RETRIES + 2);

      State recovered = entity.restart().state();

      assertThat(recovered.isActive()).isTrue();
      assertThat(recovered.pastRuns()).hasSize(1);
      assertThat(recovered.steps().get(1).attemptsOnProvider()).isZero();
      takeCall(1, MAX_RETRIES + 2);
    }

    @ParameterizedTest
    @EnumSource(
        value = JobState.class,
        names = {"SUCCESS", "REVOKED"})
    void aJobThatDidNotFailIsNotRetried(JobState outcome) {
      givenSubmittedJob(SLOW_RETRIES);
      finishAs(outcome);

      var result = retry();

      assertThat(result.hasNoEvents()).isTrue();
      assertThat(result.replyOfType(RetryRefused.class).job().state()).isEqualTo(outcome);
      pool.expectNoMessage(QUIET);
    }

    @Test
    void aRunningJobIsNotRetried() {
      givenSubmittedJob(SLOW_RETRIES);

      var result = retry();

      assertThat(result.hasNoEvents()).isTrue();
      assertThat(result.replyOfType(RetryRefused.class).job().state()).isEqualTo(PENDING);
    }
  }

  @Nested
  class StaleAnswers {
    @Test
    void answersForAnotherStepOrAttemptAreIgnored() {
      givenSubmittedJob(SLOW_RETRIES);
      Caller current = takeCall(0, 1).starts();

      current.forgedFor(1, 1).starts().succeeds("an answer for a step not yet run");
      current
          .forgedFor(0, 2)
          .starts()
          .fails(Kind.BAD_REQUEST, "an answer for an attempt not yet made");

      JobView job = view();
      assertThat(job.state()).isEqualTo(STARTED);
      assertThat(stepStates(job)).containsExactly(STARTED, PENDING, PENDING);
      assertThat(job.steps().get(0).attempts()).isEqualTo(1);
      journal.assertNothingNew();
      pool.expectNoMessage(QUIET);

      current.succeeds(output(0));
      assertThat(journal.next(StepCompleted.class).output()).isEqualTo(output(0));
    }

    @Test
    void aRepeatedAnswerForACompletedStepIsIgnored() {
      givenSubmittedJob(SLOW_RETRIES);
      Caller done = completeSteps(1).get(0);
      takeCall(1, 1);

      done.succeeds("the same answer, delivered twice");
      done.fails(Kind.SERVER_ERROR, "a late failure");

      assertThat(stepStates(view())).containsExactly(SUCCESS, PENDING, PENDING);
      journal.assertNothingNew();
      pool.expectNoMessage(QUIET);
    }

    @Test
    void aLateAnswerOfAnAttemptThatAlreadyFailedIsIgnored() {
      givenSubmittedJob(FAST_RETRIES);
      Caller first =
          takeCall(0, 1).starts().fails(Kind.TIMEOUT, "no answer within the call timeout");
      journal.next(AttemptFailed.class);
      Caller second = takeCall(0, 2);

      first.succeeds("the answer that came too late");

      assertThat(view().steps().get(0).state()).isNotEqualTo(SUCCESS);
      journal.assertNothingNew();
      second.starts().succeeds(output(0));
      assertThat(journal.next(StepCompleted.class))
          .extracting(StepCompleted::attempt, StepCompleted::output)
          .containsExactly(2, output(0));
    }
  }

  @Nested
  class Recovery {
    @Test
    void aRestartedJobResumesAtItsFirstUnfinishedStepWithoutRedoingTheOthers() {
      givenSubmittedJob(FAST_RETRIES);
      completeSteps(2);
      takeCall(2, 1).starts(); // in flight when the node dies: its start is journaled, no outcome

      assertThat(entity.restart().state().currentStep()).isEqualTo(2);

      // The interrupted call counts as a failed attempt; the retry follows after its backoff.
      AttemptFailed lost = journal.next(AttemptFailed.class);
      assertThat(lost.attempt()).isEqualTo(1);
      assertThat(lost.error()).startsWith("INTERRUPTED");
      Caller again = takeCall(2, 2);
      assertThat(again.request.prompt())
          .as("earlier outputs recovered from the journal")
          .contains(output(0), output(1));
      pool.expectNoMessage(QUIET);
      again.starts().succeeds(REPORT);
      journal.nextEvents(StepCompleted.class, Succeeded.class);
      assertThat(view().result()).isEqualTo(REPORT);
    }

    @Test
    void aRestartAfterFailedAttemptsDispatchesTheNextAttemptNumber() {
      givenSubmittedJob(FAST_RETRIES);
      completeSteps(2);
      takeCall(2, 1).starts().fails(Kind.CONNECTION, "connection reset");
      journal.next(AttemptFailed.class);
      takeCall(2, 2).starts(); // the retry is in flight when the node dies

      entity.restart();

      assertThat(journal.next(AttemptFailed.class).attempt()).isEqualTo(2);
      takeCall(2, 3);
      pool.expectNoMessage(QUIET);
    }

    @Test
    void aCallQueuedButNotStartedWhenTheNodeDiesIsMadeAgainWithoutCostingAnAttempt() {
      givenSubmittedJob(SLOW_RETRIES);
      completeSteps(1);
      Caller queued = takeCall(1, 1); // waiting in the pool, never started

      entity.restart();

      // The stopped copy takes its queued call back from the pool; the new copy makes its own.
      pool.expectMessage(DEADLINE, new LlmCallerPool.CancelCalls(jobId, queued.replyTo));
      takeCall(1, 1);
      journal.assertNothingNew();
    }

    @Test
    void aCallThatKillsItsNodeEveryTimeFailsTheJobAfterMaxRetries() {
      givenSubmittedJob(FAST_RETRIES);
      for (int attempt = 1; attempt <= MAX_RETRIES + 1; attempt++) {
        takeCall(0, attempt).starts(); // ... and the node dies during the call
        entity.restart();
        if (attempt <= MAX_RETRIES)
          assertThat(journal.next(AttemptFailed.class).nextRetryAt()).isNotNull();
      }

      pool.expectMessageClass(LlmCallerPool.CancelCalls.class); // from the last copy that stopped
      List<Event> end = journal.nextEvents(AttemptFailed.class, JobFailed.class);
      assertThat(((AttemptFailed) end.get(0)).attempt()).isEqualTo(MAX_RETRIES + 1);
      JobView job = view();
      assertThat(job.state()).isEqualTo(FAILURE);
      assertThat(job.error())
          .contains("INTERRUPTED", "gave up after " + (MAX_RETRIES + 1) + " attempts");
      pool.expectNoMessage(QUIET);
    }

    @Test
    void aRestartDuringABackoffWaitsForTheRetryTimeThenDispatches() {
      givenSubmittedJob(retries(Duration.ofMillis(1500)));
      takeCall(0, 1).starts().fails(Kind.RATE_LIMITED, "429");
      Instant retryAt = journal.next(AttemptFailed.class).nextRetryAt();

      entity.restart();

      JobView job = view();
      assertThat(job.state()).isEqualTo(RETRY);
      assertThat(job.nextRetryAt()).isEqualTo(retryAt);
      Caller retried = takeCall(0, 2);
      assertThat(retried.startedAt)
          .as("not before the retry time")
          .isAfterOrEqualTo(retryAt.minus(TIMER_SLACK));
    }

    @ParameterizedTest
    @EnumSource(
        value = JobState.class,
        names = {"SUCCESS", "FAILURE", "REVOKED"})
    void aRestartOfAFinishedJobDispatchesNothing(JobState outcome) {
      givenSubmittedJob(FAST_RETRIES);
      finishAs(outcome);

      assertThat(entity.restart().state().outcome()).isEqualTo(outcome);

      pool.expectNoMessage(QUIET);
      assertThat(view().state()).isEqualTo(outcome);
    }
  }

  @Nested
  @DisplayName("metrics: counted once per persisted fact, never again on replay")
  class Metrics {
    @Test
    @DisplayName(
        "a job counts its submit, each completed step, each retry and its end; a repeated submit"
            + " and a restart count nothing")
    void aJobIsCountedOnceAndNotAgainWhenItRecovers() {
      givenSubmittedJob(FAST_RETRIES);
      assertThat(submit(STARTUP, PROVIDER).replyOfType(Accepted.class).created()).isFalse();
      completeSteps(1);
      takeCall(1, 1).starts().fails(Kind.RATE_LIMITED, "429 slow down");
      journal.next(AttemptFailed.class);
      takeCall(1, 2).starts().succeeds(output(1));
      journal.next(StepCompleted.class);
      Caller last = takeCall(SYNTHESIS, 1).starts().succeeds(REPORT);
      journal.nextEvents(StepCompleted.class, Succeeded.class);

      JobView done = view();
      List<String> expected =
          List.of(
              "submitted simulated",
              "step simulated market",
              "retried RATE_LIMITED",
              "step simulated team",
              "step simulated synthesis",
              "finished SUCCESS simulated "
                  + Duration.between(done.submittedAt(), last.finishedAt).toMillis()
                  + " ms");
      Await.until(DEADLINE, "the job's end is counted", () -> metrics.size() == expected.size());
      assertThat(metrics.all()).containsExactlyElementsOf(expected);

      entity.restart();
      assertThat(view().state()).isEqualTo(SUCCESS);
      assertThat(metrics.all()).as("nothing counted on replay").containsExactlyElementsOf(expected);
    }

    @ParameterizedTest
    @EnumSource(
        value = JobState.class,
        names = {"FAILURE", "REVOKED"})
    @DisplayName("a job that fails or is cancelled is counted as finished in that state")
    void aFailedOrCancelledJobIsCountedInItsState(JobState outcome) {
      givenSubmittedJob(FAST_RETRIES);
      finishAs(outcome);
      Await.until(DEADLINE, "the job's end is counted", () -> metrics.size() == 2);
      assertThat(metrics.all()).hasSize(2).first().isEqualTo("submitted simulated");
      assertThat(metrics.all().get(1)).startsWith("finished " + outcome + " simulated ");

      entity.restart();
      assertThat(view().state()).isEqualTo(outcome);
      assertThat(metrics.all()).hasSize(2);
    }
  }

  /** Job metrics as lines of text, e.g. "step simulated market". */
  private static final class RecordedMetrics implements JobMetrics {
    private final List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public void submitted(String provider) {
      lines.add("submitted " + provider);
    }

    @Override
    public void finished(JobState outcome, String provider, Duration sinceSubmitted) {
      lines.add("finished " + outcome + " " + provider + " " + sinceSubmitted.toMillis() + " ms");
    }

    @Override
    public void stepCompleted(String provider, String step, Duration took) {
      lines.add("step " + provider + " " + step + (took.isNegative() ? " took < 0" : ""));
    }

    @Override
    public void retried(Kind reason) {
      lines.add("retried " + reason);
    }

    int size() {
      return lines.size();
    }

    List<String> all() {
      return List.copyOf(lines);
    }
  }

  @Nested
  class OlderEvents {
    /** StepCompleted as it was journaled before steps recorded provider, model and usage. */
    record StepCompletedBeforeUsage(
        int step, int attempt, String output, Instant startedAt, Instant finishedAt)
        implements io.reportcluster.protocol.CborSerializable {}

    @Test
    void aStepCompletedWrittenBeforeUsageExistedReadsWithNoneOfIt() throws Exception {
      var serialization =
          org.apache.pekko.serialization.SerializationExtension.get(
              org.apache.pekko.actor.typed.javadsl.Adapter.toClassic(kit.system()));
      Instant start = Instant.parse("2026-11-30T10:00:00Z");
      var old = new StepCompletedBeforeUsage(2, 1, "text", start, start.plusSeconds(3));
      var serializer = serialization.findSerializerFor(old);
      byte[] bytes = serializer.toBinary(old);

      Object read =
          serialization
              .deserialize(bytes, serializer.identifier(), StepCompleted.class.getName())
              .get();
      assertThat(read)
          .isEqualTo(new StepCompleted(2, 1, "text", start, start.plusSeconds(3)))
          .extracting("provider", "model", "inputTokens", "outputTokens", "costUsd")
          .containsExactly(null, null, 0L, 0L, 0.0);
    }
  }

  @Nested
  class Passivation {
    @Test
    void aFinishedJobAsksTheShardToPassivateItAfterTheIdleTimeoutButARunningOneNever() {
      Duration idle = Duration.ofMillis(300);
      startEntity(SLOW_RETRIES, idle);
      submit(STARTUP, PROVIDER);
      completeSteps(1);
      shard.expectNoMessage(idle.multipliedBy(2));

      Caller last = completeJob();

      ActorRef<?> passivated = expectPassivation();
      assertThat(Duration.between(last.finishedAt, Instant.now()))
          .isGreaterThanOrEqualTo(idle.minus(TIMER_SLACK));
      assertThat(passivated.path())
          .as("the job entity itself")
          .isEqualTo(last.replyTo.path().parent());
    }
  }

  @Nested
  @DisplayName("a provider chain")
  class ProviderChain {
    private final List<String> chain = List.of(PROVIDER, BACKUP);

    private void givenChainJob(RetryPolicy retry) {
      startEntity(retry);
      Accepted accepted =
          ReportJobTest.this
              .<SubmitReply>run(
                  replyTo -> new ReportJob.Submit(STARTUP, chain, IDEMPOTENCY_KEY, null, replyTo))
              .replyOfType(Accepted.class);
      assertThat(accepted.job().providers()).containsExactlyElementsOf(chain);
    }

    @ParameterizedTest
    @EnumSource(
        value = Kind.class,
        names = {"UNAUTHORIZED", "FORBIDDEN", "NOT_FOUND", "QUOTA_EXCEEDED"})
    @DisplayName("a provider that will not serve the step hands it to the next one at once")
    void aRefusingProviderHandsTheStepOnAtOnce(Kind kind) {
      givenChainJob(SLOW_RETRIES);
      takeCall(0, 1).starts().fails(kind, "no");
      List<Event> events =
          journal.nextEvents(AttemptFailed.class, ReportJob.ProviderSwitched.class);
      assertThat(((AttemptFailed) events.get(0)).nextRetryAt()).as("no backoff").isNull();
      assertThat((ReportJob.ProviderSwitched) events.get(1))
          .extracting(
              ReportJob.ProviderSwitched::step,
              ReportJob.ProviderSwitched::toIndex,
              ReportJob.ProviderSwitched::from,
              ReportJob.ProviderSwitched::to)
          .containsExactly(0, 1, PROVIDER, BACKUP);

      takeCall(0, 2, BACKUP).starts().succeeds(output(0));
      assertThat(journal.next(StepCompleted.class).step()).isZero();
      JobView job = view();
      assertThat(job.steps().get(0).providersTried()).containsExactly(PROVIDER, BACKUP);
      assertThat(job.steps().get(1).providersTried()).as("not started yet").isEmpty();
      takeCall(1, 1, PROVIDER); // the next step starts again at the head of the chain
    }

    @Test
    @DisplayName("retries used up on one provider move the step on, with a fresh retry budget")
    void usedUpRetriesMoveTheStepOnWithAFreshBudget() {
      givenChainJob(FAST_RETRIES);
      for (int attempt = 1; attempt <= MAX_RETRIES + 1; attempt++) {
        takeCall(0, attempt).starts().fails(Kind.SERVER_ERROR, "502");
        if (attempt <= MAX_RETRIES) journal.next(AttemptFailed.class);
      }
      journal.nextEvents(AttemptFailed.class, ReportJob.ProviderSwitched.class);

      takeCall(0, MAX_RETRIES + 2, BACKUP).starts().fails(Kind.SERVER_ERROR, "502");
      assertThat(journal.next(AttemptFailed.class).nextRetryAt())
          .as("the backup's first failure is retried")
          .isNotNull();
      takeCall(0, MAX_RETRIES + 3, BACKUP).starts().succeeds(output(0));
      assertThat(journal.next(StepCompleted.class).attempt()).isEqualTo(MAX_RETRIES + 3);
    }

    @Test
    @DisplayName("the last provider failing for good fails the job; a bad request never moves")
    void theEndOfTheChainFailsTheJobAndABadRequestStays() {
      givenChainJob(SLOW_RETRIES);
      takeCall(0, 1).starts().fails(Kind.BAD_REQUEST, "prompt too long");
      journal.nextEvents(AttemptFailed.class, JobFailed.class);
      assertThat(view().state()).isEqualTo(FAILURE);
    }

    @Test
    @DisplayName("a long cooldown moves the waiting step on; a short wait is only shown")
    void aLongCooldownMovesTheStepAndAShortWaitIsShown() {
      givenChainJob(SLOW_RETRIES);
      Caller queued = takeCall(0, 1);
      Instant soon = Instant.now().plusSeconds(2);
      queued.replyTo.tell(new CallMessages.CallWaiting(jobId, 0, 1, PROVIDER, "requests", soon));
      Await.until(DEADLINE, "the job says what it waits for", () -> view().waitingFor() != null);
      JobView waiting = view();
      assertThat(waiting.state()).as("waiting is not an attempt").isEqualTo(PENDING);
      assertThat(waiting.attempts()).isZero();
      assertThat(waiting.waitingFor())
          .isEqualTo(new io.reportcluster.protocol.Api.Waiting(PROVIDER, "requests", soon));

      queued.replyTo.tell(
          new CallMessages.CallWaiting(
              jobId,
              0,
              1,
              PROVIDER,
              "cooldown",
              Instant.now().plus(FALLBACK_AFTER_COOLDOWN).plusSeconds(30)));
      assertThat(journal.next(ReportJob.ProviderSwitched.class).reason()).contains("cooldown");
      pool.fishForMessage(
          DEADLINE,
          "the queued call is withdrawn",
          m ->
              m instanceof LlmCallerPool.CancelCalls
                  ? FishingOutcomes.complete()
                  : FishingOutcomes.continueAndIgnore());
      Caller moved = takeCall(0, 1, BACKUP);
      assertThat(view().waitingFor()).isNull();

      // The call the step left behind starts late: it is not the step's call any more.
      queued.replyTo.tell(new CallMessages.CallStarted(jobId, 0, 1, Instant.now(), PROVIDER));
      moved.starts().succeeds(output(0));
      assertThat(journal.next(StepCompleted.class).step()).isZero();
    }
  }

  // ================================================================ the entity and its commands

  /** Spawns the job entity (nothing submitted yet) with this test's steps and policy. */
  private void startEntity(RetryPolicy retry, Duration finishedIdleTimeout) {
    JobSettings settings =
        new JobSettings(
            STEPS,
            200,
            finishedIdleTimeout,
            retry,
            new JobSettings.Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2),
            FALLBACK_AFTER_COOLDOWN);
    entity =
        EventSourcedBehaviorTestKit.create(
            kit.system(),
            ReportJob.create(
                jobId,
                shard.ref(),
                new ReportJob.Deps(
                    settings,
                    pool.ref(),
                    poolMetrics,
                    NODE,
                    JobMirror.NONE,
                    ReportJob.Fallbacks.NONE,
                    metrics)),
            EventSourcedBehaviorTestKit.enabledSerializationSettings());
    journal = new Journal(PersistenceId.of(ReportJob.TYPE_KEY.name(), jobId).id());
    // The entity recovers at once, finds nothing and asks to leave (under sharding, a Submit
    // that started it is handled before that); this test's commands come after.
    expectPassivation();
  }

  private void startEntity(RetryPolicy retry) {
    startEntity(retry, NO_IDLE_TIMEOUT);
  }

  /** Given: a job accepted on a fresh entity; its first call waits in the pool. */
  private void givenSubmittedJob(RetryPolicy retry) {
    startEntity(retry);
    assertThat(submit(STARTUP, PROVIDER).replyOfType(Accepted.class).created()).isTrue();
  }

  private CommandResultWithReply<Command, Event, State, SubmitReply> submit(
      String startup, String provider) {
    return run(replyTo -> new ReportJob.Submit(startup, provider, IDEMPOTENCY_KEY, null, replyTo));
  }

  private CommandResultWithReply<Command, Event, State, GetReply> get() {
    return run(Get::new);
  }

  private CommandResultWithReply<Command, Event, State, CancelReply> cancel() {
    return run(Cancel::new);
  }

  private JobView view() {
    return get().replyOfType(Found.class).job();
  }

  /** Runs a client command; the events it persisted count as read. */
  private <R> CommandResultWithReply<Command, Event, State, R> run(
      Function<ActorRef<R>, Command> command) {
    CommandResultWithReply<Command, Event, State, R> result = entity.runCommand(command);
    journal.consumed(result.events());
    return result;
  }

  private ActorRef<?> expectPassivation() {
    ClusterSharding.Passivate<?> passivate =
        shard.expectMessageClass(ClusterSharding.Passivate.class, DEADLINE);
    return passivate.entity();
  }

  private static List<JobState> stepStates(JobView job) {
    return job.steps().stream().map(StepView::state).toList();
  }

  // ================================================================ playing the caller

  private static String output(int step) {
    return "the " + STEPS.get(step) + " section on " + STARTUP;
  }

  /** The pool receives the job's next call, for exactly this step and attempt. */
  private Caller takeCall(int step, int attempt) {
    return takeCall(step, attempt, PROVIDER);
  }

  /** The pool receives the job's next call, for this step and attempt, to {@code provider}. */
  private Caller takeCall(int step, int attempt, String provider) {
    CallMessages.Call call =
        pool
            .fishForMessage(
                DEADLINE,
                "the job's next call",
                m ->
                    m instanceof LlmCallerPool.Submit
                        ? FishingOutcomes.complete()
                        : FishingOutcomes.continueAndIgnore())
            .stream()
            .map(LlmCallerPool.Submit.class::cast)
            .findFirst()
            .orElseThrow()
            .call();
    assertThat(call.request())
        .as("call dispatched to the pool")
        .extracting(
            LlmRequest::jobId,
            LlmRequest::step,
            LlmRequest::stepName,
            LlmRequest::attempt,
            LlmRequest::provider)
        .containsExactly(jobId, step, STEPS.get(step), attempt, provider);
    return new Caller(call.replyTo(), call.request(), step, attempt);
  }

  /**
   * Steps 0 .. count-1 (not the last) each succeed at their first attempt; returns their callers.
   */
  private List<Caller> completeSteps(int count) {
    assertThat(count)
        .as("the last step also finishes the job: use completeJob")
        .isLessThanOrEqualTo(SYNTHESIS);
    List<Caller> callers = new ArrayList<>();
    int first = journal.completedSteps();
    for (int step = first; step < first + count; step++) {
      callers.add(takeCall(step, 1).starts().succeeds(output(step)));
      assertThat(journal.next(StepCompleted.class).step()).isEqualTo(step);
    }
    return callers;
  }

  /** The remaining steps succeed; the last one's text is the report. */
  private Caller completeJob() {
    completeSteps(SYNTHESIS - journal.completedSteps());
    Caller last = takeCall(SYNTHESIS, 1).starts().succeeds(REPORT);
    journal.nextEvents(StepCompleted.class, Succeeded.class);
    return last;
  }

  /**
   * Brings the freshly submitted job to an end: all steps done, a permanent failure, or a cancel.
   */
  private void finishAs(JobState outcome) {
    switch (outcome) {
      case SUCCESS -> completeJob();
      case FAILURE -> {
        takeCall(0, 1).starts().fails(Kind.UNAUTHORIZED, "bad key");
        journal.nextEvents(AttemptFailed.class, JobFailed.class);
      }
      case REVOKED -> {
        takeCall(0, 1);
        assertThat(cancel().reply()).isInstanceOf(CancelAccepted.class);
        pool.expectMessage(DEADLINE, new LlmCallerPool.CancelCalls(jobId, null));
      }
      default -> throw new IllegalArgumentException("not an outcome: " + outcome);
    }
    assertThat(view().state()).isEqualTo(outcome);
  }

  private static List<Caller> append(List<Caller> callers, Caller last) {
    List<Caller> all = new ArrayList<>(callers);
    all.add(last);
    return all;
  }

  /**
   * Plays the caller actor that took one call of the job: it reports start, then success or
   * failure.
   */
  private final class Caller {
    final ActorRef<CallMessages.CallResult> replyTo;
    final LlmRequest request;
    final int step;
    final int attempt;

    /** When the caller took the call, which is when it reports having started it. */
    final Instant startedAt = Instant.now();

    Instant finishedAt;

    Caller(ActorRef<CallMessages.CallResult> replyTo, LlmRequest request, int step, int attempt) {
      this.replyTo = replyTo;
      this.request = request;
      this.step = step;
      this.attempt = attempt;
    }

    /** A caller answering on the job's channel for a call the job did not make now. */
    Caller forgedFor(int otherStep, int otherAttempt) {
      return new Caller(replyTo, null, otherStep, otherAttempt);
    }

    /**
     * Reports the start; for the job's current call, the start is journaled before anything else.
     */
    Caller starts() {
      replyTo.tell(new CallMessages.CallStarted(jobId, step, attempt, startedAt));
      if (request != null) {
        assertThat(journal.next(AttemptStarted.class))
            .extracting(AttemptStarted::step, AttemptStarted::attempt)
            .containsExactly(step, attempt);
      }
      return this;
    }

    Caller succeeds(String text) {
      finishedAt = Instant.now();
      replyTo.tell(
          new CallMessages.CallSucceeded(jobId, step, attempt, text, startedAt, finishedAt));
      return this;
    }

    /** Answers with who wrote it and what it cost, as a real provider's call does. */
    Caller answers(String text, String model, long in, long out, double cost, FinishReason why) {
      finishedAt = Instant.now();
      replyTo.tell(
          new CallMessages.CallSucceeded(
              jobId,
              step,
              attempt,
              text,
              startedAt,
              finishedAt,
              request.provider(),
              model,
              new LlmAnswer.Usage(in, out),
              cost,
              why));
      return this;
    }

    Caller fails(Kind kind, String message, Duration retryAfter) {
      finishedAt = Instant.now();
      LlmCallException failure = new LlmCallException(kind, message, retryAfter);
      replyTo.tell(
          new CallMessages.CallFailed(jobId, step, attempt, failure, startedAt, finishedAt));
      return this;
    }

    Caller fails(Kind kind, String message) {
      return fails(kind, message, null);
    }
  }

  // ================================================================ reading the journal

  /**
   * What the entity persisted, read in order. Every event read is also checked to survive the CBOR
   * round trip, since events persisted by call answers do not pass through runCommand.
   */
  private final class Journal {
    private final String persistenceId;
    private final TestProbe<Object> waiter = kit.createTestProbe();
    private final SerializationTestKit serialization = new SerializationTestKit(kit.system());
    private int read;

    Journal(String persistenceId) {
      this.persistenceId = persistenceId;
    }

    private List<Object> stored() {
      return entity.persistenceTestKit().persistedInStorage(persistenceId);
    }

    /** Waits for the next events, which must be of exactly these types, in this order. */
    List<Event> nextEvents(Class<?>... types) {
      List<Object> all =
          waiter.awaitAssert(
              DEADLINE,
              POLL,
              () -> {
                List<Object> now = stored();
                assertThat(now.size())
                    .as("events persisted so far: %s", now)
                    .isGreaterThanOrEqualTo(read + types.length);
                return now;
              });
      List<Object> fresh = all.subList(read, read + types.length);
      assertThat(fresh).as("next events").extracting(Object::getClass).containsExactly(types);
      read += types.length;
      fresh.forEach(event -> serialization.verifySerialization(event, true));
      return fresh.stream().map(Event.class::cast).toList();
    }

    <E extends Event> E next(Class<E> type) {
      return type.cast(nextEvents(type).get(0));
    }

    /** A client command's events, already read by the testkit: they must be the unread ones. */
    void consumed(List<Event> events) {
      assertThat(stored().subList(read, read + events.size()))
          .as("events unread before the command")
          .containsExactlyElementsOf(events);
      read += events.size();
    }

    /**
     * Only meaningful after a client command (a Get), which the entity handles after earlier
     * messages.
     */
    void assertNothingNew() {
      List<Object> all = stored();
      assertThat(all.subList(read, all.size())).as("events persisted unexpectedly").isEmpty();
    }

    int completedSteps() {
      return (int)
          stored().subList(0, read).stream().filter(StepCompleted.class::isInstance).count();
    }
  }
}
