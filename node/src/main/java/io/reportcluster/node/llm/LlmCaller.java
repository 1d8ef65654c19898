package io.reportcluster.node.llm;

import io.reportcluster.node.llm.budget.Budgets;
import io.reportcluster.node.llm.budget.Cost;
import io.reportcluster.node.llm.budget.Decision;
import io.reportcluster.node.llm.provider.LlmAnswer;
import io.reportcluster.node.llm.provider.LlmCall;
import io.reportcluster.node.llm.provider.LlmCallException;
import io.reportcluster.node.llm.provider.LlmProvider;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import io.reportcluster.node.llm.provider.ProviderSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes one LLM call at a time. It tells the pool when it is ready for work, so the pool never
 * hands it a second call while one is in flight. A call that times out, or that the pool cancels
 * (its job was cancelled or stopped, the node was downed), is cancelled at the provider, and the
 * caller stays busy until the provider says the call stopped: the bound of N calls per node holds
 * for calls the provider is still working on, not only for calls someone waits for. Whatever a
 * provider client throws becomes a failed call, reported to the job, before the supervisor restarts
 * this actor.
 */
public final class LlmCaller {
  private static final Logger log = LoggerFactory.getLogger(LlmCaller.class);

  public sealed interface Command {}

  /** Run this call now; sent by the pool only to a ready caller. */
  public record Execute(CallMessages.Call call) implements Command {}

  /** Stop this call if it is the one running; its job hears nothing more of it. */
  public record Cancel(CallMessages.Call call) implements Command {}

  private record Finished(CallMessages.Call call, LlmAnswer answer, Throwable failure)
      implements Command {}

  /** The budget's answer to the reservation of the call this caller is about to make. */
  private record Reserved(
      CallMessages.Call call, String callId, Decision decision, Throwable failure)
      implements Command {}

  /** The provider stopped working on the call (or did not say so within the cancel timeout). */
  private record Stopped(CallMessages.Call call) implements Command {}

  /** What a caller tells its pool. */
  public sealed interface ToPool {}

  /** Ready for a call: sent at start (and after a restart) and whenever a call is over. */
  public record Ready(ActorRef<Command> caller) implements ToPool {}

  /** A call this caller cannot take (it is busy), to be queued again. */
  public record HandBack(CallMessages.Call call) implements ToPool {}

  /**
   * A call its provider has no budget for now: queue it again (not an attempt: nothing was sent)
   * and start no call of that provider before {@code nextLook}.
   */
  public record Held(CallMessages.Call call, Decision.Wait why, Duration nextLook)
      implements ToPool {}

  public record Settings(Duration callTimeout, Duration cancelTimeout) {}

  public static Behavior<Command> create(
      ActorRef<ToPool> pool,
      ProviderRegistry providers,
      Settings settings,
      PoolMetrics metrics,
      DeltaSink deltas,
      Budgets budgets) {
    return Behaviors.setup(
        ctx -> {
          pool.tell(new Ready(ctx.getSelf()));
          return new LlmCaller(ctx, pool, providers, settings, metrics, deltas, budgets).idle();
        });
  }

  private final ActorContext<Command> ctx;
  private final ActorRef<ToPool> pool;
  private final ProviderRegistry providers;
  private final Settings settings;
  private final PoolMetrics metrics;
  private final DeltaSink deltas;
  private final Budgets budgets;

  /** The budget reservation of the call in hand, settled when it ends. */
  private String callId;

  private LlmCaller(
      ActorContext<Command> ctx,
      ActorRef<ToPool> pool,
      ProviderRegistry providers,
      Settings settings,
      PoolMetrics metrics,
      DeltaSink deltas,
      Budgets budgets) {
    this.ctx = ctx;
    this.budgets = budgets;
    this.deltas = deltas;
    this.pool = pool;
    this.providers = providers;
    this.settings = settings;
    this.metrics = metrics;
  }

  private Behavior<Command> idle() {
    return Behaviors.receive(Command.class)
        .onMessage(Execute.class, this::start)
        // A cancel that crossed the call's end, or a late answer after a restart: nothing to do.
        .onAnyMessage(m -> Behaviors.same())
        .build();
  }

  /**
   * First the budget: the call's request, its estimated tokens and a slot in flight are reserved
   * (from Redis, a round trip) before anything is sent. A call that must wait goes back to the
   * pool, which holds back its provider's calls meanwhile; this caller is free again at once.
   */
  private Behavior<Command> start(Execute execute) {
    CallMessages.Call call = execute.call();
    LlmRequest r = call.request();
    String id =
        r.jobId()
            + "/"
            + r.step()
            + "/"
            + r.attempt()
            + "/"
            + Long.toHexString(ThreadLocalRandom.current().nextLong());
    ctx.pipeToSelf(
        budgets.reserve(r.provider(), id, estimate(r)),
        (decision, failure) -> new Reserved(call, id, decision, failure));
    return reserving(call, false);
  }

