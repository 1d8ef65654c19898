package io.reportcluster.node.llm.budget;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.reportcluster.node.redis.RedisConnections;
import io.reportcluster.node.redis.RedisKeys;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The cluster's budgets, in Redis: each reservation, settlement and cooldown is one Lua script run
 * (budget/*.lua), so two nodes can never both take the last of a budget. A call fails (and the
 * caller falls back to its node's share) when Redis is unreachable.
 */
final class RedisBudgetStore implements BudgetStore {
  private static final String RESERVE = script("reserve");
  private static final String SETTLE = script("settle");
  private static final String COOLDOWN = script("cooldown");
  private static final String IMPORT = script("import");
  private static final String USAGE = script("usage");

  private final RedisConnections redis;
  private final RedisKeys keys;

  /** Hears the cluster's tokens in the window after each grant of a provider with a token limit. */
  private final java.util.function.ObjLongConsumer<String> tokensInWindow;

  RedisBudgetStore(RedisConnections redis) {
    this(redis, (provider, tokens) -> {});
  }

  RedisBudgetStore(
      RedisConnections redis, java.util.function.ObjLongConsumer<String> tokensInWindow) {
    this.redis = redis;
    this.tokensInWindow = tokensInWindow;
    this.keys = redis.keys();
  }

  @Override
  public CompletionStage<Decision> reserve(
      String provider, Plan plan, String callId, Cost estimate) {
    String[] args = {
      callId,
      String.valueOf(plan.windowMs()),
      String.valueOf(plan.requests()),
      String.valueOf(plan.burst()),
      String.valueOf(estimate.total()),
      String.valueOf(plan.tokens()),
      String.valueOf(estimate.inputTokens()),
      String.valueOf(plan.inputTokens()),
      String.valueOf(estimate.outputTokens()),
      String.valueOf(plan.outputTokens()),
      String.valueOf(plan.concurrent()),
      String.valueOf(plan.leaseMs()),
      String.valueOf(plan.requestCap())
    };
    String[] k = new String[15];
    k[0] = keys.budget(provider, "cooldown");
    k[1] = keys.budget(provider, "requests");
    System.arraycopy(usageKeys(provider), 0, k, 2, 10);
    System.arraycopy(requestKeys(provider), 0, k, 12, 3);
    return run(RESERVE, k, args)
        .thenApply(
            r -> {
              if (((Long) r.get(0)) == 1L) {
                if (plan.tokens() > 0) tokensInWindow.accept(provider, (Long) r.get(3));
                return Decision.GRANTED;
              }
              return new Decision.Wait(
                  Decision.Reason.of((String) r.get(1)),
                  Duration.ofMillis(Math.max(1, (Long) r.get(2))));
            });
  }

  @Override
  public CompletionStage<Void> settle(String provider, String callId, Cost used) {
    String[] args = {
      callId,
      String.valueOf(used == null ? -1 : used.total()),
      String.valueOf(used == null ? -1 : used.inputTokens()),
      String.valueOf(used == null ? -1 : used.outputTokens())
    };
    return run(SETTLE, usageKeys(provider), args).thenApply(r -> null);
  }

  @Override
  public CompletionStage<Cooldown> cooldown(String provider, Duration pause) {
    return run(
            COOLDOWN,
            new String[] {keys.budget(provider, "cooldown")},
            new String[] {String.valueOf(Math.max(1, pause.toMillis()))})
        .thenApply(r -> new Cooldown(((Long) r.get(0)) == 1L, Duration.ofMillis((Long) r.get(1))));
  }

  /**
   * Adds what a node spent on its own share while Redis was away (its reservations of the last
   * window and its calls in flight) to the shared budget, so the rest of that window counts them.
   */
  CompletionStage<Void> handOver(String provider, long windowMs, LocalBudgetStore.Recent recent) {
    List<String> args = new java.util.ArrayList<>();
    args.add(String.valueOf(windowMs));
    for (List<LocalBudgetStore.Spent> spent :
        List.of(recent.tokens(), recent.input(), recent.output(), recent.requests())) {
      args.add(String.valueOf(spent.size()));
      for (LocalBudgetStore.Spent s : spent) {
        args.add(s.callId());
        args.add(String.valueOf(s.ageMs()));
        args.add(String.valueOf(s.amount()));
      }
    }
    args.add(String.valueOf(recent.inFlight().size()));
    for (LocalBudgetStore.Lease l : recent.inFlight()) {
      args.add(l.callId());
      args.add(String.valueOf(l.leftMs()));
    }
    String[] k = new String[13];
    System.arraycopy(usageKeys(provider), 0, k, 0, 10);
    System.arraycopy(requestKeys(provider), 0, k, 10, 3);
    return run(IMPORT, k, args.toArray(String[]::new)).thenApply(r -> null);
  }

  @Override
  public CompletionStage<Figures> figures(String provider, long windowMs) {
    String[] k = new String[13];
    k[0] = keys.budget(provider, "cooldown");
    System.arraycopy(requestKeys(provider), 0, k, 1, 3);
    System.arraycopy(usageKeys(provider), 0, k, 4, 9);
    return run(USAGE, k, new String[] {String.valueOf(windowMs)})
        .thenApply(
            r ->
                new Figures(
                    (Long) r.get(0),
                    (Long) r.get(1),
                    (Long) r.get(2),
                    (Long) r.get(3),
                    (Long) r.get(4)));
  }

  /** The requests' window: log, amounts (always 1), sum. */
  private String[] requestKeys(String provider) {
    return new String[] {
      keys.budget(provider, "requests:log"),
      keys.budget(provider, "requests:amounts"),
      keys.budget(provider, "requests:sum")
    };
  }

  /** How long the provider's pause still runs (zero when none). */
  CompletionStage<Duration> cooldownLeft(String provider) {
    RedisAsyncCommands<String, String> c = redis.commands().orElse(null);
    if (c == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("Redis is unreachable"));
    }
    // cooldown.lua keeps the key a second past the pause's end.
    return c.pttl(keys.budget(provider, "cooldown"))
        .thenApply(ttl -> Duration.ofMillis(Math.max(0, (ttl == null ? 0 : ttl) - 1000)));
  }

  /** The keys that settle.lua touches, in its order (reserve.lua's KEYS 3..12). */
  private String[] usageKeys(String provider) {
    String[] k = new String[10];
    String[] kinds = {"tokens", "input", "output"};
    for (int i = 0; i < 3; i++) {
      k[3 * i] = keys.budget(provider, kinds[i] + ":log");
      k[3 * i + 1] = keys.budget(provider, kinds[i] + ":amounts");
      k[3 * i + 2] = keys.budget(provider, kinds[i] + ":sum");
    }
    k[9] = keys.budget(provider, "in-flight");
    return k;
  }

  /** Runs a script by its digest, sending its text only the first time Redis does not know it. */
  private CompletionStage<List<Object>> run(String script, String[] k, String[] args) {
    RedisAsyncCommands<String, String> c = redis.commands().orElse(null);
    if (c == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("Redis is unreachable"));
    }
    CompletionStage<List<Object>> bySha =
        c.<List<Object>>evalsha(c.digest(script), ScriptOutputType.MULTI, k, args);
    return bySha
        .<CompletionStage<List<Object>>>handle(
            (r, failure) -> {
              if (failure == null) return CompletableFuture.completedFuture(r);
              Throwable cause = failure.getCause() != null ? failure.getCause() : failure;
              if (failure instanceof RedisNoScriptException
                  || cause instanceof RedisNoScriptException) {
                return c.<List<Object>>eval(script, ScriptOutputType.MULTI, k, args);
              }
              return CompletableFuture.<List<Object>>failedFuture(failure);
            })
        .thenCompose(s -> s);
  }

  private static String script(String name) {
    String path = "/budget/" + name + ".lua";
    try (InputStream in = RedisBudgetStore.class.getResourceAsStream(path)) {
      if (in == null) throw new IllegalStateException("missing resource " + path);
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
