package io.reportcluster.node.llm.budget;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The budgets in this node's memory: what a node keeps to while Redis is away (with a plan for its
 * share), and the whole budget of a node without Redis. The rules of {@code budget/reserve.lua}, in
 * Java: requests spaced by GCRA, tokens counted in a sliding window of reservations that are
 * settled to the provider's count, calls in flight under leases.
 */
final class LocalBudgetStore implements BudgetStore {
  private final LongSupplier clockMs;
  private final Map<String, ProviderBudget> budgets = new ConcurrentHashMap<>();

  LocalBudgetStore(LongSupplier clockMs) {
    this.clockMs = clockMs;
  }

  @Override
  public CompletionStage<Decision> reserve(
      String provider, Plan plan, String callId, Cost estimate) {
    return CompletableFuture.completedFuture(
        budget(provider).reserve(plan, callId, estimate, clockMs.getAsLong()));
  }

  /**
   * Notes a call the shared budget granted, as this node's own spending: should Redis go away, the
   * node's share then counts what it already spent in the window, instead of starting afresh.
   */
  void record(String provider, Plan plan, String callId, Cost cost) {
    budget(provider).record(plan, callId, cost, clockMs.getAsLong());
  }

  @Override
  public CompletionStage<Void> settle(String provider, String callId, Cost used) {
    budget(provider).settle(callId, used);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<Cooldown> cooldown(String provider, Duration pause) {
    return CompletableFuture.completedFuture(
        budget(provider).cooldown(pause.toMillis(), clockMs.getAsLong()));
  }

  @Override
  public CompletionStage<Figures> figures(String provider, long windowMs) {
    ProviderBudget b = budgets.get(provider);
    return CompletableFuture.completedFuture(
        b == null ? Figures.NONE : b.figures(clockMs.getAsLong(), windowMs));
  }

  /** A reservation still in its window: how old it is, and its tokens. */
  record Spent(String callId, long ageMs, long amount) {}

  /** A slot in flight, and how long its lease still runs. */
  record Lease(String callId, long leftMs) {}

  /** What a provider's budget here holds of the last window, to hand over to the shared one. */
  record Recent(
      List<Spent> tokens,
      List<Spent> input,
      List<Spent> output,
      List<Spent> requests,
      List<Lease> inFlight) {}

  /** Every provider's reservations of the last {@code windowMs}, and its calls in flight. */
  Map<String, Recent> recent(long windowMs) {
    long now = clockMs.getAsLong();
    Map<String, Recent> all = new HashMap<>();
    budgets.forEach((provider, b) -> all.put(provider, b.recent(now, windowMs)));
    return all;
  }

  private ProviderBudget budget(String provider) {
    return budgets.computeIfAbsent(provider, p -> new ProviderBudget());
  }

  private static final class ProviderBudget {
    private long cooldownUntil;
    private double tat;
    private final Window tokens = new Window();
    private final Window input = new Window();
    private final Window output = new Window();
    private final Window requests = new Window();
    private final Map<String, Long> inFlight = new HashMap<>();

    synchronized Decision reserve(Plan plan, String callId, Cost cost, long now) {
      if (cooldownUntil > now) return wait(Decision.Reason.COOLDOWN, cooldownUntil - now);
      long window = plan.windowMs();
      double interval = 0;
      double arrival = now;
      if (plan.requests() > 0) {
        interval = window / plan.requests();
        double tau = (plan.burst() - 1) * interval;
        arrival = Math.max(tat, now);
        if (arrival - now > tau)
          return wait(Decision.Reason.REQUESTS, (long) Math.ceil(arrival - tau - now));
      }
      long[] amounts = {cost.total(), cost.inputTokens(), cost.outputTokens(), 1};
      long[] limits = {plan.tokens(), plan.inputTokens(), plan.outputTokens(), plan.requestCap()};
      Window[] windows = {tokens, input, output, requests};
      Decision.Reason[] reasons = {
        Decision.Reason.TOKENS,
        Decision.Reason.INPUT_TOKENS,
        Decision.Reason.OUTPUT_TOKENS,
        Decision.Reason.REQUESTS
      };
      for (int i = 0; i < 4; i++) {
        if (limits[i] <= 0) continue;
        amounts[i] = Math.min(amounts[i], limits[i]);
        long used = windows[i].evict(now - window);
        if (used + amounts[i] > limits[i])
          return wait(reasons[i], windows[i].waitFor(used + amounts[i] - limits[i], now, window));
      }
      if (plan.concurrent() > 0) {
        inFlight.values().removeIf(leaseEnd -> leaseEnd <= now);
        if (inFlight.size() >= plan.concurrent()) {
          long first = inFlight.values().stream().mapToLong(Long::longValue).min().orElse(now + 1);
          return wait(Decision.Reason.CONCURRENCY, Math.max(1, first - now));
        }
      }
      if (plan.requests() > 0) tat = arrival + interval;
      for (int i = 0; i < 4; i++) {
        if (limits[i] > 0) windows[i].add(callId, now, amounts[i]);
      }
      if (plan.concurrent() > 0) inFlight.put(callId, now + plan.leaseMs());
      return Decision.GRANTED;
    }

    synchronized void record(Plan plan, String callId, Cost cost, long now) {
      long window = plan.windowMs();
      long[] amounts = {cost.total(), cost.inputTokens(), cost.outputTokens(), 1};
      long[] limits = {plan.tokens(), plan.inputTokens(), plan.outputTokens(), plan.requestCap()};
      Window[] windows = {tokens, input, output, requests};
      for (int i = 0; i < 4; i++) {
        if (limits[i] <= 0) continue;
        windows[i].evict(now - window);
        windows[i].add(callId, now, Math.min(amounts[i], limits[i]));
      }
      if (plan.concurrent() > 0) inFlight.put(callId, now + plan.leaseMs());
    }

    synchronized void settle(String callId, Cost used) {
      if (used != null) {
        tokens.settle(callId, used.total());
        input.settle(callId, used.inputTokens());
        output.settle(callId, used.outputTokens());
      }
      inFlight.remove(callId);
    }

    synchronized Cooldown cooldown(long pauseMs, long now) {
      boolean began = cooldownUntil <= now;
      cooldownUntil = Math.max(cooldownUntil, now + pauseMs);
      return new Cooldown(began, Duration.ofMillis(cooldownUntil - now));
    }

    /** Drops what left the window, as a reservation would, and counts what is left. */
    synchronized Figures figures(long now, long window) {
      long oldest = now - window;
      return new Figures(
          cooldownUntil > now ? cooldownUntil : 0,
          requests.evict(oldest),
          tokens.evict(oldest),
          input.evict(oldest),
          output.evict(oldest));
    }

    synchronized Recent recent(long now, long window) {
      List<Lease> leases = new ArrayList<>();
      inFlight.forEach((id, end) -> leases.add(new Lease(id, end - now)));
      return new Recent(
          tokens.recent(now, window),
          input.recent(now, window),
          output.recent(now, window),
          requests.recent(now, window),
          leases);
    }

    private static Decision wait(Decision.Reason reason, long ms) {
      return new Decision.Wait(reason, Duration.ofMillis(Math.max(1, ms)));
    }
  }

  /** Reservations of one kind of token within the last window, oldest first. */
  private static final class Window {
    private static final class Entry {
      final String id;
      final long at;
      long amount;

      Entry(String id, long at, long amount) {
        this.id = id;
        this.at = at;
        this.amount = amount;
      }
    }

    private final ArrayDeque<Entry> entries = new ArrayDeque<>();
    private final Map<String, Entry> byId = new HashMap<>();
    private long sum;

    /** Drops the entries admitted at or before {@code oldest}; the tokens still in the window. */
    long evict(long oldest) {
      while (!entries.isEmpty() && entries.peekFirst().at <= oldest) {
        Entry e = entries.pollFirst();
        byId.remove(e.id);
        sum -= e.amount;
      }
      return sum;
    }

    long waitFor(long need, long now, long window) {
      long freed = 0;
      for (Entry e : entries) {
        freed += e.amount;
        if (freed >= need) return Math.max(1, e.at + window - now + 1);
      }
      return window;
    }

    void add(String id, long at, long amount) {
      Entry e = new Entry(id, at, amount);
      entries.addLast(e);
      byId.put(id, e);
      sum += amount;
    }

    List<Spent> recent(long now, long window) {
      List<Spent> out = new ArrayList<>();
      for (Entry e : entries) {
        if (now - e.at < window) out.add(new Spent(e.id, now - e.at, e.amount));
      }
      return out;
    }

    void settle(String id, long used) {
      Entry e = byId.get(id);
      if (e == null) return;
      sum += used - e.amount;
      e.amount = used;
    }
  }
}