  private Behavior<Command> reserving(CallMessages.Call call, boolean cancelled) {
    return Behaviors.receive(Command.class)
        .onMessage(
            Reserved.class,
            m -> m.call() == call,
            m -> {
              String provider = call.request().provider();
              if (cancelled) {
                if (m.decision() instanceof Decision.Granted)
                  budgets.settle(provider, m.callId(), new Cost(0, 0));
                return ready();
              }
              if (m.failure() != null || m.decision() instanceof Decision.Wait) {
                Decision.Wait wait =
                    m.failure() == null
                        ? (Decision.Wait) m.decision()
                        : new Decision.Wait(Decision.Reason.REQUESTS, budgets.settings().recheck());
                if (m.failure() != null)
                  log.warn("budget of {} not readable: {}", provider, m.failure().toString());
                budgets.report(provider, wait, null);
                pool.tell(new Held(call, wait, budgets.nextLook(wait)));
                return ready();
              }
              Duration waited =
                  call.waitingSince() == null
                      ? Duration.ZERO
                      : Duration.between(call.waitingSince(), Instant.now());
              budgets.report(provider, m.decision(), waited);
              callId = m.callId();
              return begin(call);
            })
        .onMessage(
            Cancel.class,
            c -> c.call() == call && !cancelled,
            c -> {
              metrics.cancelled.incrementAndGet();
              return reserving(call, true);
            })
        .onMessage(Execute.class, this::handBack)
        .onAnyMessage(m -> Behaviors.same())
        .build();
  }

  /**
   * What a call may use: its prompt's tokens, estimated at four characters each (the common rule of
   * thumb for English; the settlement corrects it), and the entry's max output tokens.
   */
  private Cost estimate(LlmRequest r) {
    long chars = r.prompt().length() + (r.system() == null ? 0 : r.system().length());
    long input = (chars + 3) / 4 + 8;
    long output = providers.settings(r.provider()).map(s -> (long) s.maxOutputTokens()).orElse(0L);
    return new Cost(input, output);
  }

