package io.reportcluster.node.job;

import io.reportcluster.node.job.ReportJobState.State;
import io.reportcluster.node.job.ReportJobState.Step;
import io.reportcluster.node.llm.CallMessages;
import io.reportcluster.node.llm.LlmCallerPool;
import io.reportcluster.node.llm.PoolMetrics;
import io.reportcluster.node.llm.provider.LlmCallException;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.metrics.JobMetrics;
import io.reportcluster.node.mirror.JobMirror;
import io.reportcluster.node.mirror.JobMirror.Change;
import io.reportcluster.protocol.Api.JobView;
import io.reportcluster.protocol.Api.Usage;
import io.reportcluster.protocol.Api.Waiting;
import io.reportcluster.protocol.CborSerializable;
import io.reportcluster.protocol.JobState;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.SnapshotSelectionCriteria;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.Recovery;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One report job: the single source of truth for it. A sharded, event-sourced state machine that
 * runs the job's LLM steps one after another through this node's caller pool, persists each
 * completed step, retries failed steps with backoff, and on recovery (after a restart or on another
 * node) continues from its last completed step without redoing it.
 *
 * <p>Only facts that must survive a crash are events: submission, the start of each call, each
 * completed step, each failed attempt (with the retry it scheduled) and the end. Whether a call is
 * queued right now is runtime knowledge, kept in this instance. After a crash, a call that had
 * started and never answered counts as a failed attempt and is made again after its backoff, so a
 * call that kills its node fails the job after max-retries instead of looping.
 */
