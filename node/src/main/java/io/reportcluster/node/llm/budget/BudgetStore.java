package io.reportcluster.node.llm.budget;

import java.time.Duration;
import java.util.concurrent.CompletionStage;

/**
 * Where a set of provider budgets lives: Redis (one budget for the whole cluster) or this node's
 * memory (its share, while Redis is away). Both keep the same rules, so that a switch changes only
 * how much of a limit a node may use.
 */
interface BudgetStore {

  /** Charges the call's estimate if every limit allows it, else says how long to wait. */
  CompletionStage<Decision> reserve(String provider, Plan plan, String callId, Cost estimate);

  /**
   * The call ended: its tokens become {@code used} (null: what it reserved stays charged, the
   * provider's count being unknown) and its in-flight slot is free.
   */
  CompletionStage<Void> settle(String provider, String callId, Cost used);

  /** Pauses the provider for {@code pause}; true if no pause was running. */
  CompletionStage<Cooldown> cooldown(String provider, Duration pause);

  /** {@code began}: no cooldown was running before; {@code left}: until the pause ends. */
  record Cooldown(boolean began, Duration left) {}

  /** What the provider's budget holds in the last {@code windowMs}, for operators; reads only. */
  CompletionStage<Figures> figures(String provider, long windowMs);

  /**
   * A budget's current window: its pause (until, epoch ms; 0: none), and the requests and tokens in
   * the window (0 where nothing is counted: the limit is not set).
   */
  record Figures(
      long cooldownUntilMs, long requests, long tokens, long inputTokens, long outputTokens) {
    static final Figures NONE = new Figures(0, 0, 0, 0, 0);
  }
}