  private Behavior<Command> begin(CallMessages.Call call) {
    LlmRequest request = call.request();
    Instant startedAt = Instant.now();
    metrics.inFlight.incrementAndGet();
    metrics.started.incrementAndGet();
    call.replyTo()
        .tell(
            new CallMessages.CallStarted(
                request.jobId(), request.step(), request.attempt(), startedAt, request.provider()));
    // Unknown names are refused at submit; one can only be missing here if a node's config
    // changed under a running job, which is a permanent failure of that job.
    LlmProvider provider = providers.find(request.provider()).orElse(null);
    if (provider == null) {
      return done(
          call,
          startedAt,
          null,
          new LlmCallException(
              LlmCallException.Kind.BAD_REQUEST,
              "provider '" + request.provider() + "' is not configured on this node"));
    }
    LlmCall running;
    try {
      running = provider.start(request, text -> deltas.delta(request, text));
    } catch (Throwable bug) {
      // A provider client that throws instead of failing its call has a bug: the job hears of a
      // failed call (it retries the step), then this caller crashes and the supervisor restarts
      // it with backoff. Errors too: a call must never stay counted in flight once it is gone.
      metrics.inFlight.decrementAndGet(); // the restarted caller says it is ready again
      budgets.settle(request.provider(), callId, null);
      reply(
          call,
          startedAt,
          null,
          new LlmCallException(LlmCallException.Kind.CALLER_CRASHED, "the caller crashed: " + bug));
      if (bug instanceof VirtualMachineError fatal) throw fatal;
      if (bug instanceof RuntimeException e) throw e;
      throw new IllegalStateException("provider client threw " + bug, bug);
    }
    // Each provider entry may have its own timeout; calls of providers given directly use the
    // pool's.
    Duration timeout =
        providers
            .settings(request.provider())
            .map(ProviderSettings::callTimeout)
            .orElse(settings.callTimeout());
    // copy(): the timeout must not complete the provider's own future.
    ctx.pipeToSelf(
        running
            .result()
            .toCompletableFuture()
            .copy()
            .orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS),
        (answer, failure) -> new Finished(call, answer, failure));
    return busy(call, running, startedAt, timeout);
  }

  private Behavior<Command> busy(
      CallMessages.Call call, LlmCall running, Instant startedAt, Duration timeout) {
    return Behaviors.receive(Command.class)
        .onMessage(
            Finished.class,
            f -> f.call() == call,
            f -> {
              if (f.failure() != null && unwrap(f.failure()) instanceof TimeoutException) {
                // Abandoning it would leave the provider working (and billing) beside the retry.
                return stopping(
                    call,
                    running,
                    () ->
                        reply(
                            call,
                            startedAt,
                            null,
                            new LlmCallException(
                                LlmCallException.Kind.TIMEOUT,
                                "no answer within " + timeout.toMillis() + " ms")));
              }
              if (f.failure() == null) {
                running
                    .providerPause()
                    .filter(pause -> pause.compareTo(Duration.ZERO) > 0)
                    .ifPresent(pause -> budgets.usedUp(call.request().provider(), pause));
              }
              return done(call, startedAt, f.answer(), f.failure());
            })
        .onMessage(
            Cancel.class,
            c -> c.call() == call,
            c -> {
              metrics.cancelled.incrementAndGet();
              return stopping(call, running, () -> {});
            })
        .onMessage(Execute.class, this::handBack)
        .onAnyMessage(m -> Behaviors.same())
        .build();
  }

  /** Never expected (the pool gives work only to a ready caller), but a call must not be lost. */
  private Behavior<Command> handBack(Execute e) {
    log.warn(
        "caller {} got a call while busy; handing it back to the pool",
        ctx.getSelf().path().name());
    pool.tell(new HandBack(e.call()));
    return Behaviors.same();
  }

  /**
   * Cancels the call at the provider and waits (bounded) until it has stopped, then {@code then}.
   */
  private Behavior<Command> stopping(CallMessages.Call call, LlmCall running, Runnable then) {
    CompletableFuture<Void> stopped;
    try {
      stopped = running.cancel().toCompletableFuture().copy();
    } catch (RuntimeException e) {
      stopped = CompletableFuture.failedFuture(e);
    }
    ctx.pipeToSelf(
        stopped.orTimeout(settings.cancelTimeout().toMillis(), TimeUnit.MILLISECONDS),
        (ok, failure) -> {
          if (failure != null) {
            log.warn(
                "call of job {} step {} did not confirm its cancellation within {} ms: {}; freeing its caller",
                call.request().jobId(),
                call.request().step(),
                settings.cancelTimeout().toMillis(),
                unwrap(failure).toString());
          }
          return new Stopped(call);
        });
    return Behaviors.receive(Command.class)
        .onMessage(
            Stopped.class,
            s -> s.call() == call,
            s -> {
              metrics.inFlight.decrementAndGet();
              budgets.settle(call.request().provider(), callId, null);
              then.run();
              return ready();
            })
        .onMessage(Execute.class, this::handBack)
        // The cancelled call's own end (failed by the cancel) and repeated cancels: ignored.
        .onAnyMessage(m -> Behaviors.same())
        .build();
  }

  /** The call is over: it no longer counts in flight by the time its job hears the outcome. */
  private Behavior<Command> done(
      CallMessages.Call call, Instant startedAt, LlmAnswer answer, Throwable failure) {
    metrics.inFlight.decrementAndGet();
    reply(call, startedAt, answer, failure);
    return ready();
  }

  private Behavior<Command> ready() {
    pool.tell(new Ready(ctx.getSelf()));
    return idle();
  }

  private void reply(
      CallMessages.Call call, Instant startedAt, LlmAnswer answer, Throwable failure) {
    LlmRequest r = call.request();
    Instant now = Instant.now();
    if (failure == null) {
      LlmAnswer.Usage usage = answer.usage();
      budgets.settle(
          r.provider(),
          callId,
          usage == null ? null : new Cost(usage.inputTokens(), usage.outputTokens()));
      metrics.succeeded.incrementAndGet();
      double cost =
          providers.settings(r.provider()).map(s -> s.costUsd(answer.usage())).orElse(0.0);
      metrics.answered(r.provider(), answer.model(), answer.usage(), cost);
      call.replyTo()
          .tell(
              new CallMessages.CallSucceeded(
                  r.jobId(),
                  r.step(),
                  r.attempt(),
                  answer.text(),
                  startedAt,
                  now,
                  r.provider(),
                  answer.model(),
                  answer.usage(),
                  cost,
                  answer.finishReason()));
    } else {
      metrics.failed.incrementAndGet();
      LlmCallException why = classify(failure);
      if (why.kind() == LlmCallException.Kind.RATE_LIMITED) {
        // The provider refused it before doing any work: it used no tokens. Every node pauses.
        budgets.settle(r.provider(), callId, new Cost(0, 0));
        budgets.rateLimited(r.provider(), why.retryAfter());
      } else {
        budgets.settle(r.provider(), callId, null);
      }
      call.replyTo()
          .tell(
              new CallMessages.CallFailed(
                  r.jobId(), r.step(), r.attempt(), why, startedAt, now, r.provider()));
    }
  }

  private static Throwable unwrap(Throwable failure) {
    Throwable t = failure;
    while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
    return t;
  }

  /** Every failure becomes an LlmCallException: unknown exceptions count as connection errors. */
  static LlmCallException classify(Throwable failure) {
    Throwable t = unwrap(failure);
    if (t instanceof LlmCallException e) return e;
    if (t instanceof TimeoutException) {
      return new LlmCallException(
          LlmCallException.Kind.TIMEOUT, "no answer within the call timeout");
    }
    return new LlmCallException(
        LlmCallException.Kind.CONNECTION, t.getClass().getSimpleName() + ": " + t.getMessage());
  }
}