public final class ReportJob
    extends EventSourcedBehaviorWithEnforcedReplies<
        ReportJob.Command, ReportJob.Event, ReportJobState.State> {

  public static final EntityTypeKey<Command> TYPE_KEY =
      EntityTypeKey.create(Command.class, "ReportJob");

  // ---------------------------------------------------------------- protocol: commands

  public sealed interface Command extends CborSerializable {}

  /**
   * Accept the job; a repeat with the same id (an Idempotency-Key) returns the existing job. {@code
   * deadline}: the client stops waiting then (and hears 503), so a Submit that reaches a new job
   * later must not create it; null: no deadline.
   */
  public record Submit(
      String startup,
      List<String> providers,
      String idempotencyKey,
      Instant deadline,
      ActorRef<SubmitReply> replyTo,
      String owner)
      implements Command {

    /** A job of no API key (a node without keys). */
    public Submit(
        String startup,
        List<String> providers,
        String idempotencyKey,
        Instant deadline,
        ActorRef<SubmitReply> replyTo) {
      this(startup, providers, idempotencyKey, deadline, replyTo, null);
    }

    /** A job for one provider, with no fallback. */
    public Submit(
        String startup,
        String provider,
        String idempotencyKey,
        Instant deadline,
        ActorRef<SubmitReply> replyTo) {
      this(startup, List.of(provider), idempotencyKey, deadline, replyTo);
    }

    String provider() {
      return providers.get(0);
    }
  }

  /**
   * {@code asOwner}: the API key asking, when it may see only its own jobs (another's answers
   * NotFound, as Cancel and Retry do); null for anyone else.
   */
  public record Get(ActorRef<GetReply> replyTo, String asOwner) implements Command {
    public Get(ActorRef<GetReply> replyTo) {
      this(replyTo, null);
    }
  }

  /** Cancel: the job becomes REVOKED and the answer of a call in flight is then ignored. */
  public record Cancel(ActorRef<CancelReply> replyTo, String asOwner) implements Command {
    public Cancel(ActorRef<CancelReply> replyTo) {
      this(replyTo, null);
    }
  }

  /** Run a FAILURE job again from its failed step, with a fresh retry budget. */
  public record Retry(ActorRef<RetryReply> replyTo, String asOwner) implements Command {
    public Retry(ActorRef<RetryReply> replyTo) {
      this(replyTo, null);
    }
  }

  /** News from the caller pool about this job's current call (node-local, never serialized). */
  record CallUpdate(CallMessages.CallResult result) implements Command {}

  record RetryDue(int step, int attempt) implements Command {}

  /** After recovery: this attempt was started and never answered (its node stopped meanwhile). */
  record AttemptLost(int step, int attempt) implements Command {}

  enum IdleTimeout implements Command {
    INSTANCE
  }

  enum MirrorRefresh implements Command {
    INSTANCE
  }

  /**
   * Sharding's stop message for this entity (passivation, hand-off). A running job that is asked to
   * stop wakes itself through sharding first, so it starts again at once instead of waiting,
   * unremembered, for a client to touch it.
   */
  enum Stop implements Command {
    INSTANCE
  }

  /** Starts the entity (recovery resumes a running job); otherwise does nothing. */
  public enum Wake implements Command {
    INSTANCE
  }

  // ---------------------------------------------------------------- protocol: replies

  public sealed interface SubmitReply extends CborSerializable {}

  /** {@code created} is false when the job already existed (an idempotent repeat). */
  public record Accepted(JobView job, boolean created) implements SubmitReply {}

  /** The job id exists with another request behind it: an Idempotency-Key was reused. */
  public record IdempotencyConflict(String jobId, String existingStartup) implements SubmitReply {}

  /** Not created: the Submit arrived after its deadline (the client was already told 503). */
  public record Expired(String jobId) implements SubmitReply {}

  /** Not created: the node that would run the job has {@code queueLimit} calls waiting. */
  public record Overloaded(String node, int queueDepth, int queueLimit) implements SubmitReply {}

  public sealed interface GetReply extends CborSerializable {}

  public record Found(JobView job) implements GetReply {}

  public record NotFound(String jobId) implements GetReply, CancelReply, RetryReply {}

  public sealed interface CancelReply extends CborSerializable {}

  public record CancelAccepted(JobView job) implements CancelReply {}

  /** The job had already finished with SUCCESS or FAILURE: nothing to cancel. */
  public record CancelRefused(JobView job) implements CancelReply {}

  public sealed interface RetryReply extends CborSerializable {}

  public record RetryAccepted(JobView job) implements RetryReply {}

  /** Only a job in FAILURE can be retried; this one is running, succeeded or was cancelled. */
  public record RetryRefused(JobView job) implements RetryReply {}

  // ---------------------------------------------------------------- protocol: events

  public sealed interface Event extends CborSerializable {}

  /**
   * {@code providers}: the chain a step may move along (the first is {@code provider}); null in
   * events journaled before chains existed, which means {@code provider} alone.
   */
  public record Submitted(
      String jobId,
      String startup,
      String provider,
      String idempotencyKey,
      List<String> steps,
      Instant at,
      List<String> providers,
      String owner)
      implements Event {

    /** {@code owner}: the API key that submitted the job; null without keys, and in old events. */
    public Submitted(
        String jobId,
        String startup,
        String provider,
        String idempotencyKey,
        List<String> steps,
        Instant at,
        List<String> providers) {
      this(jobId, startup, provider, idempotencyKey, steps, at, providers, null);
    }

    public Submitted(
        String jobId,
        String startup,
        String provider,
        String idempotencyKey,
        List<String> steps,
        Instant at) {
      this(jobId, startup, provider, idempotencyKey, steps, at, null, null);
    }

    List<String> chain() {
      return providers == null || providers.isEmpty() ? List.of(provider) : providers;
    }
  }

  /**
   * A step moved to the next provider of its chain ({@code to}, index {@code toIndex}) because
   * {@code from} could not serve it: {@code reason} says why (its failure, or its cooldown).
   */
  public record ProviderSwitched(
      int step, int toIndex, String from, String to, String reason, Instant at) implements Event {}

  /**
   * A call of a step began. Journaled so that an attempt whose node dies during the call still
   * counts: a call that kills its node ends in FAILURE after max-retries, not in a crash loop.
   */
  public record AttemptStarted(int step, int attempt, Instant at, String node) implements Event {
    /** {@code node}: where the call ran; null in events journaled before it was recorded. */
    public AttemptStarted(int step, int attempt, Instant at) {
      this(step, attempt, at, null);
    }
  }

  /**
   * A step's answer, with who wrote it and what it cost: {@code provider} (the entry's name),
   * {@code model}, the tokens the provider counted, their cost at the entry's prices when the step
   * completed, and why the model stopped ({@code finishReason}: STOP, LENGTH, CONTENT_FILTER).
   * Events written before these fields existed read them as null and 0.
   */
  public record StepCompleted(
      int step,
      int attempt,
      String output,
      Instant startedAt,
      Instant finishedAt,
      String provider,
      String model,
      long inputTokens,
      long outputTokens,
      double costUsd,
      String finishReason)
      implements Event {

    /** A step answered by a provider that reported nothing but its text. */
    public StepCompleted(
        int step, int attempt, String output, Instant startedAt, Instant finishedAt) {
      this(step, attempt, output, startedAt, finishedAt, null, null, 0, 0, 0, null);
    }

    Usage usage() {
      return new Usage(inputTokens, outputTokens, costUsd);
    }
  }

  /** {@code nextRetryAt} is null when no retry follows (the job then fails in the same write). */
  public record AttemptFailed(
      int step,
      int attempt,
      String error,
      Instant startedAt,
      Instant finishedAt,
      Instant nextRetryAt)
      implements Event {}

  public record Succeeded(String result, Instant at) implements Event {}

  public record JobFailed(String error, Instant at) implements Event {}

  public record Cancelled(Instant at) implements Event {}

  /** A client retried the failed job: {@code step} runs again, on its chain's first provider. */
  public record Resumed(int step, Instant at) implements Event {}

  /** Every event carries this tag: the read side follows the journal through it. */
  public static final String TAG = "job";

  private static final java.util.Set<String> TAGS = java.util.Set.of(TAG);

  // ---------------------------------------------------------------- wiring

  /** What a job needs from its node. */
  public record Deps(
      JobSettings settings,
      ActorRef<LlmCallerPool.Command> pool,
      PoolMetrics poolMetrics,
      String nodeName,
      JobMirror mirror,
      Fallbacks fallbacks,
      JobMetrics jobMetrics) {}

  /** Who hears that a step moved to another provider (the metrics). */
  public interface Fallbacks {
    Fallbacks NONE = (from, to, reason) -> {};

    void moved(String from, String to, String reason);
  }

  /** Registers ReportJob with Cluster Sharding on this node. */
  public static ActorRef<ShardingEnvelope<Command>> init(ActorSystem<?> system, Deps deps) {
    return ClusterSharding.get(system)
        .init(
            Entity.of(TYPE_KEY, entity -> create(entity.getEntityId(), entity.getShard(), deps))
                .withStopMessage(Stop.INSTANCE));
  }

  /**
   * @param shard where to ask for passivation; null outside sharding (unit tests), where an idle
   *     finished job simply stays
   */
  public static Behavior<Command> create(
      String jobId, ActorRef<ClusterSharding.ShardCommand> shard, Deps deps) {
    return Behaviors.setup(
        ctx -> Behaviors.withTimers(timers -> new ReportJob(jobId, ctx, timers, shard, deps)));
  }

  /** Where the job's current call stands; runtime knowledge, rebuilt on recovery. */
  private enum Phase {
    IDLE,
    QUEUED,
    RUNNING,
    BACKOFF
  }

  private final String jobId;
  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final Deps deps;
  private final ActorRef<CallMessages.CallResult> callAdapter;

  /** When this copy of the job started: orders the mirror writes of two copies (see JobMirror). */
  private final long incarnation = System.currentTimeMillis();

  private Phase phase = Phase.IDLE;

  /** What the queued call waits for, while its provider holds it back; null otherwise. */
  private Waiting waiting;

  private ReportJob(
      String jobId,
      ActorContext<Command> ctx,
      TimerScheduler<Command> timers,
      ActorRef<ClusterSharding.ShardCommand> shard,
      Deps deps) {
    super(
        PersistenceId.of(TYPE_KEY.name(), jobId),
        SupervisorStrategy.restartWithBackoff(
            deps.settings().restart().minBackoff(),
            deps.settings().restart().maxBackoff(),
            deps.settings().restart().randomFactor()));
    this.jobId = jobId;
    this.ctx = ctx;
    this.timers = timers;
    this.shard = shard;
    this.deps = deps;
    this.callAdapter = ctx.messageAdapter(CallMessages.CallResult.class, CallUpdate::new);
  }

  @Override
  public java.util.Set<String> tagsFor(Event event) {
    return TAGS;
  }

  @Override
  public State emptyState() {
    return State.EMPTY;
  }

  /** A job is a handful of events and never snapshots: skip the snapshot query on every start. */
  @Override
  public Recovery recovery() {
    return Recovery.withSnapshotSelectionCriteria(SnapshotSelectionCriteria.none());
  }

  // ---------------------------------------------------------------- commands

  /**
   * The command handler as plain dispatch by state, not built with the handler builder: the builder
   * gives every entity its own cases, lambdas and Scala lists (~3 KB per job, a heap histogram of
   * 10,000 queued jobs showed) and walks them for each command.
   */
  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return this::onCommand;
  }

  private ReplyEffect<Event, State> onCommand(State s, Command c) {
    if (c instanceof Stop stop) return onStop(s, stop);
    if (c instanceof Wake) return Effect().noReply();
    if (s.isEmpty()) return whenEmpty(s, c);
    return s.isTerminal() ? whenTerminal(s, c) : whenActive(s, c);
  }

  private ReplyEffect<Event, State> whenEmpty(State s, Command c) {
    if (c instanceof Submit submit) return onFirstSubmit(s, submit);
    if (c instanceof Get get) return notFound(get.replyTo());
    if (c instanceof Cancel cancel) return notFound(cancel.replyTo());
    if (c instanceof Retry retry) return notFound(retry.replyTo());
    if (c == IdleTimeout.INSTANCE) passivate();
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> whenActive(State s, Command c) {
    if (c instanceof Submit submit) return onRepeatSubmit(s, submit);
    if (c instanceof Get get)
      return foreign(s, get.asOwner())
          ? notFound(get.replyTo())
          : Effect().reply(get.replyTo(), new Found(view(s)));
    if (c instanceof Cancel cancel)
      return foreign(s, cancel.asOwner()) ? notFound(cancel.replyTo()) : onCancel(s, cancel);
    if (c instanceof Retry retry)
      return foreign(s, retry.asOwner())
          ? notFound(retry.replyTo())
          : Effect().reply(retry.replyTo(), new RetryRefused(view(s)));
    if (c instanceof CallUpdate update) return onCallUpdate(s, update);
    if (c instanceof RetryDue due) return onRetryDue(s, due);
    if (c instanceof AttemptLost lost) return onAttemptLost(s, lost);
    if (c == MirrorRefresh.INSTANCE) announce(s, Change.REFRESH);
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> whenTerminal(State s, Command c) {
    if (c instanceof Submit submit) return idleAfter(onRepeatSubmit(s, submit));
    if (c instanceof Get get)
      return foreign(s, get.asOwner())
          ? notFound(get.replyTo())
          : idleAfter(Effect().reply(get.replyTo(), new Found(view(s))));
    if (c instanceof Cancel cancel)
      return foreign(s, cancel.asOwner())
          ? notFound(cancel.replyTo())
          : idleAfter(
              s.outcome() == JobState.REVOKED
                  ? Effect().reply(cancel.replyTo(), new CancelAccepted(view(s)))
                  : Effect().reply(cancel.replyTo(), new CancelRefused(view(s))));
    if (c instanceof Retry retry)
      return foreign(s, retry.asOwner()) ? notFound(retry.replyTo()) : onRetry(s, retry);
    if (c == IdleTimeout.INSTANCE) passivate();
    // A late answer of a cancelled job's call, or a stale timer: ignored on purpose.
    return Effect().noReply();
  }

  private ReplyEffect<Event, State> onFirstSubmit(State s, Submit c) {
    // Refusals persist nothing, and the empty entity leaves at once (and so the remembered set).
    if (c.deadline() != null && Instant.now().isAfter(c.deadline())) {
      ctx.getLog()
          .info(
              "job {} not created: its submit arrived {} ms after the client's deadline",
              jobId,
              Duration.between(c.deadline(), Instant.now()).toMillis());
      passivate();
      return Effect().reply(c.replyTo(), new Expired(jobId));
    }
    PoolMetrics pool = deps.poolMetrics();
    if (pool.queueFull()) {
      passivate();
      return Effect()
          .reply(c.replyTo(), new Overloaded(deps.nodeName(), pool.queueDepth(), pool.queueLimit));
    }
    Submitted e =
        new Submitted(
            jobId,
            c.startup(),
            c.provider(),
            c.idempotencyKey(),
            deps.settings().steps(),
            Instant.now(),
            c.providers(),
            c.owner());
    return Effect()
        .persist(e)
        .thenRun(
            ns -> {
              // A job's ordinary life (PENDING, STARTED, SUCCESS) logs at DEBUG: at a thousand
              // submits
              // a second those lines cost ~3 % of the node's CPU and drown what needs a reader.
              ctx.getLog()
                  .debug(
                      "job {} PENDING: startup '{}', providers {}",
                      jobId,
                      ns.startup(),
                      ns.providers());
              deps.jobMetrics().submitted(ns.provider());
              dispatch(ns);
              announce(ns, Change.SUBMITTED);
              startMirrorRefresh();
            })
        .thenReply(c.replyTo(), ns -> new Accepted(view(ns), true));
  }

  /** Another API key's job: it answers as if it did not exist. */
  private static boolean foreign(State s, String asOwner) {
    return asOwner != null && !asOwner.equals(s.owner());
  }

  private ReplyEffect<Event, State> onRepeatSubmit(State s, Submit c) {
    if (!Objects.equals(s.startup(), c.startup())
        || !Objects.equals(s.providers(), c.providers())) {
      return Effect().reply(c.replyTo(), new IdempotencyConflict(jobId, s.startup()));
    }
    return Effect().reply(c.replyTo(), new Accepted(view(s), false));
  }

  private ReplyEffect<Event, State> onCancel(State s, Cancel c) {
    return Effect()
        .persist(new Cancelled(Instant.now()))
        .thenRun(
            ns -> {
              ctx.getLog().info("job {} REVOKED at step {}", jobId, ns.currentStep());
              timers.cancel(RetryDue.class);
              deps.pool().tell(new LlmCallerPool.CancelCalls(jobId, null));
              phase = Phase.IDLE;
              finished(ns, Change.REVOKED);
            })
        .thenReply(c.replyTo(), ns -> new CancelAccepted(view(ns)));
  }

  private ReplyEffect<Event, State> onRetry(State s, Retry c) {
    if (s.outcome() != JobState.FAILURE) {
      return idleAfter(Effect().reply(c.replyTo(), new RetryRefused(view(s))));
    }
    timers.cancel(IdleTimeout.INSTANCE);
    return Effect()
        .persist(new Resumed(s.currentStep(), Instant.now()))
        .thenRun(
            ns -> {
              ctx.getLog()
                  .info(
                      "job {} retried from step {}",
                      jobId,
                      ns.steps().get(ns.currentStep()).name());
              dispatch(ns);
              announce(ns, Change.RESUMED);
              startMirrorRefresh();
            })
        .thenReply(c.replyTo(), ns -> new RetryAccepted(view(ns)));
  }

  private ReplyEffect<Event, State> onCallUpdate(State s, CallUpdate u) {
    CallMessages.CallResult r = u.result();
    int step = s.currentStep();
    // Only the current attempt of the current step, on the step's current provider, counts;
    // anything else is stale (a call the step left behind when it moved to another provider).
    if (r.step() != step
        || r.attempt() != s.steps().get(step).currentAttempt()
        || !currentProvider(s, step, r)) {
      return Effect().noReply();
    }
    if (r instanceof CallMessages.CallWaiting w) {
      return onWaiting(s, w);
    }
    if (r instanceof CallMessages.CallStarted started) {
      if (phase != Phase.QUEUED) return Effect().noReply();
      phase = Phase.RUNNING;
      waiting = null;
      return Effect()
          .persist(new AttemptStarted(step, r.attempt(), started.at(), deps.nodeName()))
          .thenRun(
              ns -> {
                // The job becomes STARTED with its first call, and again when a retry starts.
                if (step == 0 && r.attempt() == 1 || r.attempt() > 1) {
                  if (r.attempt() == 1) ctx.getLog().debug("job {} STARTED", jobId);
                  announce(ns, Change.STARTED);
                } else {
                  // A later step's first call: no news for subscribers, but the mirror serves
                  // reads,
                  // so it must show the step running (its state, start time and the call counted).
                  announce(ns, Change.REFRESH);
                }
              })
          .thenNoReply();
    }
    if (r instanceof CallMessages.CallSucceeded ok) {
      return onStepSucceeded(s, ok);
    }
    return onStepFailed(s, (CallMessages.CallFailed) r);
  }

  private static boolean currentProvider(State s, int step, CallMessages.CallResult r) {
    String provider = null;
    if (r instanceof CallMessages.CallStarted c) provider = c.provider();
    else if (r instanceof CallMessages.CallWaiting c) provider = c.provider();
    else if (r instanceof CallMessages.CallSucceeded c) provider = c.provider();
    else if (r instanceof CallMessages.CallFailed c) provider = c.provider();
    return provider == null || provider.equals(s.providerOf(step));
  }

  /**
   * The step's call is held back by its provider's budget: not an attempt, nothing journaled. A
   * cooldown longer than the configured bound moves the step to the next provider, if its chain has
   * one; otherwise the job says what it waits for (announced once per wait, not per look).
   */
  private ReplyEffect<Event, State> onWaiting(State s, CallMessages.CallWaiting w) {
    if (phase != Phase.QUEUED) return Effect().noReply();
    int step = w.step();
    Duration left = Duration.between(Instant.now(), w.until());
    if ("cooldown".equals(w.reason())
        && left.compareTo(deps.settings().fallbackAfterCooldown()) > 0
        && s.nextProvider(step).isPresent()) {
      deps.pool().tell(new LlmCallerPool.CancelCalls(jobId, callAdapter));
      phase = Phase.IDLE;
      waiting = null;
      return switchProvider(
          s, step, List.of(), "cooldown of " + w.provider() + " for " + left.toSeconds() + " s");
    }
    Waiting now = new Waiting(w.provider(), w.reason(), w.until());
    boolean news =
        waiting == null
            || !waiting.provider().equals(now.provider())
            || !waiting.reason().equals(now.reason());
    waiting = now;
    if (news) announce(s, Change.REFRESH);
    return Effect().noReply();
  }

  /**
   * Persists {@code first} (the failed attempt, if any) and the move of the step to the next
   * provider, then calls that provider at once: no backoff, since a different provider serves it.
   */
  private ReplyEffect<Event, State> switchProvider(
      State s, int step, List<Event> first, String reason) {
    String from = s.providerOf(step);
    String to = s.nextProvider(step).orElseThrow();
    List<Event> events = new ArrayList<>(first);
    events.add(
        new ProviderSwitched(
            step, s.steps().get(step).providerIndex() + 1, from, to, reason, Instant.now()));
    return Effect()
        .persist(events)
        .thenRun(
            ns -> {
              ctx.getLog()
                  .info(
                      "job {} step {} moves from {} to {}: {}",
                      jobId,
                      s.steps().get(step).name(),
                      from,
                      to,
                      reason);
              deps.fallbacks().moved(from, to, FallbackRules.label(reason));
              dispatch(ns);
              announce(ns, Change.FALLBACK);
            })
        .thenNoReply();
  }

  private ReplyEffect<Event, State> onStepSucceeded(State s, CallMessages.CallSucceeded ok) {
    StepCompleted done =
        new StepCompleted(
            ok.step(),
            ok.attempt(),
            ok.text(),
            ok.startedAt(),
            ok.finishedAt(),
            ok.provider(),
            ok.model(),
            ok.usage() == null ? 0 : ok.usage().inputTokens(),
            ok.usage() == null ? 0 : ok.usage().outputTokens(),
            ok.costUsd(),
            ok.finishReason() == null ? null : ok.finishReason().name());
    phase = Phase.IDLE;
    boolean last = ok.step() == s.steps().size() - 1;
    if (!last) {
      return Effect()
          .persist(done)
          .thenRun(
              ns -> {
                ctx.getLog().debug("job {} step {} done", jobId, s.steps().get(ok.step()).name());
                stepTimed(s, ok);
                dispatch(ns);
                announce(ns, Change.STEP_COMPLETED);
              })
          .thenNoReply();
    }
    return Effect()
        .persist(List.of(done, new Succeeded(ok.text(), ok.finishedAt())))
        .thenRun(
            ns -> {
              ctx.getLog()
                  .debug("job {} SUCCESS after {} calls", jobId, JobViews.totalAttempts(ns));
              stepTimed(s, ok);
              finished(ns, Change.SUCCEEDED);
            })
        .thenNoReply();
  }

  private ReplyEffect<Event, State> onStepFailed(State s, CallMessages.CallFailed f) {
    LlmCallException why = f.failure();
    String stepName = s.steps().get(f.step()).name();
    String error = "step " + stepName + ", attempt " + f.attempt() + ": " + why.describe();
    // The retry budget is per provider: a step that moved to the next one starts it afresh.
    int retriesSoFar = s.steps().get(f.step()).attemptsOnProvider() - 1;
    phase = Phase.IDLE;
    waiting = null;
    boolean exhausted = retriesSoFar >= deps.settings().retry().maxRetries();
    boolean moveOn = FallbackRules.movesAtOnce(why.kind()) || (why.retryable() && exhausted);
    if (moveOn && s.nextProvider(f.step()).isPresent()) {
      String reason =
          why.describe()
              + (why.retryable() ? " (gave up after " + (retriesSoFar + 1) + " attempts)" : "");
      return switchProvider(
          s,
          f.step(),
          List.of(
              new AttemptFailed(
                  f.step(), f.attempt(), why.describe(), f.startedAt(), f.finishedAt(), null)),
          reason);
    }
    if (!why.retryable() || exhausted) {
      String reason =
          why.retryable()
              ? error + " (gave up after " + f.attempt() + " attempts)"
              : error + " (permanent)";
      return Effect()
          .persist(
              List.of(
                  new AttemptFailed(
                      f.step(), f.attempt(), why.describe(), f.startedAt(), f.finishedAt(), null),
                  new JobFailed(reason, f.finishedAt())))
          .thenRun(
              ns -> {
                ctx.getLog().info("job {} FAILURE: {}", jobId, reason);
                finished(ns, Change.FAILED);
              })
          .thenNoReply();
    }
    Duration wait = deps.settings().retry().delay(retriesSoFar + 1, why.retryAfter());
    Instant next = f.finishedAt().plus(wait);
    return Effect()
        .persist(
            new AttemptFailed(
                f.step(), f.attempt(), why.describe(), f.startedAt(), f.finishedAt(), next))
        .thenRun(
            ns -> {
              ctx.getLog().info("job {} RETRY in {} ms: {}", jobId, wait.toMillis(), error);
              deps.jobMetrics().retried(why.kind());
              scheduleRetry(ns);
              announce(ns, Change.RETRY);
            })
        .thenNoReply();
  }

  private ReplyEffect<Event, State> onRetryDue(State s, RetryDue due) {
    int step = s.currentStep();
    if (phase == Phase.BACKOFF
        && due.step() == step
        && due.attempt() == s.steps().get(step).currentAttempt()) {
      dispatch(s);
    }
    return Effect().noReply();
  }

  /** A call the journal saw start and never end counts as a failed, retryable attempt. */
  private ReplyEffect<Event, State> onAttemptLost(State s, AttemptLost lost) {
    int step = s.currentStep();
    Step st = s.steps().get(step);
    if (phase != Phase.IDLE
        || lost.step() != step
        || !st.inFlight()
        || st.attempts() != lost.attempt()) {
      return Effect().noReply();
    }
    Instant now = Instant.now();
    return onStepFailed(
        s,
        new CallMessages.CallFailed(
            jobId,
            step,
            lost.attempt(),
            new LlmCallException(
                LlmCallException.Kind.INTERRUPTED,
                "the call was interrupted: its node stopped before it answered"),
            s.updatedAt(),
            now));
  }

  private ReplyEffect<Event, State> notFound(ActorRef<? super NotFound> replyTo) {
    // Nothing was ever submitted under this id: do not keep an entity for it for long.
    startIdleTimer();
    return Effect().reply(replyTo, new NotFound(jobId));
  }

  private ReplyEffect<Event, State> onStop(State s, Stop stop) {
    if (s.isActive()) {
      // A stop can cross a Submit (passivation of an id that was looked up just before it was
      // submitted). The shard restarts an entity that has messages waiting when it stops.
      ClusterSharding.get(ctx.getSystem()).entityRefFor(TYPE_KEY, jobId).tell(Wake.INSTANCE);
    }
    return Effect().stop().thenNoReply();
  }

  private ReplyEffect<Event, State> idleAfter(ReplyEffect<Event, State> effect) {
    startIdleTimer();
    return effect;
  }

  // ---------------------------------------------------------------- events

  /** Plain dispatch by event type, for the same reason as the command handler. */
  @Override
  public EventHandler<State, Event> eventHandler() {
    return ReportJob::applyEvent;
  }

  private static State applyEvent(State s, Event e) {
    if (e instanceof Submitted submitted) return State.submitted(submitted);
    if (e instanceof AttemptStarted started) return s.attemptStarted(started);
    if (e instanceof StepCompleted completed) return s.stepCompleted(completed);
    if (e instanceof AttemptFailed failed) return s.attemptFailed(failed);
    if (e instanceof ProviderSwitched switched) return s.providerSwitched(switched);
    if (e instanceof Resumed resumed) return s.resumed(resumed);
    if (e instanceof Succeeded ok) return s.finished(JobState.SUCCESS, ok.result(), null, ok.at());
    if (e instanceof JobFailed failed)
      return s.finished(JobState.FAILURE, null, failed.error(), failed.at());
    if (e instanceof Cancelled cancelled)
      return s.finished(JobState.REVOKED, null, "cancelled by a client", cancelled.at());
    throw new IllegalArgumentException("unknown event " + e.getClass().getName());
  }

  // ---------------------------------------------------------------- recovery

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), this::onRecovered)
        .onSignal(PostStop.instance(), s -> dropCalls())
        .onSignal(PreRestart.instance(), s -> dropCalls())
        .build();
  }

  private void onRecovered(State s) {
    if (s.isEmpty()) {
      // No job here (an id remembered before its submit was refused, or woken for nothing):
      // leave at once, after any command that waited for the recovery (a Submit) is handled.
      ctx.getSelf().tell(IdleTimeout.INSTANCE);
      return;
    }
    if (s.isTerminal()) {
      startIdleTimer();
    } else if (s.isActive()) {
      ctx.getLog()
          .info("job {} recovered at step {} of {}", jobId, s.currentStep(), s.steps().size());
      Step current = s.steps().get(s.currentStep());
      if (current.inFlight()) {
        ctx.getSelf().tell(new AttemptLost(s.currentStep(), current.attempts()));
      } else if (s.nextRetryAt() != null && s.nextRetryAt().isAfter(Instant.now())) {
        scheduleRetry(s);
      } else {
        dispatch(s);
      }
      startMirrorRefresh();
    }
    // Also repairs the mirror of a job whose last transition it missed.
    announce(s, Change.RECOVERED);
  }

  /**
   * This copy of the job is going away (hand-off, rebalance, passivation, restart): its queued call
   * must not be made, and its running one is stopped, since nobody would hear the answer and the
   * next copy of the job makes its own call.
   */
  private void dropCalls() {
    if (phase == Phase.QUEUED || phase == Phase.RUNNING) {
      deps.pool().tell(new LlmCallerPool.CancelCalls(jobId, callAdapter));
      phase = Phase.IDLE;
    }
  }

  // ---------------------------------------------------------------- side effects

  private void dispatch(State s) {
    int step = s.currentStep();
    int attempt = s.steps().get(step).currentAttempt();
    String prompt = ReportPrompts.prompt(s.startup(), s.stepNames(), step, s.outputsBefore(step));
    LlmRequest request =
        new LlmRequest(
            jobId,
            s.startup(),
            step,
            s.steps().get(step).name(),
            attempt,
            s.providerOf(step),
            prompt,
            ReportPrompts.SYSTEM);
    deps.pool().tell(new LlmCallerPool.Submit(new CallMessages.Call(request, callAdapter)));
    phase = Phase.QUEUED;
    waiting = null;
  }

  private void scheduleRetry(State s) {
    int step = s.currentStep();
    Duration wait = Duration.between(Instant.now(), s.nextRetryAt());
    if (wait.isNegative()) wait = Duration.ZERO;
    timers.startSingleTimer(
        RetryDue.class, new RetryDue(step, s.steps().get(step).currentAttempt()), wait);
    phase = Phase.BACKOFF;
  }

  private void announce(State s, Change change) {
    deps.mirror().jobChanged(view(s), change, lastSequenceNumber(ctx), incarnation);
  }

  private void finished(State s, Change change) {
    Duration took = Duration.between(s.submittedAt(), s.finishedAt());
    deps.jobMetrics().finished(s.outcome(), s.provider(), took);
    timers.cancel(MirrorRefresh.INSTANCE);
    announce(s, change);
    startIdleTimer();
  }

  private void stepTimed(State s, CallMessages.CallSucceeded ok) {
    String provider = ok.provider() == null ? s.providerOf(ok.step()) : ok.provider();
    Duration took = Duration.between(ok.startedAt(), ok.finishedAt());
    deps.jobMetrics().stepCompleted(provider, s.steps().get(ok.step()).name(), took);
  }

  private void startMirrorRefresh() {
    if (deps.mirror().refreshInterval().isPresent()) {
      timers.startTimerWithFixedDelay(
          MirrorRefresh.INSTANCE, MirrorRefresh.INSTANCE, deps.mirror().refreshInterval().get());
    }
  }

  private void startIdleTimer() {
    timers.startSingleTimer(
        IdleTimeout.INSTANCE, IdleTimeout.INSTANCE, deps.settings().finishedIdleTimeout());
  }

  private void passivate() {
    if (shard != null) shard.tell(new ClusterSharding.Passivate<>(ctx.getSelf()));
  }

  // ---------------------------------------------------------------- views

  /** The job as clients see it, runtime phase included. */
  JobView view(State s) {
    return JobViews.view(
        s,
        phase == Phase.RUNNING,
        phase == Phase.BACKOFF,
        phase == Phase.QUEUED ? waiting : null,
        deps.nodeName());
  }
}
