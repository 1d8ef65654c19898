package io.reportcluster.node.llm;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Makes one LLM call at a time. It tells the pool when it is ready for work, so the pool never
 * hands it a second call while one is in flight. A crash (a provider client that throws) is
 * reported to the job as a retryable failure before the supervisor restarts this actor.
 */
public final class LlmCaller {

  public sealed interface Command {}

  /** Run this call now; sent by the pool only to a ready caller. */
  public record Execute(LlmCallerPool.Call call) implements Command {}

  private record Finished(LlmCallerPool.Call call, Instant startedAt, String text, Throwable failure)
      implements Command {}

  public static Behavior<Command> create(
      ActorRef<LlmCallerPool.Command> pool, ProviderRegistry providers, Duration callTimeout, PoolMetrics metrics) {
    return Behaviors.setup(ctx -> {
      pool.tell(new LlmCallerPool.CallerReady(ctx.getSelf()));
      return new LlmCaller(ctx, pool, providers, callTimeout, metrics).idle();
    });
  }

  private final ActorContext<Command> ctx;
  private final ActorRef<LlmCallerPool.Command> pool;
  private final ProviderRegistry providers;
  private final Duration callTimeout;
  private final PoolMetrics metrics;

  private LlmCaller(ActorContext<Command> ctx, ActorRef<LlmCallerPool.Command> pool, ProviderRegistry providers,
      Duration callTimeout, PoolMetrics metrics) {
    this.ctx = ctx;
    this.pool = pool;
    this.providers = providers;
    this.callTimeout = callTimeout;
    this.metrics = metrics;
  }

  private Behavior<Command> idle() {
    return Behaviors.receive(Command.class).onMessage(Execute.class, this::start).build();
  }

  private Behavior<Command> start(Execute execute) {
    LlmCallerPool.Call call = execute.call();
    LlmRequest request = call.request();
    Instant startedAt = Instant.now();
    metrics.inFlight.incrementAndGet();
    metrics.started.incrementAndGet();
    call.replyTo().tell(new LlmCallerPool.CallStarted(request.jobId(), request.step(), request.attempt(), startedAt));
    // Unknown names are refused at submit; one can only be missing here if a node's config
    // changed under a running job, which is a permanent failure of that job.
    LlmProvider provider = providers.find(request.provider()).orElse(null);
    if (provider == null) {
      ctx.getSelf().tell(new Finished(call, startedAt, null, new LlmCallException(
          LlmCallException.Kind.BAD_REQUEST, "provider '" + request.provider() + "' is not configured on this node")));
      return busy();
    }
    CompletableFuture<String> answer;
    try {
      answer = provider.complete(request).toCompletableFuture();
    } catch (RuntimeException bug) {
      // A provider client that throws instead of failing its future has a bug: tell the job
      // (it retries the step), then crash so the supervisor restarts this caller with backoff.
      metrics.inFlight.decrementAndGet();
      metrics.failed.incrementAndGet();
      reply(call, startedAt, null, new LlmCallException(
          LlmCallException.Kind.CALLER_CRASHED, "the caller crashed: " + bug.getMessage()));
      throw bug;
    }
    // copy(): the timeout must not complete the provider's own future.
    ctx.pipeToSelf(
        answer.copy().orTimeout(callTimeout.toMillis(), TimeUnit.MILLISECONDS),
        (text, failure) -> new Finished(call, startedAt, text, failure));
    return busy();
  }

  private Behavior<Command> busy() {
    return Behaviors.receive(Command.class).onMessage(Finished.class, this::finish).build();
  }

  private Behavior<Command> finish(Finished f) {
    metrics.inFlight.decrementAndGet();
    if (f.failure() == null) metrics.succeeded.incrementAndGet();
    else metrics.failed.incrementAndGet();
    reply(f.call(), f.startedAt(), f.text(), f.failure());
    pool.tell(new LlmCallerPool.CallerReady(ctx.getSelf()));
    return idle();
  }

  private static void reply(LlmCallerPool.Call call, Instant startedAt, String text, Throwable failure) {
    LlmRequest r = call.request();
    Instant now = Instant.now();
    if (failure == null) {
      call.replyTo().tell(new LlmCallerPool.CallSucceeded(r.jobId(), r.step(), r.attempt(), text, startedAt, now));
    } else {
      call.replyTo().tell(new LlmCallerPool.CallFailed(r.jobId(), r.step(), r.attempt(), classify(failure), startedAt, now));
    }
  }

  /** Every failure becomes an LlmCallException: unknown exceptions count as connection errors. */
  static LlmCallException classify(Throwable failure) {
    Throwable t = failure;
    while (t instanceof CompletionException && t.getCause() != null) t = t.getCause();
    if (t instanceof LlmCallException e) return e;
    if (t instanceof TimeoutException) {
      return new LlmCallException(LlmCallException.Kind.TIMEOUT, "no answer within the call timeout");
    }
    return new LlmCallException(LlmCallException.Kind.CONNECTION, t.getClass().getSimpleName() + ": " + t.getMessage());
  }
}
