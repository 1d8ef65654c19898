package io.reportcluster.node.llm;

import com.typesafe.config.Config;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * This node's bound on LLM concurrency: a balancing router over N caller actors. Calls wait in
 * one FIFO queue and go only to a caller that said it is ready, so at most N calls are ever in
 * flight on the node, and a slow call never holds up work queued behind another caller.
 *
 * <p>The queue itself never drops an accepted job's call; its bound is enforced at admission
 * (see {@link PoolMetrics#queueFull()}), where a client can still be told to come back later.
 */
public final class LlmCallerPool {

  public sealed interface Command {}

  /** Queue a call; the caller that takes it answers {@code call.replyTo()}. */
  public record Submit(Call call) implements Command {}

  /** Drop the queued calls of a cancelled job (a call already in flight finishes unheard). */
  public record CancelJob(String jobId) implements Command {}

  /**
   * Graceful leave: start no new call; answer once no call is in flight. Queued calls stay
   * queued: their jobs move to another node with the shards and continue there.
   */
  public record Drain(ActorRef<Done> replyTo) implements Command {}

  record CallerReady(ActorRef<LlmCaller.Command> caller) implements Command {}

  public record Call(LlmRequest request, ActorRef<CallResult> replyTo) {}

  /** What a job hears about its call. */
  public sealed interface CallResult {
    String jobId();

    int step();

    int attempt();
  }

  public record CallStarted(String jobId, int step, int attempt, Instant at) implements CallResult {}

  public record CallSucceeded(String jobId, int step, int attempt, String text, Instant startedAt, Instant finishedAt)
      implements CallResult {}

  public record CallFailed(
      String jobId, int step, int attempt, LlmCallException failure, Instant startedAt, Instant finishedAt)
      implements CallResult {}

  public record Settings(int callers, int queueLimit, Duration callTimeout, Duration minBackoff, Duration maxBackoff,
      double randomFactor) {
    public static Settings fromConfig(Config llm) {
      return new Settings(
          llm.getInt("callers"),
          llm.getInt("queue-limit"),
          llm.getDuration("call-timeout"),
          llm.getDuration("caller-restart.min-backoff"),
          llm.getDuration("caller-restart.max-backoff"),
          llm.getDouble("caller-restart.random-factor"));
    }
  }

  public static Behavior<Command> create(Settings settings, ProviderRegistry providers, PoolMetrics metrics) {
    return Behaviors.setup(ctx -> {
      for (int i = 0; i < settings.callers(); i++) {
        Behavior<LlmCaller.Command> caller = Behaviors.supervise(
                LlmCaller.create(ctx.getSelf(), providers, settings.callTimeout(), metrics))
            .onFailure(SupervisorStrategy.restartWithBackoff(
                settings.minBackoff(), settings.maxBackoff(), settings.randomFactor()));
        ctx.spawn(caller, "caller-" + i);
      }
      return new LlmCallerPool(ctx, metrics).behavior();
    });
  }

  private final ActorContext<Command> ctx;
  private final PoolMetrics metrics;
  private final ArrayDeque<Call> queue = new ArrayDeque<>();
  private final ArrayDeque<ActorRef<LlmCaller.Command>> ready = new ArrayDeque<>();
  private final List<ActorRef<Done>> drainWaiters = new ArrayList<>();
  private boolean draining;

  private LlmCallerPool(ActorContext<Command> ctx, PoolMetrics metrics) {
    this.ctx = ctx;
    this.metrics = metrics;
  }

  private Behavior<Command> behavior() {
    return Behaviors.receive(Command.class)
        .onMessage(Submit.class, s -> {
          queue.addLast(s.call());
          dispatch();
          return Behaviors.same();
        })
        .onMessage(CallerReady.class, r -> {
          ready.addLast(r.caller());
          dispatch();
          return Behaviors.same();
        })
        .onMessage(Drain.class, d -> {
          draining = true;
          drainWaiters.add(d.replyTo());
          dispatch();
          return Behaviors.same();
        })
        .onMessage(CancelJob.class, c -> {
          queue.removeIf(call -> call.request().jobId().equals(c.jobId()));
          metrics.queueDepth.set(queue.size());
          return Behaviors.same();
        })
        .build();
  }

  private void dispatch() {
    if (draining) {
      metrics.queueDepth.set(queue.size());
      if (metrics.inFlight() == 0) {
        drainWaiters.forEach(w -> w.tell(Done.getInstance()));
        drainWaiters.clear();
      }
      return;
    }
    while (!queue.isEmpty() && !ready.isEmpty()) {
      ready.pollFirst().tell(new LlmCaller.Execute(queue.pollFirst()));
    }
    metrics.queueDepth.set(queue.size());
  }
}
