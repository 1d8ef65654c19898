package io.reportcluster.node.llm;

import com.typesafe.config.Config;
import io.reportcluster.node.cluster.SelfDowned;
import io.reportcluster.node.llm.budget.Budgets;
import io.reportcluster.node.llm.budget.Decision;
import io.reportcluster.node.llm.provider.LlmRequest;
import io.reportcluster.node.llm.provider.ProviderRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * This node's bound on LLM concurrency: a balancing router over N caller actors. Calls wait in FIFO
 * order and go only to a caller that said it is ready, so at most N calls are ever in flight on the
 * node, and a slow call never holds up work queued behind another caller. A call whose provider has
 * no budget (see {@link Budgets}) comes back from its caller and waits, with every call of that
 * provider, until the budget may allow it; calls of other providers go meanwhile.
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
      DeltaSink deltas,
      Budgets budgets) {
    ActorRef<Command> pool =
        system.systemActorOf(
            create(settings, providers, metrics, deltas, budgets), "llm-callers", Props.empty());
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
    return create(settings, providers, metrics, DeltaSink.NONE, Budgets.unlimited());
  }

  public static Behavior<Command> create(
      Settings settings,
      ProviderRegistry providers,
      PoolMetrics metrics,
      DeltaSink deltas,
      Budgets budgets) {
    Behavior<Command> pool =
        Behaviors.setup(
            ctx ->
                Behaviors.withTimers(
                    timers -> {
                      LlmCaller.Settings callerSettings =
                          new LlmCaller.Settings(settings.callTimeout(), settings.cancelTimeout());
                      ActorRef<LlmCaller.ToPool> fromCallers =
                          ctx.messageAdapter(LlmCaller.ToPool.class, FromCaller::new);
                      for (int i = 0; i < settings.callers(); i++) {
                        Behavior<LlmCaller.Command> caller =
                            Behaviors.supervise(
                                    LlmCaller.create(
                                        fromCallers,
                                        providers,
                                        callerSettings,
                                        metrics,
                                        deltas,
                                        budgets))
                                .onFailure(
                                    SupervisorStrategy.restartWithBackoff(
                                        settings.minBackoff(),
                                        settings.maxBackoff(),
                                        settings.randomFactor()));
                        ctx.spawn(caller, "caller-" + i);
                      }
                      return new LlmCallerPool(ctx, timers, metrics).behavior();
                    }));
    // The queue is the only copy of the node's waiting calls: a bug in handling one message
    // must not throw it away (a restart would, and strand every queued job), so resume.
    return Behaviors.supervise(pool).onFailure(SupervisorStrategy.resume());
  }

  /** A provider's hold may be over: look at its calls again. */
  private record Unhold(String provider) implements Command {}

  /**
   * A call in the queue or in a caller's hands; {@code seq} keeps the order of arrival across the
   * providers' queues, {@code cancelled} marks one whose job no longer wants it, {@code queuedAtMs}
   * is when it first arrived.
   */
  private record Queued(long seq, CallMessages.Call call, boolean cancelled, long queuedAtMs) {}

  private final ActorContext<Command> ctx;
  private final TimerScheduler<Command> timers;
  private final PoolMetrics metrics;

  /** The same calls, as operators see them (see {@link PoolCalls}). */
  private final PoolCalls calls;

  /**
   * One FIFO queue per provider: a provider that is held back (no budget, a cooldown) keeps its
   * calls waiting while calls of other providers go to the free callers.
   */
  private final Map<String, ArrayDeque<Queued>> queues = new LinkedHashMap<>();

  private final Map<String, Long> heldUntilNanos = new HashMap<>();
  private final ArrayDeque<ActorRef<LlmCaller.Command>> ready = new ArrayDeque<>();

  /** The call each busy caller holds, so a cancel reaches the caller that holds it. */
  private final Map<ActorRef<LlmCaller.Command>, Queued> running = new HashMap<>();

  private final List<ActorRef<Done>> drainWaiters = new ArrayList<>();
  private boolean draining;
  private long seq;
  private int queued;

  private LlmCallerPool(
      ActorContext<Command> ctx, TimerScheduler<Command> timers, PoolMetrics metrics) {
    this.ctx = ctx;
    this.timers = timers;
    this.metrics = metrics;
    this.calls = metrics.calls;
  }

  private Behavior<Command> behavior() {
    return Behaviors.receive(Command.class)
        .onMessage(
            Submit.class,
            s -> {
              enqueueLast(new Queued(seq++, s.call(), false, System.currentTimeMillis()));
              dispatch();
              return Behaviors.same();
            })
        .onMessage(
            FromCaller.class,
            f -> {
              if (f.message() instanceof LlmCaller.Ready r) {
                running.remove(r.caller());
                calls.ended(r.caller());
                // A restarted caller says it is ready again: never list one twice.
                if (!ready.contains(r.caller())) ready.addLast(r.caller());
              } else if (f.message() instanceof LlmCaller.HandBack h) {
                requeue(h.call());
              } else if (f.message() instanceof LlmCaller.Held h) {
                hold(h);
              }
              dispatch();
              return Behaviors.same();
            })
        .onMessage(
            Unhold.class,
            u -> {
              Long until = heldUntilNanos.get(u.provider());
              if (until != null && until - System.nanoTime() <= 0) {
                heldUntilNanos.remove(u.provider());
                calls.unheld(u.provider());
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
                      queued);
              draining = true;
              queues.clear();
              calls.queueDropped();
              queued = 0;
              running.forEach((caller, q) -> caller.tell(new LlmCaller.Cancel(q.call())));
              dispatch();
              return Behaviors.same();
            })
        .onMessage(
            CancelCalls.class,
            c -> {
              for (ArrayDeque<Queued> q : queues.values()) {
                int before = q.size();
                q.removeIf(
                    e -> {
                      if (!matches(e.call(), c)) return false;
                      calls.dequeued(e.seq());
                      return true;
                    });
                queued -= before - q.size();
              }
              running.replaceAll(
                  (caller, q) -> {
                    if (q.cancelled() || !matches(q.call(), c)) return q;
                    caller.tell(new LlmCaller.Cancel(q.call()));
                    return new Queued(q.seq(), q.call(), true, q.queuedAtMs());
                  });
              metrics.queueDepth.set(queued);
              return Behaviors.same();
            })
        .build();
  }

  private static boolean matches(CallMessages.Call call, CancelCalls c) {
    return call.request().jobId().equals(c.jobId())
        && (c.replyTo() == null || call.replyTo().equals(c.replyTo()));
  }

  /** The entry of a call a caller holds; empty if its job cancelled it meanwhile. */
  private Optional<Queued> held(CallMessages.Call call) {
    return running.values().stream().filter(q -> q.call() == call && !q.cancelled()).findFirst();
  }

  private void requeue(CallMessages.Call call) {
    held(call).ifPresent(q -> enqueueFirst(new Queued(q.seq(), call, false, q.queuedAtMs())));
  }

  /**
   * The call's provider has no budget for it: back to the head of its queue, no call of that
   * provider before the next look, and its job hears what it waits for.
   */
  private void hold(LlmCaller.Held h) {
    Optional<Queued> q = held(h.call());
    if (q.isEmpty()) return;
    CallMessages.Call call = h.call().waiting(Instant.now());
    enqueueFirst(new Queued(q.get().seq(), call, false, q.get().queuedAtMs()));
    String provider = call.request().provider();
    calls.held(provider, h.why().reason().label());
    long until = System.nanoTime() + h.nextLook().toNanos();
    Long current = heldUntilNanos.get(provider);
    if (current == null || until - current > 0) {
      heldUntilNanos.put(provider, until);
      timers.startSingleTimer(provider, new Unhold(provider), h.nextLook());
    }
    // The job hears of the wait when it begins, and of every cooldown (it may move the step to
    // another provider); not of each look at a budget that is still short.
    if (h.call().waitingSince() != null && h.why().reason() != Decision.Reason.COOLDOWN) return;
    LlmRequest r = call.request();
    call.replyTo()
        .tell(
            new CallMessages.CallWaiting(
                r.jobId(),
                r.step(),
                r.attempt(),
                provider,
                h.why().reason().label(),
                Instant.now().plus(h.why().delay())));
  }

  private void enqueueLast(Queued q) {
    queues.computeIfAbsent(q.call().request().provider(), p -> new ArrayDeque<>()).addLast(q);
    calls.queued(q.seq(), q.call().request(), q.queuedAtMs());
    queued++;
  }

  private void enqueueFirst(Queued q) {
    queues.computeIfAbsent(q.call().request().provider(), p -> new ArrayDeque<>()).addFirst(q);
    calls.queued(q.seq(), q.call().request(), q.queuedAtMs());
    queued++;
  }

  /** The oldest queued call whose provider is not held back, or null. */
  private ArrayDeque<Queued> nextQueue() {
    long now = System.nanoTime();
    ArrayDeque<Queued> next = null;
    for (Map.Entry<String, ArrayDeque<Queued>> e : queues.entrySet()) {
      ArrayDeque<Queued> q = e.getValue();
      if (q.isEmpty()) continue;
      Long until = heldUntilNanos.get(e.getKey());
      if (until != null && until - now > 0) continue;
      if (next == null || q.peekFirst().seq() < next.peekFirst().seq()) next = q;
    }
    return next;
  }

  private void dispatch() {
    if (draining) {
      metrics.queueDepth.set(queued);
      if (running.isEmpty()) {
        drainWaiters.forEach(w -> w.tell(Done.getInstance()));
        drainWaiters.clear();
      }
      return;
    }
    while (!ready.isEmpty()) {
      ArrayDeque<Queued> next = nextQueue();
      if (next == null) break;
      Queued q = next.pollFirst();
      queued--;
      calls.dequeued(q.seq());
      ActorRef<LlmCaller.Command> caller = ready.pollFirst();
      running.put(caller, q);
      calls.started(caller, q.call().request(), System.currentTimeMillis());
      caller.tell(new LlmCaller.Execute(q.call()));
    }
    metrics.queueDepth.set(queued);
  }
}
