package io.reportcluster.node.llm;

import com.typesafe.config.Config;
import io.reportcluster.node.cluster.SelfDowned;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * This node's bound on LLM concurrency: a balancing router over N caller actors. Calls wait in one
 * FIFO queue and go only to a caller that said it is ready, so at most N calls are ever in flight
 * on the node, and a slow call never holds up work queued behind another caller.
 *
 * <p>The queue itself never drops an accepted job's call; its bound is enforced at admission (see
 * {@link PoolMetrics#queueFull()}), where a client can still be told to come back later.
 */
public final class LlmCallerPool {

  public sealed interface Command {}

  /** Queue a call; the caller that takes it answers {@code call.replyTo()}. */
  public record Submit(CallMessages.Call call) implements Command {}

  /**
   * Drop the queued calls of a job and cancel its running one: the job was cancelled, or its entity
   * stopped here (hand-off, rebalance, restart), so nobody would hear the answer and its next
   * incarnation makes its own call. {@code replyTo} limits this to one incarnation's calls (null:
   * every call of the job).
   */
  public record CancelCalls(String jobId, ActorRef<CallMessages.CallResult> replyTo)
      implements Command {}

  /**
   * Graceful leave: start no new call; answer once no call is in flight. Queued calls stay queued:
   * their jobs move to another node with the shards and continue there.
   */
  public record Drain(ActorRef<Done> replyTo) implements Command {}

  /**
   * Stop everything now: drop the queue, cancel every running call, start nothing again. For a node
   * that was downed (its jobs already run elsewhere) or whose drain ran out of time.
   */
  public record Abort(String reason) implements Command {}

  /** What a caller tells its pool (ready for work, or a call handed back). */
  private record FromCaller(LlmCaller.ToPool message) implements Command {}

  public record Settings(
      int callers,
      int queueLimit,
      Duration callTimeout,
      Duration cancelTimeout,
      Duration drainTimeout,
      Duration minBackoff,
      Duration maxBackoff,
      double randomFactor) {
    public static Settings fromConfig(Config llm) {
      return new Settings(
          llm.getInt("callers"),
          llm.getInt("queue-limit"),
          llm.getDuration("call-timeout"),
          llm.getDuration("cancel-timeout"),
          llm.getDuration("drain-timeout"),
          llm.getDuration("caller-restart.min-backoff"),
          llm.getDuration("caller-restart.max-backoff"),
          llm.getDouble("caller-restart.random-factor"));
    }
  }

  /**
   * Starts this node's pool and decides what happens to its calls when the node stops. Graceful
   * leave: calls in flight finish (and their steps are persisted) before the shards, and so the
   * jobs, move to other nodes; calls still running after {@code reports.llm.drain-timeout} are
   * cancelled at the provider, and made again where their jobs go. Downed by the cluster: every
   * call stops at once, since its job already runs elsewhere.
   */
  public static ActorRef<Command> start(
      ActorSystem<?> system,
      Settings settings,
      ProviderRegistry providers,
      PoolMetrics metrics,
      DeltaSink deltas) {
    ActorRef<Command> pool =
        system.systemActorOf(
            create(settings, providers, metrics, deltas), "llm-callers", Props.empty());
    Duration drainTimeout = settings.drainTimeout();
    SelfDowned.onDowned(system, () -> pool.tell(new Abort("this node was downed by the cluster")));
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    // The first phase: a downed node must not go on calling while its HTTP server unbinds.
    shutdown.addTask(
        CoordinatedShutdown.PhaseBeforeServiceUnbind(),
        "stop-llm-calls-if-downed",
        () -> {
          if (SelfDowned.isShutdownReason(system))
            pool.tell(new Abort("this node was downed by the cluster"));
          return CompletableFuture.completedFuture(Done.getInstance());
        });
    shutdown.addTask(
        CoordinatedShutdown.PhaseBeforeClusterShutdown(),
        "drain-llm-calls",
        () -> {
          if (SelfDowned.isShutdownReason(system))
            return CompletableFuture.completedFuture(Done.getInstance());
          return AskPattern.<Command, Done>ask(pool, Drain::new, drainTimeout, system.scheduler())
              .exceptionally(
                  timeout -> {
                    pool.tell(
                        new Abort("the drain timeout (" + drainTimeout.toSeconds() + " s) passed"));
                    return Done.getInstance();
                  });
        });
    return pool;
  }

  public static Behavior<Command> create(
      Settings settings, ProviderRegistry providers, PoolMetrics metrics) {
    return create(settings, providers, metrics, DeltaSink.NONE);
  }

  public static Behavior<Command> create(
      Settings settings, ProviderRegistry providers, PoolMetrics metrics, DeltaSink deltas) {
    Behavior<Command> pool =
        Behaviors.setup(
            ctx -> {
              LlmCaller.Settings callerSettings =
                  new LlmCaller.Settings(settings.callTimeout(), settings.cancelTimeout());
              ActorRef<LlmCaller.ToPool> fromCallers =
                  ctx.messageAdapter(LlmCaller.ToPool.class, FromCaller::new);
              for (int i = 0; i < settings.callers(); i++) {
                Behavior<LlmCaller.Command> caller =
                    Behaviors.supervise(
                            LlmCaller.create(
                                fromCallers, providers, callerSettings, metrics, deltas))
                        .onFailure(
                            SupervisorStrategy.restartWithBackoff(
                                settings.minBackoff(),
                                settings.maxBackoff(),
                                settings.randomFactor()));
                ctx.spawn(caller, "caller-" + i);
              }
              return new LlmCallerPool(ctx, metrics).behavior();
            });
    // The queue is the only copy of the node's waiting calls: a bug in handling one message
    // must not throw it away (a restart would, and strand every queued job), so resume.
    return Behaviors.supervise(pool).onFailure(SupervisorStrategy.resume());
  }

  private final ActorContext<Command> ctx;
  private final PoolMetrics metrics;
  private final ArrayDeque<CallMessages.Call> queue = new ArrayDeque<>();
  private final ArrayDeque<ActorRef<LlmCaller.Command>> ready = new ArrayDeque<>();

  /** The call each busy caller runs, so a cancel reaches the caller that holds it. */
  private final Map<ActorRef<LlmCaller.Command>, CallMessages.Call> running = new HashMap<>();

  private final List<ActorRef<Done>> drainWaiters = new ArrayList<>();
  private boolean draining;

  private LlmCallerPool(ActorContext<Command> ctx, PoolMetrics metrics) {
    this.ctx = ctx;
    this.metrics = metrics;
  }

  private Behavior<Command> behavior() {
    return Behaviors.receive(Command.class)
        .onMessage(
            Submit.class,
            s -> {
              queue.addLast(s.call());
              dispatch();
              return Behaviors.same();
            })
        .onMessage(
            FromCaller.class,
            f -> {
              if (f.message() instanceof LlmCaller.Ready r) {
                running.remove(r.caller());
                // A restarted caller says it is ready again: never list one twice.
                if (!ready.contains(r.caller())) ready.addLast(r.caller());
              } else if (f.message() instanceof LlmCaller.HandBack h) {
                queue.addLast(h.call());
              }
              dispatch();
              return Behaviors.same();
            })
        .onMessage(
            Drain.class,
            d -> {
              draining = true;
              drainWaiters.add(d.replyTo());
              dispatch();
              return Behaviors.same();
            })
        .onMessage(
            Abort.class,
            a -> {
              ctx.getLog()
                  .info(
                      "stopping every LLM call ({}): {} running cancelled, {} queued dropped",
                      a.reason(),
                      running.size(),
                      queue.size());
              draining = true;
              queue.clear();
              running.forEach((caller, call) -> caller.tell(new LlmCaller.Cancel(call)));
              dispatch();
              return Behaviors.same();
            })
        .onMessage(
            CancelCalls.class,
            c -> {
              queue.removeIf(call -> matches(call, c));
              running.forEach(
                  (caller, call) -> {
                    if (matches(call, c)) caller.tell(new LlmCaller.Cancel(call));
                  });
              metrics.queueDepth.set(queue.size());
              return Behaviors.same();
            })
        .build();
  }

  private static boolean matches(CallMessages.Call call, CancelCalls c) {
    return call.request().jobId().equals(c.jobId())
        && (c.replyTo() == null || call.replyTo().equals(c.replyTo()));
  }

  private void dispatch() {
    if (draining) {
      metrics.queueDepth.set(queue.size());
      if (running.isEmpty()) {
        drainWaiters.forEach(w -> w.tell(Done.getInstance()));
        drainWaiters.clear();
      }
      return;
    }
    while (!queue.isEmpty() && !ready.isEmpty()) {
      ActorRef<LlmCaller.Command> caller = ready.pollFirst();
      CallMessages.Call call = queue.pollFirst();
      running.put(caller, call);
      caller.tell(new LlmCaller.Execute(call));
    }
    metrics.queueDepth.set(queue.size());
  }
}
