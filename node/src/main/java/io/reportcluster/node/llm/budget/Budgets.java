package io.reportcluster.node.llm.budget;

import io.reportcluster.node.llm.provider.ProviderSettings.Limits;
import io.reportcluster.node.redis.RedisConnections;
import io.reportcluster.protocol.ProvidersView;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The providers' rate limits, as the callers see them: before a call starts it reserves its
 * request, its estimated tokens (prompt and max output) and a slot in flight; when it ends its
 * tokens are settled to what the provider counted; a 429 pauses the provider for every node.
 *
 * <p>With Redis, one budget per provider serves the whole cluster. Without it (none configured, or
 * unreachable now), each node keeps to its share: the limits divided by the cluster's live members,
 * so that together they still stay within them; the switch each way is logged and shown by {@link
 * #mode()}.
 */
public final class Budgets {
  private static final Logger log = LoggerFactory.getLogger(Budgets.class);

  /**
   * Budgets of providers without limits and without Redis: every call may start at once, unless a
   * 429 paused its provider (a new instance each time: pauses are state).
   */
  public static Budgets unlimited() {
    return new Budgets(BudgetSettings.DEFAULT, Map.of(), Optional.empty(), () -> 1);
  }

  /** What happens to the budgets, for metrics. */
  public interface Listener {
    /** A call waited {@code waited} for budget before it started (zero: it did not wait). */
    default void granted(String provider, Duration waited) {}

    default void denied(String provider, Decision.Reason reason) {}

    /** A 429 paused the provider; {@code began} is false when it extended a running pause. */
    default void cooldown(String provider, boolean began) {}
  }

  private final BudgetSettings settings;
  private final Map<String, Limits> limits;
  private final Optional<RedisConnections> redis;
  private final Optional<RedisBudgetStore> shared;
  private final LocalBudgetStore local = new LocalBudgetStore(System::currentTimeMillis);
  private final IntSupplier liveMembers;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private final AtomicBoolean onShare = new AtomicBoolean();

  /** Providers' pauses as this node last saw them (epoch ms), and when it last looked in Redis. */
  private final Map<String, Long> pauseUntil = new java.util.concurrent.ConcurrentHashMap<>();

  private final Map<String, Long> pauseSeenAt = new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<String, Long> tokensInWindow = new java.util.concurrent.ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicReference<CompletableFuture<Void>> handingOver =
      new java.util.concurrent.atomic.AtomicReference<>();

  /**
   * @param limits each provider entry's limits; providers not named have none
   * @param liveMembers the cluster's members that are up, for a node's share without Redis
   */
  public Budgets(
      BudgetSettings settings,
      Map<String, Limits> limits,
      Optional<RedisConnections> redis,
      IntSupplier liveMembers) {
    this.settings = settings;
    this.limits = Map.copyOf(limits);
    this.redis = redis;
    this.shared = redis.map(r -> new RedisBudgetStore(r, tokensInWindow::put));
    this.liveMembers = liveMembers;
  }

  public BudgetSettings settings() {
    return settings;
  }

  public void listen(Listener listener) {
    listeners.add(listener);
  }

  /**
   * The tokens the cluster has in each provider's current window, as of this node's last grant
   * (providers with a token limit, while Redis shares the budget).
   */
  public long tokensInWindow(String provider) {
    return tokensInWindow.getOrDefault(provider, 0L);
  }

  /** Every entry's configured limits. */
  public Map<String, Limits> limitsByProvider() {
    return limits;
  }

  /** The configured limits of a provider entry. */
  public Limits limits(String provider) {
    return limits.getOrDefault(provider, Limits.NONE);
  }

  /**
   * "shared" (Redis), "local-share" (each node its share: Redis is configured but away), "local".
   */
  public String mode() {
    if (shared.isEmpty()) return "local";
    return onShare.get() ? "local-share" : "shared";
  }

  /**
   * What a provider's budget holds in the current window, for operators: the cluster's figures
   * while it shares one budget (one read-only script run in Redis), this node's own otherwise (its
   * share while Redis is away). A figure whose limit is not set is not counted: null. The figures
   * are null too when Redis cannot be read now (the mode still says shared until a call finds it
   * away); the cooldown then is the last this node saw.
   */
  public CompletionStage<ProvidersView.Budget> usage(String provider) {
    Limits l = limits(provider);
    String mode = mode();
    long window = settings.window().toMillis();
    BudgetStore store = "shared".equals(mode) ? shared.get() : local;
    return store
        .figures(provider, window)
        .handle(
            (f, unreadable) -> {
              long pause =
                  Math.max(
                      f == null ? 0 : f.cooldownUntilMs(), pauseUntil.getOrDefault(provider, 0L));
              Instant cooldown =
                  pause > System.currentTimeMillis() ? Instant.ofEpochMilli(pause) : null;
              boolean known = f != null;
              return new ProvidersView.Budget(
                  mode,
                  known && l.rpm() > 0 ? f.requests() : null,
                  known && l.tpm() > 0 ? f.tokens() : null,
                  known && l.inputTpm() > 0 ? f.inputTokens() : null,
                  known && l.outputTpm() > 0 ? f.outputTokens() : null,
                  cooldown,
                  settings.window().toSeconds());
            });
  }

  /**
   * Reserves a call's request, {@code estimate} tokens and a slot in flight. {@code callId} must be
   * unique per call: {@link #settle} finds the reservation by it.
   */
  public CompletionStage<Decision> reserve(String provider, String callId, Cost estimate) {
    Limits l = limits(provider);
    if (!l.any()) return CompletableFuture.completedFuture(unlimited(provider));
    if (shared.isEmpty()) {
      int members = Math.max(1, liveMembers.getAsInt());
      return local.reserve(provider, Plan.of(l, settings, 1.0 / members), callId, estimate);
    }
    RedisBudgetStore store = shared.get();
    CompletionStage<Void> ready =
        onShare.get() ? handOver(store) : CompletableFuture.completedFuture(null);
    Plan plan = Plan.of(l, settings, 1.0);
    return ready
        .thenCompose(v -> store.reserve(provider, plan, callId, estimate))
        .thenApply(
            d -> {
              if (d instanceof Decision.Granted) local.record(provider, plan, callId, estimate);
              return d;
            })
        .exceptionallyCompose(
            failure -> {
              int members = Math.max(1, liveMembers.getAsInt());
              onShareOf(members, failure);
              return local.reserve(provider, Plan.of(l, settings, 1.0 / members), callId, estimate);
            });
  }

  /**
   * The call ended: {@code used} is what the provider counted (null when unknown: the reservation
   * stays charged).
   */
  public void settle(String provider, String callId, Cost used) {
    Limits l = limits(provider);
    // Requests are charged once and for all when a call starts: nothing to settle without a
    // token limit or a slot in flight to free (no round trip to Redis per call for nothing).
    if (l.tpm() == 0 && l.inputTpm() == 0 && l.outputTpm() == 0 && l.maxConcurrent() == 0) return;
    local.settle(provider, callId, used);
    shared.ifPresent(
        s ->
            s.settle(provider, callId, used)
                .exceptionally(
                    failure -> {
                      // Redis away: the reservation stays as it was, and leaves with its window.
                      return null;
                    }));
  }

  /**
   * The provider answered 429: pause it for every node, for {@code retryAfter} (its Retry-After or
   * reset time; null: the default cooldown). Completes with the time left of the pause.
   */
  public CompletionStage<Duration> rateLimited(String provider, Duration retryAfter) {
    Duration pause =
        retryAfter == null || retryAfter.isZero() || retryAfter.isNegative()
            ? settings.defaultCooldown()
            : retryAfter;
    return pause(provider, pause, "answered 429");
  }

  /**
   * The provider's rate-limit headers say its budget for us is used up until {@code pause}: every
   * node pauses, so that none earns the 429.
   */
  public CompletionStage<Duration> usedUp(String provider, Duration pause) {
    return pause(provider, pause, "says its budget is used up");
  }

  /**
   * A provider without limits: only a pause (after a 429) can hold its calls back. This node's
   * calls do not wait for Redis for it: they read the cluster's pause as last seen, looked up again
   * in the background at most every recheck interval, so another node's pause reaches this one
   * within that interval.
   */
  private Decision unlimited(String provider) {
    long now = System.currentTimeMillis();
    shared.ifPresent(
        store -> {
          Long seen = pauseSeenAt.get(provider);
          if (seen != null && now - seen < settings.recheck().toMillis()) return;
          pauseSeenAt.put(provider, now);
          store
              .cooldownLeft(provider)
              .thenAccept(left -> pauseUntil.merge(provider, now + left.toMillis(), Math::max))
              .exceptionally(redisAway -> null);
        });
    long until = pauseUntil.getOrDefault(provider, 0L);
    return until > now
        ? new Decision.Wait(Decision.Reason.COOLDOWN, Duration.ofMillis(until - now))
        : Decision.GRANTED;
  }

  private CompletionStage<Duration> pause(String provider, Duration pause, String why) {
    CompletionStage<BudgetStore.Cooldown> c =
        shared
            .map(
                s ->
                    s.cooldown(provider, pause)
                        .exceptionallyCompose(failure -> local.cooldown(provider, pause)))
            .orElseGet(() -> local.cooldown(provider, pause));
    long asked = System.currentTimeMillis();
    return c.thenApply(
        cd -> {
          pauseUntil.merge(provider, asked + cd.left().toMillis(), Math::max);
          if (cd.began()) {
            log.info(
                "provider {} {}: every node pauses its calls for {} ms",
                provider,
                why,
                cd.left().toMillis());
          }
          listeners.forEach(l -> l.cooldown(provider, cd.began()));
          return cd.left();
        });
  }

  /**
   * How long to wait before asking again after {@code wait}: a cooldown with its jitter (so the
   * calls held back do not all return at once), other waits at most the recheck interval (a call
   * that ends early frees tokens before its window says so).
   */
  public Duration nextLook(Decision.Wait wait) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    if (wait.reason() == Decision.Reason.COOLDOWN) {
      long jitterCap = Math.min(1000, (long) (wait.delay().toMillis() * settings.cooldownJitter()));
      return wait.delay().plusMillis(jitterCap <= 0 ? 0 : random.nextLong(jitterCap + 1));
    }
    Duration look =
        wait.delay().compareTo(settings.recheck()) < 0 ? wait.delay() : settings.recheck();
    return look.plusMillis(random.nextLong(3));
  }

  /** The caller's word on a reservation: the listeners hear of waits and grants. */
  public void report(String provider, Decision decision, Duration waited) {
    if (decision instanceof Decision.Wait w) listeners.forEach(l -> l.denied(provider, w.reason()));
    else listeners.forEach(l -> l.granted(provider, waited));
  }

  private void onShareOf(int members, Throwable failure) {
    if (onShare.compareAndSet(false, true)) {
      log.warn(
          "rate limits: Redis unreachable ({}); this node keeps to its share, 1/{} of each limit, until it is back",
          failure.getClass().getSimpleName(),
          members);
    }
  }

  /**
   * Redis is back: before this node takes from the shared budget again, it adds what it spent on
   * its share meanwhile, so that the window that spans the outage is not counted twice over. One
   * hand-over at a time; the calls that arrive meanwhile wait for it.
   */
  private CompletionStage<Void> handOver(RedisBudgetStore store) {
    CompletableFuture<Void> running = handingOver.get();
    if (running != null) return running;
    CompletableFuture<Void> mine = new CompletableFuture<>();
    if (!handingOver.compareAndSet(null, mine)) return handingOver.get();
    long window = settings.window().toMillis();
    CompletableFuture<?>[] each =
        local.recent(window).entrySet().stream()
            .map(e -> store.handOver(e.getKey(), window, e.getValue()).toCompletableFuture())
            .toArray(CompletableFuture[]::new);
    CompletableFuture.allOf(each)
        .whenComplete(
            (ok, failure) -> {
              if (failure == null && onShare.compareAndSet(true, false)) {
                log.info(
                    "rate limits: Redis is back; the cluster shares one budget per provider again"
                        + " (this node's spending on its share handed over)");
              }
              handingOver.set(null);
              if (failure == null) mine.complete(null);
              else mine.completeExceptionally(failure);
            });
    return mine;
  }
}
